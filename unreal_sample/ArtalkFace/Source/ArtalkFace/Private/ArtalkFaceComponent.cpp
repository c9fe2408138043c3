#include "ArtalkFaceComponent.h"

#include "ArtalkFaceModule.h"
#include "ArtalkFaceState.h"
#include "ArtalkRetargetPreset.h"
#include "Components/AudioComponent.h"
#include "Components/SkeletalMeshComponent.h"
#include "GameFramework/Actor.h"
#include "HAL/PlatformTime.h"
#include "Misc/Paths.h"
#include "Sound/SoundWave.h"
#include "Sound/SoundWaveProcedural.h"

namespace
{
	TArray<int16> ToPcm16(const TArray<float>& Samples)
	{
		TArray<int16> Pcm;
		Pcm.SetNumUninitialized(Samples.Num());
		for (int32 i = 0; i < Samples.Num(); ++i)
		{
			Pcm[i] = static_cast<int16>(FMath::Clamp(FMath::RoundToInt(Samples[i] * 32767.0f), -32768, 32767));
		}
		return Pcm;
	}

	FString LastError(artalk_session* Session)
	{
		ANSICHAR Buffer[1024];
		artalk_session_last_error(Session, Buffer, sizeof(Buffer));
		return UTF8_TO_TCHAR(Buffer);
	}

	/** A certificate path as the native client reads it: relative ones are under the project directory. */
	FString ProjectPath(const FString& Path)
	{
		return Path.IsEmpty() || !FPaths::IsRelative(Path) ? Path : FPaths::ConvertRelativePathToFull(FPaths::ProjectDir(), Path);
	}

	/** DEADLINE_EXCEEDED: the server ended a session that sent nothing for its idle timeout. */
	constexpr int32 IdleTimeoutStatus = 4;
}

UArtalkFaceComponent::UArtalkFaceComponent()
{
	PrimaryComponentTick.bCanEverTick = true;
	PrimaryComponentTick.TickGroup = TG_PrePhysics;  // before the mesh evaluates its morph targets
}

void UArtalkFaceComponent::BeginPlay()
{
	Super::BeginPlay();
	State = MakeShared<FArtalkFaceState, ESPMode::ThreadSafe>();
	if (!TargetMesh && GetOwner())
	{
		TargetMesh = GetOwner()->FindComponentByClass<USkeletalMeshComponent>();
	}
	VoiceWave = NewObject<USoundWaveProcedural>(this, TEXT("ArtalkVoice"));
	VoiceWave->SoundGroup = SOUNDGROUP_Voice;
	VoiceWave->bLooping = false;
	VoiceWave->Duration = INDEFINITELY_LOOPING_DURATION;
	if (!VoiceComponent && GetOwner())
	{
		VoiceComponent = NewObject<UAudioComponent>(GetOwner(), TEXT("ArtalkVoiceComponent"));
		VoiceComponent->bAutoActivate = false;
		VoiceComponent->bAllowSpatialization = false;
		VoiceComponent->RegisterComponent();
	}
}

void UArtalkFaceComponent::EndPlay(const EEndPlayReason::Type EndPlayReason)
{
	if (VoiceComponent)
	{
		VoiceComponent->Stop();
	}
	CloseSession();
	Super::EndPlay(EndPlayReason);
}

// ---------------------------------------------------------------- session

