// A managed wrapper of one native artalk session. Engine-independent (no UnityEngine):
// the Unity components use it, and the C# console test in tests/clients/csharp compiles
// this same file and runs it against the live service. C# 6.
using System;
using System.Runtime.InteropServices;

namespace Artalk.Face
{
    /// <summary>Raised when the native library refuses options or fails for good.</summary>
    public sealed class ArtalkException : Exception
    {
        public ArtalkException(string message) : base(message) { }
    }

    /// <summary>Everything a session needs; the defaults match the native ones.</summary>
    [Serializable]
    public sealed class ArtalkSessionOptions
    {
        /// <summary>host:port of the artalk service.</summary>
        public string Target = "127.0.0.1:50051";
        /// <summary>Connect with TLS; a CA or client certificate file turns it on as well.</summary>
        public bool UseTls;
        /// <summary>PEM file of the CA that signed the server's certificate; empty = the system's roots.</summary>
        public string TlsCaFile;
        /// <summary>PEM client certificate chain, for a server that requires mutual TLS (with <see cref="TlsKeyFile"/>).</summary>
        public string TlsCertFile;
        /// <summary>PEM private key of <see cref="TlsCertFile"/>.</summary>
        public string TlsKeyFile;
        /// <summary>The host name the server's certificate carries, when it is not the target's host.</summary>
        public string TlsServerName;
        /// <summary>Bearer token sent with every call ("authorization: Bearer ..."); empty = none. Never logged.</summary>
        public string Token;
        public ArtalkEncoding Encoding = ArtalkEncoding.Float32Le;
        /// <summary>8000 to 48000 Hz.</summary>
        public int SampleRateHz = 48000;
        /// <summary>1 or 2 (stereo is downmixed by the server).</summary>
        public int Channels = 1;
        /// <summary>0 = the model's native 25 fps; up to 120.</summary>
        public int OutputFps = 60;
        /// <summary>A retarget preset, e.g. "arkit_camel" (Apple camelCase names, most Unity rigs).</summary>
        public string RetargetPreset = "arkit_camel";
        /// <summary>A whole retarget map as JSON or YAML; replaces the preset when set.</summary>
        public string RetargetInline;
        /// <summary>A style preset, or null for the neutral style.</summary>
        public string StylePreset;
        public ulong Seed;
        public float Temperature;
        public float TopP;
        /// <summary>Classifier-free guidance of the audio: 0 = the model's default, else 1 (off) to 4
        /// (the server's Describe gives the model's max). Higher follows the audio more closely.</summary>
        public float Guidance;
        public bool HeadMotion = true;
        public bool Blinks = true;
        public string SessionId;
        public string CharacterId;
        public double ChunkSeconds = 0.1;
        /// <summary>Jitter-buffer history behind the playback time.</summary>
        public double KeepSeconds = 2.0;
        /// <summary>Fade to rest after an utterance or a cancel.</summary>
        public double ReleaseSeconds = 0.15;
        public int MaxReconnectAttempts = 5;
        public double ReconnectBackoffSeconds = 0.25;
        public double ConnectTimeoutSeconds = 5.0;
        public double MaxReplaySeconds = 30.0;
        /// <summary>Keep every frame for <see cref="ArtalkSession.ReadFrames"/> (off: engines only sample).</summary>
        public bool RecordFrames;
    }

    /// <summary>
    /// One live animation session. Push audio (any thread, never blocks), then sample the face
    /// at your playback time every rendered frame. Times are seconds on the session's audio
    /// timeline: 0 = the first sample pushed; <see cref="PushAudio(float[],int,int)"/> returns
    /// where each buffer starts.
    /// </summary>
    public sealed class ArtalkSession : IDisposable
    {
        readonly ArtalkSessionHandle handle;
        readonly ArtalkSessionOptions options;
        string[] names;
        bool[] rotations;

        ArtalkSession(ArtalkSessionHandle handle, ArtalkSessionOptions options)
        {
            this.handle = handle;
            this.options = options;
        }

