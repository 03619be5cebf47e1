using Striate.Autograd;

namespace Striate;

public sealed partial class Tensor
{
    private bool _requiresGrad;

    /// <summary>
    /// Whether gradients with respect to this tensor are wanted. Only leaves (tensors no recorded op produced)
    /// may have this set by hand; op outputs require grad exactly when one of their inputs does.
    /// </summary>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (GradFn != null && !value)
                throw new InvalidOperationException("Tensor.RequiresGrad: cannot clear it on the output of an op; use Detach() instead.");
            _requiresGrad = value;
        }
    }

    private Tensor? _grad;

    /// <summary>The accumulated gradient of a leaf (or of a tensor marked with <see cref="RetainGrad"/>); null until a backward pass reaches it.</summary>
    public Tensor? Grad
    {
        get => _grad;
        set
        {
            _grad = value;
            _parkedGrad = null;
        }
    }

    // The array of a gradient that ZeroGrad set to none, which the next backward fills instead of allocating another.
    private Tensor? _parkedGrad;

    /// <summary>
    /// Sets <see cref="Grad"/> to null, as zero_grad(set_to_none=True), keeping its array for the next backward to
    /// overwrite: no fill with zeros now, no add into zeros later, no new array per step. A reference to the old
    /// gradient taken before this call fails loudly once its array is reused (see <see cref="TakeParkedGrad"/>).
    /// </summary>
    internal void ParkGrad()
    {
        var g = _grad;
        if (g == null) return;
        _grad = null;
        // Only an array this tensor's gradient owns whole (what Accumulate allocates), never a view or a caller's array.
        _parkedGrad = g.Offset == 0 && g._storage is { Pooled: false, External: false } && g._storage.Data.Length == g.Numel ? g : null;
    }

    /// <summary>
    /// The parked gradient array as a new tensor for this backward to overwrite, or null. The array's generation moves
    /// on, so the old gradient tensor (and any view of it) throws when read instead of showing the new values.
    /// </summary>
    internal Tensor? TakeParkedGrad()
    {
        var g = _parkedGrad;
        _parkedGrad = null;
        if (g == null || !g.Shape.SequenceEqual(Shape)) return null;
        var storage = g._storage;
        storage.Generation++;
        storage.ReusedGradient = true;
        return new Tensor(storage, 0, g._shape, storage.Generation);
    }

    /// <summary>The recorded op that produced this tensor (null for leaves and for results computed without grad).</summary>
    public GradFn? GradFn { get; internal set; }

    /// <summary>True for tensors no recorded op produced (inputs, parameters).</summary>
    public bool IsLeaf => GradFn == null;

    /// <summary>Keep this non-leaf tensor's gradient in <see cref="Grad"/> after backward, as tensor.retain_grad().</summary>
    public Tensor RetainGrad()
    {
        RetainsGrad = true;
        return this;
    }

    internal bool RetainsGrad { get; private set; }

    /// <summary>Sets <see cref="RequiresGrad"/> and returns this tensor, for fluent construction.</summary>
    public Tensor RequireGrad(bool requiresGrad = true)
    {
        RequiresGrad = requiresGrad;
        return this;
    }

    /// <summary>Hooks called with this tensor's gradient during backward, before it flows further (as tensor.register_hook).</summary>
    internal List<Action<Tensor>>? GradHooks { get; private set; }

    /// <summary>Registers <paramref name="hook"/> to see the gradient of this tensor during every backward pass.</summary>
    public void RegisterHook(Action<Tensor> hook) => (GradHooks ??= new()).Add(hook);

    /// <summary>Hooks called once per backward pass after this leaf's gradient is final (see <see cref="RegisterPostAccumulateGradHook"/>).</summary>
    internal List<Action<Tensor>>? PostAccumulateGradHooks { get; private set; }

    /// <summary>
    /// Registers <paramref name="hook"/>(leaf) to run once per backward pass, after the last contribution of that pass
    /// has been added to this leaf's <see cref="Grad"/>, as tensor.register_post_accumulate_grad_hook. Data-parallel
    /// training starts reducing a parameter's gradient there, while backward goes on through earlier layers. A leaf
    /// that the pass reaches through several ops gets the hook after the last of them; a leaf the pass does not reach
    /// gets none. Dispose the result to remove the hook.
    /// </summary>
    public IDisposable RegisterPostAccumulateGradHook(Action<Tensor> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        if (!IsLeaf)
            throw new InvalidOperationException($"Tensor.RegisterPostAccumulateGradHook: only leaves accumulate gradients, but this tensor (shape {FormatShape(Shape)}) is the output of {GradFn!.Name}; use RegisterHook for intermediate tensors.");
        var hooks = PostAccumulateGradHooks ??= new();
        hooks.Add(hook);
        return new HookRemoval(() => hooks.Remove(hook));
    }

    // Per backward pass (leaves with post-accumulate hooks only): contributions still to come, and whether one came.
    internal int PendingAccumulations;
    internal bool AccumulatedThisPass;

    private sealed class HookRemoval(Action remove) : IDisposable
    {
        private Action? _remove = remove;
        public void Dispose() { _remove?.Invoke(); _remove = null; }
    }

    // Gradient being summed during a backward pass (non-leaf tensors only).
    internal Tensor? PendingGrad;
    internal bool PendingGradOwned;

    /// <summary>
    /// Computes the gradient of this tensor with respect to every leaf that requires grad and adds it to
    /// their <see cref="Grad"/>. A scalar needs no <paramref name="gradient"/>; otherwise pass d(loss)/d(this).
    /// </summary>
    public void Backward(Tensor? gradient = null) => Engine.Backward(this, gradient);
}
