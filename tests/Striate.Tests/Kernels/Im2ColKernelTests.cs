using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The pointer-based im2col and col2im (<c>Im2Col.PackRows</c>, <c>Im2Col.UnpackChannels</c>) against their general
/// twins, on random geometries with padding, dilation, strides 1–3 along both axes, row sub-ranges and a wide leading dimension.
/// </summary>
public class Im2ColKernelTests
{
    public static TheoryData<int> Seeds() => new(Enumerable.Range(0, 40));

    [Theory, MemberData(nameof(Seeds))]
    public void PointerPackRowsMatchesGeneralForm(int seed)
    {
        var r = new Generator(3100 + (ulong)seed);
        int cin = 1 + r.NextInt(4), kH = 1 + r.NextInt(5), kW = 1 + r.NextInt(5);
        int sH = 1 + r.NextInt(2), sW = 1 + r.NextInt(3), pH = r.NextInt(3), pW = r.NextInt(3), dH = 1 + r.NextInt(2), dW = 1 + r.NextInt(2);
        int h = Conv2dGeometry.MinInputSize(kH, pH, dH) + r.NextInt(20), w = Conv2dGeometry.MinInputSize(kW, pW, dW) + r.NextInt(40);
        var g = new Conv2dGeometry(1, cin, h, w, 3, kH, kW, sH, sW, pH, pW, dH, dW);
        int rows = cin * kH * kW, plane = g.OutHeight * g.OutWidth, ld = plane + r.NextInt(50);
        int r0 = r.NextInt(rows), r1 = r0 + 1 + r.NextInt(rows - r0);
        var image = Close.RandomArray(cin * h * w, r);
        var expected = Close.RandomArray(rows * ld, r);
        var actual = Guarded.Of(expected);
        Im2Col.PackRowsGeneral(g, image, expected, ld, r0, r1);
        Im2Col.PackRows(g, image, actual, ld, r0, r1);
        Close.Assert(expected, actual, 0, 0, $"PackRows {g} rows [{r0}, {r1}) ld {ld}");
    }

    [Theory, MemberData(nameof(Seeds))]
    public void PointerUnpackChannelsMatchesGeneralForm(int seed)
    {
        var r = new Generator(3300 + (ulong)seed);
        int cin = 1 + r.NextInt(4), kH = 1 + r.NextInt(5), kW = 1 + r.NextInt(5);
        int sH = 1 + r.NextInt(2), sW = 1 + r.NextInt(3), pH = r.NextInt(3), pW = r.NextInt(3), dH = 1 + r.NextInt(2), dW = 1 + r.NextInt(2);
        int h = Conv2dGeometry.MinInputSize(kH, pH, dH) + r.NextInt(20), w = Conv2dGeometry.MinInputSize(kW, pW, dW) + r.NextInt(40);
        var g = new Conv2dGeometry(1, cin, h, w, 3, kH, kW, sH, sW, pH, pW, dH, dW);
        int plane = g.OutHeight * g.OutWidth, ld = plane + r.NextInt(50);
        int c0 = r.NextInt(cin), c1 = c0 + 1 + r.NextInt(cin - c0);
        var col = Close.RandomArray(cin * kH * kW * ld, r);
        var expected = Close.RandomArray(cin * h * w, r); // accumulated onto, so start from nonzero values
        var actual = Guarded.Of(expected);
        Im2Col.UnpackChannelsGeneral(g, col, ld, expected, c0, c1);
        Im2Col.UnpackChannels(g, col, ld, actual, c0, c1);
        Close.Assert(expected, actual, 1e-6, 1e-6, $"UnpackChannels {g} channels [{c0}, {c1}) ld {ld}");
    }
}
