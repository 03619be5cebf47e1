using Striate.Nn;

namespace Striate.Graph;

/// <summary>
/// A module that runs a <see cref="ForwardGraph"/>: each node through its functional op, so it trains like any
/// model (gradients reach the parameters; batch norm and dropout follow <see cref="Module.Train"/>/<see cref="Module.Eval"/>).
/// The graph's parameters and buffers are registered under their dotted names (<c>features.0.weight</c> becomes the
/// parameter <c>weight</c> of a child <c>0</c> of a child <c>features</c>), so <see cref="Module.StateDict"/> lists
/// exactly the graph's names. The tensors are the graph's own (for a traced graph, the traced model's).
/// </summary>
/// <remarks>Shapes: input as the graph's input (any batch size, unless a reshape in the graph fixes it) → the graph's output.</remarks>
public class GraphModule : Module
{
    private readonly ForwardGraph _graph;
    private readonly Node[] _nodes;

    /// <summary>Wraps <paramref name="graph"/> (one input, one output; parameter and buffer names must be dotted paths of non-empty parts).</summary>
    public GraphModule(ForwardGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        if (graph.Inputs.Count != 1 || graph.Outputs.Count != 1)
            throw new ArgumentException($"GraphModule: the graph must have one input and one output, got {graph.Inputs.Count} and {graph.Outputs.Count}.", nameof(graph));
        graph.Validate();
        _graph = graph;
        _nodes = graph.Nodes.ToArray();
        foreach (var v in graph.Parameters.Concat(graph.Buffers)) Register(v);
    }

    /// <summary>The graph this module runs.</summary>
    public ForwardGraph Graph => _graph;

    /// <inheritdoc />
    public override string TypeName => "GraphModule";

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var values = new Tensor?[_graph.ValueIdBound];
        values[_graph.Inputs[0].Id] = input;
        foreach (var v in _graph.Values)
            if (v.Data != null) values[v.Id] = v.Data;
        var args = new List<Tensor?>();
        foreach (var node in _nodes)
        {
            args.Clear();
            foreach (var v in node.Inputs) args.Add(v == null ? null : values[v.Id]);
            try
            {
                values[node.Output.Id] = OpExecutor.Run(node.Op, args, Training);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"{node.Describe()}: {StripParameter(e)}", e);
            }
        }
        return values[_graph.Outputs[0].Id]!;
    }

    private static string StripParameter(ArgumentException e) =>
        e.ParamName is { } name && e.Message.EndsWith($" (Parameter '{name}')", StringComparison.Ordinal)
            ? e.Message[..^$" (Parameter '{name}')".Length] : e.Message;

    private void Register(Value v)
    {
        var parts = v.Name.Split('.');
        if (parts.Any(p => p.Length == 0))
            throw new ArgumentException($"GraphModule: '{v.Name}' is not a dotted name of non-empty parts.", nameof(v));
        Module owner = this;
        for (int i = 0; i < parts.Length - 1; i++)
        {
            var child = owner.NamedChildren().FirstOrDefault(c => c.Key == parts[i]).Value;
            if (child == null)
            {
                child = new StateContainer();
                owner.RegisterChild(parts[i], child);
            }
            owner = child;
        }
        if (v.Kind == ValueKind.Buffer) owner.RegisterState(parts[^1], v.Data!, isBuffer: true);
        else owner.RegisterState(parts[^1], v.Data!, isBuffer: false);
    }

    /// <summary>A module that only holds parameters, buffers and children (the dotted path of a graph's state).</summary>
    private sealed class StateContainer : Module
    {
        public override string TypeName => "State";

        public override Tensor Forward(Tensor input) =>
            throw new InvalidOperationException("GraphModule: this child only holds parameters; run the GraphModule itself.");
    }
}
