namespace Striate.Data;

/// <summary>
/// One image on its way from a dataset to a batch: float CHW values (in [0, 1] straight from a dataset), in a
/// buffer that grows as needed and is reused from sample to sample, plus a scratch buffer transforms write into.
/// Shapes: [Channels, Height, Width].
/// </summary>
public sealed class ImageSample
{
    private float[] _pixels = [];
    private float[] _scratch = [];

    public int Channels { get; private set; }
    public int Height { get; private set; }
    public int Width { get; private set; }

    /// <summary>Channels·Height·Width.</summary>
    public int Length => Channels * Height * Width;

    /// <summary>The pixels, CHW.</summary>
    public Span<float> Pixels => _pixels.AsSpan(0, Length);

    /// <summary>Sets the shape, growing the buffer if needed (contents are then undefined).</summary>
    public Span<float> Reshape(int channels, int height, int width)
    {
        if (channels <= 0 || height <= 0 || width <= 0)
            throw new ArgumentException($"ImageSample: shape {channels}×{height}×{width} must be positive in every dimension.");
        int length = checked(channels * height * width);
        if (_pixels.Length < length) _pixels = new float[length];
        (Channels, Height, Width) = (channels, height, width);
        return Pixels;
    }

    /// <summary>A scratch buffer of at least <paramref name="length"/> floats for a transform's output.</summary>
    public Span<float> Scratch(int length)
    {
        if (_scratch.Length < length) _scratch = new float[length];
        return _scratch.AsSpan(0, length);
    }

    /// <summary>Makes the scratch buffer (holding a transform's result of the given shape) the pixels.</summary>
    public void SwapScratch(int channels, int height, int width)
    {
        (_pixels, _scratch) = (_scratch, _pixels);
        (Channels, Height, Width) = (channels, height, width);
        if (_pixels.Length < Length) throw new InvalidOperationException("ImageSample.SwapScratch: scratch was smaller than the shape it claims.");
    }

    /// <summary>Fills this sample from 8-bit interleaved HWC pixels, scaled to [0, 1] (as torchvision's ToTensor).</summary>
    public void SetFromInterleaved(ReadOnlySpan<byte> hwc, int channels, int height, int width)
    {
        var dst = Reshape(channels, height, width);
        if (hwc.Length < Length) throw new ArgumentException($"ImageSample: {hwc.Length} bytes cannot hold {channels}×{height}×{width} pixels.");
        int plane = height * width;
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < plane; i++) dst[c * plane + i] = hwc[i * channels + c] * (1f / 255f);
    }

    /// <summary>Fills this sample from 8-bit planar CHW pixels (IDX, CIFAR), scaled to [0, 1].</summary>
    public void SetFromPlanar(ReadOnlySpan<byte> chw, int channels, int height, int width)
    {
        var dst = Reshape(channels, height, width);
        for (int i = 0; i < dst.Length; i++) dst[i] = chw[i] * (1f / 255f);
    }
}
