// Streams a character's voice to the artalk service and keeps the face's clock.
//
// Two sources:
//   Clip: Speak(clip) sends the whole AudioClip at once, waits until prebufferSeconds of
//         face frames are here, then starts the clip with AudioSource.PlayScheduled. The
//         face is sampled at the clip's dspTime position: lips in sync from the first frame.
//   LiveFilter: OnAudioFilterRead sends whatever this AudioSource plays (a TTS or dialogue
//         plugin's procedural audio, a mic loop-back) as it plays. The service needs
//         AlgorithmicLatency plus network time to answer, so the filter can delay what you
//         hear by liveOutputDelaySeconds to keep voice and face together.
// The face itself is applied by ArtalkBlendshapeDriver (or your own component) through
// SampleFace, every LateUpdate.
using System;
using System.IO;
using Artalk.Face;
using UnityEngine;

namespace Artalk.Face.Unity
{
    [RequireComponent(typeof(AudioSource))]
    [AddComponentMenu("Artalk/Artalk Audio Streamer")]
    public sealed class ArtalkAudioStreamer : MonoBehaviour
    {
        public enum AudioFeed { Clip, LiveFilter }

        [Header("Service")]
        [Tooltip("host:port of the artalk service")]
        public string serverAddress = "127.0.0.1:50051";
        [Tooltip("Retarget preset: arkit_camel (Apple camelCase, most Unity rigs) or arkit61 (PascalCase)")]
        public string retargetPreset = "arkit_camel";
        [Tooltip("Optional inline retarget map (JSON or YAML); replaces the preset")]
        [TextArea] public string retargetInline = "";
        [Tooltip("Style preset; empty = neutral")]
        public string stylePreset = "";
        [Range(0, 120)] [Tooltip("Frames per second from the service (0 = native 25); the driver interpolates anyway")]
        public int outputFps = 60;
        public int seed = 0;
        [Tooltip("Classifier-free guidance of the audio: 0 = the model's default, else 1 (off) to 4. Higher follows the audio more closely, at more server work.")]
        [Range(0f, 4f)] public float guidance = 0f;
        public bool headMotion = true;
        public bool blinks = true;
        public string characterId = "";

        [Header("Security")]
        [Tooltip("Connect with TLS; a CA or client certificate file turns it on as well")]
        public bool useTls;
        [Tooltip("PEM file of the CA that signed the server's certificate; empty = the system's roots. Relative paths are under StreamingAssets")]
        public string tlsCaFile = "";
        [Tooltip("PEM client certificate, for a server that requires mutual TLS (with its key). Relative paths are under StreamingAssets")]
        public string tlsCertFile = "";
        [Tooltip("PEM private key of the client certificate. Relative paths are under StreamingAssets")]
        public string tlsKeyFile = "";
        [Tooltip("Host name in the server's certificate, when it is not the server address's host (e.g. an IP address)")]
        public string tlsServerName = "";
        [Tooltip("Bearer token sent with every call. A token typed here is saved in the scene: a shipped game should set it from code before speaking")]
        public string token = "";

        [Header("Audio")]
        public AudioFeed feed = AudioFeed.Clip;
        [Range(0f, 2f)] [Tooltip("Clip: seconds of face to have before the clip starts")]
        public float prebufferSeconds = 0.3f;
        [Range(0f, 10f)] [Tooltip("Clip: start anyway after waiting this long (the face then catches up)")]
        public float maxWaitSeconds = 2f;
        [Range(0f, 2f)] [Tooltip("LiveFilter: delay the audible voice by this much so the face keeps up")]
        public float liveOutputDelaySeconds = 0.6f;
        [Tooltip("Clip to speak on Start (optional)")]
        public AudioClip playOnStart;

        /// <summary>Every session event (started, utterance finished, disconnected, ...), on the main thread.</summary>
        public event Action<ArtalkEvent> SessionEvent;

        const int IdleTimeoutStatus = 4;  // DEADLINE_EXCEEDED: the server ended a session that sent nothing for a while

        AudioSource audioSource;
        ArtalkSession session;
        readonly object clockLock = new object();

