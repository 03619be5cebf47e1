using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using Striate.Graph;
using Striate.Kernels;

namespace Striate.Benchmarks;

/// <summary>
/// Where a prepared model's memory and threads sit, as one JSON line: the placement diagnostic of
/// <c>striate bench --serve-b1</c> (its "placement" line; written to standard error once at "ready" with
/// STRIATE_DIAG_PLACEMENT=1). Used to relate one process's speed to another's (bench/placement_b1.py): the same
/// binary ran ResNet-50's 1×1 steps ~5 % faster in one process of four, all along (RESULTS 2026-12-06).
/// Per region (every planned buffer, per convolution step its x / y / residual segments and each cached transformed
/// weight, per kernel thread its GEMM scratch): the address and its remainders mod 64, 4 KiB and 2 MiB; its pages,
/// how many are present and how many sit in a transparent huge page; and, where /proc/self/pagemap shows frame numbers
/// (root), each page's frame (<c>pfns</c>, absent pages −1): the physical address bits 12–15 pick the L2 set group
/// (Zen 3: 512 KiB, 8 ways, 1024 sets of 64 B), bits 12–20 the L3's, so 4 KiB pages scattered at random give each process its own
/// conflict pattern. Per kernel thread (probed with one ParallelFor iteration each): kernel thread id, the CPU it runs
/// on, its GEMM scratch. Costs nothing unless asked for.
/// </summary>
public static unsafe class PlacementReport
{
    /// <summary>STRIATE_DIAG_PLACEMENT=1: serve-b1 writes the report to standard error once prepared.</summary>
    public static bool Requested => Environment.GetEnvironmentVariable("STRIATE_DIAG_PLACEMENT") == "1";

    [DllImport("libc", EntryPoint = "sched_getcpu")] private static extern int SchedGetCpu();

    private const int PageBytes = 4096;

