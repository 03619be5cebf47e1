namespace Striate.Nn;

public abstract partial class Module
{
    private List<Action<Module, Tensor>>? _preHooks;
    private List<Action<Module, Tensor, Tensor>>? _forwardHooks;

    /// <summary>True when a forward pre-hook or forward hook is registered (a fused path that skips this module's
    /// <see cref="Call"/> must not be taken then).</summary>
    internal bool HasHooks => _preHooks is { Count: > 0 } || _forwardHooks is { Count: > 0 };

    /// <summary>Calls <paramref name="hook"/>(module, input) before every <see cref="Call"/>, as register_forward_pre_hook.</summary>
    public IDisposable RegisterForwardPreHook(Action<Module, Tensor> hook)
    {
        (_preHooks ??= new()).Add(hook);
        return new Removal(() => _preHooks.Remove(hook));
    }

    /// <summary>Calls <paramref name="hook"/>(module, input, output) after every <see cref="Call"/>, as register_forward_hook.</summary>
    public IDisposable RegisterForwardHook(Action<Module, Tensor, Tensor> hook)
    {
        (_forwardHooks ??= new()).Add(hook);
        return new Removal(() => _forwardHooks.Remove(hook));
    }

    /// <summary>
    /// Calls <paramref name="hook"/>(module, gradOutput) with the gradient of this module's output during backward
    /// (the module must be run through <see cref="Call"/> with grad enabled).
    /// </summary>
    public IDisposable RegisterFullBackwardHook(Action<Module, Tensor> hook) =>
        RegisterForwardHook((module, _, output) =>
        {
            if (output.RequiresGrad) output.RegisterHook(g => hook(module, g));
        });

    private sealed class Removal(Action remove) : IDisposable
    {
        private Action? _remove = remove;
        public void Dispose() { _remove?.Invoke(); _remove = null; }
    }
}
