using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

public class BatchNormKernelTests
{
    [Fact]
    public void TrainingAndEvalMatchReferenceOnRandomShapes()
    {
        var g = new Generator(4);
        for (int trial = 0; trial < 60; trial++)
        {
            int n = 1 + g.NextInt(5), c = 1 + g.NextInt(6), s = 1 + g.NextInt(40);
            if (n * s < 2) s = 2;
            bool affine = trial % 2 == 0, training = trial % 3 != 0;
            var x = Close.RandomArray(n * c * s, g);
            for (int i = 0; i < x.Length; i++) x[i] = 3 * x[i] + 5; // an offset mean, as after ReLU
            float[] w = affine ? Close.RandomArray(c, g) : [], b = affine ? Close.RandomArray(c, g) : [];
            Guarded<float> y = Guarded.Zeros(x.Length);
            float[] yRef = new float[x.Length];
            Guarded<float> mean = Guarded.Zeros(c);
            Guarded<float> var = Guarded.Zeros(c);
            Guarded<float> istd = Guarded.Zeros(c);
            float[] meanRef = new float[c], varRef = new float[c], istdRef = new float[c];
            if (training)
            {
                BatchNorm.ForwardTraining(n, c, s, x, w, b, 1e-5f, y, mean, var, istd);
                BatchNormReference.ForwardTraining(n, c, s, x, w, b, 1e-5f, yRef, meanRef, varRef, istdRef);
                Close.Assert(meanRef, mean, 1e-5, 1e-6, "mean");
                Close.Assert(varRef, var, 1e-4, 1e-6, "variance");
                istd.Check($"inverse std n={n} c={c} s={s}");
            }
            else
            {
                float[] rm = Close.RandomArray(c, g), rv = Close.RandomArray(c, g);
                for (int i = 0; i < c; i++) rv[i] = rv[i] * rv[i] + 0.5f;
                BatchNorm.ForwardEval(n, c, s, x, w, b, rm, rv, 1e-5f, y);
                BatchNormReference.ForwardEval(n, c, s, x, w, b, rm, rv, 1e-5f, yRef);
                rm.CopyTo(mean); rm.CopyTo(meanRef);
                BatchNorm.InvStd(rv, 1e-5f, istd); istd.Span.CopyTo(istdRef);
            }
            Close.Assert(yRef, y, 1e-4, 1e-5, $"forward n={n} c={c} s={s} training={training}");
            CheckBackward(n, c, s, training, x, w, mean, istd, meanRef, istdRef, g, dwAtol: 1e-4, dbAtol: 1e-5);
        }
    }

    [Fact]
    public void RunningVarianceUsesTheUnbiasedBatchVariance()
    {
        float[] rm = [1f], rv = [2f];
        BatchNorm.UpdateRunningStats(rm, rv, [3f], [4f], 0.1f, count: 5);
        Assert.Equal(0.9f * 1 + 0.1f * 3, rm[0], 6);
        Assert.Equal(0.9f * 2 + 0.1f * 4 * 5 / 4f, rv[0], 6);
    }

    [Fact]
    public void LargeInputsSplitAcrossThreadsMatchReference()
    {
        var g = new Generator(23);
        int n = 3, c = 7, s = 3500;
        var x = Close.RandomArray(n * c * s, g);
        float[] w = Close.RandomArray(c, g), b = Close.RandomArray(c, g);
        Guarded<float> y = Guarded.Zeros(x.Length);
        float[] yRef = new float[x.Length];
        Guarded<float> mean = Guarded.Zeros(c);
        Guarded<float> var = Guarded.Zeros(c);
        Guarded<float> istd = Guarded.Zeros(c);
        float[] meanRef = new float[c];
        float[] varRef = new float[c];
        float[] istdRef = new float[c];
        BatchNorm.ForwardTraining(n, c, s, x, w, b, 1e-5f, y, mean, var, istd);
        BatchNormReference.ForwardTraining(n, c, s, x, w, b, 1e-5f, yRef, meanRef, varRef, istdRef);
        Close.Assert(yRef, y, 1e-4, 1e-5, "training forward");
        BatchNorm.ForwardEval(n, c, s, x, w, b, meanRef, varRef, 1e-5f, y);
        BatchNormReference.ForwardEval(n, c, s, x, w, b, meanRef, varRef, 1e-5f, yRef);
        Close.Assert(yRef, y, 1e-4, 1e-5, "eval forward");
        CheckBackward(n, c, s, true, x, w, mean, istd, meanRef, istdRef, g, dwAtol: 1e-3, dbAtol: 1e-4);
    }

    /// <summary>
    /// The backward pass on a random dy against the reference twin, from the statistics each forward kept (the kernel's
    /// own <paramref name="mean"/> and <paramref name="istd"/>, the reference's <paramref name="meanRef"/> and
    /// <paramref name="istdRef"/>), every gradient written into a guarded buffer. Shapes: x, dy, dx [n, c, s]; w, dw, db [c].
    /// </summary>
    private static void CheckBackward(int n, int c, int s, bool training, float[] x, float[] w, ReadOnlySpan<float> mean, ReadOnlySpan<float> istd,
        float[] meanRef, float[] istdRef, Generator g, double dwAtol, double dbAtol)
    {
        var dy = Close.RandomArray(x.Length, g);
        var dx = Guarded.Zeros(x.Length);
        var dw = Guarded.Zeros(c);
        var db = Guarded.Zeros(c);
        float[] dxRef = new float[x.Length], dwRef = new float[c], dbRef = new float[c];
        BatchNorm.Backward(n, c, s, training, x, dy, w, mean, istd, dx, dw, db);
        BatchNormReference.Backward(n, c, s, training, x, dy, w, meanRef, istdRef, dxRef, dwRef, dbRef);
        string what = $"n={n} c={c} s={s} training={training}";
        Close.Assert(dxRef, dx, 1e-3, 1e-4, $"dx {what}");
        Close.Assert(dwRef, dw, 1e-3, dwAtol, $"dweight {what}");
        Close.Assert(dbRef, db, 1e-4, dbAtol, $"dbias {what}");
    }
}
