// A STAND-IN for the few UnityEngine types the package's components use, compiled into
// UnityEngine.dll here, where no Unity editor exists. The public members of namespace
// UnityEngine follow Unity's scripting API (names, signatures), so the package's Artalk.Face
// assembly and the sample type-check against it; test-only hooks live in the separate
// namespace UnityEngineStub, which package code never sees.
//
// The bodies do just enough for tests/clients/csharp/UnityComponentsTest.cs to run the
// components as an engine would: GameObject.AddComponent adds [RequireComponent] types
// and sends Awake; an AudioClip holds its samples; AudioSource.PlayScheduled is recorded;
// AudioSettings.dspTime is the test's clock; a SkinnedMeshRenderer keeps its blendshape
// weights; Debug logs are kept. It proves the components' logic, not that Unity behaves.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Reflection;

namespace UnityEngineStub
{
    /// <summary>The test's side of the stand-in: clocks, paths, what the components did.</summary>
    public static class Engine
    {
        static readonly Stopwatch realtime = Stopwatch.StartNew();
        /// <summary>AudioSettings.dspTime: the audio clock, set by the test.</summary>
        public static double DspTime;
        public static int OutputSampleRate = 48000;
        public static string StreamingAssetsPath = "";
        /// <summary>Debug.Log / LogWarning / LogError, as "Log: ...", "Warning: ...", "Error: ...".</summary>
        public static readonly List<string> Logs = new List<string>();
        /// <summary>The dspTime each AudioSource was last scheduled at by PlayScheduled.</summary>
        public static readonly Dictionary<UnityEngine.AudioSource, double> Scheduled = new Dictionary<UnityEngine.AudioSource, double>();

        public static float RealtimeSinceStartup { get { return (float)realtime.Elapsed.TotalSeconds; } }

        /// <summary>Call a component's message (Awake, Start, Update, LateUpdate, OnDestroy, ...)
        /// by name, public or not, as the engine does; false when it has none.</summary>
        public static bool Send(object component, string message, params object[] args)
        {
            var types = new Type[args.Length];
            for (int i = 0; i < args.Length; i++) types[i] = args[i].GetType();
            MethodInfo method = component.GetType().GetMethod(
                message, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, null, types, null);
            if (method == null) return false;
            try
            {
                method.Invoke(component, args);
            }
            catch (TargetInvocationException e)
            {
                throw e.InnerException;
            }
            return true;
        }
    }
}

namespace UnityEngine
{
    public class Object { public string name { get; set; } }

    public class Component : Object
    {
        internal GameObject owner;
        public T GetComponent<T>() { return owner == null ? default(T) : owner.GetComponent<T>(); }
        public GameObject gameObject { get { return owner; } }
        public Transform transform { get { return GetComponent<Transform>(); } }
    }

    public class GameObject : Object
    {
        readonly List<Component> components = new List<Component>();

        public GameObject() : this("GameObject") { }
        public GameObject(string name)
        {
            this.name = name;
            AddComponent<Transform>();
        }

        public T AddComponent<T>() where T : Component { return (T)AddComponent(typeof(T)); }

        public Component AddComponent(Type componentType)
        {
            foreach (RequireComponent required in componentType.GetCustomAttributes(typeof(RequireComponent), true))
                if (GetComponent(required.m_Type0) == null) AddComponent(required.m_Type0);
            var component = (Component)Activator.CreateInstance(componentType, true);
            component.owner = this;
            component.name = name;
            components.Add(component);
            UnityEngineStub.Engine.Send(component, "Awake");
            return component;
        }

        public Component GetComponent(Type type)
        {
            foreach (var c in components) if (type.IsInstanceOfType(c)) return c;
            return null;
        }

        public T GetComponent<T>()
        {
            foreach (var c in components) if (c is T) return (T)(object)c;
            return default(T);
        }

        public Transform transform { get { return GetComponent<Transform>(); } }
    }

    public class Behaviour : Component { public bool enabled { get; set; } }
    public class MonoBehaviour : Behaviour { }
    public class Transform : Component { public Quaternion localRotation { get; set; } }

    public class AudioClip : Object
    {
        float[] data = new float[0];
        int channelCount = 1, frequencyHz = 48000;

        public static AudioClip Create(string name, int lengthSamples, int channels, int frequency, bool stream)
        {
            return new AudioClip { name = name, data = new float[lengthSamples * channels], channelCount = channels, frequencyHz = frequency };
        }

