using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>The vectorized optimizer kernels against their scalar twins: same float operations, so bit-identical results.</summary>
public class OptimizerKernelTests
{
    public static TheoryData<int> Lengths => new() { 0, 1, 7, 8, 15, 16, 17, 31, 33, 64, 1000, 1023, 1025 };

    [Theory]
    [MemberData(nameof(Lengths))]
    public void SgdStepMatchesReferenceInEveryConfiguration(int n)
    {
        var g = new Generator((ulong)(1000 + n));
        foreach (var (momentum, dampening, nesterov) in new[] { (0f, 0f, false), (0.9f, 0f, false), (0.9f, 0.25f, false), (0.8f, 0f, true) })
        foreach (bool initialize in new[] { true, false })
        {
            var p = Close.RandomArray(n, g);
            var grad = Close.RandomArray(n, g);
            var buf = momentum != 0 ? Close.RandomArray(n, g) : [];
            var (p2, buf2) = ((float[])p.Clone(), (float[])buf.Clone());
            var (gp, gbuf) = (Guarded.Of(p), Guarded.Of(buf));
            OptimizerKernels.SgdStep(gp, grad, gbuf, 0.05f, momentum, dampening, 1e-3f, nesterov, initialize);
            OptimizerKernels.SgdStepReference(p2, grad, buf2, 0.05f, momentum, dampening, 1e-3f, nesterov, initialize);
            string what = $"n={n} momentum={momentum} dampening={dampening} nesterov={nesterov} init={initialize}";
            Guarded.CheckAll($"SgdStep param, buffer {what}", gp, gbuf);
            Assert.True(p2.AsSpan().SequenceEqual(gp.Span), $"param differs: {what}");
            Assert.True(buf2.AsSpan().SequenceEqual(gbuf.Span), $"buffer differs: {what}");
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void AdamStepMatchesReferenceInEveryConfiguration(int n)
    {
        var g = new Generator((ulong)(2000 + n));
        foreach (bool amsgrad in new[] { false, true })
        foreach (var (l2, scale) in new[] { (0f, 1f), (1e-2f, 1f), (0f, 0.999f) })
        {
            var p = Close.RandomArray(n, g);
            var grad = Close.RandomArray(n, g);
            var m = Close.RandomArray(n, g);
            var v = Close.RandomArray(n, g).Select(MathF.Abs).ToArray();
            var vMax = amsgrad ? Close.RandomArray(n, g).Select(MathF.Abs).ToArray() : [];
            var (p2, m2, v2, vMax2) = ((float[])p.Clone(), (float[])m.Clone(), (float[])v.Clone(), (float[])vMax.Clone());
            var (gp, gm, gv, gvMax) = (Guarded.Of(p), Guarded.Of(m), Guarded.Of(v), Guarded.Of(vMax));
            OptimizerKernels.AdamStep(gp, grad, gm, gv, gvMax, 0.01f, 0.9, 0.999, 1e-8f, l2, 0.3f, scale);
            OptimizerKernels.AdamStepReference(p2, grad, m2, v2, vMax2, 0.01f, 0.9, 0.999, 1e-8f, l2, 0.3f, scale);
            string what = $"n={n} amsgrad={amsgrad} l2={l2} scale={scale}";
            Guarded.CheckAll($"AdamStep param, exp_avg, exp_avg_sq, max_exp_avg_sq {what}", gp, gm, gv, gvMax);
            Assert.True(p2.AsSpan().SequenceEqual(gp.Span), $"param differs: {what}");
            Assert.True(m2.AsSpan().SequenceEqual(gm.Span), $"exp_avg differs: {what}");
            Assert.True(v2.AsSpan().SequenceEqual(gv.Span), $"exp_avg_sq differs: {what}");
            Assert.True(vMax2.AsSpan().SequenceEqual(gvMax.Span), $"max_exp_avg_sq differs: {what}");
        }
    }

    [Fact]
    public void AdamReferenceFollowsTheFormulaOnOneElement()
    {
        // t = 1, p = 1, g = 0.5, m = v = 0: m = 0.05, v = 0.00025; step = lr / 0.1; denom = √v / √0.001 + eps = 0.5 + eps.
        float[] p = [1f], m = [0f], v = [0f];
        float stepSize = (float)(0.01 / (1 - 0.9)), bc2 = (float)Math.Sqrt(1 - 0.999);
        OptimizerKernels.AdamStepReference(p, [0.5f], m, v, [], stepSize, 0.9, 0.999, 1e-8f, 0f, bc2, 1f);
        Assert.Equal(0.05f, m[0], 1e-7f);
        Assert.Equal(0.00025f, v[0], 1e-10f); // 1 − β2 formed in double, as PyTorch does
        Assert.Equal(1f - 0.01f, p[0], 1e-6f); // Adam's first step moves by lr·sign(g)
    }

    [Fact]
    public void KernelsRejectMismatchedLengths()
    {
        var ex = Assert.Throws<ArgumentException>(() => OptimizerKernels.SgdStep(new float[4], new float[3], [], 0.1f, 0, 0, 0, false, false));
        Assert.Contains("grad", ex.Message);
        Assert.Throws<ArgumentException>(() => OptimizerKernels.SgdStep(new float[4], new float[4], new float[2], 0.1f, 0.9f, 0, 0, false, false));
        Assert.Throws<ArgumentException>(() => OptimizerKernels.AdamStep(new float[4], new float[4], new float[4], new float[3], [], 0.1f, 0.9, 0.999, 1e-8f, 0, 1, 1));
        Assert.Throws<ArgumentException>(() => OptimizerKernels.AdamStepReference(new float[4], new float[4], new float[4], new float[4], new float[2], 0.1f, 0.9, 0.999, 1e-8f, 0, 1, 1));
    }
}
