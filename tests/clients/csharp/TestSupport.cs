// What the C# test programs (AbiTest, UnityComponentsTest) share: a failing check, the test
// speech as PCM16 mono samples from its WAV file, and the case runner.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;

static class TestSupport
{
    public static void Check(bool condition, string what)
    {
        if (!condition) throw new Exception("check failed: " + what);
    }

    public static short[] ReadWav(string path, out int sampleRate)
    {
        byte[] file = File.ReadAllBytes(path);
        Check(file.Length > 44 && System.Text.Encoding.ASCII.GetString(file, 0, 4) == "RIFF", "a RIFF file");
        int pos = 12, channels = 0, bits = 0;
        sampleRate = 0;
        while (pos + 8 <= file.Length)
        {
            string id = System.Text.Encoding.ASCII.GetString(file, pos, 4);
            int size = BitConverter.ToInt32(file, pos + 4);
            if (id == "fmt ")
            {
                channels = BitConverter.ToInt16(file, pos + 10);
                sampleRate = BitConverter.ToInt32(file, pos + 12);
                bits = BitConverter.ToInt16(file, pos + 22);
            }
            else if (id == "data")
            {
                Check(channels == 1 && bits == 16, "the test wav is PCM16 mono");
                int n = Math.Min(size, file.Length - pos - 8) / 2;
                var samples = new short[n];
                Buffer.BlockCopy(file, pos + 8, samples, 0, n * 2);
                return samples;
            }
            pos += 8 + size + (size & 1);
        }
        throw new Exception("no data chunk");
    }

    /// <summary>Runs the cases named in `only` (every case when it is empty), `beforeEach` first;
    /// prints PASS/FAIL per case and "N passed, N failed". -> exit code: 0, 1 on a failure, 64 on
    /// an unknown case name.</summary>
    public static int RunCases(List<KeyValuePair<string, Action>> cases, List<string> only, Action beforeEach)
    {
        if (only.Count > 0)
        {
            cases = cases.FindAll(c => only.Contains(c.Key));
            if (cases.Count != only.Count)
            {
                Console.Error.WriteLine("unknown case among: " + string.Join(", ", only.ToArray()));
                return 64;
            }
        }
        int passed = 0, failed = 0;
        foreach (var c in cases)
        {
            var watch = Stopwatch.StartNew();
            beforeEach();
            try
            {
                c.Value();
                passed++;
                Console.WriteLine("PASS {0} ({1:F2} s)", c.Key, watch.Elapsed.TotalSeconds);
            }
            catch (Exception e)
            {
                failed++;
                Console.WriteLine("FAIL {0}: {1}", c.Key, e);
            }
        }
        Console.WriteLine("{0} passed, {1} failed", passed, failed);
        return failed == 0 ? 0 : 1;
    }
}
