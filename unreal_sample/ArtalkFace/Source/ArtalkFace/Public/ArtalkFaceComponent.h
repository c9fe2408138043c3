// Speaks audio through the artalk service and animates a skeletal mesh's face in sync.
//
// Audio in: SpeakSoundWave (a sound asset's PCM), SpeakPCM (a whole line from a dialogue
// or TTS system), or BeginStream/PushPCM/EndUtterance (a line that is still being made).
// The PCM goes to the service at once; the component plays it through its own procedural
// sound once PrebufferSeconds of face have arrived, and samples the face at the sound's
// played-sample clock every tick. Face out: morph targets by name through a retarget
// preset, and/or curve values and head/eye rotations for the Animation Blueprint.
//
// Thin by design: the streaming, jitter buffer, reconnects and latency statistics are in
// the native client core (tested in the artalk_service repository); no gRPC or protobuf
// header is visible here.
#pragma once

#include "Components/ActorComponent.h"
#include "CoreMinimal.h"
#include "ArtalkFaceComponent.generated.h"

class UAudioComponent;
class USkeletalMeshComponent;
class USoundWave;
class USoundWaveProcedural;
class UArtalkRetargetPreset;
struct FArtalkFaceState;

UENUM(BlueprintType)
enum class EArtalkApplyMode : uint8
{
	/** Set morph targets on the mesh directly (no Animation Blueprint needed). */
	MorphTargets,
	/** Only fill the curve values; an Animation Blueprint applies them (Modify Curve / Live Link style). */
	CurvesOnly,
	/** Both. */
	Both,
};

/** Latency and lateness of the face stream (seconds; -1 when unknown). */
USTRUCT(BlueprintType)
struct FArtalkFaceStats
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "Artalk") int64 FramesReceived = 0;
	/** Frames that arrived after the audio had already played past them. */
	UPROPERTY(BlueprintReadOnly, Category = "Artalk") int64 FramesLate = 0;
	/** Ticks that had to hold the face because its frame was late. */
	UPROPERTY(BlueprintReadOnly, Category = "Artalk") int64 SamplesLate = 0;
	UPROPERTY(BlueprintReadOnly, Category = "Artalk") int64 Reconnects = 0;
	UPROPERTY(BlueprintReadOnly, Category = "Artalk") float FirstFrameLatency = -1.0f;
	UPROPERTY(BlueprintReadOnly, Category = "Artalk") float LatencyP50 = -1.0f;
	UPROPERTY(BlueprintReadOnly, Category = "Artalk") float LatencyP95 = -1.0f;
	/** Face buffered ahead of what is audible. */
	UPROPERTY(BlueprintReadOnly, Category = "Artalk") float BufferedSeconds = 0.0f;
};

DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FArtalkUtteranceFinished, int32, UtteranceIndex, bool, bCancelled);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FArtalkSessionFailed, const FString&, Reason);

UCLASS(ClassGroup = (Animation), meta = (BlueprintSpawnableComponent), DisplayName = "Artalk Face")
class ARTALKFACE_API UArtalkFaceComponent : public UActorComponent
{
	GENERATED_BODY()

public:
	UArtalkFaceComponent();

	// ---------------------------------------------------------------- settings

	/** host:port of the artalk service. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Artalk|Service")
	FString ServerAddress = TEXT("127.0.0.1:50051");

	/** Service retarget map and rig mapping; unset = arkit61 names onto same-named targets. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Artalk|Service")
	TObjectPtr<UArtalkRetargetPreset> RetargetPreset;

	/** Style preset of the service; empty = neutral. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Artalk|Service")
	FString StylePreset;

	/** Frames per second from the service (0 = native 25). The face is interpolated per tick anyway. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Artalk|Service", meta = (ClampMin = "0", ClampMax = "120"))
	int32 OutputFps = 60;

	/** Same audio, settings and seed give the same face. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Artalk|Service")
	int32 Seed = 0;

	/** Classifier-free guidance of the audio: 0 = the model's default, else 1 (off) to 4 (the service's
	 *  Describe gives the model's max). Higher follows the audio more closely, at more server work. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Artalk|Service", meta = (ClampMin = "0", ClampMax = "4"))
	float Guidance = 0.0f;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Artalk|Service")
	bool bHeadMotion = true;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Artalk|Service")
	bool bBlinks = true;

	/** Connect with TLS; a CA or client certificate file turns it on as well. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Artalk|Security")
	bool bUseTls = false;

	/** PEM file of the CA that signed the server's certificate; empty = the system's roots. Relative to the project directory. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Artalk|Security")
	FString TlsCaFile;

	/** PEM client certificate, for a server that requires mutual TLS (with TlsKeyFile). Relative to the project directory. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Artalk|Security")
	FString TlsCertFile;

	/** PEM private key of TlsCertFile. Relative to the project directory. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Artalk|Security")
	FString TlsKeyFile;

	/** Host name in the server's certificate, when it is not ServerAddress's host (e.g. an IP address). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Artalk|Security")
	FString TlsServerName;

	/** Bearer token sent with every call; never logged. Typed here it is saved with the level: a shipped game should set it at run time. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Artalk|Security", meta = (PasswordField = true))
	FString Token;

	/** Seconds of face to have before a line starts playing (lips in sync from the first syllable). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Artalk|Sync", meta = (ClampMin = "0.0", ClampMax = "2.0"))
	float PrebufferSeconds = 0.3f;

	/** Start the line anyway after waiting this long (the face then catches up). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Artalk|Sync", meta = (ClampMin = "0.0", ClampMax = "10.0"))
	float MaxWaitSeconds = 2.0f;

	/** The mixer and device play a queued sample this much later; the face is delayed to match. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Artalk|Sync", meta = (ClampMin = "0.0", ClampMax = "0.5"))
	float OutputLatencySeconds = 0.02f;

	/** The mesh to animate; unset = the owner's first skeletal mesh component. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Artalk|Face")
	TObjectPtr<USkeletalMeshComponent> TargetMesh;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Artalk|Face")
	EArtalkApplyMode ApplyMode = EArtalkApplyMode::MorphTargets;

	/** Where the voice plays from; unset = a 2D sound on the owner. Attach it to the head for 3D voice. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Artalk|Face")
	TObjectPtr<UAudioComponent> VoiceComponent;

	// ---------------------------------------------------------------- face out

	/** Head rotation now (degrees), for a Transform (Modify) Bone node on the head bone. */
	UPROPERTY(BlueprintReadOnly, Category = "Artalk|Face")
	FRotator HeadRotation = FRotator::ZeroRotator;

