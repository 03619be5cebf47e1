using Striate.Functional;

namespace Striate.Nn;

/// <summary>
/// Max pooling over kernelSize windows, as torch.nn.MaxPool2d (stride defaults to the kernel size; windows
/// overlap when stride &lt; kernel, as in AlexNet's 3×3 stride-2 pooling).
/// Shapes: [N, C, H, W] → [N, C, H', W'], H' = ⌊(H + 2p − k)/s⌋ + 1 (⌈·⌉ with ceilMode).
/// </summary>
public sealed class MaxPool2d(Size2 kernelSize, Size2? stride = null, Size2? padding = null, bool ceilMode = false) : Module
{
    public Size2 KernelSize { get; } = kernelSize;
    public Size2 Stride { get; } = stride ?? kernelSize;
    public Size2 Padding { get; } = padding ?? 0;
    public bool CeilMode { get; } = ceilMode;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ExpectCall();
        return F.MaxPool2d(input, (KernelSize.H, KernelSize.W), (Stride.H, Stride.W), (Padding.H, Padding.W), CeilMode);
    }

    public override string ToString() => $"MaxPool2d(kernel_size={KernelSize}, stride={Stride}, padding={Padding}, ceil_mode={CeilMode})";
}

/// <summary>
/// Average pooling, as torch.nn.AvgPool2d; padded zeros count in the divisor unless countIncludePad is false.
/// Shapes: [N, C, H, W] → [N, C, H', W'] as <see cref="MaxPool2d"/>.
/// </summary>
public sealed class AvgPool2d(Size2 kernelSize, Size2? stride = null, Size2? padding = null, bool ceilMode = false, bool countIncludePad = true) : Module
{
    public Size2 KernelSize { get; } = kernelSize;
    public Size2 Stride { get; } = stride ?? kernelSize;
    public Size2 Padding { get; } = padding ?? 0;
    public bool CeilMode { get; } = ceilMode;
    public bool CountIncludePad { get; } = countIncludePad;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ExpectCall();
        return F.AvgPool2d(input, (KernelSize.H, KernelSize.W), (Stride.H, Stride.W), (Padding.H, Padding.W), CeilMode, CountIncludePad);
    }

    public override string ToString() => $"AvgPool2d(kernel_size={KernelSize}, stride={Stride}, padding={Padding})";
}

/// <summary>
/// Adaptive average pooling to a fixed output size (global average pooling with outputSize 1), as torch.nn.AdaptiveAvgPool2d.
/// Shapes: [N, C, H, W] → [N, C, outH, outW].
/// </summary>
public sealed class AdaptiveAvgPool2d(Size2 outputSize) : Module
{
    public Size2 OutputSize { get; } = outputSize;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ExpectCall();
        return F.AdaptiveAvgPool2d(input, OutputSize.H, OutputSize.W);
    }

    public override string ToString() => $"AdaptiveAvgPool2d(output_size={OutputSize})";
}

/// <summary>
/// Adaptive max pooling to a fixed output size, as torch.nn.AdaptiveMaxPool2d.
/// Shapes: [N, C, H, W] → [N, C, outH, outW].
/// </summary>
public sealed class AdaptiveMaxPool2d(Size2 outputSize) : Module
{
    public Size2 OutputSize { get; } = outputSize;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ExpectCall();
        return F.AdaptiveMaxPool2d(input, OutputSize.H, OutputSize.W);
    }

    public override string ToString() => $"AdaptiveMaxPool2d(output_size={OutputSize})";
}

/// <summary>
/// Spatial pyramid pooling (He et al. 2014, SPP-net): adaptive max pooling to each level's l×l grid, flattened and
/// concatenated, so any input size gives a fixed-length vector.
/// Shapes: [N, C, H, W] → [N, C·Σ l²] (levels 4, 2, 1 give C·21).
/// </summary>
public sealed class SpatialPyramidPool : Module
{
    public IReadOnlyList<int> Levels { get; }

    public SpatialPyramidPool(params int[] levels)
    {
        if (levels.Length == 0) levels = [4, 2, 1];
        foreach (int l in levels)
            if (l <= 0) throw new ArgumentException($"SpatialPyramidPool: every level must be positive, got [{string.Join(", ", levels)}].", nameof(levels));
        Levels = levels.ToArray();
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ExpectCall();
        return F.SpatialPyramidPool(input, Levels.ToArray());
    }

    public override string ToString() => $"SpatialPyramidPool(levels=[{string.Join(", ", Levels)}])";
}
