namespace Striate.Graph;

/// <summary>Where a graph <see cref="Value"/> comes from.</summary>
public enum ValueKind
{
    /// <summary>An input of the graph (the image batch).</summary>
    Input,
    /// <summary>A trainable parameter, named by its dotted state-dict name (<c>layer1.0.conv1.weight</c>).</summary>
    Parameter,
    /// <summary>A non-trainable state tensor such as batch norm's <c>running_mean</c>, named by its state-dict name.</summary>
    Buffer,
    /// <summary>A tensor fixed when the graph was made (made inside a forward, or folded by a pass).</summary>
    Constant,
    /// <summary>The output of a node.</summary>
    Intermediate,
}

/// <summary>
/// One tensor of a <see cref="ForwardGraph"/>: a graph input, a parameter, buffer or constant (which carry their data),
/// or a node's output (which carries only its shape, as traced).
/// Shapes: <see cref="Shape"/> is the full shape the traced (or probed) call saw, batch dimension included.
/// </summary>
public sealed class Value
{
    private readonly int[] _shape;

    internal Value(int id, ValueKind kind, string name, int[] shape, Tensor? data)
    {
        Id = id;
        Kind = kind;
        Name = name;
        _shape = shape;
        Data = data;
    }

    /// <summary>A number unique within its graph (stable: removing nodes does not renumber).</summary>
    public int Id { get; }

    /// <summary>What kind of value this is.</summary>
    public ValueKind Kind { get; }

    /// <summary>
    /// The state-dict name for parameters and buffers (e.g. <c>features.0.weight</c>), the input's name for inputs,
    /// and a generated or given name for constants and node outputs.
    /// </summary>
    public string Name { get; internal set; }

    /// <summary>The shape.</summary>
    public IReadOnlyList<int> Shape => _shape;

    /// <summary>The shape as a fresh array.</summary>
    public int[] ShapeArray => (int[])_shape.Clone();

    /// <summary>The number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>
    /// The data of parameters, buffers and constants: for parameters and buffers the module's own tensor (so a pass
    /// sees the current weights), for constants a copy the graph owns. Null for inputs and node outputs.
    /// </summary>
    public Tensor? Data { get; }

    /// <summary>The node that computes this value (null unless <see cref="Kind"/> is <see cref="ValueKind.Intermediate"/>).</summary>
    public Node? Producer { get; internal set; }

    /// <summary>True for parameters and buffers (named state of the model).</summary>
    public bool IsState => Kind is ValueKind.Parameter or ValueKind.Buffer;

    /// <summary>True for values whose data is known without running the graph (parameters, buffers, constants).</summary>
    public bool HasData => Data != null;

    /// <summary>"%12 [1, 64, 56, 56]" for node outputs, the name and shape otherwise.</summary>
    public override string ToString() => $"{Reference} {Tensor.FormatShape(_shape)}";

    /// <summary>How a graph dump refers to this value: its name for named state, <c>%id</c> otherwise.</summary>
    public string Reference => Kind switch
    {
        ValueKind.Intermediate => $"%{Id}",
        ValueKind.Constant => $"const%{Id}",
        _ => Name,
    };
}
