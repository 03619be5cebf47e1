using Striate.Nn;

namespace Striate.Models.Torchvision;

/// <summary>The weight initializations torchvision's model constructors apply after building their layers.</summary>
internal static class TorchvisionInit
{
    /// <summary>Runs <paramref name="conv"/> on every Conv2d, <paramref name="linear"/> on every Linear, and resets batch norm to γ = 1, β = 0.</summary>
    public static void Apply(Module model, Action<Conv2d>? conv, Action<Linear>? linear)
    {
        foreach (var (_, m) in model.NamedModules())
        {
            switch (m)
            {
                case Conv2d c when conv != null: conv(c); break;
                case Linear l when linear != null: linear(l); break;
                case BatchNormBase bn:
                    if (bn.Weight != null) Init.Ones(bn.Weight);
                    if (bn.Bias != null) Init.Zeros(bn.Bias);
                    break;
            }
        }
    }

    /// <summary>
    /// N(mean, std²) truncated to [a, b] by redrawing values outside, as torch.nn.init.trunc_normal_ (whose bounds are
    /// absolute, so with GoogLeNet's std 0.01 and [−2, 2] nothing is ever redrawn in practice).
    /// </summary>
    public static void TruncatedNormal(Tensor tensor, double mean, double std, double a, double b, Generator? generator)
    {
        var g = generator ?? Generator.Default;
        var s = tensor.Span;
        for (int i = 0; i < s.Length; i++)
        {
            double v;
            do v = mean + std * g.NextGaussian(); while (v < a || v > b);
            s[i] = (float)v;
        }
    }

    /// <summary>Rejects a width multiplier on a model that has none.</summary>
    public static void RequireUnitWidth(ModelOptions options, string model)
    {
        if (options.Width != 1.0)
            throw new ArgumentException($"{model} has no width multiplier; got width {options.Width} (only mobilenet_v2 takes one).");
    }
}
