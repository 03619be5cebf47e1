namespace Striate.Tests.Fuzz;

/// <summary>What one call allocated on the calling thread (managed heap, large arrays included) and what it threw.</summary>
internal readonly record struct Measured(long AllocatedBytes, Exception? Thrown);

internal static class Allocation
{
    /// <summary>Runs <paramref name="action"/> on this thread and measures the managed bytes it allocated.</summary>
    public static Measured Measure(Action action)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        Exception? thrown = null;
        try
        {
            action();
        }
        catch (Exception e)
        {
            thrown = e;
        }
        return new Measured(GC.GetAllocatedBytesForCurrentThread() - before, thrown);
    }

    public const long MiB = 1L << 20;
}