bool UArtalkFaceComponent::EnsureSession(int32 SampleRate, int32 NumChannels)
{
	if (!FArtalkFaceModule::IsClientAvailable() || !State)
	{
		UE_LOG(LogArtalkFace, Error, TEXT("Artalk native client is not loaded (see the plugin README)"));
		return false;
	}
	if (State->Session && State->SampleRate == SampleRate && State->NumChannels == NumChannels &&
		artalk_session_state(State->Session) != ARTALK_STATE_FAILED)
	{
		return true;
	}
	CloseSession();

	artalk_config* Config = artalk_config_create(TCHAR_TO_UTF8(*ServerAddress));
	bool bOk = artalk_config_set_audio_format(Config, ARTALK_ENCODING_PCM_S16LE, SampleRate, NumChannels) == ARTALK_OK &&
		artalk_config_set_output_fps(Config, OutputFps) == ARTALK_OK &&
		artalk_config_set_style_preset(Config, TCHAR_TO_UTF8(*StylePreset)) == ARTALK_OK &&
		artalk_config_set_sampling(Config, static_cast<uint64_t>(Seed), 0.0f, 0.0f) == ARTALK_OK &&
		artalk_config_set_guidance(Config, Guidance) == ARTALK_OK &&
		artalk_config_set_motion(Config, bHeadMotion ? 1 : 0, bBlinks ? 1 : 0) == ARTALK_OK &&
		artalk_config_set_ids(Config, nullptr, TCHAR_TO_UTF8(*GetNameSafe(GetOwner()))) == ARTALK_OK;
	if (RetargetPreset && !RetargetPreset->InlineMap.IsEmpty())
	{
		bOk = bOk && artalk_config_set_retarget_inline(Config, TCHAR_TO_UTF8(*RetargetPreset->InlineMap)) == ARTALK_OK;
	}
	else if (RetargetPreset)
	{
		bOk = bOk && artalk_config_set_retarget_preset(Config, TCHAR_TO_UTF8(*RetargetPreset->ServicePreset)) == ARTALK_OK;
	}
	if (bUseTls || !TlsCaFile.IsEmpty() || !TlsCertFile.IsEmpty())
	{
		const FString Ca = ProjectPath(TlsCaFile), Cert = ProjectPath(TlsCertFile), Key = ProjectPath(TlsKeyFile);
		bOk = bOk && artalk_config_set_tls(Config, TCHAR_TO_UTF8(*Ca), TCHAR_TO_UTF8(*Cert), TCHAR_TO_UTF8(*Key)) == ARTALK_OK;
	}
	bOk = bOk && artalk_config_set_tls_server_name(Config, TCHAR_TO_UTF8(*TlsServerName)) == ARTALK_OK &&
		artalk_config_set_token(Config, TCHAR_TO_UTF8(*Token)) == ARTALK_OK;
	ANSICHAR Error[512] = {};
	State->Session = bOk ? artalk_session_open(Config, Error, sizeof(Error)) : nullptr;
	artalk_config_destroy(Config);
	if (!State->Session)
	{
		UE_LOG(LogArtalkFace, Error, TEXT("Artalk: invalid settings %s"), UTF8_TO_TCHAR(Error));
		return false;
	}
	State->SampleRate = SampleRate;
	State->NumChannels = NumChannels;
	VoiceWave->SetSampleRate(SampleRate);
	VoiceWave->NumChannels = NumChannels;
	return true;
}

void UArtalkFaceComponent::CloseSession()
{
	if (!State)
	{
		return;
	}
	const FScopeLock Guard(&State->Lock);
	if (State->Session)
	{
		artalk_session_close(State->Session);
		State->Session = nullptr;
	}
	if (VoiceWave)
	{
		VoiceWave->ResetAudio();
	}
	State->Pending.Reset();
	State->FramesQueued = State->FramesSkipped = 0;
	State->bBound = false;
	State->bLineOpen = false;
}

// ---------------------------------------------------------------- audio in

bool UArtalkFaceComponent::Push(const TArray<int16>& Pcm)
{
	const FScopeLock Guard(&State->Lock);
	double TimeCode = 0.0;
	const int Result = artalk_session_push_audio(State->Session, Pcm.GetData(), Pcm.Num() * sizeof(int16), &TimeCode);
	if (Result != ARTALK_OK)
	{
		UE_LOG(LogArtalkFace, Warning, TEXT("Artalk: audio refused (%d): %s"), Result, *LastError(State->Session));
		return false;
	}
	if (State->Pending.Num() == 0)
	{
		State->PendingStart = TimeCode;
		State->PendingSince = FPlatformTime::Seconds();
	}
	State->Pending.Append(Pcm);
	return true;
}

