namespace Striate.Nn;

/// <summary>
/// Multiply-accumulate counts of one layer call, counting convolutions and fully connected layers only (as
/// torchvision's published GFLOPS, which are MACs of conv and linear layers): Conv2d =
/// C_out·H_out·W_out·(C_in/groups)·k_H·k_W per image, Linear = in·out per row. Batch norm, activations, pooling and
/// elementwise ops count 0.
/// Shapes: input and output as the layer's Forward takes and returns them.
/// </summary>
public static class MacCounter
{
    /// <summary>MACs of <paramref name="module"/> producing <paramref name="output"/> (for all of its batch).</summary>
    public static long Count(Module module, Tensor input, Tensor output) => module switch
    {
        // Each output element is a dot product over (C_in/groups)·k_H·k_W inputs.
        Conv2d c => (long)output.Numel * (c.InChannels / c.Groups) * c.KernelSize.H * c.KernelSize.W,
        // Each of the output rows is a matrix-vector product in·out.
        Linear l => (long)(output.Numel / l.OutFeatures) * l.InFeatures * l.OutFeatures,
        _ => 0,
    };
}
