/*
 * artalk_client.h: the C ABI of the artalk.v1 native client core.
 *
 * One header, plain C (C89 types plus <stdint.h>), opaque handles, no C++ or
 * gRPC types: C#, Unreal, Godot, Rust or anything with a C FFI can call it.
 *
 * Model:
 *   artalk_config   options of one session (server address, TLS and token,
 *                   audio format, retarget, style, client-side buffering and
 *                   reconnects).
 *   artalk_session  one live animation session: it connects in the
 *                   background, sends the SessionConfig, streams the audio
 *                   you push, and fills a jitter buffer with the frames it
 *                   receives, keyed by time code. Reconnects on its own.
 *
 * Time: every time in this API is seconds on the session's audio timeline,
 * 0 = the first sample pushed, advancing by 1/sample_rate per pushed sample
 * frame (artalk_session_audio_time tells the position of the next one). To
 * drive a face, map your playback clock onto it (e.g. "this clip started at
 * timeline time T and has played for p seconds" -> T + p) and call
 * artalk_session_sample every rendered frame.
 *
 * Threads: every function may be called from any thread. push_audio, flush,
 * cancel and end never block on the network (audio is queued and sent by the
 * session's own thread), so they are safe from an audio callback. sample,
 * poll_event, get_stats and read_frames take a short lock and never block on
 * the network either. The wait_* functions block up to their timeout.
 *
 * Strings in: NUL-terminated UTF-8, copied; the caller keeps ownership.
 * Strings out: copied into the caller's buffer (truncated, always
 * NUL-terminated when len > 0); the return value is the full length in bytes
 * without the NUL, so a caller can size a buffer and ask again.
 *
 * Errors: functions returning int return ARTALK_OK (0) or a negative
 * artalk_result; artalk_session_last_error tells what happened.
 */
#ifndef ARTALK_CLIENT_H
#define ARTALK_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#  if defined(ARTALK_BUILDING_LIBRARY)
#    define ARTALK_API __declspec(dllexport)
#  else
#    define ARTALK_API __declspec(dllimport)
#  endif
#  define ARTALK_CALL __cdecl
#else
#  define ARTALK_API __attribute__((visibility("default")))
#  define ARTALK_CALL
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped when a function's meaning or a struct's layout changes; additions
 * keep it. Bindings should check artalk_abi_version() == ARTALK_ABI_VERSION. */
#define ARTALK_ABI_VERSION 1

typedef struct artalk_config artalk_config;
typedef struct artalk_session artalk_session;

/* Results (negative) of functions returning int. */
typedef enum artalk_result {
  ARTALK_OK = 0,
  ARTALK_ERR_INVALID_ARGUMENT = -1, /* a bad argument or option: nothing was done */
  ARTALK_ERR_STATE = -2,            /* not allowed now (e.g. audio after end, or the session failed) */
  ARTALK_ERR_TIMEOUT = -3,          /* a wait_* timed out; the session goes on */
  ARTALK_ERR_FAILED = -4,           /* the session failed for good; see artalk_session_last_error */
  ARTALK_ERR_BUFFER_FULL = -5,      /* too much audio queued while disconnected; this push was dropped */
  ARTALK_ERR_CLOSED = -6            /* the session was closed */
} artalk_result;

/* AudioEncoding of the contract. */
typedef enum artalk_encoding {
  ARTALK_ENCODING_PCM_S16LE = 1, /* signed 16-bit, little-endian, interleaved */
  ARTALK_ENCODING_FLOAT32_LE = 2 /* 32-bit float in [-1, 1], interleaved (Unity and Unreal native) */
} artalk_encoding;

/* Session states. */
typedef enum artalk_state {
  ARTALK_STATE_CONNECTING = 0,   /* opening the first call; audio pushed now is queued */
  ARTALK_STATE_STREAMING = 1,    /* started: channel names and fps are known */
  ARTALK_STATE_RECONNECTING = 2, /* the call broke; a new one is being opened and unanimated audio re-sent */
  ARTALK_STATE_FINISHED = 3,     /* end was sent and the server confirmed every frame */
  ARTALK_STATE_FAILED = 4,       /* a non-retryable error or reconnects used up: see last_error */
  ARTALK_STATE_CLOSED = 5        /* artalk_session_close was called (not observable through a live handle) */
} artalk_state;