bool UArtalkFaceComponent::SpeakSoundWave(USoundWave* Sound)
{
	if (!Sound)
	{
		return false;
	}
#if WITH_EDITOR
	TArray<uint8> Raw;
	uint32 Rate = 0;
	uint16 Channels = 0;
	if (!Sound->GetImportedSoundWaveData(Raw, Rate, Channels) || Channels == 0 || Channels > 2)
	{
		UE_LOG(LogArtalkFace, Error, TEXT("Artalk: no mono/stereo PCM in %s"), *Sound->GetName());
		return false;
	}
	TArray<int16> Pcm;
	Pcm.SetNumUninitialized(Raw.Num() / sizeof(int16));
	FMemory::Memcpy(Pcm.GetData(), Raw.GetData(), Pcm.Num() * sizeof(int16));
	StopSpeaking();
	if (!EnsureSession(static_cast<int32>(Rate), Channels) || !Push(Pcm))
	{
		return false;
	}
	artalk_session_flush(State->Session);
	return true;
#else
	UE_LOG(LogArtalkFace, Error,
		TEXT("Artalk: SpeakSoundWave reads a sound's imported PCM, which packaged builds do not keep. Decode the line "
			 "(or take it from your TTS) and call SpeakPCM; see the plugin README."));
	return false;
#endif
}

bool UArtalkFaceComponent::SpeakPCM(const TArray<float>& Samples, int32 SampleRate, int32 NumChannels)
{
	if (!BeginStream(SampleRate, NumChannels) || !PushPCM(Samples))
	{
		return false;
	}
	EndUtterance();
	return true;
}

bool UArtalkFaceComponent::BeginStream(int32 SampleRate, int32 NumChannels)
{
	if (NumChannels < 1 || NumChannels > 2 || SampleRate < 8000 || SampleRate > 48000)
	{
		UE_LOG(LogArtalkFace, Error, TEXT("Artalk: needs 1-2 channels at 8-48 kHz, got %d at %d Hz"), NumChannels, SampleRate);
		return false;
	}
	StopSpeaking();
	if (!EnsureSession(SampleRate, NumChannels))
	{
		return false;
	}
	State->bLineOpen = true;
	return true;
}

bool UArtalkFaceComponent::PushPCM(const TArray<float>& Samples)
{
	if (!State || !State->Session || Samples.Num() % FMath::Max(1, State->NumChannels) != 0)
	{
		return false;
	}
	return Push(ToPcm16(Samples));
}

void UArtalkFaceComponent::EndUtterance()
{
	if (State && State->Session && State->bLineOpen)
	{
		artalk_session_flush(State->Session);
		State->bLineOpen = false;
	}
}

void UArtalkFaceComponent::StopSpeaking()
{
	if (!State || !State->Session)
	{
		return;
	}
	const FScopeLock Guard(&State->Lock);
	const int64 BytesPerFrame = sizeof(int16) * State->NumChannels;
	const int64 Played = State->FramesQueued - VoiceWave->GetAvailableAudioByteCount() / BytesPerFrame;
	const int64 Pushed = FMath::RoundToInt64(artalk_session_audio_time(State->Session) * State->SampleRate);
	if (Pushed == Played + State->FramesSkipped)
	{
		return;  // nothing is playing or waiting
	}
	if (VoiceComponent)
	{
		VoiceComponent->Stop();
	}
	VoiceWave->ResetAudio();
	artalk_session_cancel(State->Session);
	State->FramesQueued = Played;
	State->FramesSkipped = Pushed - Played;  // the timeline keeps the dropped audio's place
	State->Pending.Reset();
	State->bLineOpen = false;
}

// ---------------------------------------------------------------- per tick

void UArtalkFaceComponent::TickComponent(float DeltaTime, ELevelTick TickType, FActorComponentTickFunction* ThisTickFunction)
{
	Super::TickComponent(DeltaTime, TickType, ThisTickFunction);
	if (!State || !State->Session)
	{
		return;
	}
	PollEvents();
	FeedVoice();
	ApplyFace(DeltaTime);
}

