// Applies the face from an ArtalkAudioStreamer to SkinnedMeshRenderer blendshapes by name,
// and the head/eye rotation channels (radians, the service's convention) to transforms, every LateUpdate, at the streamer's
// dspTime-based playback time (so it follows the audio, not the frame rate).
using System.Collections.Generic;
using Artalk.Face;
using UnityEngine;

namespace Artalk.Face.Unity
{
    [AddComponentMenu("Artalk/Artalk Blendshape Driver")]
    public sealed class ArtalkBlendshapeDriver : MonoBehaviour
    {
        [Tooltip("The voice this face follows")]
        public ArtalkAudioStreamer streamer;
        [Tooltip("Meshes whose blendshapes are driven (face, teeth, tongue, eyelashes ...)")]
        public SkinnedMeshRenderer[] renderers = new SkinnedMeshRenderer[0];
        [Tooltip("Blendshape weight for a channel value of 1 (Unity weights run 0-100)")]
        public float weightScale = 100f;
        [Tooltip("Channel -> blendshape overrides; other channels bind by name (case, '_' and 'mesh.' prefixes ignored)")]
        public List<ArtalkNameOverride> overrides = new List<ArtalkNameOverride>();

        [Header("Head and eyes (service radians -> Unity: Quaternion.Euler(pitch, -yaw, roll), docs/retarget.md)")]
        public Transform head;
        public Transform leftEye;
        public Transform rightEye;
        [Tooltip("Sign per axis (x = pitch, y = yaw, z = roll); the default (1, -1, 1) is the service's 'unity' convention")]
        public Vector3 axisSigns = new Vector3(1f, -1f, 1f);
        [Range(0f, 2f)] public float headScale = 1f;
        [Range(0f, 2f)] public float eyeScale = 1f;

        [Header("Diagnostics")]
        [Tooltip("Log channels that found no blendshape")]
        public bool logUnmatched = true;
        public ArtalkSampleStatus lastStatus;

        float[] values = new float[0];
        ArtalkSession boundSession;
        ArtalkBinding[][] bindings;
        float[][] weights;
        bool[][] touched;
        int[] headIdx, leftIdx, rightIdx;
        Quaternion headRest, leftRest, rightRest;

        void Start()
        {
            if (head != null) headRest = head.localRotation;
            if (leftEye != null) leftRest = leftEye.localRotation;
            if (rightEye != null) rightRest = rightEye.localRotation;
        }

        void Bind(ArtalkSession session)
        {
            string[] names = session.ChannelNames;
            values = new float[names.Length];
            bindings = new ArtalkBinding[renderers.Length][];
            weights = new float[renderers.Length][];
            touched = new bool[renderers.Length][];
            for (int r = 0; r < renderers.Length; r++)
            {
                Mesh mesh = renderers[r] != null ? renderers[r].sharedMesh : null;
                int count = mesh != null ? mesh.blendShapeCount : 0;
                var targets = new string[count];
                for (int i = 0; i < count; i++) targets[i] = mesh.GetBlendShapeName(i);
                List<string> unmatched;
                bindings[r] = ArtalkChannelMap.Bind(names, targets, overrides, session.RotationChannels, out unmatched);
                weights[r] = new float[count];
                touched[r] = new bool[count];
                if (logUnmatched && unmatched.Count > 0 && renderers[r] != null)
                    Debug.Log("Artalk: " + renderers[r].name + " has no blendshape for " + string.Join(", ", unmatched.ToArray()));
            }
            headIdx = Axes(names, "Head");
            leftIdx = Axes(names, "LeftEye");
            rightIdx = Axes(names, "RightEye");
        }

        static int[] Axes(string[] names, string prefix)
        {
            return new[]
            {
                ArtalkChannelMap.Find(names, prefix + "Pitch"),
                ArtalkChannelMap.Find(names, prefix + "Yaw"),
                ArtalkChannelMap.Find(names, prefix + "Roll"),
            };
        }

        void LateUpdate()
        {
            if (streamer == null || !streamer.IsStarted) return;
            if (boundSession != streamer.Session)  // first frame, or the streamer opened a new session
            {
                Bind(streamer.Session);
                boundSession = streamer.Session;
            }
            lastStatus = streamer.SampleFace(values);
            for (int r = 0; r < renderers.Length; r++)
            {
                if (renderers[r] == null) continue;
                ArtalkChannelMap.Apply(bindings[r], values, weightScale, weights[r], touched[r]);
                for (int i = 0; i < weights[r].Length; i++)
                    if (touched[r][i]) renderers[r].SetBlendShapeWeight(i, weights[r][i]);
            }
            Rotate(head, headRest, headIdx, headScale);
            Rotate(leftEye, leftRest, leftIdx, eyeScale);
            Rotate(rightEye, rightRest, rightIdx, eyeScale);
        }

        void Rotate(Transform bone, Quaternion rest, int[] axes, float scale)
        {
            if (bone == null) return;
            float k = Mathf.Rad2Deg * scale;
            float pitch = axes[0] >= 0 ? values[axes[0]] : 0f;
            float yaw = axes[1] >= 0 ? values[axes[1]] : 0f;
            float roll = axes[2] >= 0 ? values[axes[2]] : 0f;
            // In the character's space, before the rest pose (docs/retarget.md "Conventions"):
            // q(+Y, -yaw) q(+X, pitch) q(+Z, roll) is Quaternion.Euler(pitch, -yaw, roll).
            bone.localRotation = Quaternion.Euler(pitch * k * axisSigns.x, yaw * k * axisSigns.y, roll * k * axisSigns.z) * rest;
        }
    }
}