        /// <summary>Open a session; it connects in the background. Throws on invalid options.</summary>
        public static ArtalkSession Open(ArtalkSessionOptions o)
        {
            if (o == null) throw new ArgumentNullException("o");
            int abi = ArtalkNative.artalk_abi_version();
            if (abi != ArtalkNative.AbiVersion)
                throw new ArtalkException("artalk_client native library has ABI " + abi + ", this binding needs " + ArtalkNative.AbiVersion);
            using (var config = ArtalkNative.artalk_config_create(ArtalkNative.Utf8(o.Target)))
            {
                Check(ArtalkNative.artalk_config_set_audio_format(config, (int)o.Encoding, o.SampleRateHz, o.Channels), "audio format");
                Check(ArtalkNative.artalk_config_set_output_fps(config, o.OutputFps), "output fps");
                if (!string.IsNullOrEmpty(o.RetargetInline))
                    Check(ArtalkNative.artalk_config_set_retarget_inline(config, ArtalkNative.Utf8(o.RetargetInline)), "retarget map");
                else
                    Check(ArtalkNative.artalk_config_set_retarget_preset(config, ArtalkNative.Utf8(o.RetargetPreset)), "retarget preset");
                Check(ArtalkNative.artalk_config_set_style_preset(config, ArtalkNative.Utf8(o.StylePreset)), "style preset");
                Check(ArtalkNative.artalk_config_set_sampling(config, o.Seed, o.Temperature, o.TopP), "sampling");
                Check(ArtalkNative.artalk_config_set_guidance(config, o.Guidance), "guidance");
                Check(ArtalkNative.artalk_config_set_motion(config, o.HeadMotion ? 1 : 0, o.Blinks ? 1 : 0), "motion");
                Check(ArtalkNative.artalk_config_set_ids(config, ArtalkNative.Utf8(o.SessionId), ArtalkNative.Utf8(o.CharacterId)), "ids");
                Check(ArtalkNative.artalk_config_set_chunk_seconds(config, o.ChunkSeconds), "chunk seconds");
                Check(ArtalkNative.artalk_config_set_jitter_buffer(config, o.KeepSeconds, o.ReleaseSeconds), "jitter buffer");
                Check(ArtalkNative.artalk_config_set_reconnect(config, o.MaxReconnectAttempts, o.ReconnectBackoffSeconds,
                                                              o.ConnectTimeoutSeconds, o.MaxReplaySeconds), "reconnect");
                Check(ArtalkNative.artalk_config_set_record_frames(config, o.RecordFrames ? 1 : 0), "record frames");
                if (o.UseTls || !string.IsNullOrEmpty(o.TlsCaFile) || !string.IsNullOrEmpty(o.TlsCertFile))
                    Check(ArtalkNative.artalk_config_set_tls(config, ArtalkNative.Utf8(o.TlsCaFile), ArtalkNative.Utf8(o.TlsCertFile),
                                                            ArtalkNative.Utf8(o.TlsKeyFile)), "TLS files (a client certificate needs its key)");
                Check(ArtalkNative.artalk_config_set_tls_server_name(config, ArtalkNative.Utf8(o.TlsServerName)), "TLS server name");
                Check(ArtalkNative.artalk_config_set_token(config, ArtalkNative.Utf8(o.Token)), "token (visible ASCII, no spaces)");
                var error = new byte[512];
                var session = ArtalkNative.artalk_session_open(config, error, error.Length);
                if (session.IsInvalid) throw new ArtalkException("cannot open session: " + ArtalkNative.FromUtf8(error));
                return new ArtalkSession(session, o);
            }
        }

        static void Check(int result, string what)
        {
            if (result != (int)ArtalkResult.Ok)
                throw new ArtalkException("invalid " + what + " (" + (ArtalkResult)result + ")");
        }

        public ArtalkSessionOptions Options { get { return options; } }
        public ArtalkState State { get { return (ArtalkState)ArtalkNative.artalk_session_state(handle); } }
        /// <summary>True once the server described the output (names, fps).</summary>
        public bool IsStarted { get { return ArtalkNative.artalk_session_channel_count(handle) > 0; } }
        public bool IsFailed { get { return State == ArtalkState.Failed; } }

        /// <summary>Block until started (true), or failed / timed out (false). Avoid on a game thread.</summary>
        public bool WaitStarted(double timeoutSeconds)
        {
            return ArtalkNative.artalk_session_wait_started(handle, timeoutSeconds) == (int)ArtalkResult.Ok;
        }

        /// <summary>Output channel names once started (else an empty array), cached.</summary>
        public string[] ChannelNames
        {
            get
            {
                if (names != null) return names;
                int n = ArtalkNative.artalk_session_channel_count(handle);
                if (n <= 0) return new string[0];
                var result = new string[n];
                var rot = new bool[n];
                var buf = new byte[256];
                for (int i = 0; i < n; i++)
                {
                    int len = ArtalkNative.artalk_session_channel_name(handle, i, buf, buf.Length);
                    if (len >= buf.Length)
                    {
                        buf = new byte[len + 1];
                        ArtalkNative.artalk_session_channel_name(handle, i, buf, buf.Length);
                    }
                    result[i] = ArtalkNative.FromUtf8(buf);
                    rot[i] = ArtalkNative.artalk_session_channel_is_rotation(handle, i) == 1;
                }
                rotations = rot;
                names = result;
                return names;
            }
        }

