// Basic sample: Space speaks the clip, C interrupts it (barge-in); the corner shows the
// session's latency and late frames. Set-up: see README.md next to this file.
using Artalk.Face;
using Artalk.Face.Unity;
using UnityEngine;

namespace Artalk.Face.Samples
{
    public sealed class ArtalkBasicSample : MonoBehaviour
    {
        public ArtalkAudioStreamer streamer;
        public ArtalkBlendshapeDriver driver;
        public AudioClip line;

        void Update()
        {
            if (streamer == null) return;
            if (Input.GetKeyDown(KeyCode.Space) && line != null) streamer.Speak(line);
            if (Input.GetKeyDown(KeyCode.C)) streamer.StopSpeaking();
        }

        void OnGUI()
        {
            if (streamer == null || streamer.Session == null)
            {
                GUILayout.Label("Artalk: no session yet (press Space)");
                return;
            }
            ArtalkStats s = streamer.Session.Stats;
            GUILayout.Label("Artalk " + streamer.Session.State + ", " + streamer.Session.Fps + " fps");
            GUILayout.Label(string.Format("frames {0}, late frames {1}, late samples {2}, reconnects {3}",
                                          s.FramesReceived, s.FramesLate, s.SamplesLate, s.Reconnects));
            GUILayout.Label(string.Format("first frame {0:F0} ms, latency p50 {1:F0} ms / p95 {2:F0} ms, buffered {3:F2} s",
                                          s.FirstFrameLatencySeconds * 1000, s.LatencyP50Seconds * 1000,
                                          s.LatencyP95Seconds * 1000, s.BufferedSeconds));
            if (driver != null) GUILayout.Label("face: " + driver.lastStatus);
        }
    }
}
