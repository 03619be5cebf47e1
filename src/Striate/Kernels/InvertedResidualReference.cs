namespace Striate.Kernels;

/// <summary>
/// The plain twin of <see cref="InvertedResidualBands"/>: the block as its three convolutions one after another on
/// whole tensors (<see cref="Conv2dReference"/>), each clamped, the residual added before the projection's clamp.
/// Shapes: x [Cin, H, W]; expand [Hidden, Cin]; dw [Hidden, 1, 3, 3]; project [Cout, Hidden]; residual and y
/// [Cout, Ho, Wo]; biases per output channel or empty.
/// </summary>
internal static class InvertedResidualReference
{
    public static void Forward(in InvertedResidualGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> expand, ReadOnlySpan<float> expandBias,
        ReadOnlySpan<float> dw, ReadOnlySpan<float> dwBias, ReadOnlySpan<float> project, ReadOnlySpan<float> projectBias,
        ReadOnlySpan<float> residual, in InvertedResidualBands.Clamps clamps, Span<float> y)
    {
        var ge = new Conv2dGeometry(1, g.InChannels, g.Height, g.Width, g.Hidden, 1, 1);
        var gd = new Conv2dGeometry(1, g.Hidden, g.Height, g.Width, g.Hidden, 3, 3, g.Stride, g.Stride, 1, 1, 1, 1, g.Hidden);
        var gp = new Conv2dGeometry(1, g.Hidden, g.OutHeight, g.OutWidth, g.OutChannels, 1, 1);
        var e = new float[ge.OutputLength];   // e: [Hidden, H, W]
        var d = new float[gd.OutputLength];   // d: [Hidden, Ho, Wo]
        Conv2dReference.Forward(ge, x, expand, expandBias, e);
        Clamp(e, clamps.ExpandLo, clamps.ExpandHi);
        Conv2dReference.Forward(gd, e, dw, dwBias, d);
        Clamp(d, clamps.DepthwiseLo, clamps.DepthwiseHi);
        Conv2dReference.Forward(gp, d, project, projectBias, y);
        for (int i = 0; i < y.Length; i++)
        {
            float v = y[i] + (residual.IsEmpty ? 0f : residual[i]);
            y[i] = v < clamps.ProjectLo ? clamps.ProjectLo : v > clamps.ProjectHi ? clamps.ProjectHi : v;
        }
    }

    private static void Clamp(Span<float> v, float lo, float hi)
    {
        for (int i = 0; i < v.Length; i++) v[i] = v[i] < lo ? lo : v[i] > hi ? hi : v[i];
    }
}
