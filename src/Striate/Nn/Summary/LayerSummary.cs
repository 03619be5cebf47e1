namespace Striate.Nn;

/// <summary>
/// One call of a leaf layer in a <see cref="ModelSummary"/>: its dotted name (as <see cref="Module.NamedModules"/>),
/// type, output shape for one image, own parameters, multiply-accumulates and the receptive field of its output.
/// Shapes: <see cref="OutputShape"/> is the output without the batch dimension (e.g. [6, 28, 28]); empty when the
/// layer did not run (<see cref="Ran"/> false, e.g. an auxiliary head in eval mode).
/// </summary>
public sealed record LayerSummary(string Name, string TypeName, int[] OutputShape, long Parameters, long Macs, ReceptiveField ReceptiveField)
{
    /// <summary>False for leaves the forward pass never called (listed so that parameter counts add up).</summary>
    public bool Ran { get; init; } = true;

    /// <summary>True when the layer's input tensor was not the output of a known layer, so its receptive field came from the fallback rule.</summary>
    public bool InputInferred { get; init; }

    /// <summary>Bytes of the output for one image (float32).</summary>
    public long OutputBytes => Ran ? OutputShape.Aggregate(4L, (a, d) => a * d) : 0;

    /// <summary>"6×28×28", or "—" for a layer that did not run.</summary>
    public string FormatShape() => Ran ? string.Join("×", OutputShape) : "—";
}
