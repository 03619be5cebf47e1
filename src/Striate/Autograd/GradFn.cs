namespace Striate.Autograd;

/// <summary>
/// The backward half of one recorded op. Each op family defines a subclass next to its forward; the
/// forward saves what backward needs and calls <see cref="Record"/> on its output.
/// </summary>
public abstract class GradFn
{
    /// <summary>The op's tensor inputs (the graph edges); entries may be null for non-tensor arguments.</summary>
    internal Tensor?[] Inputs { get; private set; } = [];

    /// <summary>A short name for error messages and summaries, e.g. "Conv2dBackward".</summary>
    public virtual string Name => GetType().Name;

    /// <summary>
    /// Given d(loss)/d(output), computes d(loss)/d(input) for every input that requires grad and passes each to
    /// <see cref="Accumulate"/>.
    /// </summary>
    protected internal abstract void Backward(Tensor gradOutput);

    /// <summary>Whether input <paramref name="index"/> wants a gradient.</summary>
    protected bool NeedsGrad(int index) => Inputs[index] is { RequiresGrad: true };

    /// <summary>
    /// Adds <paramref name="grad"/> to input <paramref name="index"/>'s gradient. <paramref name="fresh"/> says the
    /// tensor was made by this backward and may be taken over; pass false when it aliases another tensor (a
    /// pass-through of the incoming gradient), so that later accumulation copies instead of writing into it.
    /// </summary>
    protected void Accumulate(int index, Tensor grad, bool fresh = true)
    {
        var input = Inputs[index];
        if (input is not { RequiresGrad: true }) return;
        Engine.Accumulate(input, grad, fresh);
    }

    /// <summary>
    /// Links <paramref name="output"/> to this node when grad mode is on and any input requires grad; returns output.
    /// </summary>
    internal Tensor Record(Tensor output, params Tensor?[] inputs)
    {
        if (!ShouldRecord(inputs)) return output;
        Inputs = inputs;
        output.GradFn = this;
        output.RequiresGrad = true;
        return output;
    }

    /// <summary>True when an op on <paramref name="inputs"/> would be recorded: grad mode on and some input requires grad.</summary>
    internal static bool ShouldRecord(params ReadOnlySpan<Tensor?> inputs)
    {
        if (!GradMode.IsEnabled) return false;
        foreach (var t in inputs) if (t is { RequiresGrad: true }) return true;
        return false;
    }
}
