using Striate.Functional;
using Striate.Kernels;
using Striate.Optim;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Autograd;

/// <summary>
/// PyTorch's version counter: in-place writes bump a storage's version, ops record the versions of what they save for
/// backward, and backward refuses to compute a gradient from values that changed since the forward.
/// </summary>
public sealed class VersionCounterTests
{
    [Fact]
    public void WritesBumpTheVersionReadsDoNotAndViewsShareIt()
    {
        var t = Tensor.Zeros(2, 3);
        long v0 = t.Version;
        _ = t.ReadOnlySpan[0];
        _ = t.ToArray();
        Assert.Equal(v0, t.Version);
        t.Span[0] = 1f;
        Assert.Equal(v0 + 1, t.Version);
        t[1, 2] = 5f;
        t.Fill(2f);
        t.CopyFrom(Tensor.Ones(2, 3));
        Assert.Equal(v0 + 4, t.Version);

        var view = t.Reshape(6);
        var detached = t.Detach();
        view.Span[0] = 3f;
        Assert.Equal(t.Version, view.Version);
        Assert.Equal(t.Version, detached.Version);
        Assert.NotEqual(t.Version, t.Clone().Version);
    }

    // The bug the check exists for: a weight saved by a convolution is changed in place before backward. Without the
    // check, the weight gradient is computed from the old input but the input gradient from the new weight.
    [Fact]
    public void ModifyingASavedConvolutionWeightBeforeBackwardFailsNamingTheOp()
    {
        var x = FiniteDifference.Random(1, 2, 3, 6, 6).RequireGrad();
        var w = FiniteDifference.Random(2, 4, 3, 3, 3).RequireGrad();
        var loss = F.Sum(F.Conv2d(x, w, padding: 1));
        long saved = w.Version;
        w.Span[0] += 1f;
        var e = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.Contains("one of the variables needed for gradient computation has been modified by an inplace operation", e.Message);
        Assert.Contains("[Tensor [4, 3, 3, 3]]", e.Message);
        Assert.Contains("[Conv2dBackward] as its input 1", e.Message);
        Assert.Contains($"is at version {saved + 1}; expected version {saved} instead", e.Message);
        Assert.Null(x.Grad);
    }

    [Fact]
    public void AnOptimizerStepBetweenForwardAndBackwardFails()
    {
        var w = FiniteDifference.Random(3, 5, 4).RequireGrad();
        var x = FiniteDifference.Random(4, 2, 4);
        var sgd = new Sgd([w], lr: 0.1f);
        F.Sum(F.Linear(x, w)).Backward();
        var loss = F.Sum(F.Linear(x, w));
        sgd.Step();
        var e = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.Contains("[LinearBackward] as its input 1", e.Message);
    }

    [Fact]
    public void ASavedOutputWrittenThroughAViewFails()
    {
        var x = FiniteDifference.Random(5, 2, 3).RequireGrad();
        var y = F.Sigmoid(x);
        var z = F.Sum(F.Mul(y, 2f));
        y.Detach().Reshape(6).Fill(0f);
        var e = Assert.Throws<InvalidOperationException>(() => z.Backward());
        Assert.Contains("[SigmoidBackward] as its output", e.Message);
    }

    [Fact]
    public void OpsThatSaveNothingAllowInPlaceChangesOfTheirInputs()
    {
        // As in PyTorch: add does not need its inputs for backward, so changing one afterwards is not an error.
        var x = FiniteDifference.Random(6, 4).RequireGrad();
        var c = FiniteDifference.Random(7, 4);
        var loss = F.Sum(F.Add(x, c));
        c.Fill(3f);
        loss.Backward();
        Assert.All(x.Grad!.ToArray(), g => Assert.Equal(1f, g));
    }

    [Fact]
    public void ATrainingStepWithoutInPlaceChangesStillWorks()
    {
        var w = FiniteDifference.Random(8, 3, 2, 3, 3).RequireGrad();
        var x = FiniteDifference.Random(9, 1, 2, 5, 5);
        var sgd = new Sgd([w], lr: 0.01f);
        for (int step = 0; step < 3; step++)
        {
            sgd.ZeroGrad();
            F.Sum(F.Relu(F.Conv2d(x, w))).Backward();
            sgd.Step();
        }
        Assert.NotNull(w.Grad);
    }

    // The key kernels cache transformed weights under changes with every in-place write, so a cached copy is refilled.
    [Fact]
    public void AWeightCacheKeyFollowsTheStorageVersion()
    {
        var w = FiniteDifference.Random(10, 16, 16, 3, 3).Clone(); // our storage: a wrapped array gets no key
        var x = FiniteDifference.Random(11, 1, 16, 8, 8);
        var g = new Conv2dGeometry(1, 16, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        var first = new float[g.OutputLength];
        var key1 = w.WeightCacheKey!.Value;
        Conv2dKernels.Forward(g, x.ReadOnlySpan, w.ReadOnlySpan, default, first, default, key1);
        w.Span[5] += 1f;
        var key2 = w.WeightCacheKey!.Value;
        Assert.NotEqual(key1, key2);
        var cached = new float[g.OutputLength];
        Conv2dKernels.Forward(g, x.ReadOnlySpan, w.ReadOnlySpan, default, cached, default, key2);
        var fresh = new float[g.OutputLength];
        Conv2dKernels.Forward(g, x.ReadOnlySpan, w.ReadOnlySpan, default, fresh);
        Close.Assert(fresh, cached, 0, 0, "convolution after an in-place weight change");
        Assert.Null(Tensor.Wrap(new float[4], 4).WeightCacheKey);
    }
}