	UPROPERTY(BlueprintReadOnly, Category = "Artalk|Face")
	FRotator LeftEyeRotation = FRotator::ZeroRotator;

	UPROPERTY(BlueprintReadOnly, Category = "Artalk|Face")
	FRotator RightEyeRotation = FRotator::ZeroRotator;

	UPROPERTY(BlueprintAssignable, Category = "Artalk")
	FArtalkUtteranceFinished OnUtteranceFinished;

	UPROPERTY(BlueprintAssignable, Category = "Artalk")
	FArtalkSessionFailed OnSessionFailed;

	// ---------------------------------------------------------------- audio in

	/** Speak a sound asset (its imported PCM: available in the editor and PIE; see README for packaged games). */
	UFUNCTION(BlueprintCallable, Category = "Artalk")
	bool SpeakSoundWave(USoundWave* Sound);

	/** Speak a whole line of PCM (floats in [-1, 1], interleaved, 1 or 2 channels, 8-48 kHz). */
	UFUNCTION(BlueprintCallable, Category = "Artalk")
	bool SpeakPCM(const TArray<float>& Samples, int32 SampleRate, int32 NumChannels);

	/** Start a line whose audio arrives in pieces (a streaming TTS). */
	UFUNCTION(BlueprintCallable, Category = "Artalk")
	bool BeginStream(int32 SampleRate, int32 NumChannels);

	/** Add a piece of the current streamed line. Safe to call from any thread. */
	UFUNCTION(BlueprintCallable, Category = "Artalk")
	bool PushPCM(const TArray<float>& Samples);

	/** The current line is complete: the service finishes its last window now. */
	UFUNCTION(BlueprintCallable, Category = "Artalk")
	void EndUtterance();

	/** Barge-in: stop the voice at once; the face releases to rest. */
	UFUNCTION(BlueprintCallable, Category = "Artalk")
	void StopSpeaking();

	// ---------------------------------------------------------------- queries

	/** Value of a target (morph target / curve name) this tick; 0 when not driven. */
	UFUNCTION(BlueprintPure, Category = "Artalk")
	float GetCurveValue(FName Target) const;

	/** Every driven target and its value this tick. */
	UFUNCTION(BlueprintPure, Category = "Artalk")
	TMap<FName, float> GetCurveValues() const { return CurveValues; }

	UFUNCTION(BlueprintPure, Category = "Artalk")
	bool IsSpeaking() const;

	UFUNCTION(BlueprintPure, Category = "Artalk")
	FArtalkFaceStats GetStats() const;

	// UActorComponent
	virtual void TickComponent(float DeltaTime, ELevelTick TickType, FActorComponentTickFunction* ThisTickFunction) override;

protected:
	virtual void BeginPlay() override;
	virtual void EndPlay(const EEndPlayReason::Type EndPlayReason) override;

private:
	bool EnsureSession(int32 SampleRate, int32 NumChannels);
	void CloseSession();
	bool Push(const TArray<int16>& Pcm);
	void FeedVoice();
	void PollEvents();
	void ApplyFace(float DeltaTime);
	double PlaybackTime() const;

	UPROPERTY(Transient)
	TObjectPtr<USoundWaveProcedural> VoiceWave;

	UPROPERTY(Transient)
	TMap<FName, float> CurveValues;

	/** Native session and buffers (Private/ArtalkFaceState.h). */
	TSharedPtr<FArtalkFaceState, ESPMode::ThreadSafe> State;
};
