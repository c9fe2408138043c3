// C# console test of the native core's C ABI through the Unity package's engine-free
// assembly (Artalk.Face.Core.dll, compiled from Runtime/Core unchanged), against the live
// service. Built with Mono's mcs, run with mono:
//
//   mono AbiTest.exe --server HOST:PORT --wav SPEECH.wav
//                    [--tls-ca PEM] [--tls-cert PEM --tls-key PEM] [--token TOKEN] [--case NAME]...
//
// Without --case it runs the cases for a plaintext server without tokens; the secured
// cases (secure_stream, token_refused, plaintext_refused, tls_options_checked) run when
// named, with the TLS files and token of the server given.
// Prints PASS/FAIL per case and "N passed, N failed" last; exit code 1 on any failure.
// The entry_points case also prints "ENTRY <library> <function>" for every P/Invoke
// declaration, each bound to the loaded library first.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;
using Artalk.Face;
using static TestSupport;

static class AbiTest
{
    static string server, tlsCa, tlsCert, tlsKey, token;
    static short[] pcm;
    static int rate;

    static ArtalkSessionOptions Options(ArtalkEncoding encoding, int fps)
    {
        return new ArtalkSessionOptions
        {
            Target = server, Encoding = encoding, SampleRateHz = rate, Channels = 1, OutputFps = fps,
            RetargetPreset = "arkit_camel", Seed = 11, RecordFrames = true, CharacterId = "csharp-test",
        };
    }

    /// <summary>Options with the TLS files and token given on the command line.</summary>
    static ArtalkSessionOptions SecureOptions(int fps)
    {
        var o = Options(ArtalkEncoding.PcmS16Le, fps);
        o.TlsCaFile = tlsCa;
        o.TlsCertFile = tlsCert;
        o.TlsKeyFile = tlsKey;
        o.Token = token;
        return o;
    }

    class Result
    {
        public string[] Names;
        public List<double> Times = new List<double>();
        public List<float[]> Frames = new List<float[]>();
        public List<ArtalkEvent> Events = new List<ArtalkEvent>();
    }

    static Result Drain(ArtalkSession s, Result r)
    {
        r.Names = s.ChannelNames;
        int c = r.Names.Length;
        var times = new double[32];
        var values = new float[32 * c];
        int n;
        while ((n = s.ReadFrames(times, values)) > 0)
            for (int i = 0; i < n; i++)
            {
                r.Times.Add(times[i]);
                var row = new float[c];
                Array.Copy(values, i * c, row, 0, c);
                r.Frames.Add(row);
            }
        ArtalkEvent e;
        while (s.PollEvent(out e)) r.Events.Add(e);
        return r;
    }

    static int Count(Result r, ArtalkEventType type)
    {
        int n = 0;
        foreach (var e in r.Events) if (e.Kind == type) n++;
        return n;
    }

    static Result Stream(ArtalkSessionOptions options)
    {
        ArtalkEncoding encoding = options.Encoding;
        using (var s = ArtalkSession.Open(options))
        {
            Check(s.WaitStarted(60), "started: " + s.LastError);
            double t0;
            if (encoding == ArtalkEncoding.PcmS16Le)
            {
                t0 = s.PushAudio(pcm, 0, pcm.Length);
            }
            else
            {
                var floats = new float[pcm.Length];  // as Unity's AudioClip.GetData gives them
                for (int i = 0; i < pcm.Length; i++) floats[i] = pcm[i] / 32768f;
                t0 = s.PushAudio(floats, 0, 4000);  // two pushes: offsets work
                s.PushAudio(floats, 4000, floats.Length - 4000);
            }
            Check(t0 == 0.0, "the first sample is at time 0");
            Check(s.End() == ArtalkResult.Ok, "end");
            Check(s.WaitFinished(120), "finished: " + s.LastError);
            Check(s.State == ArtalkState.Finished, "state finished");
            return Drain(s, new Result());
        }
    }

