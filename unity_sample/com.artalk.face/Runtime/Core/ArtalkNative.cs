// P/Invoke declarations of the native client core's C ABI (clients/cpp/include/artalk_client.h,
// ABI version 1). Engine-independent: the Unity package and the C# console test in
// tests/clients/csharp compile this same file. Written in C# 6 so that Mono's mcs builds it too.
using System;
using System.Runtime.InteropServices;
using System.Text;

namespace Artalk.Face
{
    /// <summary>Results of the native functions that return int (negative = error).</summary>
    public enum ArtalkResult
    {
        Ok = 0,
        InvalidArgument = -1,
        State = -2,
        Timeout = -3,
        Failed = -4,
        BufferFull = -5,
        Closed = -6,
    }

    /// <summary>AudioEncoding of the artalk.v1 contract.</summary>
    public enum ArtalkEncoding
    {
        PcmS16Le = 1,
        Float32Le = 2,
    }

    /// <summary>Where a session is.</summary>
    public enum ArtalkState
    {
        Connecting = 0,
        Streaming = 1,
        Reconnecting = 2,
        Finished = 3,
        Failed = 4,
        Closed = 5,
    }

    /// <summary>What a sample of the jitter buffer produced.</summary>
    public enum ArtalkSampleStatus
    {
        /// <summary>Interpolated between received frames.</summary>
        Ok = 0,
        /// <summary>The frame for this time is due but has not arrived: the newest frame is held.</summary>
        Late = 1,
        /// <summary>Nothing to animate here: the values release towards rest (0).</summary>
        Idle = 2,
    }

    public enum ArtalkEventType
    {
        Started = 1,
        UtteranceFinished = 2,
        Disconnected = 3,
        Reconnected = 4,
        Finished = 5,
        Failed = 6,
    }

    /// <summary>artalk_event: six 32-bit ints, then two doubles (40 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ArtalkEvent
    {
        public int Type;
        public int UtteranceIndex;
        public int FrameCount;
        public int Cancelled;
        public int StatusCode;
        public int Attempt;
        public double StartTime;
        public double EndTime;

        public ArtalkEventType Kind { get { return (ArtalkEventType)Type; } }
    }

    /// <summary>artalk_stats: 64-bit fields only (112 bytes). Times in seconds, -1 when unknown.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ArtalkStats
    {
        public long FramesReceived;
        public long FramesLate;
        public long SamplesLate;
        public long Reconnects;
        public long FramesDropped;
        public long Utterances;
        public double AudioPushedSeconds;
        public double AudioSentSeconds;
        public double BufferedSeconds;
        public double FirstFrameLatencySeconds;
        public double LatencyP50Seconds;
        public double LatencyP95Seconds;
        public double LatencyMaxSeconds;
        public double NewestFrameTime;
    }

    /// <summary>Owns an artalk_config*; released with artalk_config_destroy.</summary>
    public sealed class ArtalkConfigHandle : SafeHandle
    {
        public ArtalkConfigHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
        protected override bool ReleaseHandle()
        {
            ArtalkNative.artalk_config_destroy(handle);
            return true;
        }
    }

    /// <summary>Owns an artalk_session*; released with artalk_session_close.</summary>
    public sealed class ArtalkSessionHandle : SafeHandle
    {
        public ArtalkSessionHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
        protected override bool ReleaseHandle()
        {
            ArtalkNative.artalk_session_close(handle);
            return true;
        }
    }

    /// <summary>
    /// The C functions, one to one. Strings go in as NUL-terminated UTF-8 byte arrays
    /// (<see cref="Utf8"/>) and come out through caller buffers, so nothing depends on
    /// the runtime's string marshalling (Mono, .NET and IL2CPP behave the same).
    /// </summary>
    public static class ArtalkNative
    {
        /// <summary>artalk_client.dll / libartalk_client.so / libartalk_client.dylib.</summary>
        public const string Library = "artalk_client";
        public const int AbiVersion = 1;
        const CallingConvention Cdecl = CallingConvention.Cdecl;

        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_abi_version();
        [DllImport(Library, CallingConvention = Cdecl)] public static extern IntPtr artalk_version();

