using Striate.Autograd;
using Striate.Graph;
using Striate.Kernels;
using Striate.Nn;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Graph;

/// <summary>
/// A run rouses the kernel workers at its start and settles them at its end (<see cref="InferenceSession.RouseWorkers"/>):
/// the output is the same either way, and every run — one that fails its checks included — leaves the pool settled.
/// In the switches' collection: it flips a static switch and reads the pool's process-wide count.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public sealed class InferenceSessionRouseTests
{
    private static Sequential Block(Generator g) => new(
        new Conv2d(3, 16, 3, padding: 1, generator: g),
        new BatchNorm2d(16),
        new ReLU(),
        new Conv2d(16, 32, 3, stride: 2, padding: 1, generator: g),
        new ReLU(),
        new Flatten(),
        new Linear(32 * 8 * 8, 5, generator: g));

    [Fact]
    public void RousingChangesNoOutputAndEveryRunSettles()
    {
        var g = new Generator(11);
        var model = Block(g).Eval();
        var input = Tensor.Rand([1, 3, 16, 16], new Generator(12), -1f, 1f);
        var session = model.PrepareForInference(1, 3, 16, 16);
        Assert.Equal(0, ParallelFor.RousedCallers);
        Tensor plain;
        using (Switches.Set(() => InferenceSession.RouseWorkers, 0)) plain = session.Run(input);
        foreach (int mode in new[] { 1, 2 })
        {
            Tensor roused;
            using (Switches.Set(() => InferenceSession.RouseWorkers, mode)) roused = session.Run(input);
            Assert.Equal(0, ParallelFor.RousedCallers);
            Close.Assert(plain, roused, 0, 0, $"rousing the workers (mode {mode}) and not");
        }

        // A run refused after the rouse (a weight changed since preparing) settles too.
        using (Switches.Set(() => InferenceSession.RouseWorkers, 2))
        {
            model.Parameters().First().Span[0] += 1f; // a write through Span counts as a change
            Assert.Throws<InvalidOperationException>(() => session.Run(input));
        }
        Assert.Equal(0, ParallelFor.RousedCallers);
    }
}
