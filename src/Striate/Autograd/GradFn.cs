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
    /// Input <paramref name="index"/>'s gradient array to write this op's contribution into directly, when it is a
    /// leaf without gradient hooks (<see cref="Engine.TryBeginAccumulateInPlace"/>): <paramref name="add"/> says to
    /// add to what is there rather than overwrite it. Follow with <see cref="EndAccumulateInPlace"/>; on false, compute
    /// the gradient into a tensor of its own and <see cref="Accumulate"/> it.
    /// </summary>
    protected bool TryBeginAccumulateInPlace(int index, out Tensor grad, out bool add)
    {
        if (Inputs[index] is { RequiresGrad: true } input) return Engine.TryBeginAccumulateInPlace(input, out grad, out add);
        (grad, add) = (null!, false);
        return false;
    }

    /// <summary>Ends <see cref="TryBeginAccumulateInPlace"/> for input <paramref name="index"/>.</summary>
    protected void EndAccumulateInPlace(int index) => Engine.EndAccumulateInPlace(Inputs[index]!);

    // Tensors backward reads (ctx.save_for_backward) and their storage versions when the op was recorded.
    private Tensor?[] _saved = [];
    private long[]? _savedVersions;

    /// <summary>
    /// Declares the tensors this op's backward will read (inputs, or its own output), as PyTorch's save_for_backward;
    /// call before <see cref="Record"/>, which notes their versions. Backward refuses to run when one of them has been
    /// written in place since (<see cref="CheckSavedVersions"/>).
    /// </summary>
    internal GradFn Saving(params Tensor?[] tensors)
    {
        _saved = tensors;
        return this;
    }

    /// <summary>
    /// Links <paramref name="output"/> to this node when grad mode is on and any input requires grad; returns output.
    /// </summary>
    internal Tensor Record(Tensor output, params Tensor?[] inputs)
    {
        if (!ShouldRecord(inputs)) return output;
        Inputs = inputs;
        if (_saved.Length > 0)
        {
            _savedVersions = new long[_saved.Length];
            for (int i = 0; i < _saved.Length; i++) _savedVersions[i] = _saved[i]?.Version ?? 0;
        }
        output.GradFn = this;
        output.RequiresGrad = true;
        return output;
    }

    /// <summary>
    /// Fails, as PyTorch does, when a tensor this op saved for backward was modified in place after the forward: its
    /// gradient would silently be computed from the new values.
    /// </summary>
    internal void CheckSavedVersions()
    {
        if (_savedVersions == null) return;
        for (int i = 0; i < _saved.Length; i++)
        {
            var t = _saved[i];
            if (t == null || t.Version == _savedVersions[i]) continue;
            throw new InvalidOperationException(
                $"one of the variables needed for gradient computation has been modified by an inplace operation: [Tensor {Tensor.FormatShape(t.Shape)}], " +
                $"saved by [{Name}]{Role(t)}, is at version {t.Version}; expected version {_savedVersions[i]} instead. Hint: something wrote into it " +
                "(Span, the indexer, Fill, CopyFrom, an optimizer step) between the forward and this backward; clone it before changing it, or change it after backward.");
        }
    }

    private string Role(Tensor t)
    {
        int index = Array.IndexOf(Inputs, t);
        return index >= 0 ? $" as its input {index}" : " as its output";
    }

    /// <summary>True when an op on <paramref name="inputs"/> would be recorded: grad mode on and some input requires grad.</summary>
    internal static bool ShouldRecord(params ReadOnlySpan<Tensor?> inputs)
    {
        if (!GradMode.IsEnabled) return false;
        foreach (var t in inputs) if (t is { RequiresGrad: true }) return true;
        return false;
    }
}
