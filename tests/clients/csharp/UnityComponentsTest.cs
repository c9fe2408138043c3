// The Unity package's components (Artalk.Face.dll: ArtalkAudioStreamer, ArtalkBlendshapeDriver,
// compiled unchanged from Runtime/) run on the UnityEngine stand-in (UnityEngineStub.cs) against
// the live service: the test plays the engine, sending Awake/Start/Update/LateUpdate/OnDestroy
// and OnAudioFilterRead, and moving AudioSettings.dspTime. Each case sets the components'
// inspector fields, as a game developer would, and checks what the server made of them.
//
//   mono UnityComponentsTest.exe --server HOST:PORT --wav SPEECH.wav --assets DIR [--token TOKEN] --case NAME...
//
// DIR plays StreamingAssets: it holds ca.pem (the server's CA), client.pem and client.key (a
// client certificate the CA signed), given to the components as relative paths. Cases:
//   clip_over_tls_with_token   Speak(clip) through TLS with a token, clip scheduled after the
//                              prebuffer, the face on the blendshapes at the clip's dspTime
//   refused_tokens             no token / a wrong one: the session fails, logged, token never shown
//   server_name                tlsServerName is the name the certificate is checked against
//   use_tls                    useTls alone turns TLS on (system roots: the test sets
//                              GRPC_DEFAULT_SSL_ROOTS_FILE_PATH); without it the client is plaintext
//   guidance                   guidance reaches the server (the tiny model refuses 2, takes 1)
//   live_filter                OnAudioFilterRead streams what plays, and delays what you hear
//   mutual_tls                 (a mutual-TLS server) the client certificate and key reach the handshake
// Prints PASS/FAIL per case and "N passed, N failed" last; exit code 1 on any failure.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading;
using Artalk.Face;
using Artalk.Face.Unity;
using UnityEngine;
using Engine = UnityEngineStub.Engine;
using static TestSupport;

static class UnityComponentsTest
{
    const int Unauthenticated = 16, PermissionDenied = 7, Unavailable = 14, InvalidArgument = 3;
    static string server, assets, token;
    static float[] voice;
    static int rate;

    /// <summary>A character with a streamer (its AudioSource comes with it), its events recorded.</summary>
    sealed class Npc
    {
        public readonly ArtalkAudioStreamer Streamer;
        public readonly AudioSource Audio;
        public readonly List<ArtalkEvent> Events = new List<ArtalkEvent>();

        public Npc()
        {
            var go = new GameObject("npc");
            Streamer = go.AddComponent<ArtalkAudioStreamer>();
            Audio = Streamer.GetComponent<AudioSource>();
            Check(Audio != null, "[RequireComponent(typeof(AudioSource))]");
            Streamer.serverAddress = server;
            Streamer.outputFps = 30;
            Streamer.maxWaitSeconds = 10f;
            Streamer.tlsCaFile = "ca.pem";  // relative: under StreamingAssets
            Streamer.token = token;
            Streamer.SessionEvent += e => Events.Add(e);
        }

        /// <summary>Engine frames (Update, then each driver's LateUpdate) until done() or the timeout.</summary>
        public bool Run(Func<bool> done, double timeoutSeconds, params ArtalkBlendshapeDriver[] drivers)
        {
            var watch = Stopwatch.StartNew();
            while (watch.Elapsed.TotalSeconds < timeoutSeconds)
            {
                Engine.Send(Streamer, "Update");
                foreach (var d in drivers) Engine.Send(d, "LateUpdate");
                if (done()) return true;
                Thread.Sleep(5);
            }
            return false;
        }

        public bool Has(ArtalkEventType kind) { return Events.Exists(e => e.Kind == kind); }
        public ArtalkEvent First(ArtalkEventType kind) { return Events.Find(e => e.Kind == kind); }

        /// <summary>Speak the voice and run until the session started, failed or disconnected.</summary>
        public ArtalkEventType SpeakUntilAnswered()
        {
            Engine.Send(Streamer, "Start");
            Streamer.Speak(Clip());
            Check(Run(() => Has(ArtalkEventType.Started) || Has(ArtalkEventType.Failed) || Has(ArtalkEventType.Disconnected), 30),
                  "the server answered: " + Streamer.Session.LastError);
            return Events[0].Kind;
        }

