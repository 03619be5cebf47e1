using Striate.Models.Book;

namespace Striate.Models;

public static partial class ModelRegistry
{
    /// <summary>
    /// The d2l book's modern CNNs (chapter "Modern Convolutional Neural Networks"), with the book's Fashion-MNIST
    /// recipes: plain SGD for 10 epochs at the book's resize, batch size and learning rate.
    /// </summary>
    static partial void RegisterBookModels()
    {
        // Fully connected heads sized for 224×224 make AlexNet and VGG fixed-input models (as LeNet at 28×28).
        Register(new ModelEntry("d2l-alexnet", "AlexNet as in d2l §8.1: 1-channel, no LRN, 6400-input classifier (46,764,746 parameters)",
            1, 10, (224, 224), 224, o => NoWidth(o, "d2l-alexnet", () => D2lAlexNet.Create(o.InChannels, o.NumClasses, o.Generator)))
        { Recipe = new TrainingRecipe(Epochs: 10, BatchSize: 128, LearningRate: 0.01, Resize: 224), FixedInput = true });

        Register(new ModelEntry("d2l-vgg11", "VGG-11 as in d2l §8.2; --width scales conv channels, the recipe uses 0.25 (128,806,154 parameters; 43,093,322 at width 0.25)",
            1, 10, (224, 224), 224, o => D2lVgg.Create(o.InChannels, o.NumClasses, o.Width, o.Generator))
        { Recipe = new TrainingRecipe(Epochs: 10, BatchSize: 128, LearningRate: 0.05, Resize: 224, Width: 0.25), FixedInput = true });

        Register(new ModelEntry("nin", "Network in Network as in d2l §8.3: 1×1-conv blocks, global average pooling, no FC (1,992,166 parameters)",
            1, 10, (224, 224), 67, o => NoWidth(o, "nin", () => NiN.Create(o.InChannels, o.NumClasses, o.Generator)))
        { Recipe = new TrainingRecipe(Epochs: 10, BatchSize: 128, LearningRate: 0.1, Resize: 224) });

        Register(new ModelEntry("d2l-googlenet", "GoogLeNet as in d2l §8.4: nine Inception blocks, global average pooling (5,977,530 parameters)",
            1, 10, (96, 96), 1, o => NoWidth(o, "d2l-googlenet", () => D2lGoogLeNet.Create(o.InChannels, o.NumClasses, o.Generator)))
        { Recipe = new TrainingRecipe(Epochs: 10, BatchSize: 128, LearningRate: 0.1, Resize: 96) });

        Register(new ModelEntry("d2l-resnet18", "ResNet-18 as in d2l §8.6: Residual blocks with batch norm and conv biases (11,178,378 parameters)",
            1, 10, (96, 96), 1, o => NoWidth(o, "d2l-resnet18", () => D2lResNet.Create18(o.InChannels, o.NumClasses, o.Generator)))
        { Recipe = new TrainingRecipe(Epochs: 10, BatchSize: 256, LearningRate: 0.05, Resize: 96) });

        Register(new ModelEntry("d2l-densenet", "DenseNet as in d2l §8.7: growth rate 32, four dense blocks of four BN-ReLU-Conv layers (758,226 parameters)",
            1, 10, (96, 96), 29, o => NoWidth(o, "d2l-densenet", () => D2lDenseNet.Create(o.InChannels, o.NumClasses, o.Generator)))
        { Recipe = new TrainingRecipe(Epochs: 10, BatchSize: 256, LearningRate: 0.1, Resize: 96) });
    }

    private static Nn.Module NoWidth(ModelOptions options, string name, Func<Nn.Module> build)
    {
        BookInit.RequireUnitWidth(name, options.Width);
        return build();
    }
}
