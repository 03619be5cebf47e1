namespace Striate.IO.Pth;

/// <summary>
/// One named tensor of a <c>.pth</c> state dict, copied to contiguous memory: <see cref="Value"/> as float32 (how
/// Striate holds every parameter and buffer) and, for integer and bool dtypes, the exact <see cref="Integers"/>
/// (so an int64 <c>num_batches_tracked</c> stays an integer when written out again).
/// Shapes: <see cref="Value"/> has the stored shape; a 0-d tensor has shape [].
/// </summary>
public sealed class PthTensor
{
    /// <summary>The state dict key, e.g. <c>features.0.0.weight</c>.</summary>
    public string Name { get; }

    /// <summary>The element type in the file.</summary>
    public PthDtype Dtype { get; }

    /// <summary>The values as float32: exact for F32, F16, BF16 and integers up to 2^24; F64 rounds to nearest.</summary>
    public Tensor Value { get; }

    /// <summary>The exact values of an integer or bool tensor (row-major; bools as 0 and 1); null for floating dtypes.</summary>
    public long[]? Integers { get; }

    /// <summary>True for integer and bool dtypes.</summary>
    public bool IsInteger => Integers != null;

    /// <summary>The shape (a fresh array).</summary>
    public int[] Shape => Value.ShapeArray;

    internal PthTensor(string name, PthDtype dtype, Tensor value, long[]? integers)
    {
        Name = name;
        Dtype = dtype;
        Value = value;
        Integers = integers;
    }

    public override string ToString() => $"{Name}: {Dtype} {Tensor.FormatShape(Value.Shape)}";
}
