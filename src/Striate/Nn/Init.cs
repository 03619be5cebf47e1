namespace Striate.Nn;

/// <summary>
/// Weight initialization as torch.nn.init. Fan-in and fan-out follow PyTorch: for a weight of shape
/// [out, in, k...], fan_in = in·∏k and fan_out = out·∏k.
/// </summary>
public static class Init
{
    /// <summary>Fan-in and fan-out of a weight of rank ≥ 2.</summary>
    public static (int FanIn, int FanOut) CalculateFanInAndFanOut(Tensor tensor)
    {
        if (tensor.Rank < 2)
            throw new ArgumentException($"Init: fan in and fan out need a tensor of rank ≥ 2, got shape {Tensor.FormatShape(tensor.Shape)}.", nameof(tensor));
        int receptive = 1;
        for (int d = 2; d < tensor.Rank; d++) receptive *= tensor.Size(d);
        return (tensor.Size(1) * receptive, tensor.Size(0) * receptive);
    }

    /// <summary>The recommended gain for a nonlinearity, as torch.nn.init.calculate_gain.</summary>
    public static double CalculateGain(string nonlinearity, double param = 0.01) => nonlinearity switch
    {
        "linear" or "conv2d" or "sigmoid" => 1.0,
        "tanh" => 5.0 / 3,
        "relu" => Math.Sqrt(2.0),
        "leaky_relu" => Math.Sqrt(2.0 / (1 + param * param)),
        "selu" => 3.0 / 4,
        _ => throw new ArgumentException($"Init.CalculateGain: unknown nonlinearity '{nonlinearity}'; expected linear, conv2d, sigmoid, tanh, relu, leaky_relu or selu.", nameof(nonlinearity)),
    };

    /// <summary>Fills with U(low, high).</summary>
    public static Tensor Uniform(Tensor tensor, double low, double high, Generator? generator = null)
    {
        var g = generator ?? Generator.Default;
        var s = tensor.Span;
        for (int i = 0; i < s.Length; i++) s[i] = (float)(low + (high - low) * g.NextDouble());
        return tensor;
    }

    /// <summary>Fills with N(mean, std²).</summary>
    public static Tensor Normal(Tensor tensor, double mean = 0, double std = 1, Generator? generator = null)
    {
        var g = generator ?? Generator.Default;
        var s = tensor.Span;
        for (int i = 0; i < s.Length; i++) s[i] = (float)(mean + std * g.NextGaussian());
        return tensor;
    }

    /// <summary>Fills with <paramref name="value"/>.</summary>
    public static Tensor Constant(Tensor tensor, float value) { tensor.Fill(value); return tensor; }

    /// <summary>Fills with zeros.</summary>
    public static Tensor Zeros(Tensor tensor) => Constant(tensor, 0f);

    /// <summary>Fills with ones.</summary>
    public static Tensor Ones(Tensor tensor) => Constant(tensor, 1f);

    /// <summary>
    /// Xavier/Glorot uniform (Glorot and Bengio 2010): U(−b, b) with b = gain·√(6 / (fan_in + fan_out)).
    /// </summary>
    public static Tensor XavierUniform(Tensor tensor, double gain = 1, Generator? generator = null)
    {
        var (fanIn, fanOut) = CalculateFanInAndFanOut(tensor);
        double bound = gain * Math.Sqrt(6.0 / (fanIn + fanOut));
        return Uniform(tensor, -bound, bound, generator);
    }

    /// <summary>Xavier/Glorot normal: N(0, σ²) with σ = gain·√(2 / (fan_in + fan_out)).</summary>
    public static Tensor XavierNormal(Tensor tensor, double gain = 1, Generator? generator = null)
    {
        var (fanIn, fanOut) = CalculateFanInAndFanOut(tensor);
        return Normal(tensor, 0, gain * Math.Sqrt(2.0 / (fanIn + fanOut)), generator);
    }

    /// <summary>
    /// Kaiming/He uniform (He et al. 2015): U(−b, b) with b = gain·√(3 / fan), gain from <paramref name="nonlinearity"/>
    /// and <paramref name="a"/> (the leaky-ReLU slope). PyTorch's default conv and linear init is this with a = √5.
    /// </summary>
    public static Tensor KaimingUniform(Tensor tensor, double a = 0, string mode = "fan_in", string nonlinearity = "leaky_relu", Generator? generator = null)
    {
        double std = CalculateGain(nonlinearity, a) / Math.Sqrt(Fan(tensor, mode));
        double bound = Math.Sqrt(3.0) * std;
        return Uniform(tensor, -bound, bound, generator);
    }

    /// <summary>Kaiming/He normal: N(0, σ²) with σ = gain / √fan.</summary>
    public static Tensor KaimingNormal(Tensor tensor, double a = 0, string mode = "fan_in", string nonlinearity = "leaky_relu", Generator? generator = null)
        => Normal(tensor, 0, CalculateGain(nonlinearity, a) / Math.Sqrt(Fan(tensor, mode)), generator);

    private static int Fan(Tensor tensor, string mode)
    {
        var (fanIn, fanOut) = CalculateFanInAndFanOut(tensor);
        int fan = mode switch
        {
            "fan_in" => fanIn,
            "fan_out" => fanOut,
            _ => throw new ArgumentException($"Init: mode must be 'fan_in' or 'fan_out', got '{mode}'.", nameof(mode)),
        };
        if (fan == 0) throw new ArgumentException($"Init: cannot initialize a tensor with zero {mode} (shape {Tensor.FormatShape(tensor.Shape)}).", nameof(tensor));
        return fan;
    }

    /// <summary>
    /// PyTorch's default for Conv2d and Linear: weight Kaiming-uniform with a = √5 (so U(±1/√fan_in)), bias U(±1/√fan_in).
    /// </summary>
    internal static void DefaultLayerInit(Tensor weight, Tensor? bias, Generator? generator)
    {
        KaimingUniform(weight, a: Math.Sqrt(5), generator: generator);
        if (bias != null)
        {
            var (fanIn, _) = CalculateFanInAndFanOut(weight);
            double bound = fanIn > 0 ? 1 / Math.Sqrt(fanIn) : 0;
            Uniform(bias, -bound, bound, generator);
        }
    }
}
