// Name-based binding of the service's output channels to a rig's targets (blendshapes).
// Engine-independent, compiled and tested by tests/clients/csharp as well. C# 6.
using System;
using System.Collections.Generic;
using System.Text;

namespace Artalk.Face
{
    /// <summary>One hand-made mapping: a service channel drives a target with a weight.
    /// An empty Target switches the channel off.</summary>
    [Serializable]
    public sealed class ArtalkNameOverride
    {
        public string Channel = "";
        public string Target = "";
        public float Weight = 1f;
    }

    /// <summary>Channel <see cref="Channel"/> drives target <see cref="Target"/> times <see cref="Weight"/>.</summary>
    public struct ArtalkBinding
    {
        public int Channel;
        public int Target;
        public float Weight;
    }

    public static class ArtalkChannelMap
    {
        /// <summary>"blendShape1.Jaw_Open" -> "jawopen": the part after the last '.', lower case,
        /// letters and digits only. Rigs spell ARKit names many ways; always map by name.</summary>
        public static string Normalize(string name)
        {
            if (string.IsNullOrEmpty(name)) return "";
            int dot = name.LastIndexOf('.');
            var sb = new StringBuilder(name.Length);
            for (int i = dot + 1; i < name.Length; i++)
            {
                char c = name[i];
                if (char.IsLetterOrDigit(c)) sb.Append(char.ToLowerInvariant(c));
            }
            return sb.ToString();
        }

        /// <summary>
        /// Bind channels to targets. Overrides come first (a channel with any override uses only
        /// its overrides); every other channel binds to the target of the same normalized name.
        /// Channels flagged in <paramref name="skip"/> (e.g. rotations) are left out.
        /// </summary>
        public static ArtalkBinding[] Bind(string[] channels, string[] targets, IList<ArtalkNameOverride> overrides,
                                           bool[] skip, out List<string> unmatched)
        {
            var byName = new Dictionary<string, int>();
            for (int t = 0; t < targets.Length; t++)
            {
                string key = Normalize(targets[t]);
                if (key.Length > 0 && !byName.ContainsKey(key)) byName.Add(key, t);
            }
            var overridden = new Dictionary<string, List<ArtalkNameOverride>>();
            if (overrides != null)
            {
                foreach (var o in overrides)
                {
                    if (o == null || string.IsNullOrEmpty(o.Channel)) continue;
                    string key = Normalize(o.Channel);
                    List<ArtalkNameOverride> list;
                    if (!overridden.TryGetValue(key, out list)) overridden.Add(key, list = new List<ArtalkNameOverride>());
                    list.Add(o);
                }
            }
            var bindings = new List<ArtalkBinding>();
            unmatched = new List<string>();
            for (int c = 0; c < channels.Length; c++)
            {
                if (skip != null && c < skip.Length && skip[c]) continue;
                string key = Normalize(channels[c]);
                List<ArtalkNameOverride> list;
                int target;
                if (overridden.TryGetValue(key, out list))
                {
                    foreach (var o in list)
                    {
                        if (string.IsNullOrEmpty(o.Target)) continue;  // switched off
                        if (byName.TryGetValue(Normalize(o.Target), out target))
                            bindings.Add(new ArtalkBinding { Channel = c, Target = target, Weight = o.Weight });
                        else
                            unmatched.Add(channels[c] + " -> " + o.Target);
                    }
                }
                else if (byName.TryGetValue(key, out target))
                {
                    bindings.Add(new ArtalkBinding { Channel = c, Target = target, Weight = 1f });
                }
                else
                {
                    unmatched.Add(channels[c]);
                }
            }
            return bindings.ToArray();
        }

        /// <summary>Index of the channel whose normalized name is <paramref name="name"/>'s, or -1.</summary>
        public static int Find(string[] channels, string name)
        {
            string key = Normalize(name);
            for (int i = 0; i < channels.Length; i++)
                if (Normalize(channels[i]) == key) return i;
            return -1;
        }

        /// <summary>Weighted targets from channel values: targets[b.Target] = scale * sum(values[b.Channel] * b.Weight).
        /// Targets that nothing drives keep their value.</summary>
        public static void Apply(ArtalkBinding[] bindings, float[] values, float scale, float[] targets, bool[] touched)
        {
            Array.Clear(touched, 0, touched.Length);
            foreach (var b in bindings)
            {
                float v = values[b.Channel] * b.Weight * scale;
                targets[b.Target] = touched[b.Target] ? targets[b.Target] + v : v;
                touched[b.Target] = true;
            }
        }
    }
}
