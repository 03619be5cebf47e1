using System.Runtime.CompilerServices;

namespace Striate.Kernels;

/// <summary>
/// Everything that fixes the shape of one 2-D convolution (NCHW input, weights [Cout, Cin/groups, kH, kW]).
/// Shapes: input [Batch, InChannels, InHeight, InWidth], weight [OutChannels, InChannels/Groups, KernelHeight,
/// KernelWidth], bias [OutChannels], output [Batch, OutChannels, OutHeight, OutWidth].
/// </summary>
public readonly record struct Conv2dGeometry(
    int Batch, int InChannels, int InHeight, int InWidth,
    int OutChannels, int KernelHeight, int KernelWidth,
    int StrideH = 1, int StrideW = 1, int PadH = 0, int PadW = 0,
    int DilationH = 1, int DilationW = 1, int Groups = 1)
{
    /// <summary>floor((H + 2·pad − dilation·(k − 1) − 1) / stride) + 1, as torch.nn.Conv2d.</summary>
    public int OutHeight => OutSize(InHeight, KernelHeight, StrideH, PadH, DilationH);

    /// <summary>floor((W + 2·pad − dilation·(k − 1) − 1) / stride) + 1, as torch.nn.Conv2d.</summary>
    public int OutWidth => OutSize(InWidth, KernelWidth, StrideW, PadW, DilationW);

    /// <summary>Input channels seen by one output channel (Cin / groups).</summary>
    public int InChannelsPerGroup => InChannels / Groups;

    /// <summary>Output channels in one group (Cout / groups).</summary>
    public int OutChannelsPerGroup => OutChannels / Groups;

    /// <summary>Elements of the input tensor.</summary>
    public long InputLength => (long)Batch * InChannels * InHeight * InWidth;

    /// <summary>Elements of the weight tensor.</summary>
    public long WeightLength => (long)OutChannels * InChannelsPerGroup * KernelHeight * KernelWidth;

    /// <summary>Elements of the output tensor.</summary>
    public long OutputLength => (long)Batch * OutChannels * OutHeight * OutWidth;

    /// <summary>Multiply-adds × 2 of one forward pass: 2·N·Cout·Hout·Wout·(Cin/groups)·kH·kW.</summary>
    public double ForwardFlops => 2.0 * Batch * OutChannels * OutHeight * OutWidth * InChannelsPerGroup * KernelHeight * KernelWidth;

    /// <summary>
    /// The smallest input extent along one axis that still gives one output: dilation·(k − 1) + 1 − 2·pad (at least 1).
    /// </summary>
    public static int MinInputSize(int kernel, int pad, int dilation) => Math.Max(1, dilation * (kernel - 1) + 1 - 2 * pad);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int OutSize(int input, int kernel, int stride, int pad, int dilation)
    {
        // Integer floor division that stays correct when the numerator is negative (input too small).
        long num = (long)input + 2L * pad - (long)dilation * (kernel - 1) - 1;
        if (stride <= 0) return 0;
        return (int)(num >= 0 ? num / stride + 1 : -((-num + stride - 1) / stride) + 1);
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first inconsistent field.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Validate()
    {
        if (Batch < 0 || InChannels <= 0 || InHeight <= 0 || InWidth <= 0 || OutChannels <= 0)
            throw new ArgumentException($"Conv2d: sizes must be positive (batch may be 0), got batch {Batch}, inChannels {InChannels}, input {InHeight}×{InWidth}, outChannels {OutChannels}.");
        if (KernelHeight <= 0 || KernelWidth <= 0)
            throw new ArgumentException($"Conv2d: kernel size must be positive, got {KernelHeight}×{KernelWidth}.");
        if (StrideH <= 0 || StrideW <= 0)
            throw new ArgumentException($"Conv2d: stride must be positive, got ({StrideH}, {StrideW}).");
        if (PadH < 0 || PadW < 0)
            throw new ArgumentException($"Conv2d: padding must be non-negative, got ({PadH}, {PadW}).");
        if (DilationH <= 0 || DilationW <= 0)
            throw new ArgumentException($"Conv2d: dilation must be positive, got ({DilationH}, {DilationW}).");
        if (Groups <= 0 || InChannels % Groups != 0 || OutChannels % Groups != 0)
            throw new ArgumentException($"Conv2d: groups = {Groups} must be positive and divide both inChannels ({InChannels}) and outChannels ({OutChannels}).");
        if (OutHeight <= 0 || OutWidth <= 0)
            throw new ArgumentException(
                $"Conv2d: input {InHeight}×{InWidth} is too small for kernel {KernelHeight}×{KernelWidth} with padding ({PadH}, {PadW}) " +
                $"and dilation ({DilationH}, {DilationW}): the output would be {OutHeight}×{OutWidth}; the input must be at least " +
                $"{MinInputSize(KernelHeight, PadH, DilationH)}×{MinInputSize(KernelWidth, PadW, DilationW)}.");
        if (InputLength > Array.MaxLength || OutputLength > Array.MaxLength || WeightLength > Array.MaxLength)
            throw new ArgumentException($"Conv2d: a tensor of this convolution has more than {Array.MaxLength} elements.");
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void CheckSpans(string op, int input, int weight, int output, string inputName = "input", string outputName = "output")
    {
        Validate();
        if (input != InputLength) throw new ArgumentException($"Conv2d{op}: {inputName} span has {input} elements, expected {InputLength} for {this}.");
        if (weight != WeightLength) throw new ArgumentException($"Conv2d{op}: weight span has {weight} elements, expected {WeightLength} for {this}.");
        if (output != OutputLength) throw new ArgumentException($"Conv2d{op}: {outputName} span has {output} elements, expected {OutputLength} for {this}.");
    }
}
