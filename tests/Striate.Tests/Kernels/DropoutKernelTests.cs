using Striate.Kernels;

namespace Striate.Tests.Kernels;

public class DropoutKernelTests
{
    [Fact]
    public void MaskIsSeededScaledAndDropsAboutAFractionP()
    {
        const float p = 0.3f;
        float[] a = new float[20000], b = new float[20000];
        Dropout.FillMask(a, p, new Generator(42));
        Dropout.FillMask(b, p, new Generator(42));
        Assert.Equal(a, b);
        int dropped = a.Count(v => v == 0);
        Assert.All(a, v => Assert.True(v == 0 || Math.Abs(v - 1 / (1 - p)) < 1e-6));
        // Binomial(20000, 0.3): sd ≈ 65, so ±400 is over 6 sd.
        Assert.InRange(dropped, 6000 - 400, 6000 + 400);
        float[] c = new float[20000];
        Dropout.FillMask(c, p, new Generator(43));
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void ProbabilityOneDropsEverything()
    {
        float[] m = Enumerable.Repeat(5f, 33).ToArray();
        Dropout.FillMask(m, 1f, new Generator(1));
        Assert.All(m, v => Assert.Equal(0f, v));
    }
}