        // Clip feed.
        AudioClip pendingClip;
        double clipTimeline = -1, clipDuration, clipDspStart = -1;
        float clipRequestedAt;

        // LiveFilter feed (written on the audio thread).
        int outputRate;
        float[] mono = new float[0];
        float[] delayLine = new float[0];
        int delayWrite, delayFrames, delayChannels;
        double liveTimeline = -1, liveDsp;

        // dspTime advances once per audio buffer: interpolate between its steps.
        double lastDsp = -1;
        float lastDspRealtime;

        public ArtalkSession Session { get { return session; } }
        public bool IsStarted { get { return session != null && session.IsStarted; } }

        void Awake()
        {
            audioSource = GetComponent<AudioSource>();
            outputRate = AudioSettings.outputSampleRate;
        }

        void Start()
        {
            if (feed == AudioFeed.LiveFilter) OpenSession(outputRate, 1);
            if (playOnStart != null) Speak(playOnStart);
        }

        void OnDestroy()
        {
            if (session != null) session.Dispose();
            session = null;
        }

        ArtalkSessionOptions Options(int rate, int channels)
        {
            return new ArtalkSessionOptions
            {
                Target = serverAddress, Encoding = ArtalkEncoding.Float32Le, SampleRateHz = rate, Channels = channels,
                OutputFps = outputFps, RetargetPreset = retargetPreset, RetargetInline = retargetInline,
                StylePreset = stylePreset, Seed = (ulong)seed, Guidance = guidance, HeadMotion = headMotion, Blinks = blinks,
                CharacterId = characterId, UseTls = useTls, TlsCaFile = UnderStreamingAssets(tlsCaFile),
                TlsCertFile = UnderStreamingAssets(tlsCertFile), TlsKeyFile = UnderStreamingAssets(tlsKeyFile),
                TlsServerName = tlsServerName, Token = token,
            };
        }

        // StreamingAssets ships with the player as plain files, except on Android, where it stays
        // inside the APK: there, copy the PEM files to persistentDataPath and give absolute paths.
        static string UnderStreamingAssets(string path)
        {
            if (string.IsNullOrEmpty(path) || Path.IsPathRooted(path)) return path;
            return Path.Combine(Application.streamingAssetsPath, path);
        }

        void OpenSession(int rate, int channels)
        {
            if (session != null && session.Options.SampleRateHz == rate && session.Options.Channels == channels && !session.IsFailed)
                return;
            if (session != null) session.Dispose();
            session = ArtalkSession.Open(Options(rate, channels));
        }

        /// <summary>Speak a clip (Clip feed). Its load type must keep samples readable
        /// (Decompress On Load); stereo is fine, more channels are not.</summary>
        public void Speak(AudioClip clip)
        {
            if (clip == null) throw new ArgumentNullException("clip");
            if (clip.channels > 2) throw new ArgumentException("Artalk takes mono or stereo clips; " + clip.name + " has " + clip.channels + " channels");
            var data = new float[clip.samples * clip.channels];
            if (!clip.GetData(data, 0))
                throw new InvalidOperationException("cannot read " + clip.name + ": set its Load Type to Decompress On Load");
            StopSpeaking();
            OpenSession(clip.frequency, clip.channels);
            clipTimeline = session.PushAudio(data, 0, data.Length);
            session.Flush();
            clipDuration = (double)clip.samples / clip.frequency;
            pendingClip = clip;
            clipDspStart = -1;
            clipRequestedAt = Time.realtimeSinceStartup;
        }

        /// <summary>Barge-in: stop the voice; the face releases to rest.</summary>
        public void StopSpeaking()
        {
            if (session == null) return;
            if (feed == AudioFeed.Clip && (pendingClip != null || audioSource.isPlaying))
            {
                audioSource.Stop();
                session.Cancel();
            }
            else if (feed == AudioFeed.LiveFilter)
            {
                session.Cancel();
            }
            pendingClip = null;
            clipDspStart = -1;
        }

        /// <summary>LiveFilter: the dialogue line ended; the service finishes its last window now.</summary>
        public void EndUtterance()
        {
            if (session != null) session.Flush();
        }