        public void Destroy()
        {
            var watch = Stopwatch.StartNew();
            Engine.Send(Streamer, "OnDestroy");
            Check(Streamer.Session == null && watch.Elapsed.TotalSeconds < 2, "OnDestroy closes the session at once");
        }
    }

    static AudioClip Clip()
    {
        var clip = AudioClip.Create("line", voice.Length, 1, rate, false);
        clip.SetData(voice, 0);
        return clip;
    }

    static bool Logged(string text)
    {
        return Engine.Logs.Exists(l => l.Contains(text));
    }

    static void TestClipOverTlsWithToken()
    {
        var npc = new Npc();
        var faceObject = new GameObject("face");
        var mesh = new Mesh();
        string[] shapes = { "blendShape1.JawOpen", "Face.eye_blink_left", "notAChannel" };
        foreach (var shape in shapes) mesh.AddBlendShapeFrame(shape, 100f, null, null, null);
        var renderer = faceObject.AddComponent<SkinnedMeshRenderer>();
        renderer.sharedMesh = mesh;
        var driver = faceObject.AddComponent<ArtalkBlendshapeDriver>();
        driver.streamer = npc.Streamer;
        driver.renderers = new[] { renderer };
        Engine.Send(npc.Streamer, "Start");
        Engine.Send(driver, "Start");
        Engine.DspTime = 100.0;

        var clip = Clip();
        npc.Streamer.Speak(clip);
        var spoken = Stopwatch.StartNew();
        Check(npc.Streamer.PlaybackTime == -1, "nothing audible before the clip starts");
        Check(npc.Run(() => Engine.Scheduled.ContainsKey(npc.Audio) || npc.Has(ArtalkEventType.Failed), 30, driver) &&
              !npc.Has(ArtalkEventType.Failed), "the clip was scheduled: " + npc.Streamer.Session.LastError);
        Check(spoken.Elapsed.TotalSeconds < npc.Streamer.maxWaitSeconds, "scheduled for the prebuffer, not the wait limit");
        Check(npc.Streamer.Session.Stats.NewestFrameTime >= npc.Streamer.prebufferSeconds - 1.0 / 30 - 1e-9,
              "prebuffered: newest frame at " + npc.Streamer.Session.Stats.NewestFrameTime);
        Check(npc.Audio.clip == clip && npc.Audio.isPlaying, "the AudioSource plays the clip");
        double start = Engine.Scheduled[npc.Audio];
        Check(Math.Abs(start - 100.05) < 1e-9, "scheduled just ahead of dspTime: " + start);
        Check(npc.Has(ArtalkEventType.Started), "started over TLS with the token: " + npc.Streamer.Session.LastError);
        Check(npc.Run(() => npc.Has(ArtalkEventType.UtteranceFinished), 60), "the clip was animated whole");
        Check(!Logged("Error:"), string.Join("\n", Engine.Logs.ToArray()));
        Check(Logged("Log: Artalk: face has no blendshape for"), "unmatched channels are logged");

        // Play it: the driver applies the face at the clip's position on the audio clock.
        var session = npc.Streamer.Session;
        int jaw = Array.IndexOf(session.ChannelNames, "jawOpen"), blink = Array.IndexOf(session.ChannelNames, "eyeBlinkLeft");
        Check(jaw >= 0 && blink >= 0, "arkit_camel names");
        var expected = new float[session.ChannelCount];
        float jawMin = float.MaxValue, jawMax = float.MinValue;
        double duration = (double)voice.Length / rate;
        int steps = 0;
        for (double t = 0; t < duration - 0.05; t += 1.0 / 60, steps++)
        {
            Engine.DspTime = start + t;
            Engine.Send(npc.Streamer, "Update");
            Engine.Send(driver, "LateUpdate");
            Check(driver.lastStatus == ArtalkSampleStatus.Ok, "a face at " + t + ": " + driver.lastStatus);
            Check(session.Sample(t, expected) == ArtalkSampleStatus.Ok, "sampled at " + t);
            float w = renderer.GetBlendShapeWeight(0);
            Check(Math.Abs(w - 100f * expected[jaw]) < 1e-3, "jaw at " + t + ": " + w + " vs " + 100f * expected[jaw]);
            Check(Math.Abs(renderer.GetBlendShapeWeight(1) - 100f * expected[blink]) < 1e-3, "blink at " + t);
            Check(renderer.GetBlendShapeWeight(2) == 0f, "no channel drives notAChannel");
            jawMin = Math.Min(jawMin, w);
            jawMax = Math.Max(jawMax, w);
        }
        Check(steps > 60 && jawMax > jawMin, "the jaw moved over the clip: " + jawMin + " to " + jawMax);
        Engine.DspTime = start + duration + 1.0;
        Engine.Send(driver, "LateUpdate");
        Check(driver.lastStatus == ArtalkSampleStatus.Idle, "idle after the clip: " + driver.lastStatus);
        npc.Destroy();
    }

