using Striate.Autograd;
using Striate.Graph;
using Striate.Nn;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Graph;

/// <summary>
/// Preparing a session ends with warm-up runs on a zero input (so a fresh process's first call runs tier-1 code): they
/// happen, they leave the model and the caller's first result untouched, and the wait for the JIT always ends.
/// </summary>
public sealed class InferenceSessionWarmUpTests
{
    private static Sequential Block(Generator g) => new(
        new Conv2d(3, 8, 3, padding: 1, generator: g),
        new BatchNorm2d(8),
        new ReLU(),
        new MaxPool2d(2),
        new Conv2d(8, 16, 1, generator: g),
        new ReLU(),
        new Flatten(),
        new Linear(16 * 4 * 4, 5, generator: g));

    [Fact]
    public void PreparingRunsTheSessionBeforeTheCallersFirstRun()
    {
        var model = Block(new Generator(3)).Eval();
        var session = model.PrepareForInference(1, 3, 8, 8);
        Assert.Contains(session.WarmUpRuns, new[] { 1, 2, 4 }); // 4 for a run this short, unless a slow first run cut it to 1 or 2
    }

    [Fact]
    public void PreparingWithoutWarmUpRunsNothingAndGivesTheSameOutput()
    {
        var model = Block(new Generator(7)).Eval();
        var input = Tensor.Rand([1, 3, 8, 8], new Generator(8), -1f, 1f);
        var cold = model.PrepareForInference([1, 3, 8, 8], warmUp: false);
        var warm = model.PrepareForInference(1, 3, 8, 8);
        Assert.Equal(0, cold.WarmUpRuns);
        Close.Assert(warm.Run(input), cold.Run(input), 0, 0, "with and without warm-up runs");
    }

    [Fact]
    public void TheCallersFirstRunGivesTheEagerModelsOutput()
    {
        var g = new Generator(4);
        var model = Block(g);
        RegistryModels.RandomizeStatistics(model, g);
        model.Eval();
        var input = Tensor.Rand([2, 3, 8, 8], new Generator(5), -1f, 1f);
        var expected = EagerOutput.Of(model, input);

        var session = model.PrepareForInference(2, 3, 8, 8);
        // The warm-up ran zeros through the same buffers: the first real run must not see any of it.
        Close.Assert(expected, session.Run(input), 1e-4, 1e-5, "first run after the warm-up against eager");
    }

    [Fact]
    public void WarmingUpLeavesTheModelAsItWas()
    {
        var g = new Generator(6);
        var model = Block(g);
        RegistryModels.RandomizeStatistics(model, g);
        model.Train();
        var before = model.StateDict().Select(kv => (kv.Key, kv.Value.Version, Values: kv.Value.ToArray())).ToList();

        var session = model.PrepareForInference(1, 3, 8, 8);

        Assert.True(model.Training, "the model's mode is restored after tracing and warming up");
        foreach (var (key, version, values) in before)
        {
            var now = model.StateDict().Single(kv => kv.Key == key).Value;
            Assert.Equal(version, now.Version);
            Assert.Equal(values, now.ToArray());
        }
        session.Run(Tensor.Zeros([1, 3, 8, 8])); // the session still accepts its weights: none changed
    }

    [Theory]
    [InlineData(0.01, 2)]
    [InlineData(99.9, 2)]
    [InlineData(100.0, 1)]
    [InlineData(2500.0, 1)]
    public void ASlowFirstWarmUpRunIsNotRepeated(double firstRunMilliseconds, int runs) =>
        Assert.Equal(runs, InferenceSession.WarmUpRunsAfter(firstRunMilliseconds));

    [Theory]
    [InlineData(0.01, true)]
    [InlineData(24.9, true)]
    [InlineData(25.0, false)]
    [InlineData(90.0, false)]
    public void OnlyAShortSecondWarmUpRunIsFollowedByAThird(double secondRunMilliseconds, bool third) =>
        Assert.Equal(third, InferenceSession.ThirdWarmUpAfter(secondRunMilliseconds));

    [Fact]
    public void WaitingForTheJitEndsWhileAnotherThreadKeepsTheProcessBusy()
    {
        bool stop = false;
        var busy = new Thread(() =>
        {
            double x = 1;
            while (!Volatile.Read(ref stop)) x = Math.Sqrt(x + 1);
            GC.KeepAlive(x);
        });
        busy.Start();
        InferenceSession.WaitForBackgroundJit(limitMilliseconds: 500); // returns (no hang) whatever the process does
        Volatile.Write(ref stop, true);
        busy.Join();
    }
}
