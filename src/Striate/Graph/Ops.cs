using System.Globalization;

namespace Striate.Graph;

/// <summary>
/// What a graph <see cref="Node"/> computes: one record type per functional op (as the <c>F.*</c> method that ran it),
/// holding that op's non-tensor arguments as typed fields. Pattern-match on the type (<c>node.Op is Conv2dOp conv</c>).
/// The tensor inputs of each op, in order, are listed on its record; an optional input that was not given is null in
/// <see cref="Node.Inputs"/>.
/// </summary>
public abstract record Op
{
    /// <summary>The op's name, as the functional op is called (Conv2d, BatchNorm, Relu, ...).</summary>
    public abstract string Name { get; }

    /// <summary>The arguments as PyTorch would print them, for graph dumps and errors (e.g. "stride=2, padding=1").</summary>
    public virtual string Arguments => "";

    /// <summary>"Conv2d(stride=2, padding=1)".</summary>
    public sealed override string ToString() => Arguments.Length == 0 ? Name : $"{Name}({Arguments})";

    internal static string Format(float v) => v.ToString("G9", CultureInfo.InvariantCulture);
    internal static string Format(double v) => v.ToString("G9", CultureInfo.InvariantCulture);
    internal static string Format(IReadOnlyList<int> v) => "[" + string.Join(", ", v) + "]";
}

/// <summary>Inputs: x [N, Cin, H, W], weight [Cout, Cin/groups, kH, kW], bias [Cout] or null (F.Conv2d).</summary>
public sealed record Conv2dOp(Size2 Stride, Size2 Padding, Size2 Dilation, int Groups) : Op
{
    public override string Name => "Conv2d";
    public override string Arguments => $"stride={Stride}, padding={Padding}, dilation={Dilation}, groups={Groups}";
}

/// <summary>
/// Inputs: x [N, C, ...], running_mean [C], running_var [C], weight [C] or null, bias [C] or null (F.BatchNorm).
/// <see cref="Training"/> says which statistics the traced call used (batch statistics when true).
/// </summary>
public sealed record BatchNormOp(float Eps, float Momentum, bool Training) : Op
{
    public override string Name => "BatchNorm";
    public override string Arguments => $"eps={Format(Eps)}, momentum={Format(Momentum)}, training={Training}";
}

/// <summary>Inputs: x (F.Relu).</summary>
public sealed record ReluOp : Op { public override string Name => "Relu"; }

/// <summary>Inputs: x (F.LeakyRelu).</summary>
public sealed record LeakyReluOp(float NegativeSlope) : Op
{
    public override string Name => "LeakyRelu";
    public override string Arguments => $"negative_slope={Format(NegativeSlope)}";
}

/// <summary>Inputs: x (F.Sigmoid).</summary>
public sealed record SigmoidOp : Op { public override string Name => "Sigmoid"; }

/// <summary>Inputs: x (F.Tanh).</summary>
public sealed record TanhOp : Op { public override string Name => "Tanh"; }

/// <summary>Clamp to [MinVal, MaxVal] (F.Hardtanh; ReLU6 is Hardtanh(0, 6)). Inputs: x.</summary>
public sealed record HardtanhOp(float MinVal, float MaxVal) : Op
{
    public override string Name => "Hardtanh";
    public override string Arguments => $"min_val={Format(MinVal)}, max_val={Format(MaxVal)}";
}

/// <summary>Inputs: x [N, C, H, W] (F.MaxPool2d).</summary>
public sealed record MaxPool2dOp(Size2 KernelSize, Size2 Stride, Size2 Padding, bool CeilMode) : Op
{
    public override string Name => "MaxPool2d";
    public override string Arguments => $"kernel_size={KernelSize}, stride={Stride}, padding={Padding}, ceil_mode={CeilMode}";
}

/// <summary>Inputs: x [N, C, H, W] (F.AvgPool2d). <see cref="DivisorOverride"/> 0 means none.</summary>
public sealed record AvgPool2dOp(Size2 KernelSize, Size2 Stride, Size2 Padding, bool CeilMode, bool CountIncludePad, int DivisorOverride) : Op
{
    public override string Name => "AvgPool2d";
    public override string Arguments => $"kernel_size={KernelSize}, stride={Stride}, padding={Padding}, ceil_mode={CeilMode}, count_include_pad={CountIncludePad}" +
        (DivisorOverride != 0 ? $", divisor_override={DivisorOverride}" : "");
}

/// <summary>Inputs: x [N, C, H, W] → [N, C, OutputSize.H, OutputSize.W] (F.AdaptiveAvgPool2d).</summary>
public sealed record AdaptiveAvgPool2dOp(Size2 OutputSize) : Op
{
    public override string Name => "AdaptiveAvgPool2d";
    public override string Arguments => $"output_size={OutputSize}";
}

/// <summary>Inputs: x [N, C, H, W] → [N, C, OutputSize.H, OutputSize.W] (F.AdaptiveMaxPool2d).</summary>
public sealed record AdaptiveMaxPool2dOp(Size2 OutputSize) : Op
{
    public override string Name => "AdaptiveMaxPool2d";
    public override string Arguments => $"output_size={OutputSize}";
}

/// <summary>y = x·Wᵀ + b. Inputs: x [*, in], weight [out, in], bias [out] or null (F.Linear).</summary>
public sealed record LinearOp : Op { public override string Name => "Linear"; }

/// <summary>Element-wise a + b with PyTorch's broadcasting (F.Add). Inputs: a, b.</summary>
public sealed record AddOp : Op { public override string Name => "Add"; }

/// <summary>Element-wise a − b with broadcasting (F.Sub). Inputs: a, b.</summary>
public sealed record SubOp : Op { public override string Name => "Sub"; }

