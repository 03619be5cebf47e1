using Striate.Models.Torchvision;

namespace Striate.Models;

public static partial class ModelRegistry
{
    /// <summary>
    /// torchvision 0.14's classification architectures under their torchvision names, with torchvision's state_dict
    /// names (so its weights load directly). MinimumSize is the smallest H = W for which no pooling or conv output is
    /// empty (checked against torchvision by tests/Striate.Tests/Models/expected/generate.py).
    /// </summary>
    static partial void RegisterTorchvisionModels()
    {
        // Large-input models: the recipes follow d2l (resize to 224, SGD with momentum); small-input ones resize to 96.
        var large = new TrainingRecipe(Epochs: 10, BatchSize: 64, LearningRate: 0.01, Momentum: 0.9, WeightDecay: 5e-4, Resize: 224);
        var residual = new TrainingRecipe(Epochs: 10, BatchSize: 64, LearningRate: 0.05, Momentum: 0.9, WeightDecay: 5e-4, Scheduler: "onecycle", Resize: 96);

        AddTorchvision("alexnet", "AlexNet as torchvision (61,100,840 parameters)", 63, large, o =>
        {
            TorchvisionInit.RequireUnitWidth(o, "alexnet");
            return new AlexNet(o.InChannels, o.NumClasses, generator: o.Generator);
        });
        AddTorchvision("alexnet-lrn", "AlexNet with the paper's local response norm after the first two convs (61,100,840 parameters; features indices shift)", 63, large, o =>
        {
            TorchvisionInit.RequireUnitWidth(o, "alexnet-lrn");
            return new AlexNet(o.InChannels, o.NumClasses, localResponseNorm: true, generator: o.Generator);
        });
        AddTorchvision("vgg11", "VGG-11 (configuration A, no batch norm) as torchvision (132,863,336 parameters)", 32, large, o =>
        {
            TorchvisionInit.RequireUnitWidth(o, "vgg11");
            return new Vgg(Vgg.Vgg11Layers, o.InChannels, o.NumClasses, generator: o.Generator);
        });
        AddTorchvision("vgg16", "VGG-16 (configuration D, no batch norm) as torchvision (138,357,544 parameters)", 32, large, o =>
        {
            TorchvisionInit.RequireUnitWidth(o, "vgg16");
            return new Vgg(Vgg.Vgg16Layers, o.InChannels, o.NumClasses, generator: o.Generator);
        });
        AddTorchvision("googlenet", "GoogLeNet (Inception v1) as torchvision, without auxiliary heads (6,624,904 parameters)", 15, large, o =>
        {
            TorchvisionInit.RequireUnitWidth(o, "googlenet");
            return new GoogLeNet(o.InChannels, o.NumClasses, generator: o.Generator);
        });
        AddTorchvision("resnet18", "ResNet-18 as torchvision (11,689,512 parameters)", 1, residual, o =>
        {
            TorchvisionInit.RequireUnitWidth(o, "resnet18");
            return ResNet.ResNet18(o.InChannels, o.NumClasses, o.Generator);
        });
        AddTorchvision("resnet34", "ResNet-34 as torchvision (21,797,672 parameters)", 1, residual, o =>
        {
            TorchvisionInit.RequireUnitWidth(o, "resnet34");
            return ResNet.ResNet34(o.InChannels, o.NumClasses, o.Generator);
        });
        AddTorchvision("resnet50", "ResNet-50 (v1.5 bottlenecks) as torchvision (25,557,032 parameters)", 1, residual, o =>
        {
            TorchvisionInit.RequireUnitWidth(o, "resnet50");
            return ResNet.ResNet50(o.InChannels, o.NumClasses, o.Generator);
        });
        AddTorchvision("densenet121", "DenseNet-121 as torchvision (7,978,856 parameters)", 29, residual, o =>
        {
            TorchvisionInit.RequireUnitWidth(o, "densenet121");
            return DenseNet.DenseNet121(o.InChannels, o.NumClasses, o.Generator);
        });
        AddTorchvision("mobilenet_v2", "MobileNetV2 as torchvision, width multiplier from --width (3,504,872 parameters at width 1)", 1, residual,
            o => new MobileNetV2(o.InChannels, o.NumClasses, o.Width, generator: o.Generator));
    }

    private static void AddTorchvision(string name, string description, int minimumSize, TrainingRecipe recipe, Func<ModelOptions, Nn.Module> build) =>
        Register(new ModelEntry(name, description, 3, 1000, (224, 224), minimumSize, build) { Recipe = recipe, ImageNetInput = true });
}