    /// <summary>The report for <paramref name="session"/> as one line of JSON.</summary>
    public static string Json(InferenceSession session)
    {
        using var pages = PageMap.Open();
        var threads = ProbeThreads();
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("pid", Environment.ProcessId);
            w.WriteNumber("caller_tid", WorkerPlacement.CurrentThreadId());
            w.WriteNumber("caller_cpu", Cpu());
            w.WriteString("thp", ReadFirstLine("/sys/kernel/mm/transparent_hugepage/enabled"));
            w.WriteNumber("anon_huge_kib", AnonHugeKib());
            w.WriteStartArray("threads");
            foreach (var t in threads)
            {
                w.WriteStartObject();
                w.WriteNumber("tid", t.Tid);
                w.WriteNumber("cpu", t.Cpu);
                w.WriteNumber("index", t.Index);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("code");
            foreach (var (name, address) in KernelCode())
            {
                w.WriteStartObject();
                w.WriteString("method", name);
                w.WriteString("addr", address.ToString("x", CultureInfo.InvariantCulture));
                w.WriteNumber("mod64", address % 64);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("regions");
            foreach (var t in threads.Where(t => t.Scratch != 0))
                Region(w, pages, $"thread {t.Tid}", "gemm scratch", t.Scratch, t.ScratchFloats * sizeof(float));
            foreach (var r in session.Placement())
            {
                fixed (float* p = r.Array)
                {
                    nint start = r.Role.StartsWith("weights", StringComparison.Ordinal) ? (nint)TransformedWeights.Start(r.Array) : (nint)(p + r.Offset);
                    Region(w, pages, r.Node, r.Role, start, (long)r.Length * sizeof(float));
                }
            }
            w.WriteEndArray();
            w.WriteBoolean("frames", pages.Frames);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void Region(Utf8JsonWriter w, PageMap pages, string node, string role, nint address, long bytes)
    {
        long first = address / PageBytes, last = (address + Math.Max(bytes, 1) - 1) / PageBytes;
        var (pfns, huge) = pages.Read(first, last - first + 1);
        w.WriteStartObject();
        w.WriteString("node", node);
        w.WriteString("role", role);
        w.WriteString("addr", address.ToString("x", CultureInfo.InvariantCulture));
        w.WriteNumber("bytes", bytes);
        w.WriteNumber("mod64", address % 64);
        w.WriteNumber("mod4k", address % PageBytes);
        w.WriteNumber("mod2m", address % (2 << 20));
        w.WriteNumber("pages", pfns.Length);
        w.WriteNumber("present", pfns.Count(f => f >= 0));
        w.WriteNumber("thp", huge);
        if (pages.Frames)
        {
            w.WriteStartArray("pfns");
            foreach (long f in pfns) w.WriteNumberValue(f);
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    /// <summary>
    /// Where the AVX2 GEMM's compiled code sits: the tile methods of <see cref="Gemm256x6x16"/> and its driver's
    /// <c>Block</c>, each method's native code address (0 while not compiled). The JIT places a method with a loop on a
    /// 32-byte boundary, so its start mod 64 is 0 or 32 by the order methods happened to compile in; ResNet-50's 1×1
    /// steps ran ~4–5 % slower in the processes where these sat at 32 (RESULTS 2026-12-06, place). The address is read
    /// through the method's entry point (<see cref="NativeCode"/>); a method not compiled yet shows its precode's stub (an
    /// address that is not a multiple of 32).
    /// </summary>
    private static IEnumerable<(string Name, nint Address)> KernelCode()
    {
        const System.Reflection.BindingFlags all = System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public
            | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.DeclaredOnly;
        var methods = typeof(Gemm256x6x16).GetMethods(all).Where(m => m.Name.StartsWith("Run", StringComparison.Ordinal))
            .Concat(typeof(GemmDriver<Gemm256x6x16>).GetMethods(all).Where(m => m.Name == "Block"))
            .Where(m => !m.IsGenericMethodDefinition);
        foreach (var m in methods)
        {
            nint entry = m.MethodHandle.GetFunctionPointer();
            nint code = NativeCode(entry);
            yield return ($"{m.DeclaringType!.Name}.{m.Name}({string.Join(",", m.GetParameters().Select(p => p.ParameterType.Name))})", code);
        }
    }

    /// <summary>The native code behind an entry point: a precode's <c>jmp [rip+d]</c> (FF 25) or a <c>jmp rel32</c> (E9) followed.</summary>
    private static nint NativeCode(nint entry)
    {
        for (int hop = 0; hop < 3; hop++)
        {
            byte* p = (byte*)entry;
            if (p[0] == 0xFF && p[1] == 0x25) entry = *(nint*)(p + 6 + *(int*)(p + 2));
            else if (p[0] == 0xE9) entry = (nint)(p + 5 + *(int*)(p + 1));
            else return entry;
        }
        return entry;
    }

    private readonly record struct ThreadInfo(int Index, int Tid, int Cpu, nint Scratch, long ScratchFloats);

    /// <summary>
    /// One iteration per kernel thread, each waiting (up to 50 ms) until all have started, so every thread takes one;
    /// tried again (up to 20 times) while one thread took two (a worker woken late).
    /// </summary>
    private static List<ThreadInfo> ProbeThreads()
    {
        int n = KernelThreads.Count;
        List<ThreadInfo> found = [];
        for (int attempt = 0; attempt < 20; attempt++)
        {
            var body = new Probe { Found = new ThreadInfo[n], Threads = n, Deadline = System.Diagnostics.Stopwatch.GetTimestamp() + System.Diagnostics.Stopwatch.Frequency / 20 };
            ParallelFor.Run(n, ref body, n);
            found = body.Found.Where(t => t.Tid != 0).ToList();
            if (found.Select(t => t.Tid).Distinct().Count() == found.Count) break;
        }
        return found;
    }

    private struct Probe : IParallelBody
    {
        public ThreadInfo[] Found;
        public int Threads;
        public long Deadline;
        private int arrived;

        public void Invoke(int index)
        {
            var (scratch, floats) = GemmScratch.OfCurrentThread();
            Found[index] = new ThreadInfo(index, WorkerPlacement.CurrentThreadId(), Cpu(), scratch, floats);
            Interlocked.Increment(ref arrived);
            while (Volatile.Read(ref arrived) < Threads && System.Diagnostics.Stopwatch.GetTimestamp() < Deadline) Thread.SpinWait(64);
        }
    }

    private static int Cpu()
    {
        try { return SchedGetCpu(); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return -1; }
    }

    private static string ReadFirstLine(string path)
    {
        try { return File.ReadLines(path).FirstOrDefault() ?? ""; }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }

    private static long AnonHugeKib()
    {
        try
        {
            var line = File.ReadLines("/proc/self/smaps_rollup").FirstOrDefault(l => l.StartsWith("AnonHugePages:", StringComparison.Ordinal));
            return line == null ? -1 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { return -1; }
    }

    /// <summary>/proc/self/pagemap (frame numbers read as 0 without CAP_SYS_ADMIN) and /proc/kpageflags (root only).</summary>
    private sealed class PageMap : IDisposable
    {
        private readonly SafeFileHandle? map, flags;

        private PageMap(SafeFileHandle? map, SafeFileHandle? flags) { this.map = map; this.flags = flags; }

        /// <summary>Whether the frame numbers are real (nonzero for a present page).</summary>
        public bool Frames { get; private set; }

        public static PageMap Open() => new(TryOpen("/proc/self/pagemap"), TryOpen("/proc/kpageflags"));

        private static SafeFileHandle? TryOpen(string path)
        {
            try { return File.OpenHandle(path, FileMode.Open, FileAccess.Read); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        }

        /// <summary>Each page's frame (−1: not present; 0: present, frame hidden) and how many are in a transparent huge page (−1: unknown).</summary>
        public (long[] Pfns, int Huge) Read(long firstPage, long count)
        {
            var pfns = new long[count];
            if (map == null) { Array.Fill(pfns, -1); return (pfns, -1); }
            var raw = new byte[count * 8];
            int got = RandomAccess.Read(map, raw, firstPage * 8);
            int huge = flags == null ? -1 : 0;
            var entry = new byte[8];
            for (long i = 0; i < count; i++)
            {
                ulong e = i * 8 + 8 <= got ? BitConverter.ToUInt64(raw, (int)(i * 8)) : 0;
                bool present = (e >> 63) != 0;
                long pfn = (long)(e & ((1UL << 55) - 1));
                pfns[i] = present ? pfn : -1;
                if (present && pfn != 0) Frames = true;
                if (present && pfn != 0 && flags != null && RandomAccess.Read(flags, entry, pfn * 8) == 8
                    && (BitConverter.ToUInt64(entry) & (1UL << 22)) != 0)
                    huge++;
            }
            return (pfns, huge);
        }

        public void Dispose()
        {
            map?.Dispose();
            flags?.Dispose();
        }
    }
}
