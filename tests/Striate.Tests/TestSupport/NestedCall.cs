using Striate.Kernels;

namespace Striate.Tests.TestSupport;

/// <summary>
/// Runs a kernel call from inside a parallel loop: as iteration 0 of a two-iteration <see cref="ParallelFor"/> loop, so
/// the kernel's own loops run serially on that thread — one thread then takes every item of a self-balancing schedule
/// (its own row from the front, the others' from the back).
/// </summary>
public static class NestedCall
{
    public static void Run(Action call)
    {
        var body = new Body(call);
        ParallelFor.Run(2, ref body, 2);
    }

    private readonly struct Body(Action call) : IParallelBody
    {
        public void Invoke(int index)
        {
            if (index == 0) call();
        }
    }
}