        /// <summary>Which channels are rotations in radians (index-aligned to <see cref="ChannelNames"/>).</summary>
        public bool[] RotationChannels { get { var unused = ChannelNames; return rotations ?? new bool[0]; } }
        public int ChannelCount { get { return ChannelNames.Length; } }
        public int Fps { get { return ArtalkNative.artalk_session_fps(handle); } }
        /// <summary>The model's window + lookahead, seconds (-1 before started).</summary>
        public double AlgorithmicLatency { get { return ArtalkNative.artalk_session_algorithmic_latency(handle); } }
        /// <summary>Timeline time of the next sample to push (seconds pushed so far).</summary>
        public double AudioTime { get { return ArtalkNative.artalk_session_audio_time(handle); } }

        /// <summary>Queue float samples (Float32Le sessions): <paramref name="count"/> floats from
        /// <paramref name="offset"/>, interleaved, whole sample frames. Returns the timeline time of
        /// the first one. Never blocks and allocates nothing: safe in OnAudioFilterRead.</summary>
        public double PushAudio(float[] samples, int offset, int count)
        {
            if (options.Encoding != ArtalkEncoding.Float32Le) throw new InvalidOperationException("the session expects PCM16: push short[]");
            return Push(samples, offset, count, sizeof(float));
        }

        /// <summary>Queue 16-bit samples (PcmS16Le sessions); see the float overload.</summary>
        public double PushAudio(short[] samples, int offset, int count)
        {
            if (options.Encoding != ArtalkEncoding.PcmS16Le) throw new InvalidOperationException("the session expects float32: push float[]");
            return Push(samples, offset, count, sizeof(short));
        }

        double Push(Array samples, int offset, int count, int elementBytes)
        {
            if (samples == null) throw new ArgumentNullException("samples");
            if (offset < 0 || count < 0 || offset + count > samples.Length) throw new ArgumentOutOfRangeException("count");
            double timeCode;
            int result;
            var pin = GCHandle.Alloc(samples, GCHandleType.Pinned);
            try
            {
                var start = new IntPtr(pin.AddrOfPinnedObject().ToInt64() + (long)offset * elementBytes);
                result = ArtalkNative.artalk_session_push_audio(handle, start, new UIntPtr((ulong)count * (ulong)elementBytes), out timeCode);
            }
            finally
            {
                pin.Free();
            }
            if (result != (int)ArtalkResult.Ok) throw new ArtalkException("push_audio: " + (ArtalkResult)result + " " + LastError);
            return timeCode;
        }

        /// <summary>End of an utterance: the server finishes it now; the session stays open.</summary>
        public ArtalkResult Flush() { return (ArtalkResult)ArtalkNative.artalk_session_flush(handle); }
        /// <summary>Barge-in: the face releases to rest from the last sampled time; audio pushed next starts a new utterance.</summary>
        public ArtalkResult Cancel() { return (ArtalkResult)ArtalkNative.artalk_session_cancel(handle); }
        /// <summary>No more audio: the call ends once every frame arrived.</summary>
        public ArtalkResult End() { return (ArtalkResult)ArtalkNative.artalk_session_end(handle); }
        public bool WaitFinished(double timeoutSeconds)
        {
            return ArtalkNative.artalk_session_wait_finished(handle, timeoutSeconds) == (int)ArtalkResult.Ok;
        }

        /// <summary>The face at <paramref name="playbackTime"/> into <paramref name="values"/>
        /// (at least <see cref="ChannelCount"/> floats). Allocates nothing.</summary>
        public ArtalkSampleStatus Sample(double playbackTime, float[] values)
        {
            int r = ArtalkNative.artalk_session_sample(handle, playbackTime, values, values.Length);
            if (r < 0) throw new ArtalkException("sample: " + (ArtalkResult)r);
            return (ArtalkSampleStatus)r;
        }

        /// <summary>With RecordFrames: move up to timeCodes.Length recorded frames out (values row-major,
        /// ChannelCount per frame). Returns how many.</summary>
        public int ReadFrames(double[] timeCodes, float[] values)
        {
            int c = ChannelCount;
            if (c <= 0) return 0;
            int max = Math.Min(timeCodes.Length, values.Length / c);
            int r = ArtalkNative.artalk_session_read_frames(handle, timeCodes, values, max, c);
            if (r < 0) throw new ArtalkException("read_frames: " + (ArtalkResult)r);
            return r;
        }

        public bool PollEvent(out ArtalkEvent evt)
        {
            return ArtalkNative.artalk_session_poll_event(handle, out evt) == 1;
        }

        public ArtalkStats Stats
        {
            get
            {
                ArtalkStats stats;
                ArtalkNative.artalk_session_get_stats(handle, out stats);
                return stats;
            }
        }

        public string LastError
        {
            get
            {
                var buf = new byte[1024];
                ArtalkNative.artalk_session_last_error(handle, buf, buf.Length);
                return ArtalkNative.FromUtf8(buf);
            }
        }

        /// <summary>Cancel the call and free the native session. Safe to call twice.</summary>
        public void Dispose()
        {
            handle.Dispose();
        }
    }
}
