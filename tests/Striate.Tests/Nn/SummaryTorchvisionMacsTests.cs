using Striate.Models;

namespace Striate.Tests.Nn;

/// <summary>
/// MAC totals of the torchvision architectures at 3×224×224 against torchvision's published GFLOPS (which count the
/// multiply-accumulates of conv and linear layers; recomputed with forward hooks in torchvision 0.14: resnet18 1.814,
/// alexnet 0.714, vgg11 7.609, googlenet 1.498, densenet121 2.834, mobilenet_v2 0.301).
/// </summary>
public sealed class SummaryTorchvisionMacsTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("resnet18", 1.81)]
    [InlineData("alexnet", 0.714)]
    [InlineData("vgg11", 7.61)]
    [InlineData("googlenet", 1.50)]
    [InlineData("densenet121", 2.83)]
    [InlineData("mobilenet_v2", 0.30)]
    public void MacTotalIsWithinOnePercentOfTorchvision(string name, double publishedGMacs)
    {
        // A model renamed in the registry fails here (ModelRegistry.Get names the known models) instead of dropping its check.
        var model = ModelFactory.Build(ModelRegistry.Get(name), (3, 224, 224), 1000, generator: new Generator(0));
        var summary = model.Summary(3, 224, 224);
        output.WriteLine($"{name}: {summary.GigaMacs:F4} GMACs, {summary.TotalParameters:N0} parameters");
        Assert.InRange(summary.GigaMacs, publishedGMacs * 0.99, publishedGMacs * 1.01);
    }
}