        [DllImport(Library, CallingConvention = Cdecl)] public static extern ArtalkConfigHandle artalk_config_create(byte[] target);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern void artalk_config_destroy(IntPtr config);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_config_set_audio_format(ArtalkConfigHandle config, int encoding, int sampleRateHz, int channels);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_config_set_output_fps(ArtalkConfigHandle config, int fps);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_config_set_retarget_preset(ArtalkConfigHandle config, byte[] name);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_config_set_retarget_inline(ArtalkConfigHandle config, byte[] mapText);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_config_set_style_preset(ArtalkConfigHandle config, byte[] name);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_config_set_sampling(ArtalkConfigHandle config, ulong seed, float temperature, float topP);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_config_set_guidance(ArtalkConfigHandle config, float guidance);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_config_set_motion(ArtalkConfigHandle config, int headMotion, int blinks);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_config_set_ids(ArtalkConfigHandle config, byte[] sessionId, byte[] characterId);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_config_set_chunk_seconds(ArtalkConfigHandle config, double seconds);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_config_set_jitter_buffer(ArtalkConfigHandle config, double keepSeconds, double releaseSeconds);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_config_set_reconnect(ArtalkConfigHandle config, int maxAttempts, double initialBackoffSeconds, double connectTimeoutSeconds, double maxReplaySeconds);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_config_set_record_frames(ArtalkConfigHandle config, int enabled);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_config_set_tls(ArtalkConfigHandle config, byte[] caFile, byte[] certFile, byte[] keyFile);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_config_set_tls_server_name(ArtalkConfigHandle config, byte[] name);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_config_set_token(ArtalkConfigHandle config, byte[] token);

        [DllImport(Library, CallingConvention = Cdecl)] public static extern ArtalkSessionHandle artalk_session_open(ArtalkConfigHandle config, byte[] errorBuf, int errorLen);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern void artalk_session_close(IntPtr session);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_session_state(ArtalkSessionHandle session);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_session_wait_started(ArtalkSessionHandle session, double timeoutSeconds);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_session_channel_count(ArtalkSessionHandle session);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_session_channel_name(ArtalkSessionHandle session, int index, byte[] buf, int len);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_session_channel_is_rotation(ArtalkSessionHandle session, int index);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_session_fps(ArtalkSessionHandle session);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern double artalk_session_algorithmic_latency(ArtalkSessionHandle session);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_session_push_audio(ArtalkSessionHandle session, IntPtr data, UIntPtr bytes, out double timeCode);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern double artalk_session_audio_time(ArtalkSessionHandle session);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_session_flush(ArtalkSessionHandle session);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_session_cancel(ArtalkSessionHandle session);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_session_end(ArtalkSessionHandle session);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_session_wait_finished(ArtalkSessionHandle session, double timeoutSeconds);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_session_sample(ArtalkSessionHandle session, double playbackTime, [Out] float[] values, int capacity);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_session_read_frames(ArtalkSessionHandle session, [Out] double[] timeCodes, [Out] float[] values, int maxFrames, int capacityPerFrame);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_session_poll_event(ArtalkSessionHandle session, out ArtalkEvent evt);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_session_get_stats(ArtalkSessionHandle session, out ArtalkStats stats);
        [DllImport(Library, CallingConvention = Cdecl)] public static extern int artalk_session_last_error(ArtalkSessionHandle session, byte[] buf, int len);

        /// <summary>A string as NUL-terminated UTF-8 (null stays null: the C side reads NULL as unset).</summary>
        public static byte[] Utf8(string text)
        {
            if (text == null) return null;
            var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
            Encoding.UTF8.GetBytes(text, 0, text.Length, bytes, 0);
            return bytes;
        }

        /// <summary>The NUL-terminated UTF-8 text at the start of <paramref name="buffer"/>.</summary>
        public static string FromUtf8(byte[] buffer)
        {
            int n = Array.IndexOf(buffer, (byte)0);
            return Encoding.UTF8.GetString(buffer, 0, n < 0 ? buffer.Length : n);
        }

        /// <summary>Version of the loaded native library, e.g. "0.1.0 (artalk.v1)".</summary>
        public static string Version()
        {
            return Marshal.PtrToStringAnsi(artalk_version());  // ASCII, static storage
        }
    }
}