        void Update()
        {
            if (session == null) return;
            ArtalkEvent e;
            while (session.PollEvent(out e))
            {
                if (e.Kind == ArtalkEventType.Failed && e.StatusCode == IdleTimeoutStatus)
                    Debug.Log("Artalk: " + session.LastError);  // expected between lines; Speak opens a new session
                else if (e.Kind == ArtalkEventType.Failed) Debug.LogError("Artalk session failed: " + session.LastError);
                else if (e.Kind == ArtalkEventType.Disconnected) Debug.LogWarning("Artalk: disconnected (" + session.LastError + "), reconnecting");
                if (SessionEvent != null) SessionEvent(e);
            }
            if (pendingClip != null && clipDspStart < 0 && session.IsStarted)
            {
                double wanted = clipTimeline + Math.Min(prebufferSeconds, clipDuration);
                bool ready = session.Stats.NewestFrameTime >= wanted - 1.0 / Math.Max(1, session.Fps);
                if (ready || Time.realtimeSinceStartup - clipRequestedAt > maxWaitSeconds)
                {
                    clipDspStart = AudioSettings.dspTime + 0.05;  // a little lead for the mixer
                    audioSource.clip = pendingClip;
                    audioSource.PlayScheduled(clipDspStart);
                    pendingClip = null;
                }
            }
        }

        double SmoothDspTime()
        {
            double dsp = AudioSettings.dspTime;
            float now = Time.realtimeSinceStartup;
            if (dsp != lastDsp)
            {
                lastDsp = dsp;
                lastDspRealtime = now;
                return dsp;
            }
            return dsp + Math.Min(now - lastDspRealtime, 0.1f);
        }

        /// <summary>Session-timeline time of what is audible now, or -1 when nothing plays.</summary>
        public double PlaybackTime
        {
            get
            {
                double dsp = SmoothDspTime();
                if (feed == AudioFeed.Clip)
                {
                    if (clipDspStart < 0) return -1;
                    return clipTimeline + (dsp - clipDspStart);
                }
                lock (clockLock)
                {
                    if (liveTimeline < 0) return -1;
                    return liveTimeline + (dsp - liveDsp) - liveOutputDelaySeconds;
                }
            }
        }

        /// <summary>The face now, into values (ChannelCount floats). Idle when nothing plays.</summary>
        public ArtalkSampleStatus SampleFace(float[] values)
        {
            if (!IsStarted) return ArtalkSampleStatus.Idle;
            double t = PlaybackTime;
            if (t < 0)
            {
                Array.Clear(values, 0, values.Length);
                return ArtalkSampleStatus.Idle;
            }
            return session.Sample(t, values);
        }

        // Audio thread: send what plays, optionally hear it later.
        void OnAudioFilterRead(float[] data, int channels)
        {
            if (feed != AudioFeed.LiveFilter || session == null) return;
            int frames = data.Length / channels;
            if (mono.Length < frames) mono = new float[frames];  // once per buffer size
            for (int f = 0; f < frames; f++)
            {
                float sum = 0f;
                for (int c = 0; c < channels; c++) sum += data[f * channels + c];
                mono[f] = sum / channels;
            }
            double start;
            try
            {
                start = session.PushAudio(mono, 0, frames);
            }
            catch (ArtalkException)
            {
                return;  // failed or full: the main thread reports it
            }
            lock (clockLock)
            {
                liveTimeline = start;
                liveDsp = AudioSettings.dspTime;
            }
            Delay(data, channels, frames);
        }

        void Delay(float[] data, int channels, int frames)
        {
            int wanted = (int)(liveOutputDelaySeconds * outputRate);
            if (wanted <= 0) return;
            if (delayFrames != wanted || delayChannels != channels)
            {
                delayLine = new float[wanted * channels];
                delayFrames = wanted;
                delayChannels = channels;
                delayWrite = 0;
            }
            for (int f = 0; f < frames; f++)
            {
                int at = delayWrite * channels;
                for (int c = 0; c < channels; c++)
                {
                    float late = delayLine[at + c];
                    delayLine[at + c] = data[f * channels + c];
                    data[f * channels + c] = late;
                }
                delayWrite = (delayWrite + 1) % delayFrames;
            }
        }
    }
}