    static void TestAbi()
    {
        Check(ArtalkNative.artalk_abi_version() == ArtalkNative.AbiVersion, "ABI version");
        Check(ArtalkNative.Version().Contains("artalk.v1"), "version string");
        Check(Marshal.SizeOf(typeof(ArtalkEvent)) == 40, "artalk_event is 40 bytes");
        Check(Marshal.SizeOf(typeof(ArtalkStats)) == 112, "artalk_stats is 112 bytes");
        var bad = Options(ArtalkEncoding.Float32Le, 500);
        try
        {
            ArtalkSession.Open(bad).Dispose();
            Check(false, "fps 500 is refused");
        }
        catch (ArtalkException e)
        {
            Check(e.Message.Contains("output fps"), e.Message);
        }
    }

    static void TestEntryPoints()
    {
        int n = 0;
        foreach (MethodInfo m in typeof(ArtalkNative).GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static))
        {
            if ((m.Attributes & MethodAttributes.PinvokeImpl) == 0) continue;
            var import = (DllImportAttribute)Attribute.GetCustomAttribute(m, typeof(DllImportAttribute));
            Check(import != null && import.CallingConvention == CallingConvention.Cdecl, m.Name + " is a cdecl import");
            Marshal.Prelink(m);  // binds it now: EntryPointNotFoundException when the library lacks it
            Console.WriteLine("ENTRY {0} {1}", import.Value, import.EntryPoint ?? m.Name);
            n++;
        }
        Check(n > 0, "P/Invoke declarations found");
    }

    static void TestInlineMapAndClock()
    {
        var o = Options(ArtalkEncoding.PcmS16Le, 25);
        o.RetargetPreset = "no-such-preset";  // the inline map replaces the preset
        o.RetargetInline = "{\"targets\": [{\"name\": \"mouthOpen\", \"sources\": {\"JawOpen\": 1}}]}";
        using (var s = ArtalkSession.Open(o))
        {
            Check(s.AlgorithmicLatency == -1, "no latency before started: " + s.AlgorithmicLatency);
            Check(s.WaitStarted(60), "started: " + s.LastError);
            Check(s.ChannelNames.Length == 1 && s.ChannelNames[0] == "mouthOpen", "the inline map's channels: " +
                  string.Join(",", s.ChannelNames));
            Check(s.Fps == 25, "fps " + s.Fps);
            Check(s.AlgorithmicLatency > 0 && s.AlgorithmicLatency < 5, "algorithmic latency " + s.AlgorithmicLatency);
            Check(s.AudioTime == 0.0, "nothing pushed yet");
            s.PushAudio(pcm, 0, rate / 2);
            Check(Math.Abs(s.AudioTime - 0.5) < 1e-9, "half a second pushed: " + s.AudioTime);
            s.End();
            Check(s.WaitFinished(120), s.LastError);
            var r = Drain(s, new Result());
            Check(r.Frames.Count == 13 && r.Frames[0].Length == 1, "ceil(0.5 s * 25) frames of one channel: " + r.Frames.Count);
        }
    }

    static Result pcm16Result;

    static void TestPcm16Stream()
    {
        var r = pcm16Result = Stream(Options(ArtalkEncoding.PcmS16Le, 30));
        int expected = (int)((pcm.LongLength * 30 + rate - 1) / rate);
        Check(r.Names.Length == 61 && r.Names[0] == "eyeBlinkLeft" && Array.IndexOf(r.Names, "jawOpen") >= 0, "camelCase names");
        Check(r.Frames.Count == expected, "ceil(duration * fps) frames: " + r.Frames.Count + " vs " + expected);
        for (int i = 0; i < r.Times.Count; i++) Check(Math.Abs(r.Times[i] - i / 30.0) < 1e-6, "time code " + i);
        Check(Count(r, ArtalkEventType.Started) == 1 && Count(r, ArtalkEventType.UtteranceFinished) == 1 &&
              Count(r, ArtalkEventType.Finished) == 1, "events");
    }

    static void TestFloat32MatchesPcm16()
    {
        // s / 32768 is exact in float32, and the server decodes PCM16 the same way: same frames.
        var r = Stream(Options(ArtalkEncoding.Float32Le, 30));
        Check(r.Frames.Count == pcm16Result.Frames.Count, "same frame count");
        double worst = 0;
        for (int i = 0; i < r.Frames.Count; i++)
            for (int k = 0; k < r.Names.Length; k++)
                worst = Math.Max(worst, Math.Abs(r.Frames[i][k] - pcm16Result.Frames[i][k]));
        Check(worst < 1e-4, "float32 and PCM16 give the same face, max diff " + worst);
    }

    static void TestSampleAndStats()
    {
        using (var s = ArtalkSession.Open(Options(ArtalkEncoding.PcmS16Le, 25)))
        {
            Check(s.WaitStarted(60), s.LastError);
            var face = new float[s.ChannelCount];
            Check(s.RotationChannels[Array.IndexOf(s.ChannelNames, "headYaw")], "headYaw is a rotation");
            s.PushAudio(pcm, 0, pcm.Length);
            s.End();
            Check(s.WaitFinished(120), s.LastError);
            var r = Drain(s, new Result());
            int k = r.Frames.Count / 2;
            Check(s.Sample(r.Times[k], face) == ArtalkSampleStatus.Ok, "sample at a frame");
            for (int c = 0; c < face.Length; c++) Check(Math.Abs(face[c] - r.Frames[k][c]) < 1e-6, "exact at a frame");
            Check(s.Sample((r.Times[k] + r.Times[k + 1]) / 2, face) == ArtalkSampleStatus.Ok, "between frames");
            for (int c = 0; c < face.Length; c++)
                Check(Math.Abs(face[c] - (r.Frames[k][c] + r.Frames[k + 1][c]) / 2) < 1e-5, "interpolated");
            Check(s.Sample(1000.0, face) == ArtalkSampleStatus.Idle, "idle after the end");
            ArtalkStats st = s.Stats;
            Check(st.FramesReceived == r.Frames.Count && st.Reconnects == 0 && st.Utterances == 1, "stats counts");
            Check(st.FirstFrameLatencySeconds > 0 && st.LatencyP95Seconds >= st.LatencyP50Seconds, "stats latency");
            Check(Math.Abs(st.AudioPushedSeconds - pcm.Length / (double)rate) < 1e-9, "pushed seconds");
        }
    }

    static void TestFlushAndCancel()
    {
        using (var s = ArtalkSession.Open(Options(ArtalkEncoding.PcmS16Le, 25)))
        {
            s.PushAudio(pcm, 0, rate);  // 1 s
            Check(s.Flush() == ArtalkResult.Ok, "flush");
            double t1 = s.PushAudio(pcm, rate, rate);
            Check(Math.Abs(t1 - 1.0) < 1e-9, "second utterance at 1 s");
            Check(s.Cancel() == ArtalkResult.Ok, "cancel");
            double t2 = s.PushAudio(pcm, 2 * rate, rate);
            Check(Math.Abs(t2 - 2.0) < 1e-9, "cancelled audio keeps its place on the timeline");
            s.End();
            Check(s.WaitFinished(120), s.LastError);
            var r = Drain(s, new Result());
            var utterances = new List<ArtalkEvent>();
            foreach (var e in r.Events) if (e.Kind == ArtalkEventType.UtteranceFinished) utterances.Add(e);
            Check(utterances.Count == 3, "three utterances: " + utterances.Count);
            Check(utterances[0].FrameCount == 25 && utterances[0].Cancelled == 0, "1 s flushed at 25 fps");
            Check(utterances[1].Cancelled == 1 && utterances[2].Cancelled == 0 && utterances[2].FrameCount == 25, "cancelled, then 1 s");
            for (int i = 1; i < r.Times.Count; i++) Check(r.Times[i] > r.Times[i - 1], "increasing time codes");
            try
            {
                s.PushAudio(pcm, 0, 100);
                Check(false, "no audio after end");
            }
            catch (ArtalkException e)
            {
                Check(e.Message.Contains("State"), e.Message);
            }
        }
    }

    static void TestFailureIsReported()
    {
        var o = Options(ArtalkEncoding.PcmS16Le, 25);
        o.StylePreset = "no-such-style";
        using (var s = ArtalkSession.Open(o))
        {
            Check(!s.WaitStarted(30), "does not start");
            Check(s.State == ArtalkState.Failed, "failed");
            Check(s.LastError.Contains("INVALID_ARGUMENT"), s.LastError);
            try
            {
                s.PushAudio(pcm, 0, 100);
                Check(false, "push after failure throws");
            }
            catch (ArtalkException) { }
        }
    }

    static void TestDisposeMidStream()
    {
        var s = ArtalkSession.Open(Options(ArtalkEncoding.PcmS16Le, 60));
        Check(s.WaitStarted(60), s.LastError);
        s.PushAudio(pcm, 0, pcm.Length);
        var watch = Stopwatch.StartNew();
        s.Dispose();
        Check(watch.Elapsed.TotalSeconds < 2, "dispose mid-stream took " + watch.Elapsed.TotalSeconds + " s");
        s.Dispose();  // twice is fine
        try
        {
            var unused = s.State;
            Check(false, "a disposed session refuses calls");
        }
        catch (ObjectDisposedException) { }
    }

    static void TestSecureStream()
    {
        var r = Stream(SecureOptions(30));
        int expected = (int)((pcm.LongLength * 30 + rate - 1) / rate);
        Check(r.Frames.Count == expected, "ceil(duration * fps) frames over TLS: " + r.Frames.Count + " vs " + expected);
        Check(Count(r, ArtalkEventType.Started) == 1 && Count(r, ArtalkEventType.Finished) == 1, "events");
    }

    /// <summary>A session that must fail with statusCode within 5 s and without reconnecting; its error.</summary>
    static string ExpectFailure(ArtalkSessionOptions o, int statusCode)
    {
        using (var s = ArtalkSession.Open(o))
        {
            var watch = Stopwatch.StartNew();
            Check(!s.WaitFinished(30) && s.State == ArtalkState.Failed, "failed: " + s.State);
            Check(watch.Elapsed.TotalSeconds < 5, "failed after " + watch.Elapsed.TotalSeconds + " s: " + s.LastError);
            var r = Drain(s, new Result());
            Check(s.Stats.Reconnects == 0 && Count(r, ArtalkEventType.Disconnected) == 0, "no reconnect: " + s.LastError);
            Check(r.Events.Exists(e => e.Kind == ArtalkEventType.Failed && e.StatusCode == statusCode),
                  "FAILED with status " + statusCode + ": " + s.LastError);
            return s.LastError;
        }
    }

    static void TestTokenRefused()
    {
        var o = SecureOptions(25);
        o.Token = null;
        string error = ExpectFailure(o, 16);
        Check(error.StartsWith("UNAUTHENTICATED: ") && error.Contains("authorization: Bearer <token>"), error);
        o.Token = "not-" + token;
        error = ExpectFailure(o, 7);
        Check(error.StartsWith("PERMISSION_DENIED: ") && !error.Contains(o.Token), error);
    }

    static void TestPlaintextRefused()
    {
        var o = Options(ArtalkEncoding.PcmS16Le, 25);
        o.Token = token;
        o.MaxReconnectAttempts = 0;
        o.ConnectTimeoutSeconds = 1;
        string error = ExpectFailure(o, 14);
        Check(error.StartsWith("UNAVAILABLE: could not connect") && error.Contains("without TLS"), error);
    }

    static void ExpectRefusedOptions(ArtalkSessionOptions o, string message)
    {
        try
        {
            ArtalkSession.Open(o).Dispose();
            Check(false, "refused: " + message);
        }
        catch (ArtalkException e)
        {
            Check(e.Message.Contains(message) && !e.Message.Contains(token), e.Message);
        }
    }

    static void TestTlsOptionsChecked()
    {
        var o = SecureOptions(25);
        o.TlsCertFile = tlsCa;
        o.TlsKeyFile = null;
        ExpectRefusedOptions(o, "invalid TLS files (a client certificate needs its key)");
        o = SecureOptions(25);
        o.TlsCaFile = "/nonexistent/ca.pem";
        ExpectRefusedOptions(o, "cannot read the TLS CA file '/nonexistent/ca.pem'");
        o = SecureOptions(25);
        o.Token = token + " " + token;
        ExpectRefusedOptions(o, "invalid token");
    }

    static void TestChannelMap()
    {
        string[] channels = { "jawOpen", "eyeBlinkLeft", "mouthSmileLeft", "headYaw", "tongueOut" };
        string[] shapes = { "blendShape1.JawOpen", "Face.eye_blink_left", "mouthSmile_L", "tongueOut" };
        var overrides = new List<ArtalkNameOverride>
        {
            new ArtalkNameOverride { Channel = "mouthSmileLeft", Target = "mouthSmile_L", Weight = 0.5f },
            new ArtalkNameOverride { Channel = "tongueOut", Target = "" },  // off
        };
        List<string> unmatched;
        var skip = new[] { false, false, false, true, false };
        var b = ArtalkChannelMap.Bind(channels, shapes, overrides, skip, out unmatched);
        Check(b.Length == 3, "three bindings: " + b.Length);
        Check(b[0].Channel == 0 && b[0].Target == 0 && b[1].Channel == 1 && b[1].Target == 1, "by normalized name");
        Check(b[2].Channel == 2 && b[2].Target == 2 && b[2].Weight == 0.5f, "override with weight");
        Check(unmatched.Count == 0, "nothing unmatched: " + string.Join(",", unmatched.ToArray()));
        var weights = new float[shapes.Length];
        var touched = new bool[shapes.Length];
        ArtalkChannelMap.Apply(b, new[] { 0.5f, 1f, 0.8f, 0.3f, 1f }, 100f, weights, touched);
        Check(weights[0] == 50f && weights[1] == 100f && Math.Abs(weights[2] - 40f) < 1e-4 && !touched[3], "applied");
        Check(ArtalkChannelMap.Find(channels, "HeadYaw") == 3, "find by name, any case");
    }

    static int Main(string[] args)
    {
        string wav = null;
        var only = new List<string>();
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            if (args[i] == "--server") server = args[i + 1];
            else if (args[i] == "--wav") wav = args[i + 1];
            else if (args[i] == "--tls-ca") tlsCa = args[i + 1];
            else if (args[i] == "--tls-cert") tlsCert = args[i + 1];
            else if (args[i] == "--tls-key") tlsKey = args[i + 1];
            else if (args[i] == "--token") token = args[i + 1];
            else if (args[i] == "--case") only.Add(args[i + 1]);
        }
        if (server == null || wav == null)
        {
            Console.Error.WriteLine("usage: AbiTest.exe --server HOST:PORT --wav SPEECH.wav [--tls-ca PEM] [--tls-cert PEM " +
                                    "--tls-key PEM] [--token TOKEN] [--case NAME]...");
            return 64;
        }
        pcm = ReadWav(wav, out rate);
        var secured = new List<KeyValuePair<string, Action>>
        {
            new KeyValuePair<string, Action>("secure_stream", TestSecureStream),
            new KeyValuePair<string, Action>("token_refused", TestTokenRefused),
            new KeyValuePair<string, Action>("plaintext_refused", TestPlaintextRefused),
            new KeyValuePair<string, Action>("tls_options_checked", TestTlsOptionsChecked),
        };
        var cases = new List<KeyValuePair<string, Action>>
        {
            new KeyValuePair<string, Action>("abi", TestAbi),
            new KeyValuePair<string, Action>("entry_points", TestEntryPoints),
            new KeyValuePair<string, Action>("inline_map_and_clock", TestInlineMapAndClock),
            new KeyValuePair<string, Action>("channel_map", TestChannelMap),
            new KeyValuePair<string, Action>("pcm16_stream", TestPcm16Stream),
            new KeyValuePair<string, Action>("float32_matches_pcm16", TestFloat32MatchesPcm16),
            new KeyValuePair<string, Action>("sample_and_stats", TestSampleAndStats),
            new KeyValuePair<string, Action>("flush_and_cancel", TestFlushAndCancel),
            new KeyValuePair<string, Action>("failure_is_reported", TestFailureIsReported),
            new KeyValuePair<string, Action>("dispose_mid_stream", TestDisposeMidStream),
        };
        if (only.Count > 0) cases.AddRange(secured);
        return RunCases(cases, only, () => { });
    }
}