    static void TestRefusedTokens()
    {
        foreach (var refused in new[] { new KeyValuePair<string, int>("", Unauthenticated),
                                        new KeyValuePair<string, int>("not-" + token, PermissionDenied) })
        {
            Engine.Logs.Clear();
            var npc = new Npc();
            npc.Streamer.token = refused.Key;
            Check(npc.SpeakUntilAnswered() == ArtalkEventType.Failed, "refused: " + npc.Streamer.Session.LastError);
            Check(npc.First(ArtalkEventType.Failed).StatusCode == refused.Value && !npc.Has(ArtalkEventType.Disconnected),
                  "status " + refused.Value + " without reconnecting: " + npc.Streamer.Session.LastError);
            string name = refused.Value == Unauthenticated ? "UNAUTHENTICATED" : "PERMISSION_DENIED";
            Check(Logged("Error: Artalk session failed: " + name + ": "), string.Join("\n", Engine.Logs.ToArray()));
            Check(refused.Key == "" || !Logged(refused.Key), "the token is never logged");
            npc.Destroy();
        }
    }

    static void TestServerName()
    {
        var npc = new Npc();
        npc.Streamer.tlsServerName = "localhost";  // in the certificate, as is the address's 127.0.0.1
        Check(npc.SpeakUntilAnswered() == ArtalkEventType.Started, "started: " + npc.Streamer.Session.LastError);
        npc.Destroy();
        Engine.Logs.Clear();
        npc = new Npc();
        npc.Streamer.tlsServerName = "elsewhere.example";
        Check(npc.SpeakUntilAnswered() == ArtalkEventType.Disconnected, "the certificate does not name elsewhere.example");
        Check(npc.First(ArtalkEventType.Disconnected).StatusCode == Unavailable, "UNAVAILABLE");
        Check(Logged("Warning: Artalk: disconnected (UNAVAILABLE") && Logged("this client uses TLS"),
              string.Join("\n", Engine.Logs.ToArray()));
        npc.Destroy();
    }

    static void TestUseTls()
    {
        var npc = new Npc();
        npc.Streamer.tlsCaFile = "";  // the system's roots
        npc.Streamer.useTls = true;
        Check(npc.SpeakUntilAnswered() == ArtalkEventType.Started, "started with TLS on: " + npc.Streamer.Session.LastError);
        npc.Destroy();
        Engine.Logs.Clear();
        npc = new Npc();
        npc.Streamer.tlsCaFile = "";
        npc.Streamer.useTls = false;
        Check(npc.SpeakUntilAnswered() == ArtalkEventType.Disconnected, "plaintext at a TLS server");
        Check(Logged("without TLS"), string.Join("\n", Engine.Logs.ToArray()));
        npc.Destroy();
    }

    static void TestGuidance()
    {
        var npc = new Npc();
        npc.Streamer.guidance = 2f;
        Check(npc.SpeakUntilAnswered() == ArtalkEventType.Failed, "the server refuses guidance 2 of this model");
        Check(npc.First(ArtalkEventType.Failed).StatusCode == InvalidArgument, "INVALID_ARGUMENT");
        string error = npc.Streamer.Session.LastError;  // the server names the guidance it was sent
        Check(error.StartsWith("INVALID_ARGUMENT: ") && error.Contains("guidance 2"), error);
        npc.Destroy();
        npc = new Npc();
        npc.Streamer.guidance = 1f;
        Check(npc.SpeakUntilAnswered() == ArtalkEventType.Started, "guidance 1: " + npc.Streamer.Session.LastError);
        npc.Destroy();
        npc = new Npc();
        npc.Streamer.guidance = 5f;
        try
        {
            npc.Streamer.Speak(Clip());
            Check(false, "guidance 5 is refused before connecting");
        }
        catch (ArtalkException e)
        {
            Check(e.Message.Contains("guidance"), e.Message);
        }
        npc.Destroy();
    }