        public int channels { get { return channelCount; } }
        public int samples { get { return data.Length / channelCount; } }
        public int frequency { get { return frequencyHz; } }
        public float length { get { return (float)samples / frequencyHz; } }

        public bool GetData(float[] data, int offsetSamples)
        {
            Array.Copy(this.data, offsetSamples * channelCount, data, 0, Math.Min(data.Length, this.data.Length - offsetSamples * channelCount));
            return true;
        }

        public bool SetData(float[] data, int offsetSamples)
        {
            Array.Copy(data, 0, this.data, offsetSamples * channelCount, Math.Min(data.Length, this.data.Length - offsetSamples * channelCount));
            return true;
        }
    }

    public class AudioSource : Behaviour
    {
        bool playing;
        public AudioClip clip { get; set; }
        public bool isPlaying { get { return playing; } }
        public void Play() { playing = true; }
        public void PlayScheduled(double time)
        {
            playing = true;
            UnityEngineStub.Engine.Scheduled[this] = time;
        }
        public void Stop() { playing = false; }
    }

    public static class AudioSettings
    {
        public static double dspTime { get { return UnityEngineStub.Engine.DspTime; } }
        public static int outputSampleRate { get { return UnityEngineStub.Engine.OutputSampleRate; } }
    }

    public static class Time { public static float realtimeSinceStartup { get { return UnityEngineStub.Engine.RealtimeSinceStartup; } } }
    public static class Application { public static string streamingAssetsPath { get { return UnityEngineStub.Engine.StreamingAssetsPath; } } }

    public static class Debug
    {
        public static void Log(object message) { UnityEngineStub.Engine.Logs.Add("Log: " + message); }
        public static void LogWarning(object message) { UnityEngineStub.Engine.Logs.Add("Warning: " + message); }
        public static void LogError(object message) { UnityEngineStub.Engine.Logs.Add("Error: " + message); }
    }

    public class Mesh : Object
    {
        readonly List<string> shapes = new List<string>();
        public int blendShapeCount { get { return shapes.Count; } }
        public string GetBlendShapeName(int shapeIndex) { return shapes[shapeIndex]; }
        public void AddBlendShapeFrame(string shapeName, float frameWeight, Vector3[] deltaVertices, Vector3[] deltaNormals,
                                       Vector3[] deltaTangents)
        {
            shapes.Add(shapeName);
        }
    }

    public class Renderer : Component { }

    public class SkinnedMeshRenderer : Renderer
    {
        readonly Dictionary<int, float> weights = new Dictionary<int, float>();
        public Mesh sharedMesh { get; set; }
        public void SetBlendShapeWeight(int index, float value)
        {
            if (sharedMesh == null || index < 0 || index >= sharedMesh.blendShapeCount) throw new IndexOutOfRangeException("blendshape " + index);
            weights[index] = value;
        }
        public float GetBlendShapeWeight(int index)
        {
            float w;
            return weights.TryGetValue(index, out w) ? w : 0f;
        }
    }

    public struct Quaternion
    {
        public static Quaternion Euler(float x, float y, float z) { return new Quaternion(); }
        public static Quaternion operator *(Quaternion lhs, Quaternion rhs) { return lhs; }
    }

    public struct Vector3
    {
        public float x, y, z;
        public Vector3(float x, float y, float z) { this.x = x; this.y = y; this.z = z; }
    }

    public static class Mathf { public const float Rad2Deg = 57.29578f; }
    public enum KeyCode { Space = 32, C = 99 }
    public static class Input { public static bool GetKeyDown(KeyCode key) { return false; } }
    public static class GUILayout { public static void Label(string text, params object[] options) { } }

    public class PropertyAttribute : Attribute { }
    [AttributeUsage(AttributeTargets.Field)] public class HeaderAttribute : PropertyAttribute { public HeaderAttribute(string header) { } }
    [AttributeUsage(AttributeTargets.Field)] public class TooltipAttribute : PropertyAttribute { public TooltipAttribute(string tooltip) { } }
    [AttributeUsage(AttributeTargets.Field)] public class RangeAttribute : PropertyAttribute { public RangeAttribute(float min, float max) { } }
    [AttributeUsage(AttributeTargets.Field)] public class TextAreaAttribute : PropertyAttribute { }
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
    public class RequireComponent : Attribute
    {
        public Type m_Type0;
        public RequireComponent(Type requiredComponent) { m_Type0 = requiredComponent; }
    }
    [AttributeUsage(AttributeTargets.Class)] public class AddComponentMenu : Attribute { public AddComponentMenu(string menuName) { } }
}
