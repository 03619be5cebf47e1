using Striate.Functional;

namespace Striate.Nn;

/// <summary>
/// 2-D convolution (cross-correlation) with stride, padding, dilation and groups, as torch.nn.Conv2d.
/// Shapes: input [N, inChannels, H, W] → output [N, outChannels, H', W'] with
/// H' = ⌊(H + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1; weight [outChannels, inChannels/groups, kH, kW], bias [outChannels].
/// </summary>
public sealed class Conv2d : Module
{
    public int InChannels { get; }
    public int OutChannels { get; private set; }
    public Size2 KernelSize { get; }
    public Size2 Stride { get; }
    public Size2 Padding { get; }
    public Size2 Dilation { get; }
    public int Groups { get; }

    /// <summary>Weight [outChannels, inChannels/groups, kH, kW].</summary>
    public Tensor Weight { get; private set; }

    /// <summary>Bias [outChannels], or null when built with bias: false.</summary>
    public Tensor? Bias { get; private set; }

    /// <summary>Creates the layer with PyTorch's default initialization (Kaiming-uniform, a = √5; bias U(±1/√fan_in)).</summary>
    public Conv2d(int inChannels, int outChannels, Size2 kernelSize, Size2? stride = null, Size2? padding = null,
        Size2? dilation = null, int groups = 1, bool bias = true, Generator? generator = null)
    {
        Size2 s = stride ?? 1, p = padding ?? 0, d = dilation ?? 1;
        if (inChannels <= 0 || outChannels <= 0)
            throw new ArgumentException($"Conv2d: inChannels and outChannels must be positive, got {inChannels} and {outChannels}.");
        if (groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"Conv2d: groups ({groups}) must be positive and divide inChannels ({inChannels}) and outChannels ({outChannels}).", nameof(groups));
        if (kernelSize.H <= 0 || kernelSize.W <= 0) throw new ArgumentException($"Conv2d: kernelSize must be positive, got {kernelSize}.", nameof(kernelSize));
        if (s.H <= 0 || s.W <= 0) throw new ArgumentException($"Conv2d: stride must be positive, got {s}.", nameof(stride));
        if (p.H < 0 || p.W < 0) throw new ArgumentException($"Conv2d: padding must be non-negative, got {p}.", nameof(padding));
        if (d.H <= 0 || d.W <= 0) throw new ArgumentException($"Conv2d: dilation must be positive, got {d}.", nameof(dilation));

        (InChannels, OutChannels, KernelSize, Stride, Padding, Dilation, Groups) = (inChannels, outChannels, kernelSize, s, p, d, groups);
        Weight = RegisterParameter("weight", NewParameterTensor(outChannels, inChannels / groups, kernelSize.H, kernelSize.W));
        if (bias) Bias = RegisterParameter("bias", NewParameterTensor(outChannels));
        Init.DefaultLayerInit(Weight, Bias, generator);
    }

    /// <summary>New weight and bias for <paramref name="outChannels"/> outputs, initialized as a new layer (<see cref="Module.ReplaceClassifier"/>).</summary>
    internal void ReplaceOutputs(int outChannels, Generator? generator)
    {
        if (outChannels % Groups != 0)
            throw new ArgumentException($"Conv2d: {outChannels} output channels are not divisible by its {Groups} groups.", nameof(outChannels));
        OutChannels = outChannels;
        Weight = NewParameterTensor(outChannels, InChannels / Groups, KernelSize.H, KernelSize.W);
        ReplaceParameter("weight", Weight);
        if (Bias != null)
        {
            Bias = NewParameterTensor(outChannels);
            ReplaceParameter("bias", Bias);
        }
        Init.DefaultLayerInit(Weight, Bias, generator);
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ExpectCall();
        return F.Conv2d(input, Weight, Bias, (Stride.H, Stride.W), (Padding.H, Padding.W), (Dilation.H, Dilation.W), Groups);
    }

    /// <summary>
    /// Whether this layer followed by <paramref name="relu"/> may run as one op on <paramref name="input"/>
    /// (<see cref="F.Conv2dRelu"/>): nothing observes the two calls (no hooks on either, no graph trace) and the shape
    /// takes the flat kernels, where the fused op saves a pass over the activation each way.
    /// </summary>
    internal bool FusesRelu(ReLU relu, Tensor input) =>
        Graph.GraphTracer.Current == null && !HasHooks && !relu.HasHooks &&
        F.Conv2dReluFuses(input, Weight, Bias, (Stride.H, Stride.W), (Padding.H, Padding.W), (Dilation.H, Dilation.W), Groups);

    /// <summary>relu(this(input)) as one op; only after <see cref="FusesRelu"/> said yes.</summary>
    internal Tensor ForwardRelu(Tensor input) =>
        F.Conv2dRelu(input, Weight, Bias, (Stride.H, Stride.W), (Padding.H, Padding.W), (Dilation.H, Dilation.W), Groups);

    /// <summary>
    /// Whether this layer, <paramref name="relu"/> and <paramref name="pool"/> may run as one op on
    /// <paramref name="input"/> (<see cref="F.Conv2dReluMaxPool"/>): as <see cref="FusesRelu"/>, with grad on (the op
    /// exists for training: it keeps argmaxes) and a 2×2 stride-2 pooling without padding or ceil mode and without hooks.
    /// </summary>
    internal bool FusesReluMaxPool(ReLU relu, MaxPool2d pool, Tensor input) =>
        Autograd.GradMode.IsEnabled && !pool.HasHooks && pool.KernelSize == new Size2(2, 2) && pool.Stride == new Size2(2, 2)
        && pool.Padding == new Size2(0, 0) && !pool.CeilMode && Stride == new Size2(1, 1) && Dilation == new Size2(1, 1) && Groups == 1
        && Graph.GraphTracer.Current == null && !HasHooks && !relu.HasHooks
        && F.Conv2dReluMaxPoolFuses(input, Weight, Bias, (Padding.H, Padding.W));

    /// <summary>maxpool2(relu(this(input))) as one op; only after <see cref="FusesReluMaxPool"/> said yes.</summary>
    internal Tensor ForwardReluMaxPool(Tensor input) => F.Conv2dReluMaxPool(input, Weight, Bias, (Padding.H, Padding.W));

    public override string ToString() =>
        $"Conv2d({InChannels}, {OutChannels}, kernel_size={KernelSize}, stride={Stride}, padding={Padding}" +
        $"{(Dilation != new Size2(1, 1) ? $", dilation={Dilation}" : "")}{(Groups != 1 ? $", groups={Groups}" : "")}{(Bias == null ? ", bias=False" : "")})";
}
