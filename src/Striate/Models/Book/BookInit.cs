using Striate.Nn;

namespace Striate.Models.Book;

/// <summary>
/// The d2l book's initialization: after building a network, its training loop re-draws every Conv2d and Linear
/// weight from Xavier-uniform (Glorot and Bengio 2010), leaving biases at PyTorch's defaults
/// (d2l §7.6 <c>init_weights</c>, §8 <c>init_cnn</c>). Batch norm keeps weight 1, bias 0.
/// </summary>
internal static class BookInit
{
    /// <summary>Applies Xavier-uniform to every Conv2d and Linear weight in <paramref name="model"/> (depth first) and returns it.</summary>
    public static T XavierWeights<T>(T model, Generator? generator) where T : Module
    {
        foreach (var (_, module) in model.NamedModules())
        {
            if (module is Conv2d conv) Init.XavierUniform(conv.Weight, generator: generator);
            else if (module is Linear linear) Init.XavierUniform(linear.Weight, generator: generator);
        }
        return model;
    }

    /// <summary>Rejects a width multiplier for a model that has none (only the book's VGG scales its channels).</summary>
    public static void RequireUnitWidth(string model, double width)
    {
        if (width != 1.0)
            throw new ArgumentException($"{model}: this model has no width multiplier (got --width {width}); only d2l-vgg11 scales its channels.", nameof(width));
    }
}
