using Striate.Functional;

namespace Striate.Nn;

/// <summary>
/// max(0, x), as torch.nn.ReLU. With <paramref name="inplace"/> (torchvision's blocks) the result is written over the
/// input (<see cref="F.ReluInPlace"/>): one array less per activation while training, for an input nothing else reads.
/// Shapes: any → same.
/// </summary>
public sealed class ReLU(bool inplace = false) : Module
{
    /// <summary>Whether the input's array is overwritten, as nn.ReLU(inplace=True).</summary>
    public bool Inplace { get; } = inplace;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ExpectCall();
        return Inplace ? F.ReluInPlace(input) : F.Relu(input);
    }
    public override string ToString() => Inplace ? "ReLU(inplace=True)" : "ReLU()";
}

/// <summary>x for x ≥ 0, negativeSlope·x otherwise, as torch.nn.LeakyReLU. Shapes: any → same.</summary>
public sealed class LeakyReLU(double negativeSlope = 0.01) : Module
{
    public double NegativeSlope { get; } = negativeSlope;
    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ExpectCall();
        return F.LeakyRelu(input, (float)NegativeSlope);
    }
    public override string ToString() => $"LeakyReLU(negative_slope={NegativeSlope})";
}

/// <summary>1 / (1 + e^−x), as torch.nn.Sigmoid. Shapes: any → same.</summary>
public sealed class Sigmoid : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ExpectCall();
        return F.Sigmoid(input);
    }
    public override string ToString() => "Sigmoid()";
}

/// <summary>tanh(x), as torch.nn.Tanh. Shapes: any → same.</summary>
public sealed class Tanh : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ExpectCall();
        return F.Tanh(input);
    }
    public override string ToString() => "Tanh()";
}

/// <summary>Softmax over dimension 1 (classes), as torch.nn.Softmax(dim=1). Shapes: [N, C, ...] → same.</summary>
public sealed class Softmax(int dim = 1) : Module
{
    public int Dim { get; } = dim;
    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ExpectCall();
        return F.Softmax(input, Dim);
    }
    public override string ToString() => $"Softmax(dim={Dim})";
}

/// <summary>Flattens dimensions startDim..endDim, as torch.nn.Flatten (default: all but the batch). Shapes: [N, C, H, W] → [N, C·H·W].</summary>
public sealed class Flatten(int startDim = 1, int endDim = -1) : Module
{
    public int StartDim { get; } = startDim;
    public int EndDim { get; } = endDim;
    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ExpectCall();
        return input.Flatten(StartDim, EndDim);
    }
    public override string ToString() => $"Flatten(start_dim={StartDim}, end_dim={EndDim})";
}

/// <summary>Returns its input, as torch.nn.Identity (a placeholder, e.g. for a removed classifier). Shapes: any → same.</summary>
public sealed class Identity : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ExpectCall();
        return input;
    }
    public override string ToString() => "Identity()";
}
