// How the service's channels reach a character: which service-side retarget map to ask
// for, and which morph target / curve each channel drives on this rig.
#pragma once

#include "CoreMinimal.h"
#include "Engine/DataAsset.h"
#include "ArtalkRetargetPreset.generated.h"

/** One channel of the service drives one morph target or curve. */
USTRUCT(BlueprintType)
struct FArtalkCurveMapping
{
	GENERATED_BODY()

	/** Service channel name, e.g. JawOpen (arkit61) or jawOpen (arkit_camel). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Artalk")
	FName Channel;

	/** Morph target or curve on the rig; None switches the channel off. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Artalk")
	FName Target;

	/** Target = Channel * Weight (several mappings onto one target add up). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Artalk", meta = (ClampMin = "-10.0", ClampMax = "10.0"))
	float Weight = 1.0f;
};

UCLASS(BlueprintType)
class ARTALKFACE_API UArtalkRetargetPreset : public UDataAsset
{
	GENERATED_BODY()

public:
	/** Retarget preset the service applies first (arkit61: PascalCase ARKit + head/eyes, as Live Link and MetaHuman). */
	UPROPERTY(EditAnywhere, BlueprintReadOnly, Category = "Service")
	FString ServicePreset = TEXT("arkit61");

	/** Optional inline retarget map (JSON or YAML, see the service README); replaces ServicePreset. */
	UPROPERTY(EditAnywhere, BlueprintReadOnly, Category = "Service", meta = (MultiLine = "true"))
	FString InlineMap;

	/** Explicit channel -> target mappings. A channel listed here uses only its mappings. */
	UPROPERTY(EditAnywhere, BlueprintReadOnly, Category = "Rig")
	TArray<FArtalkCurveMapping> Mappings;

	/** Channels not listed drive the morph target / curve of the same name. */
	UPROPERTY(EditAnywhere, BlueprintReadOnly, Category = "Rig")
	bool bMapUnlistedByName = true;

	/** Multiplier on every value (morph targets and ARKit curves run 0-1). */
	UPROPERTY(EditAnywhere, BlueprintReadOnly, Category = "Rig", meta = (ClampMin = "0.0", ClampMax = "10.0"))
	float Gain = 1.0f;

	/**
	 * Head and eye rotation: the service sends yaw/pitch/roll in radians in the character's
	 * own frame (docs/retarget.md "Conventions"). They become FRotator(Pitch, Yaw, Roll) in
	 * degrees times these signs (X = pitch, Y = yaw, Z = roll) and HeadScale / EyeScale.
	 * The default (-1, -1, -1) is the service's "unreal" convention; flip a sign only if
	 * your rig's bone axes differ.
	 */
	UPROPERTY(EditAnywhere, BlueprintReadOnly, Category = "Head")
	FVector AxisSigns = FVector(-1.0, -1.0, -1.0);

	UPROPERTY(EditAnywhere, BlueprintReadOnly, Category = "Head", meta = (ClampMin = "0.0", ClampMax = "2.0"))
	float HeadScale = 1.0f;

	UPROPERTY(EditAnywhere, BlueprintReadOnly, Category = "Head", meta = (ClampMin = "0.0", ClampMax = "2.0"))
	float EyeScale = 1.0f;
};
