using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using Striate.Data;
using Striate.Models;
using Striate.Tests.Data;
using Striate.Tests.Fuzz;
using Striate.Training;

namespace Striate.Tests.Cli;

/// <summary>
/// Hostile files on the command line end in one line naming the problem and a non-zero exit code, quickly, whatever
/// their metadata asks for (issue 14, defect 1).
/// </summary>
public sealed class HostileFileCommandTests
{
    private static string Regression(string name) => Path.Combine(HostileInputRegressionTests.Regressions, "checkpoint", name);

    [Theory]
    [InlineData("names-vgg11-no-tensors.safetensors", "d2l-vgg11")]
    [InlineData("mobilenet-width-64.safetensors", "mobilenet_v2")]
    public void MetadataSizingAModelTheFileDoesNotHoldIsRefusedBeforeBuildingIt(string file, string model)
    {
        // These used to build the whole model from the metadata first: 15 s and gigabytes for under 200 bytes.
        var clock = Stopwatch.StartNew();
        var r = StriateProcess.Run("eval", Regression(file));
        StriateProcess.AssertOneLineError(r, "does not fit model");
        Assert.Contains(model, r.Stderr);
        Assert.Contains("the file holds 0 values", r.Stderr);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public void OutOfMemoryIsTheOneLineErrorOfABadFile()
    {
        // A real 9000×9000 PNG (81 MB of pixels, 324 MB as floats, in ~80 KB) just within the decoders' pixel limit
        // (ImageDecoders.DefaultMaxPixels, 89 M), under a 192 MiB heap.
        using var tmp = new TempFolder();
        string weights = tmp.File("lenet.safetensors");
        Checkpoint.Capture("lenet-relu", 1, ModelFactory.Build(ModelRegistry.Get("lenet-relu"), (1, 28, 28), 10), null, null,
            "{}", "[]", [], (1, 28, 28)).Save(weights);
        string image = tmp.File("huge.png");
        File.WriteAllBytes(image, ZeroPng(9000, 9000));

        var r = StriateProcess.RunWith(new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0xC000000" }, null,
            "predict", weights, image, "--fit");
        StriateProcess.AssertOneLineError(r, "out of memory");
        Assert.Equal(1, r.ExitCode);
    }

    /// <summary>A gray 8-bit PNG of zeros, compressed as well as zlib can.</summary>
    private static byte[] ZeroPng(int width, int height)
    {
        using var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var row = new byte[1 + width];
            for (int y = 0; y < height; y++) z.Write(row);
        }
        var png = PngCodec.Encode(new byte[1], 1, 1, 1);
        // Keep the signature, put the new size into IHDR, replace the IDAT, keep IEND.
        var ihdr = png.AsSpan(8, 25).ToArray();
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(8), width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(12), height);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(21), Crc32.Compute(ihdr.AsSpan(4, 17)));
        using var file = new MemoryStream();
        file.Write(png.AsSpan(0, 8));
        file.Write(ihdr);
        file.Write(Chunk("IDAT"u8, idat.ToArray()));
        file.Write(Chunk("IEND"u8, []));
        return file.ToArray();
    }

    private static byte[] Chunk(ReadOnlySpan<byte> type, byte[] data)
    {
        var chunk = new byte[12 + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(chunk, data.Length);
        type.CopyTo(chunk.AsSpan(4));
        data.CopyTo(chunk, 8);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), Crc32.Compute(chunk.AsSpan(4, 4 + data.Length)));
        return chunk;
    }
}