void UArtalkFaceComponent::PollEvents()
{
	artalk_event Event;
	while (State->Session && artalk_session_poll_event(State->Session, &Event) == 1)
	{
		if (Event.type == ARTALK_EVENT_UTTERANCE_FINISHED)
		{
			OnUtteranceFinished.Broadcast(Event.utterance_index, Event.cancelled != 0);
		}
		else if (Event.type == ARTALK_EVENT_DISCONNECTED)
		{
			UE_LOG(LogArtalkFace, Warning, TEXT("Artalk: disconnected (%s), reconnecting"), *LastError(State->Session));
		}
		else if (Event.type == ARTALK_EVENT_FAILED)
		{
			const FString Reason = LastError(State->Session);
			if (Event.status_code == IdleTimeoutStatus)
			{
				UE_LOG(LogArtalkFace, Log, TEXT("Artalk: %s"), *Reason);  // expected between lines; the next one opens a new session
			}
			else
			{
				UE_LOG(LogArtalkFace, Error, TEXT("Artalk session failed: %s"), *Reason);
			}
			OnSessionFailed.Broadcast(Reason);
		}
	}
}

void UArtalkFaceComponent::FeedVoice()
{
	const FScopeLock Guard(&State->Lock);
	if (State->Pending.Num() == 0)
	{
		return;
	}
	const int64 BytesPerFrame = sizeof(int16) * State->NumChannels;
	const bool bVoiceRunning = VoiceWave->GetAvailableAudioByteCount() > 0;
	bool bReady = bVoiceRunning || FPlatformTime::Seconds() - State->PendingSince > MaxWaitSeconds;
	if (!bReady)
	{
		// Wait until PrebufferSeconds of face (or the whole line, if shorter) has arrived.
		artalk_stats Stats;
		artalk_session_get_stats(State->Session, &Stats);
		const double Pending = static_cast<double>(State->Pending.Num() / State->NumChannels) / State->SampleRate;
		const int32 Fps = FMath::Max(1, artalk_session_fps(State->Session));
		bReady = Stats.newest_frame_time >= State->PendingStart + FMath::Min<double>(PrebufferSeconds, Pending) - 1.0 / Fps;
	}
	if (!bReady)
	{
		return;
	}
	VoiceWave->QueueAudio(reinterpret_cast<const uint8*>(State->Pending.GetData()), State->Pending.Num() * sizeof(int16));
	State->FramesQueued += State->Pending.Num() * sizeof(int16) / BytesPerFrame;
	State->Pending.Reset();
	if (VoiceComponent && !VoiceComponent->IsPlaying())
	{
		VoiceComponent->SetSound(VoiceWave);
		VoiceComponent->Play();
	}
}

double UArtalkFaceComponent::PlaybackTime() const
{
	const int64 BytesPerFrame = sizeof(int16) * FMath::Max(1, State->NumChannels);
	const int64 Played = State->FramesQueued - VoiceWave->GetAvailableAudioByteCount() / BytesPerFrame;
	return static_cast<double>(Played + State->FramesSkipped) / FMath::Max(1, State->SampleRate) - OutputLatencySeconds;
}

