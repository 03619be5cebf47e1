using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The phases of synchronized batch norm (per-channel sums, then normalization or the input gradient from sums) against
/// the plain reference, on random shapes, large enough for the parallel split and every vector width.
/// </summary>
public class BatchNormCrossProcessKernelTests
{
    [Fact]
    public void PhasesComposeToTheReferenceOnRandomShapes()
    {
        var g = new Generator(12);
        for (int trial = 0; trial < 40; trial++)
        {
            int n = 1 + g.NextInt(6), c = 1 + g.NextInt(8), s = 1 + g.NextInt(trial % 4 == 0 ? 3000 : 50);
            if (n * s < 2) s = 2;
            bool affine = trial % 2 == 0;
            var x = Close.RandomArray(n * c * s, g);
            for (int i = 0; i < x.Length; i++) x[i] = 3 * x[i] + 5;
            float[] w = affine ? Close.RandomArray(c, g) : [], b = affine ? Close.RandomArray(c, g) : [];
            double count = (double)n * s;

            var sums = new double[c];
            BatchNorm.ChannelSums(n, c, s, x, sums);
            var mean = sums.Select(v => (float)(v / count)).ToArray();
            var squares = new double[c];
            BatchNorm.ChannelSquaredDeviations(n, c, s, x, mean, squares);
            var variance = squares.Select(v => (float)(v / count)).ToArray();
            var istd = new float[c];
            BatchNorm.InvStd(variance, 1e-5f, istd);
            var y = new float[x.Length];
            BatchNorm.ForwardEval(n, c, s, x, w, b, mean, variance, 1e-5f, y);

            float[] yRef = new float[x.Length], meanRef = new float[c], varRef = new float[c], istdRef = new float[c];
            BatchNormReference.ForwardTraining(n, c, s, x, w, b, 1e-5f, yRef, meanRef, varRef, istdRef);
            string what = $"n={n} c={c} s={s}";
            Close.Assert(meanRef, mean, 1e-5, 1e-6, $"mean {what}");
            Close.Assert(varRef, variance, 1e-4, 1e-6, $"variance {what}");
            Close.Assert(yRef, y, 1e-4, 1e-5, $"forward {what}");

            var dy = Close.RandomArray(x.Length, g);
            var sumG = new double[c];
            var sumGCentered = new double[c];
            BatchNorm.BackwardSums(n, c, s, x, dy, mean, sumG, sumGCentered);
            var dx = Guarded.Nan(x.Length); // an element the kernel skips cannot pass
            BatchNorm.BackwardInput(n, c, s, x, dy, w, mean, istd, sumG, sumGCentered, count, dx);
            float[] dxRef = new float[x.Length], dwRef = new float[c], dbRef = new float[c];
            BatchNormReference.Backward(n, c, s, true, x, dy, w, meanRef, istdRef, dxRef, dwRef, dbRef);
            Close.Assert(dxRef, dx, 1e-3, 1e-4, $"dx {what}");
            Close.Assert(dbRef, sumG.Select(v => (float)v).ToArray(), 1e-4, 1e-5, $"Σg {what}");
            Close.Assert(dwRef, sumGCentered.Select((v, ch) => (float)(v * istd[ch])).ToArray(), 1e-3, 1e-4, $"Σg·x̂ {what}");
        }
    }

    [Fact]
    public void WrongSizesAreNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => BatchNorm.ChannelSums(2, 3, 4, new float[23], new double[3]));
        Assert.Contains("expected 24 for [2, 3, 4]", e.Message);
        e = Assert.Throws<ArgumentException>(() => BatchNorm.BackwardSums(1, 3, 2, new float[6], new float[6], new float[3], new double[2], new double[3]));
        Assert.Contains("expected 3", e.Message);
    }
}