    static void TestLiveFilter()
    {
        Engine.OutputSampleRate = rate;
        var npc = new Npc();
        npc.Streamer.feed = ArtalkAudioStreamer.AudioFeed.LiveFilter;
        npc.Streamer.liveOutputDelaySeconds = 0.1f;
        Engine.Send(npc.Streamer, "Start");
        Check(npc.Streamer.Session != null, "LiveFilter opens its session on Start");
        int delay = (int)(0.1f * rate), block = 1024;
        var heard = new List<float>();
        for (int at = 0; at < voice.Length; at += block)
        {
            int frames = Math.Min(block, voice.Length - at);
            var data = new float[frames * 2];  // the mixer's stereo buffer
            for (int f = 0; f < frames; f++) data[2 * f] = data[2 * f + 1] = voice[at + f];
            Engine.Send(npc.Streamer, "OnAudioFilterRead", data, 2);
            for (int f = 0; f < frames; f++)
            {
                Check(data[2 * f] == data[2 * f + 1], "both channels delayed alike");
                heard.Add(data[2 * f]);
            }
        }
        for (int i = 0; i < heard.Count; i++)
            Check(heard[i] == (i < delay ? 0f : voice[i - delay]), "heard " + delay + " frames late, at " + i);
        npc.Streamer.EndUtterance();
        Check(npc.Run(() => npc.Has(ArtalkEventType.UtteranceFinished), 60), "the live audio was animated: " + npc.Streamer.Session.LastError);
        int expected = (int)((voice.LongLength * 30 + rate - 1) / rate);
        Check(npc.First(ArtalkEventType.UtteranceFinished).FrameCount == expected,
              "ceil(duration * fps) frames: " + npc.First(ArtalkEventType.UtteranceFinished).FrameCount + " vs " + expected);
        Check(Math.Abs(npc.Streamer.Session.Stats.AudioPushedSeconds - (double)voice.Length / rate) < 1e-9, "every sample sent");
        npc.Destroy();
    }

    static void TestMutualTls()
    {
        var npc = new Npc();
        npc.Streamer.tlsCertFile = "client.pem";
        npc.Streamer.tlsKeyFile = "client.key";
        Check(npc.SpeakUntilAnswered() == ArtalkEventType.Started, "started with the client certificate: " + npc.Streamer.Session.LastError);
        Check(npc.Run(() => npc.Has(ArtalkEventType.UtteranceFinished), 60), "animated");
        npc.Destroy();
        npc = new Npc();
        Check(npc.SpeakUntilAnswered() == ArtalkEventType.Disconnected, "no client certificate: refused");
        npc.Destroy();
    }

    static int Main(string[] args)
    {
        string wav = null;
        var only = new List<string>();
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            if (args[i] == "--server") server = args[i + 1];
            else if (args[i] == "--wav") wav = args[i + 1];
            else if (args[i] == "--assets") assets = args[i + 1];
            else if (args[i] == "--token") token = args[i + 1];
            else if (args[i] == "--case") only.Add(args[i + 1]);
        }
        if (server == null || wav == null || assets == null || only.Count == 0)
        {
            Console.Error.WriteLine("usage: UnityComponentsTest.exe --server HOST:PORT --wav SPEECH.wav --assets DIR [--token TOKEN] --case NAME...");
            return 64;
        }
        Engine.StreamingAssetsPath = assets;
        voice = Array.ConvertAll(ReadWav(wav, out rate), s => s / 32768f);
        var cases = new List<KeyValuePair<string, Action>>
        {
            new KeyValuePair<string, Action>("clip_over_tls_with_token", TestClipOverTlsWithToken),
            new KeyValuePair<string, Action>("refused_tokens", TestRefusedTokens),
            new KeyValuePair<string, Action>("server_name", TestServerName),
            new KeyValuePair<string, Action>("use_tls", TestUseTls),
            new KeyValuePair<string, Action>("guidance", TestGuidance),
            new KeyValuePair<string, Action>("live_filter", TestLiveFilter),
            new KeyValuePair<string, Action>("mutual_tls", TestMutualTls),
        };
        return RunCases(cases, only, () => Engine.Logs.Clear());
    }
}
