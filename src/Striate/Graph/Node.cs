namespace Striate.Graph;

/// <summary>
/// One op of a <see cref="ForwardGraph"/>: what it computes (<see cref="Op"/>, with its typed arguments), the values it
/// reads, the value it produces, and where in the model it ran (the innermost module on the call stack), so that
/// errors can say "Concat in 'features.denseblock1.denselayer2' (_DenseLayer)".
/// Shapes: <see cref="Output"/> carries the traced output shape; <see cref="Inputs"/> the inputs' shapes.
/// </summary>
public sealed class Node
{
    internal Value?[] InputArray;

    internal Node(int id, Op op, Value?[] inputs, Value output, string modulePath, string moduleType)
    {
        Id = id;
        Op = op;
        InputArray = inputs;
        Output = output;
        ModulePath = modulePath;
        ModuleType = moduleType;
    }

    /// <summary>A number unique within its graph.</summary>
    public int Id { get; }

    /// <summary>What the node computes. A pass may replace it with another op of the same inputs (e.g. a fused one).</summary>
    public Op Op { get; set; }

    /// <summary>The values read, in the order <see cref="Op"/>'s record lists them; null for an optional input not given.</summary>
    public IReadOnlyList<Value?> Inputs => InputArray;

    /// <summary>The value produced.</summary>
    public Value Output { get; }

    /// <summary>
    /// The dotted name of the module whose Forward ran this op ("" for the model itself); for an imported graph, the
    /// name of the node in the file.
    /// </summary>
    public string ModulePath { get; internal set; }

    /// <summary>The type of that module (as <c>Module.TypeName</c>), or the operator in the imported file.</summary>
    public string ModuleType { get; internal set; }

    /// <summary>"Conv2d in 'layer1.0.conv1' (Conv2d)", for error messages.</summary>
    public string Describe() =>
        $"{Op.Name} in '{(ModulePath.Length == 0 ? "<model>" : ModulePath)}'{(ModuleType.Length > 0 ? $" ({ModuleType})" : "")}";

    /// <summary>One line of a graph dump: <c>%7 [1, 64, 56, 56] = Conv2d(stride=1, ...)(%6, layer1.0.conv1.weight)  # layer1.0.conv1</c>.</summary>
    public override string ToString() =>
        $"{Output} = {Op}({string.Join(", ", InputArray.Select(v => v?.Reference ?? "null"))})" +
        (ModulePath.Length > 0 ? $"  # {ModulePath}" : "");
}
