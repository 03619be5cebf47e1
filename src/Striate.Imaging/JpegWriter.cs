using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;
using Striate.Data;

namespace Striate.Imaging;

/// <summary>Writes 8-bit images as JPEG (4:2:0, as cameras and Pillow's default), atomically.</summary>
public static class JpegWriter
{
    /// <summary>The image as JPEG bytes; <paramref name="quality"/> 1–100. Alpha is dropped; gray stays gray.</summary>
    public static byte[] Encode(DecodedImage image, int quality = 90)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (quality is < 1 or > 100) throw new ArgumentOutOfRangeException(nameof(quality), quality, "JpegWriter: quality must be in 1..100.");
        using var output = new MemoryStream();
        if (image.Channels == 1)
        {
            using var gray = Image.LoadPixelData<L8>(image.Pixels, image.Width, image.Height);
            gray.SaveAsJpeg(output, new JpegEncoder { Quality = quality, ColorType = JpegColorType.Luminance });
        }
        else
        {
            var rgb = image.Pixels;
            if (image.Channels == 4)
            {
                rgb = new byte[image.Width * image.Height * 3];
                for (int i = 0, n = image.Width * image.Height; i < n; i++)
                    (rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]) = (image.Pixels[4 * i], image.Pixels[4 * i + 1], image.Pixels[4 * i + 2]);
            }
            using var colour = Image.LoadPixelData<Rgb24>(rgb, image.Width, image.Height);
            colour.SaveAsJpeg(output, new JpegEncoder { Quality = quality, ColorType = JpegColorType.YCbCrRatio420 });
        }
        return output.ToArray();
    }

    /// <summary>Writes the image to <paramref name="path"/> through a temporary file and a rename.</summary>
    public static void Save(string path, DecodedImage image, int quality = 90)
    {
        var bytes = Encode(image, quality);
        string temp = path + ".tmp-" + Environment.ProcessId;
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, path, overwrite: true);
    }
}
