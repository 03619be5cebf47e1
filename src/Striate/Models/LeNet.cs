using Striate.Nn;

namespace Striate.Models;

/// <summary>
/// LeNet-5 (LeCun et al. 1998) as the d2l book builds it: two 5×5 conv layers with sigmoid and 2×2 average pooling,
/// then three fully connected layers; 61,706 parameters for 1×28×28 input and 10 classes. The ReLU variant swaps
/// in ReLU and max pooling, which trains far faster with the same shapes.
/// Shapes: [N, inChannels, 28, 28] → [N, numClasses].
/// </summary>
public static class LeNet
{
    /// <summary>
    /// The book's LeNet (sigmoid, average pooling). Children are named 0..11 as in its nn.Sequential. Conv and linear
    /// weights are Xavier-uniform, as the book's train_ch6 initializes them (with PyTorch's default Kaiming-uniform the
    /// sigmoid network barely moves in its first epochs at the book's learning rate).
    /// </summary>
    public static Sequential Create(int inChannels = 1, int numClasses = 10, Generator? generator = null)
    {
        var net = Build(inChannels, numClasses, relu: false, generator);
        foreach (var (name, p) in net.NamedParameters())
            if (name.EndsWith(".weight", StringComparison.Ordinal)) Init.XavierUniform(p, generator: generator);
        return net;
    }

    /// <summary>LeNet with ReLU and max pooling (same layer shapes and parameter count).</summary>
    public static Sequential CreateRelu(int inChannels = 1, int numClasses = 10, Generator? generator = null) =>
        Build(inChannels, numClasses, relu: true, generator);

    private static Sequential Build(int inChannels, int numClasses, bool relu, Generator? g)
    {
        Module Act() => relu ? new ReLU() : new Sigmoid();
        Module Pool() => relu ? new MaxPool2d(2, 2) : new AvgPool2d(2, 2);
        return new Sequential(
            new Conv2d(inChannels, 6, 5, padding: 2, generator: g), Act(), Pool(),
            new Conv2d(6, 16, 5, generator: g), Act(), Pool(),
            new Flatten(),
            new Linear(16 * 5 * 5, 120, generator: g), Act(),
            new Linear(120, 84, generator: g), Act(),
            new Linear(84, numClasses, generator: g));
    }
}
