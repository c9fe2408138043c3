// COMPILE-ONLY STAND-IN for the few UnityEngine types the package's components use.
// It lets Mono's mcs type-check unity_sample/com.artalk.face/Runtime/*.cs and the sample
// here, where no Unity editor exists. Signatures follow Unity's scripting API; the bodies
// do nothing and are never run. It proves the C# compiles, not that Unity behaves.
using System;

namespace UnityEngine
{
    public class Object { public string name { get; set; } }
    public class Component : Object
    {
        public T GetComponent<T>() { return default(T); }
        public GameObject gameObject { get { return null; } }
        public Transform transform { get { return null; } }
    }
    public class GameObject : Object { }
    public class Behaviour : Component { public bool enabled { get; set; } }
    public class MonoBehaviour : Behaviour { }
    public class Transform : Component { public Quaternion localRotation { get; set; } }

    public class AudioClip : Object
    {
        public int channels { get { return 1; } }
        public int samples { get { return 0; } }
        public int frequency { get { return 48000; } }
        public float length { get { return 0f; } }
        public bool GetData(float[] data, int offsetSamples) { return true; }
    }
    public class AudioSource : Behaviour
    {
        public AudioClip clip { get; set; }
        public bool isPlaying { get { return false; } }
        public void Play() { }
        public void PlayScheduled(double time) { }
        public void Stop() { }
    }
    public static class AudioSettings
    {
        public static double dspTime { get { return 0.0; } }
        public static int outputSampleRate { get { return 48000; } }
    }
    public static class Time { public static float realtimeSinceStartup { get { return 0f; } } }
    public static class Application { public static string streamingAssetsPath { get { return ""; } } }
    public static class Debug
    {
        public static void Log(object message) { }
        public static void LogWarning(object message) { }
        public static void LogError(object message) { }
    }
    public class Mesh : Object
    {
        public int blendShapeCount { get { return 0; } }
        public string GetBlendShapeName(int shapeIndex) { return ""; }
    }
    public class Renderer : Component { }
    public class SkinnedMeshRenderer : Renderer
    {
        public Mesh sharedMesh { get; set; }
        public void SetBlendShapeWeight(int index, float value) { }
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
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true)] public class RequireComponent : Attribute { public RequireComponent(Type requiredComponent) { } }
    [AttributeUsage(AttributeTargets.Class)] public class AddComponentMenu : Attribute { public AddComponentMenu(string menuName) { } }
}
