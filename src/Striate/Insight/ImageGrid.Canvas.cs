namespace Striate.Insight;

/// <summary>
/// An 8-bit RGB raster to draw grids, labels and heat maps on before saving as PNG.
/// Shapes: pixels [Height · Width · 3], interleaved, rows top to bottom.
/// </summary>
public sealed class RgbCanvas
{
    public int Width { get; }
    public int Height { get; }
    public byte[] Pixels { get; }

    public RgbCanvas(int width, int height, (byte R, byte G, byte B) background)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"RgbCanvas: size {width}×{height} must be positive.");
        (Width, Height) = (width, height);
        Pixels = new byte[checked(width * height * 3)];
        FillRect(0, 0, width, height, background);
    }

    /// <summary>Fills the rectangle (clipped to the canvas).</summary>
    public void FillRect(int x, int y, int w, int h, (byte R, byte G, byte B) colour)
    {
        int x0 = Math.Max(0, x), y0 = Math.Max(0, y), x1 = Math.Min(Width, x + w), y1 = Math.Min(Height, y + h);
        for (int yy = y0; yy < y1; yy++)
            for (int xx = x0; xx < x1; xx++) Set(xx, yy, colour);
    }

    public void Set(int x, int y, (byte R, byte G, byte B) colour)
    {
        int o = (y * Width + x) * 3;
        Pixels[o] = colour.R; Pixels[o + 1] = colour.G; Pixels[o + 2] = colour.B;
    }

    /// <summary>Copies an RGB block (interleaved, <paramref name="w"/>×<paramref name="h"/>) magnified <paramref name="scale"/> times by nearest neighbour.</summary>
    public void Blit(ReadOnlySpan<byte> rgb, int w, int h, int x, int y, int scale)
    {
        for (int sy = 0; sy < h * scale; sy++)
        {
            int ty = y + sy;
            if (ty < 0 || ty >= Height) continue;
            for (int sx = 0; sx < w * scale; sx++)
            {
                int tx = x + sx;
                if (tx < 0 || tx >= Width) continue;
                int s = ((sy / scale) * w + sx / scale) * 3, t = (ty * Width + tx) * 3;
                Pixels[t] = rgb[s]; Pixels[t + 1] = rgb[s + 1]; Pixels[t + 2] = rgb[s + 2];
            }
        }
    }

    /// <summary>Draws <paramref name="text"/> with <see cref="BitmapFont"/>, top-left corner at (x, y).</summary>
    public void DrawText(int x, int y, string text, int scale, (byte R, byte G, byte B) colour)
    {
        for (int i = 0; i < text.Length; i++)
        {
            var glyph = BitmapFont.Glyph(text[i]);
            int gx = x + i * BitmapFont.CellWidth * scale;
            for (int row = 0; row < BitmapFont.GlyphHeight; row++)
                for (int col = 0; col < BitmapFont.GlyphWidth; col++)
                    if ((glyph[row] & (0x10 >> col)) != 0) FillRect(gx + col * scale, y + row * scale, scale, scale, colour);
        }
    }

    /// <summary>Saves as an RGB PNG.</summary>
    public void SavePng(string path) => Striate.Data.PngCodec.Save(path, Pixels, Width, Height, 3);

    /// <summary>Encodes as an RGB PNG.</summary>
    public byte[] ToPng() => Striate.Data.PngCodec.Encode(Pixels, Width, Height, 3);
}