/// <summary>Element-wise a · b with broadcasting (F.Mul). Inputs: a, b.</summary>
public sealed record MulOp : Op { public override string Name => "Mul"; }

/// <summary>Element-wise a / b with broadcasting (F.Div). Inputs: a, b.</summary>
public sealed record DivOp : Op { public override string Name => "Div"; }

/// <summary>Every element times a constant (F.Mul(x, scalar)). Inputs: x.</summary>
public sealed record ScaleOp(float Scalar) : Op
{
    public override string Name => "Scale";
    public override string Arguments => $"scalar={Format(Scalar)}";
}

/// <summary>Every element plus a constant (F.Add(x, scalar); x − s is recorded as x + (−s), which IEEE makes exact). Inputs: x.</summary>
public sealed record AddScalarOp(float Scalar) : Op
{
    public override string Name => "AddScalar";
    public override string Arguments => $"scalar={Format(Scalar)}";
}

/// <summary>A constant minus every element, s − x (F.Sub(scalar, x), torch.rsub). Inputs: x.</summary>
public sealed record RSubScalarOp(float Scalar) : Op
{
    public override string Name => "RSubScalar";
    public override string Arguments => $"scalar={Format(Scalar)}";
}

/// <summary>Every element divided by a constant, x / s (F.Div(x, scalar)). Inputs: x.</summary>
public sealed record DivScalarOp(float Scalar) : Op
{
    public override string Name => "DivScalar";
    public override string Arguments => $"scalar={Format(Scalar)}";
}

/// <summary>A constant divided by every element, s / x (F.Div(scalar, x)). Inputs: x.</summary>
public sealed record RDivScalarOp(float Scalar) : Op
{
    public override string Name => "RDivScalar";
    public override string Arguments => $"scalar={Format(Scalar)}";
}

/// <summary>−x (F.Neg, unary minus). Inputs: x.</summary>
public sealed record NegOp : Op { public override string Name => "Neg"; }

/// <summary>The sum of all elements, a scalar (F.Sum). Inputs: x.</summary>
public sealed record SumOp : Op { public override string Name => "Sum"; }

/// <summary>The mean of all elements, a scalar (F.Mean). Inputs: x.</summary>
public sealed record MeanOp : Op { public override string Name => "Mean"; }

/// <summary>Concatenation along <see cref="Dim"/> (F.Concat). Inputs: any number of tensors, equal except along Dim.</summary>
public sealed record ConcatOp(int Dim) : Op
{
    public override string Name => "Concat";
    public override string Arguments => $"dim={Dim}";
}

/// <summary>
/// The same elements seen with another shape (F.Reshape). Inputs: x. <see cref="Shape"/> holds the target; an
/// entry −1 is inferred from the element count and 0 copies the input's size at that index (as ONNX's Reshape), so
/// <c>[0, −1]</c> keeps the batch dimension whatever its size. The tracer records the concrete shape.
/// </summary>
public sealed record ReshapeOp(int[] Shape) : Op
{
    public override string Name => "Reshape";
    public override string Arguments => $"shape={Format(Shape)}";
    public bool Equals(ReshapeOp? other) => other is not null && Shape.AsSpan().SequenceEqual(other.Shape);
    public override int GetHashCode() => Shape.Length;
}

/// <summary>Dimensions <see cref="StartDim"/>..<see cref="EndDim"/> merged into one (Tensor.Flatten). Inputs: x.</summary>
public sealed record FlattenOp(int StartDim, int EndDim) : Op
{
    public override string Name => "Flatten";
    public override string Arguments => $"start_dim={StartDim}, end_dim={EndDim}";
}

/// <summary>
/// Dropout that ran (F.Dropout in training mode with p &gt; 0; in eval mode dropout is the identity and records
/// nothing). Inputs: x.
/// </summary>
public sealed record DropoutOp(float P) : Op
{
    public override string Name => "Dropout";
    public override string Arguments => $"p={Format(P)}";
}

/// <summary>Local response normalization across channels (F.LocalResponseNorm). Inputs: x [N, C, ...].</summary>
public sealed record LocalResponseNormOp(int Size, float Alpha, float Beta, float K) : Op
{
    public override string Name => "LocalResponseNorm";
    public override string Arguments => $"size={Size}, alpha={Format(Alpha)}, beta={Format(Beta)}, k={Format(K)}";
}

/// <summary>Softmax (or log-softmax) along <see cref="Dim"/> (F.Softmax, F.LogSoftmax). Inputs: x.</summary>
public sealed record SoftmaxOp(int Dim, bool Log) : Op
{
    public override string Name => Log ? "LogSoftmax" : "Softmax";
    public override string Arguments => $"dim={Dim}";
}

/// <summary>
/// Bilinear resize with align_corners = False (F.InterpolateBilinear) to <see cref="OutputSize"/>; when the call gave
/// scale factors, <see cref="ScaleFactorH"/>/<see cref="ScaleFactorW"/> hold them (they set the sampling grid), else 0.
/// Inputs: x [N, C, H, W].
/// </summary>
public sealed record InterpolateBilinearOp(Size2 OutputSize, double ScaleFactorH, double ScaleFactorW) : Op
{
    public override string Name => "InterpolateBilinear";
    public override string Arguments => ScaleFactorH > 0 ? $"scale_factor=({Format(ScaleFactorH)}, {Format(ScaleFactorW)})" : $"size={OutputSize}";
}

/// <summary>A copy of the input, or the input itself (Tensor.Detach, Tensor.Clone). Inputs: x.</summary>
public sealed record IdentityOp : Op { public override string Name => "Identity"; }
