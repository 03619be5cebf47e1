using Striate.Autograd;
using Striate.Functional;

namespace Striate.Insight;

/// <summary>
/// Applies one 2-D kernel to every channel of an image with the library's own convolution (depthwise: groups = C),
/// as a CNN's first layer would.
/// Shapes: image [C, H, W], kernel [k, k] (k odd) → [C, H, W].
/// </summary>
/// <remarks>
/// The border uses zero padding of k/2, as <see cref="F.Conv2d(Tensor, Tensor, Tensor?, int, int, int, int)"/> does: pixels
/// within k/2 of the edge see black beyond it, so a blur darkens the frame and an edge kernel outlines the image border.
/// Like torch's conv2d, the operation is cross-correlation (the kernel is not flipped).
/// </remarks>
public static class ImageFilter
{
    public static Tensor Apply(Tensor image, Tensor kernel)
    {
        if (image.Rank != 3)
            throw new ArgumentException($"ImageFilter: image must be [C, H, W], got shape {Tensor.FormatShape(image.Shape)}.", nameof(image));
        if (kernel.Rank != 2 || kernel.Size(0) != kernel.Size(1) || kernel.Size(0) % 2 == 0)
            throw new ArgumentException($"ImageFilter: kernel must be square [k, k] with k odd, got shape {Tensor.FormatShape(kernel.Shape)}.", nameof(kernel));
        int c = image.Size(0), k = kernel.Size(0);
        // One copy of the kernel per channel: weight [C, 1, k, k] with groups = C convolves each channel by itself.
        var weight = new float[c * k * k];
        for (int i = 0; i < c; i++) kernel.ReadOnlySpan.CopyTo(weight.AsSpan(i * k * k, k * k));
        using var noGrad = GradMode.NoGrad();
        return F.Conv2d(image.Detach(), Tensor.FromArray(weight, c, 1, k, k), null, stride: 1, padding: k / 2, dilation: 1, groups: c);
    }
}