/* What artalk_session_sample produced. */
typedef enum artalk_sample_status {
  ARTALK_SAMPLE_OK = 0,   /* interpolated between received frames */
  ARTALK_SAMPLE_LATE = 1, /* the frame for this time is due but not here: the newest frame is held */
  ARTALK_SAMPLE_IDLE = 2  /* nothing to animate here (before the first frame, after an utterance, in a
                             cancelled span): values release from the last frame to rest (0) */
} artalk_sample_status;

/* Event types from artalk_session_poll_event. */
typedef enum artalk_event_type {
  ARTALK_EVENT_STARTED = 1,            /* the first call started; names and fps are known */
  ARTALK_EVENT_UTTERANCE_FINISHED = 2, /* after a flush, a cancel, or the final utterance */
  ARTALK_EVENT_DISCONNECTED = 3,       /* the call broke (status_code: the gRPC status); reconnecting */
  ARTALK_EVENT_RECONNECTED = 4,        /* a new call started and unanimated audio was re-sent */
  ARTALK_EVENT_FINISHED = 5,           /* the session ended successfully after end */
  ARTALK_EVENT_FAILED = 6              /* the session failed for good (status_code; see last_error) */
} artalk_event_type;

/* One event. Layout is fixed: six 32-bit ints, then two doubles (40 bytes). */
typedef struct artalk_event {
  int32_t type;            /* artalk_event_type */
  int32_t utterance_index; /* UTTERANCE_FINISHED: counts from 0 over the whole session */
  int32_t frame_count;     /* UTTERANCE_FINISHED: frames delivered for it */
  int32_t cancelled;       /* UTTERANCE_FINISHED: 1 when ended by a cancel */
  int32_t status_code;     /* DISCONNECTED / FAILED: the gRPC status code (14 = UNAVAILABLE, ...) */
  int32_t attempt;         /* DISCONNECTED / RECONNECTED: reconnect attempt number, from 1 */
  double start_time;       /* UTTERANCE_FINISHED: timeline time of its first sample */
  double end_time;         /* UTTERANCE_FINISHED: timeline time just after its last sample */
} artalk_event;

/* Counters and latency. Layout is fixed: 64-bit fields only (14 x 8 bytes). */
typedef struct artalk_stats {
  int64_t frames_received; /* frames put in the jitter buffer */
  int64_t frames_late;     /* frames that arrived after the playback time passed them */
  int64_t samples_late;    /* artalk_session_sample calls that returned ARTALK_SAMPLE_LATE */
  int64_t reconnects;      /* calls re-opened after a failure */
  int64_t frames_dropped;  /* frames not buffered: duplicates after a reconnect, or in a cancelled span */
  int64_t utterances;      /* utterances finished */
  double audio_pushed_seconds;  /* audio accepted by push_audio */
  double audio_sent_seconds;    /* of it, audio written to the current call */
  double buffered_seconds;      /* newest frame time minus the last sampled playback time */
  double first_frame_latency_seconds; /* first audio written -> first frame received; -1 until known */
  /* Frame latency: arrival minus the moment its audio would have been spoken by a live source
   * (the chunk's write time minus how far before the chunk's end the frame lies). With audio
   * paced in real time this is the face's delay behind the voice; -1 until known. Over the
   * last 1024 frames. */
  double latency_p50_seconds;
  double latency_p95_seconds;
  double latency_max_seconds;
  double newest_frame_time; /* time code of the newest frame received; -1 when none */
} artalk_stats;

/* ------------------------------------------------------------------ library */

ARTALK_API int ARTALK_CALL artalk_abi_version(void);
/* Version of this library, e.g. "0.1.0 (artalk.v1)". Static storage; do not free. */
ARTALK_API const char* ARTALK_CALL artalk_version(void);

/* ------------------------------------------------------------------- config */

/* New options for a session with the server at `target` ("host:port").
 * Defaults: PCM16 mono 16 kHz, native fps, preset "arkit61", neutral style,
 * seed 0, greedy; 100 ms chunks; a 2 s jitter-buffer history, 150 ms release;
 * 5 reconnect attempts from 250 ms backoff, 5 s connect timeout, 30 s replay. */
ARTALK_API artalk_config* ARTALK_CALL artalk_config_create(const char* target);
ARTALK_API void ARTALK_CALL artalk_config_destroy(artalk_config* config);

/* The format of every buffer given to artalk_session_push_audio.
 * encoding: artalk_encoding; 8000-48000 Hz; 1 or 2 channels. */
ARTALK_API int ARTALK_CALL artalk_config_set_audio_format(artalk_config* config, int encoding,
                                                          int sample_rate_hz, int channels);