void UArtalkFaceComponent::ApplyFace(float DeltaTime)
{
	const int32 Count = artalk_session_channel_count(State->Session);
	if (Count <= 0)
	{
		return;
	}
	if (!State->bBound)
	{
		State->Channels.Reset();
		State->Bindings.Reset();
		for (int32 i = 0; i < Count; ++i)
		{
			ANSICHAR Name[256];
			artalk_session_channel_name(State->Session, i, Name, sizeof(Name));
			State->Channels.Add(FName(UTF8_TO_TCHAR(Name)));
		}
		for (int32 i = 0; i < Count; ++i)
		{
			const FName Channel = State->Channels[i];  // FName compares ignore case: headYaw == HeadYaw
			for (int32 Axis = 0; Axis < 3; ++Axis)
			{
				static const TCHAR* Axes[3] = {TEXT("Pitch"), TEXT("Yaw"), TEXT("Roll")};
				if (Channel == FName(*(FString(TEXT("Head")) + Axes[Axis]))) State->Head[Axis] = i;
				if (Channel == FName(*(FString(TEXT("LeftEye")) + Axes[Axis]))) State->LeftEye[Axis] = i;
				if (Channel == FName(*(FString(TEXT("RightEye")) + Axes[Axis]))) State->RightEye[Axis] = i;
			}
			if (artalk_session_channel_is_rotation(State->Session, i) == 1)
			{
				continue;
			}
			bool bListed = false;
			if (RetargetPreset)
			{
				for (const FArtalkCurveMapping& Mapping : RetargetPreset->Mappings)
				{
					if (Mapping.Channel == Channel)
					{
						bListed = true;
						if (!Mapping.Target.IsNone())
						{
							State->Bindings.Add({i, Mapping.Target, Mapping.Weight});
						}
					}
				}
			}
			if (!bListed && (!RetargetPreset || RetargetPreset->bMapUnlistedByName))
			{
				State->Bindings.Add({i, Channel, 1.0f});
			}
		}
		State->Values.SetNumZeroed(Count);
		State->bBound = true;
	}

	artalk_session_sample(State->Session, PlaybackTime(), State->Values.GetData(), State->Values.Num());

	const float Gain = RetargetPreset ? RetargetPreset->Gain : 1.0f;
	CurveValues.Reset();
	for (const FArtalkBinding& Binding : State->Bindings)
	{
		CurveValues.FindOrAdd(Binding.Target) += State->Values[Binding.Channel] * Binding.Weight * Gain;
	}
	if (TargetMesh && ApplyMode != EArtalkApplyMode::CurvesOnly)
	{
		for (const TPair<FName, float>& Pair : CurveValues)
		{
			TargetMesh->SetMorphTarget(Pair.Key, Pair.Value);
		}
	}

	// The service's "unreal" convention: FRotator(-pitch, -yaw, -roll) (docs/retarget.md).
	const FVector Signs = RetargetPreset ? RetargetPreset->AxisSigns : FVector(-1.0, -1.0, -1.0);
	auto Rotation = [&](const int32 (&Axes)[3], float Scale) {
		auto Axis = [&](int32 k) { return Axes[k] >= 0 ? FMath::RadiansToDegrees(State->Values[Axes[k]]) * Scale : 0.0f; };
		return FRotator(Axis(0) * Signs.X, Axis(1) * Signs.Y, Axis(2) * Signs.Z);
	};
	HeadRotation = Rotation(State->Head, RetargetPreset ? RetargetPreset->HeadScale : 1.0f);
	LeftEyeRotation = Rotation(State->LeftEye, RetargetPreset ? RetargetPreset->EyeScale : 1.0f);
	RightEyeRotation = Rotation(State->RightEye, RetargetPreset ? RetargetPreset->EyeScale : 1.0f);
}

// ---------------------------------------------------------------- queries

float UArtalkFaceComponent::GetCurveValue(FName Target) const
{
	const float* Value = CurveValues.Find(Target);
	return Value ? *Value : 0.0f;
}

bool UArtalkFaceComponent::IsSpeaking() const
{
	if (!State || !State->Session)
	{
		return false;
	}
	return State->Pending.Num() > 0 || (VoiceWave && VoiceWave->GetAvailableAudioByteCount() > 0);
}

FArtalkFaceStats UArtalkFaceComponent::GetStats() const
{
	FArtalkFaceStats Out;
	if (State && State->Session)
	{
		artalk_stats Stats;
		artalk_session_get_stats(State->Session, &Stats);
		Out.FramesReceived = Stats.frames_received;
		Out.FramesLate = Stats.frames_late;
		Out.SamplesLate = Stats.samples_late;
		Out.Reconnects = Stats.reconnects;
		Out.FirstFrameLatency = static_cast<float>(Stats.first_frame_latency_seconds);
		Out.LatencyP50 = static_cast<float>(Stats.latency_p50_seconds);
		Out.LatencyP95 = static_cast<float>(Stats.latency_p95_seconds);
		Out.BufferedSeconds = static_cast<float>(Stats.buffered_seconds);
	}
	return Out;
}
