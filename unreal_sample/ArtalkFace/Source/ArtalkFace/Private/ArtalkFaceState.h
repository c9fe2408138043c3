// Private state of UArtalkFaceComponent: the native session and the voice clock.
#pragma once

#include "CoreMinimal.h"
#include "HAL/CriticalSection.h"

#include "artalk_client.h"

/** One target driven by one channel (a binding resolved from the retarget preset). */
struct FArtalkBinding
{
	int32 Channel = 0;
	FName Target;
	float Weight = 1.0f;
};

struct FArtalkFaceState
{
	~FArtalkFaceState()
	{
		if (Session != nullptr)
		{
			artalk_session_close(Session);  // cancels the call, joins the native threads
		}
	}

	artalk_session* Session = nullptr;
	int32 SampleRate = 0;
	int32 NumChannels = 0;

	/** Guards Pending and the frame counters: PushPCM may come from a TTS thread. */
	FCriticalSection Lock;
	/** PCM sent to the service but not yet to the voice (waiting for the prebuffer). */
	TArray<int16> Pending;
	/** Session timeline time of Pending's first sample. */
	double PendingStart = 0.0;
	double PendingSince = 0.0;
	/** Frames given to the voice wave, and frames skipped by a barge-in (both on the session timeline). */
	int64 FramesQueued = 0;
	int64 FramesSkipped = 0;
	bool bLineOpen = false;

	// Face.
	TArray<FName> Channels;
	TArray<float> Values;
	TArray<FArtalkBinding> Bindings;
	int32 Head[3] = {-1, -1, -1};  // pitch, yaw, roll channel indices
	int32 LeftEye[3] = {-1, -1, -1};
	int32 RightEye[3] = {-1, -1, -1};
	bool bBound = false;
};
