using Striate.Distributed;
using Striate.Functional;
using Striate.Nn;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Distributed;

/// <summary>
/// Synchronized batch norm: over one process it is batch norm bit for bit; over several, each with a share of the batch,
/// it computes what batch norm computes on the whole batch — outputs, running statistics and gradients.
/// </summary>
public sealed class SyncBatchNormTests
{
    private static Tensor Random(int[] shape, ulong seed, float scale = 1f, float shift = 0f)
    {
        var t = Tensor.Randn(shape, new Generator(seed));
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = s[i] * scale + shift;
        return t;
    }

    /// <summary>Rows [start, start + count) of a [N, ...] tensor, as a new tensor.</summary>
    private static Tensor Rows(Tensor t, int start, int count)
    {
        int per = t.Numel / t.Size(0);
        var shape = t.ShapeArray;
        shape[0] = count;
        return Tensor.FromArray(t.ReadOnlySpan.Slice(start * per, count * per), shape);
    }

    private sealed record Result(float[] Output, float[] RunningMean, float[] RunningVar, float[] GradInput, float[] GradWeight, float[] GradBias);

    private static Result Run(Tensor input, Tensor gradOutput, Func<Tensor, Tensor, Tensor, Tensor, Tensor, Tensor> batchNorm)
    {
        int c = input.Size(1);
        var x = input.Clone().RequireGrad();
        var weight = Random([c], 7, 0.5f, 1f).RequireGrad();
        var bias = Random([c], 8).RequireGrad();
        var runningMean = Tensor.Zeros(c);
        var runningVar = Tensor.Ones(c);
        var y = batchNorm(x, runningMean, runningVar, weight, bias);
        y.Backward(gradOutput);
        return new(y.ToArray(), runningMean.ToArray(), runningVar.ToArray(), x.Grad!.ToArray(), weight.Grad!.ToArray(), bias.Grad!.ToArray());
    }

    [Fact]
    public void OverOneProcessItIsBatchNormBitForBit()
    {
        var input = Random([5, 3, 4, 6], 1, 2f, 0.5f);
        var gradOutput = Random([5, 3, 4, 6], 2);
        var group = ThreadProcessGroup.Create(1)[0];
        var expected = Run(input, gradOutput, (x, m, v, w, b) => F.BatchNorm(x, m, v, w, b, training: true));
        var actual = Run(input, gradOutput, (x, m, v, w, b) => F.SyncBatchNorm(x, m, v, w, b, group));
        Assert.Equal(expected.Output, actual.Output);
        Assert.Equal(expected.RunningMean, actual.RunningMean);
        Assert.Equal(expected.RunningVar, actual.RunningVar);
        Assert.Equal(expected.GradInput, actual.GradInput);
        Assert.Equal(expected.GradWeight, actual.GradWeight);
        Assert.Equal(expected.GradBias, actual.GradBias);
    }

    [Theory]
    [InlineData(2, new[] { 6, 3, 5, 5 })]
    [InlineData(3, new[] { 9, 4, 3, 2 })]
    [InlineData(2, new[] { 8, 5 })]
    public void ShardsOverSeveralProcessesComputeWhatBatchNormComputesOnTheWholeBatch(int worldSize, int[] shape)
    {
        var input = Random(shape, 3, 3f, -1f);
        var gradOutput = Random(shape, 4);
        var whole = Run(input, gradOutput, (x, m, v, w, b) => F.BatchNorm(x, m, v, w, b, training: true));
        int per = shape[0] / worldSize;
        var parts = DistributedTestRanks.Run(worldSize, g =>
            Run(Rows(input, g.Rank * per, per), Rows(gradOutput, g.Rank * per, per), (x, m, v, w, b) => F.SyncBatchNorm(x, m, v, w, b, g)));

        Close.Assert(whole.Output, parts.SelectMany(p => p.Output).ToArray(), 1e-5, 1e-5, "Output");
        Close.Assert(whole.GradInput, parts.SelectMany(p => p.GradInput).ToArray(), 1e-5, 1e-5, "GradInput");
        foreach (var p in parts)
        {
            Close.Assert(whole.RunningMean, p.RunningMean, 1e-6, 1e-6, "RunningMean");
            Close.Assert(whole.RunningVar, p.RunningVar, 1e-6, 1e-6, "RunningVar");
        }
        // Weight and bias gradients are each process's share; summed they are the whole batch's.
        Close.Assert(whole.GradWeight, Sum(parts.Select(p => p.GradWeight)), 1e-4, 1e-4, "GradWeight");
        Close.Assert(whole.GradBias, Sum(parts.Select(p => p.GradBias)), 1e-4, 1e-4, "GradBias");
    }

    [Fact]
    public void ConvertMakesEveryBatchNormLayerSynchronizeAndNullUndoesIt()
    {
        var model = DistributedWorker.Scenarios.BuildModel("resnet", new Generator(1));
        var group = ThreadProcessGroup.Create(2)[0];
        int layers = model.NamedModules().Count(m => m.Value is BatchNormBase);
        Assert.True(layers >= 3);
        Assert.Equal(layers, SyncBatchNorm.Convert(model, group));
        Assert.All(model.NamedModules().Select(m => m.Value).OfType<BatchNormBase>(), bn => Assert.Same(group, bn.ProcessGroup));
        SyncBatchNorm.Convert(model, null);
        Assert.All(model.NamedModules().Select(m => m.Value).OfType<BatchNormBase>(), bn => Assert.Null(bn.ProcessGroup));
    }

    [Fact]
    public void OneValuePerChannelIsEnoughWhenTheProcessesTogetherHaveMore()
    {
        // BatchNorm1d on [1, C] fails on one process; spread over two processes the channel has two values.
        var outputs = DistributedTestRanks.Run(2, g =>
        {
            var x = Tensor.FromArray(g.Rank == 0 ? [1f, 2f] : [3f, 6f], 1, 2);
            return F.SyncBatchNorm(x, null, null, null, null, g).ToArray();
        });
        Close.Assert([-1f, -1f], outputs[0], 1e-4, 1e-4, "[-1f");
        Close.Assert([1f, 1f], outputs[1], 1e-4, 1e-4, "[1f");
    }

    private static float[] Sum(IEnumerable<float[]> parts)
    {
        float[]? sum = null;
        foreach (var p in parts)
        {
            sum ??= new float[p.Length];
            for (int i = 0; i < p.Length; i++) sum[i] += p[i];
        }
        return sum!;
    }
}
