using Striate.Nn;

namespace Striate.Models.Book;

/// <summary>
/// AlexNet (Krizhevsky et al. 2012) as the d2l book builds it for Fashion-MNIST resized to 224×224 (§8.1): one
/// input channel, no LRN, no grouped convolutions, and a 6400-input classifier because the 11×11 stride-4 stem has
/// padding 1 (the final map is 256×5×5). 46,764,746 parameters with 10 classes. Children are named 0..20 as in the
/// book's nn.Sequential, so its state_dict loads.
/// Shapes: [N, inChannels, 224, 224] → [N, numClasses] (any side in 193..224 gives the same 5×5 map).
/// </summary>
public static class D2lAlexNet
{
    /// <summary>Channels of the feature map that the classifier flattens, and its side at 224×224 input.</summary>
    public const int FeatureChannels = 256, FeatureSide = 5;

    /// <summary>The book's AlexNet, weights Xavier-uniform as the book's training loop initializes them.</summary>
    public static Sequential Create(int inChannels = 1, int numClasses = 10, Generator? generator = null)
    {
        var g = generator;
        var net = new Sequential(
            new Conv2d(inChannels, 96, 11, stride: 4, padding: 1, generator: g), new ReLU(), new MaxPool2d(3, 2),
            new Conv2d(96, 256, 5, padding: 2, generator: g), new ReLU(), new MaxPool2d(3, 2),
            new Conv2d(256, 384, 3, padding: 1, generator: g), new ReLU(),
            new Conv2d(384, 384, 3, padding: 1, generator: g), new ReLU(),
            new Conv2d(384, 256, 3, padding: 1, generator: g), new ReLU(),
            new MaxPool2d(3, 2),
            new Flatten(),
            new Linear(FeatureChannels * FeatureSide * FeatureSide, 4096, generator: g), new ReLU(), new Dropout(0.5, g),
            new Linear(4096, 4096, generator: g), new ReLU(), new Dropout(0.5, g),
            new Linear(4096, numClasses, generator: g));
        return BookInit.XavierWeights(net, g);
    }
}
