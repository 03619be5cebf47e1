namespace Striate.Graph;

/// <summary>
/// A convolution with its epilogue fused into the output store, as <see cref="InferencePasses"/> makes it from
/// Conv2d → (Add residual) → (Relu | Hardtanh): y = clamp(conv(x, w) + bias + residual, ClampMin, ClampMax).
/// ReLU is the clamp to [0, +∞); no activation is (−∞, +∞). Inputs: x [N, Cin, H, W], weight [Cout, Cin/groups, kH, kW],
/// bias [Cout] or null, residual [N, Cout, Hout, Wout] or null.
/// </summary>
public sealed record FusedConv2dOp(Size2 Stride, Size2 Padding, Size2 Dilation, int Groups, float ClampMin, float ClampMax) : Op
{
    /// <summary>The fused convolution of <paramref name="conv"/> with no epilogue yet.</summary>
    public FusedConv2dOp(Conv2dOp conv) : this(conv.Stride, conv.Padding, conv.Dilation, conv.Groups, float.NegativeInfinity, float.PositiveInfinity) { }

    public override string Name => "FusedConv2d";

    /// <summary>True when the activation is ReLU (the clamp to [0, +∞)).</summary>
    public bool Relu => ClampMin == 0f && float.IsPositiveInfinity(ClampMax);

    /// <summary>True when the output is clamped at all.</summary>
    public bool HasActivation => !float.IsNegativeInfinity(ClampMin) || !float.IsPositiveInfinity(ClampMax);

    /// <summary>The convolution alone.</summary>
    public Conv2dOp Conv => new(Stride, Padding, Dilation, Groups);

    public override string Arguments => $"stride={Stride}, padding={Padding}, dilation={Dilation}, groups={Groups}" +
        (Relu ? ", relu" : HasActivation ? $", clamp=[{Format(ClampMin)}, {Format(ClampMax)}]" : "");
}

/// <summary>
/// Eval-mode batch norm folded to one multiply-add per channel, with an optional ReLU after it:
/// y = act(x · scale[c] + shift[c]). Inputs: x [N, C, ...], scale [C, 1, …] and shift [C, 1, …] (shaped to broadcast
/// against x without its batch dimension).
/// </summary>
public sealed record ChannelAffineOp(bool Relu) : Op
{
    public override string Name => "ChannelAffine";
    public override string Arguments => Relu ? "relu" : "";
}
