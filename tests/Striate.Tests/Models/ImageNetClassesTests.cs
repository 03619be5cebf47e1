using Striate.Data;
using Striate.IO;
using Striate.Models;
using Striate.Tests.Cli;

namespace Striate.Tests.Models;

/// <summary>ImageNet's class names, as torchvision lists them, and their use for 1,000-class torchvision weights without names.</summary>
public sealed class ImageNetClassesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("striate-imagenet").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TheListIsTorchvisionsInLabelOrder()
    {
        var names = ImageNetClasses.Names;
        Assert.Equal(1000, names.Count);
        Assert.Equal(1000, names.Distinct().Count());
        Assert.Equal("tench", names[0]);
        Assert.Equal("Greater Swiss Mountain dog", names[238]);
        Assert.Equal("tabby", names[281]);
        Assert.Equal("wreck", names[913]);
        Assert.Equal("toilet tissue", names[999]);
    }

    [Fact]
    public void PredictNamesTheClassesOfPlainTorchvisionWeights()
    {
        // A torchvision architecture's state dict saved as a plain weights file (no striate metadata, no class names).
        var model = ModelRegistry.Create("mobilenet_v2", new ModelOptions(3, 1000, Generator: new Generator(3)));
        string weights = Path.Combine(_dir, "mobilenet_v2.safetensors");
        SafetensorsWriter.Save(weights, model.StateDict());
        string image = Path.Combine(_dir, "photo.png");
        var pixels = new byte[64 * 64 * 3];
        new Random(5).NextBytes(pixels);
        PngCodec.Save(image, pixels, 64, 64, 3);

        var r = StriateProcess.Run("predict", weights, image, "--model", "mobilenet_v2", "--fit");
        StriateProcess.AssertOk(r);
        var rows = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToList();
        Assert.Equal(5, rows.Count);
        foreach (var row in rows)
        {
            var m = System.Text.RegularExpressions.Regex.Match(row, @"^ +\d+\.\d\d % +(\d+)  (.+)$");
            Assert.True(m.Success, $"row '{row}' is not 'probability  index  name'");
            Assert.Equal(ImageNetClasses.Names[int.Parse(m.Groups[1].Value)], m.Groups[2].Value);
        }
    }
}