/* Output frames per second, 0 (native 25) to 120. */
ARTALK_API int ARTALK_CALL artalk_config_set_output_fps(artalk_config* config, int fps);
/* A retarget preset name (e.g. "arkit_camel"), or NULL/"" for the default. */
ARTALK_API int ARTALK_CALL artalk_config_set_retarget_preset(artalk_config* config, const char* name);
/* A whole retarget map as JSON or YAML text (replaces any preset). */
ARTALK_API int ARTALK_CALL artalk_config_set_retarget_inline(artalk_config* config, const char* map_text);
/* A style preset name, or NULL/"" for the neutral style. */
ARTALK_API int ARTALK_CALL artalk_config_set_style_preset(artalk_config* config, const char* name);
/* Sampling: the same audio, config and seed give the same frames. temperature 0 = greedy. */
ARTALK_API int ARTALK_CALL artalk_config_set_sampling(artalk_config* config, uint64_t seed, float temperature,
                                                      float top_p);
/* Classifier-free guidance of the audio (SessionConfig.guidance): 0 = the model's default,
   else 1 (off) to 4; the server refuses more than the model's max_guidance. Above 1 the mouth
   follows the audio more closely, at more server work per window. */
ARTALK_API int ARTALK_CALL artalk_config_set_guidance(artalk_config* config, float guidance);
/* Head rotation and blinks (both on by default). */
ARTALK_API int ARTALK_CALL artalk_config_set_motion(artalk_config* config, int head_motion, int blinks);
/* Client ids echoed by the server and its logs (each at most 128 bytes; NULL = unset). */
ARTALK_API int ARTALK_CALL artalk_config_set_ids(artalk_config* config, const char* session_id,
                                                 const char* character_id);
/* Pushed audio is sent in chunks of this length (0.01-10 s, default 0.1). */
ARTALK_API int ARTALK_CALL artalk_config_set_chunk_seconds(artalk_config* config, double seconds);
/* Jitter buffer: keep this much history behind the playback time (default 2 s), and fade
 * to rest over release_seconds after an utterance or a cancel (default 0.15 s, 0 = at once). */
ARTALK_API int ARTALK_CALL artalk_config_set_jitter_buffer(artalk_config* config, double keep_seconds,
                                                           double release_seconds);
/* Reconnects: attempts per failure (0 = never), first backoff (doubles up to 4 s), the
 * connect timeout of each attempt, and the most unanimated audio kept for re-sending.
 * Retried: UNAVAILABLE (connection failed or lost), RESOURCE_EXHAUSTED (session limit or
 * token rate; the wait is at least the server's grpc-retry-pushback-ms), CANCELLED, ABORTED.
 * Anything else fails the session at once with the server's message: UNAUTHENTICATED,
 * PERMISSION_DENIED (token), INVALID_ARGUMENT (settings), DEADLINE_EXCEEDED (the server's
 * idle timeout: keep a session busy with audio, silence counts, or open a new one). */
ARTALK_API int ARTALK_CALL artalk_config_set_reconnect(artalk_config* config, int max_attempts,
                                                       double initial_backoff_seconds,
                                                       double connect_timeout_seconds,
                                                       double max_replay_seconds);
/* Also keep every received frame, in order, for artalk_session_read_frames (off by
 * default: an engine only samples). */
ARTALK_API int ARTALK_CALL artalk_config_set_record_frames(artalk_config* config, int enabled);

/* ----------------------------------------------------------------- security */

/* Connect with TLS (without this call the connection is plaintext). ca_file: PEM file of the
 * CA that signed the server's certificate; NULL or "" = the system's roots. cert_file and
 * key_file: PEM client certificate chain and its private key, for a server that requires
 * mutual TLS; both or neither. The paths are copied; artalk_session_open reads the files and
 * fails, naming the file and the reason, when one cannot be used. A TLS or plaintext mismatch
 * with the server shows as UNAVAILABLE ("could not connect ...") with a hint. */
ARTALK_API int ARTALK_CALL artalk_config_set_tls(artalk_config* config, const char* ca_file, const char* cert_file,
                                                 const char* key_file);
/* The host name the server's certificate must carry when it is not the target's host (a
 * target given as an IP address, a test certificate); NULL or "" = the target's host. TLS only. */
ARTALK_API int ARTALK_CALL artalk_config_set_tls_server_name(artalk_config* config, const char* name);
/* A bearer token, sent as "authorization: Bearer <token>" with every call; NULL or "" = none.
 * Visible ASCII (0x21-0x7e), at most 4096 bytes. It never appears in an error message. A
 * missing or malformed token fails the session with UNAUTHENTICATED, one the server does not
 * accept with PERMISSION_DENIED, without reconnect attempts. */
ARTALK_API int ARTALK_CALL artalk_config_set_token(artalk_config* config, const char* token);

/* ------------------------------------------------------------------ session */

/* Start a session: returns at once, connecting in the background. NULL only when
 * the options are invalid (the reason goes to error_buf). The config may be
 * destroyed afterwards. */
ARTALK_API artalk_session* ARTALK_CALL artalk_session_open(const artalk_config* config, char* error_buf,
                                                          int error_len);
/* Cancel the call if it is live, stop the session's threads and free it. Safe at any
 * time, from any state; returns within a few milliseconds of the network's answer
 * (it never waits for frames). */
ARTALK_API void ARTALK_CALL artalk_session_close(artalk_session* session);

ARTALK_API int ARTALK_CALL artalk_session_state(artalk_session* session);
/* Block until started (ARTALK_OK), failed (ARTALK_ERR_FAILED) or the timeout. */
ARTALK_API int ARTALK_CALL artalk_session_wait_started(artalk_session* session, double timeout_seconds);

/* After STARTED: output channels (-1 before), their names, which are rotations (radians), fps. */
ARTALK_API int ARTALK_CALL artalk_session_channel_count(artalk_session* session);
ARTALK_API int ARTALK_CALL artalk_session_channel_name(artalk_session* session, int index, char* buf, int len);
ARTALK_API int ARTALK_CALL artalk_session_channel_is_rotation(artalk_session* session, int index);
ARTALK_API int ARTALK_CALL artalk_session_fps(artalk_session* session);
/* The model's algorithmic latency (window + lookahead) in seconds; -1 before STARTED. */
ARTALK_API double ARTALK_CALL artalk_session_algorithmic_latency(artalk_session* session);

/* Queue audio in the configured format: a whole number of sample frames, any length.
 * Never blocks. On success *time_code (if not NULL) is the timeline time of its first
 * sample. */
ARTALK_API int ARTALK_CALL artalk_session_push_audio(artalk_session* session, const void* data, size_t bytes,
                                                     double* time_code);
/* Timeline time of the next sample to be pushed (= seconds of audio pushed so far). */
ARTALK_API double ARTALK_CALL artalk_session_audio_time(artalk_session* session);
/* End of an utterance: its last window is finished now; the session stays open. */
ARTALK_API int ARTALK_CALL artalk_session_flush(artalk_session* session);
/* Barge-in: the server drops pending audio; locally, frames after the last sampled
 * playback time are dropped and the face releases to rest. Audio pushed after it
 * starts the next utterance. */
ARTALK_API int ARTALK_CALL artalk_session_cancel(artalk_session* session);
/* No more audio: the last utterance is finished and the call ends. */
ARTALK_API int ARTALK_CALL artalk_session_end(artalk_session* session);
/* Block until FINISHED (ARTALK_OK), FAILED (ARTALK_ERR_FAILED) or the timeout. */
ARTALK_API int ARTALK_CALL artalk_session_wait_finished(artalk_session* session, double timeout_seconds);

/* The face at playback time t: fills values[0..channel_count) (capacity floats at most)
 * and returns an artalk_sample_status (>= 0), or a negative artalk_result. */
ARTALK_API int ARTALK_CALL artalk_session_sample(artalk_session* session, double playback_time, float* values,
                                                 int capacity);
/* With record_frames on: move up to max_frames of the oldest recorded frames out, as
 * time_codes[max_frames] and row-major values[max_frames * capacity_per_frame]
 * (channel_count floats each). Returns how many (0 when none), or a negative result. */
ARTALK_API int ARTALK_CALL artalk_session_read_frames(artalk_session* session, double* time_codes, float* values,
                                                      int max_frames, int capacity_per_frame);
/* Take the oldest pending event: 1 when one was written to *event, 0 when none. */
ARTALK_API int ARTALK_CALL artalk_session_poll_event(artalk_session* session, artalk_event* event);
ARTALK_API int ARTALK_CALL artalk_session_get_stats(artalk_session* session, artalk_stats* stats);
/* The last error or disconnect reason ("" when none). Returns its full length. */
ARTALK_API int ARTALK_CALL artalk_session_last_error(artalk_session* session, char* buf, int len);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ARTALK_CLIENT_H */
