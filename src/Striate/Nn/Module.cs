using Striate.Autograd;

namespace Striate.Nn;

/// <summary>
/// Base of every layer and model: holds parameters, buffers and child modules under the names PyTorch uses,
/// so that dotted paths such as <c>layer1.0.conv1.weight</c> mean what they mean in torchvision.
/// </summary>
/// <remarks>
/// Implement <see cref="Forward"/>; call a module with <see cref="Call"/>, which also runs the hooks registered
/// on it (containers call their children through <see cref="Call"/>).
/// </remarks>
public abstract partial class Module
{
    private readonly List<KeyValuePair<string, Tensor>> _parameters = new();
    private readonly List<KeyValuePair<string, Tensor>> _buffers = new();
    private readonly List<KeyValuePair<string, Module>> _children = new();
    private readonly HashSet<string> _integerBuffers = new();

    /// <summary>True in training mode (dropout active, batch norm uses batch statistics); see <see cref="Train"/>, <see cref="Eval"/>.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>The module's own computation. Shapes: documented by each module.</summary>
    public abstract Tensor Forward(Tensor input);

    /// <summary>Runs the forward pre-hooks, <see cref="Forward"/>, then the forward hooks (as calling a torch module).</summary>
    public Tensor Call(Tensor input)
    {
        // While a graph is traced, the tracer keeps the module call stack so that each op knows which module ran it.
        // No try/finally: a failed trace is discarded whole, and its stack then says where the failure happened.
        var tracer = Graph.GraphTracer.Current;
        tracer?.EnterModule(this);
        if (_preHooks != null) foreach (var hook in _preHooks) hook(this, input);
        var caller = t_calling;
        t_calling = this;
        var output = Forward(input);
        t_calling = caller;
        if (_forwardHooks != null) foreach (var hook in _forwardHooks) hook(this, input, output);
        tracer?.ExitModule();
        return output;
    }

    // The module whose Forward is running through Call on this thread (see ExpectCall).
    [ThreadStatic] private static Module? t_calling;

    /// <summary>
    /// Fails when this module's <see cref="Forward"/> was invoked directly (not through <see cref="Call"/>) while
    /// something relies on seeing the call: forward hooks on this module (Grad-CAM, the summary, the NaN guard register
    /// them) or a graph trace. A parent that writes <c>_conv.Forward(x)</c> would silently skip them; Striate's layers
    /// check at the top of their Forward, and a custom module can do the same. Without hooks or a trace a direct call
    /// costs nothing and is allowed.
    /// </summary>
    protected void ExpectCall()
    {
        if (ReferenceEquals(t_calling, this) || (_preHooks == null && _forwardHooks == null && Graph.GraphTracer.Current == null)) return;
        string watchers = _preHooks != null || _forwardHooks != null ? $"its {(_preHooks?.Count ?? 0) + (_forwardHooks?.Count ?? 0)} hook(s)" : "the graph trace's record of which module ran each op";
        throw new InvalidOperationException($"{TypeName}.Forward was called directly, which skips {watchers}; call .Call(x), which runs the hooks and then Forward.");
    }

    /// <summary>The type name shown in summaries and errors (as PyTorch prints it: Conv2d, ReLU, ...).</summary>
    public virtual string TypeName => GetType().Name;

    // ---- registration ---------------------------------------------------------------------------

    /// <summary>
    /// Registers <paramref name="tensor"/> as a trainable parameter called <paramref name="name"/>. The tensor's
    /// storage must not belong to a <see cref="TensorScope"/>; it is marked as requiring grad.
    /// </summary>
    protected Tensor RegisterParameter(string name, Tensor tensor)
    {
        CheckNewName(name);
        tensor.RequiresGrad = true;
        _parameters.Add(new(name, tensor));
        return tensor;
    }

    /// <summary>
    /// Registers a non-trainable state tensor (running statistics). <paramref name="isInteger"/> marks counters such
    /// as <c>num_batches_tracked</c>, which PyTorch stores as int64 (the tensor's <see cref="Tensor.IsInteger"/> is set, so
    /// every writer stores it as I64).
    /// </summary>
    protected Tensor RegisterBuffer(string name, Tensor tensor, bool isInteger = false)
    {
        CheckNewName(name);
        _buffers.Add(new(name, tensor));
        if (isInteger)
        {
            _integerBuffers.Add(name);
            tensor.IsInteger = true;
        }
        return tensor;
    }

    /// <summary>Registers a child module whose names are prefixed by <paramref name="name"/>.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        CheckNewName(name);
        _children.Add(new(name, module));
        return module;
    }

    /// <summary>Registers a child for code that builds module trees from names (graph modules, importers).</summary>
    internal void RegisterChild(string name, Module module) => RegisterModule(name, module);

    /// <summary>Registers a parameter or buffer for code that builds module trees from names (graph modules, importers).</summary>
    internal void RegisterState(string name, Tensor tensor, bool isBuffer)
    {
        if (isBuffer) RegisterBuffer(name, tensor);
        else RegisterParameter(name, tensor);
    }

    private void CheckNewName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"{TypeName}: invalid member name '{name}' (must be non-empty and contain no '.').", nameof(name));
        if (_parameters.Any(p => p.Key == name) || _buffers.Any(b => b.Key == name) || _children.Any(c => c.Key == name))
            throw new ArgumentException($"{TypeName}: a member named '{name}' is already registered.", nameof(name));
    }

    /// <summary>Creates a parameter tensor that no <see cref="TensorScope"/> will reclaim.</summary>
    protected static Tensor NewParameterTensor(params int[] shape)
    {
        ParameterBudget.Charge(shape);
        return Tensor.AllocatePersistent(shape);
    }

    // ---- traversal ------------------------------------------------------------------------------

    /// <summary>Direct children in registration order.</summary>
    public IEnumerable<KeyValuePair<string, Module>> NamedChildren()
    {
        RegisterFields();
        return _children;
    }

    /// <summary>This module and every descendant with dotted names ("" for this one), depth first as PyTorch's named_modules.</summary>
    public IEnumerable<KeyValuePair<string, Module>> NamedModules(string prefix = "")
    {
        yield return new(prefix, this);
        RegisterFields();
        foreach (var (name, child) in _children)
            foreach (var pair in child.NamedModules(Join(prefix, name)))
                yield return pair;
    }

    /// <summary>Every parameter with its dotted name.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> NamedParameters(string prefix = "")
    {
        RegisterFields();
        foreach (var (name, p) in _parameters) yield return new(Join(prefix, name), p);
        foreach (var (name, child) in _children)
            foreach (var pair in child.NamedParameters(Join(prefix, name)))
                yield return pair;
    }

    /// <summary>Every parameter (for optimizers).</summary>
    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Value);

    /// <summary>Every buffer with its dotted name.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> NamedBuffers(string prefix = "")
    {
        RegisterFields();
        foreach (var (name, b) in _buffers) yield return new(Join(prefix, name), b);
        foreach (var (name, child) in _children)
            foreach (var pair in child.NamedBuffers(Join(prefix, name)))
                yield return pair;
    }

    /// <summary>Dotted names of buffers that hold integer counters (saved as int64).</summary>
    public IEnumerable<string> IntegerBufferNames(string prefix = "")
    {
        RegisterFields();
        foreach (var name in _integerBuffers) yield return Join(prefix, name);
        foreach (var (name, child) in _children)
            foreach (var n in child.IntegerBufferNames(Join(prefix, name)))
                yield return n;
    }

    /// <summary>Total number of parameter elements.</summary>
    public long ParameterCount() => Parameters().Sum(p => (long)p.Numel);

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    // ---- modes and gradients --------------------------------------------------------------------

    /// <summary>
    /// Puts this module and its descendants in training (true) or evaluation mode; frozen batch norm (see
    /// <see cref="Freeze"/>) stays in evaluation mode.
    /// </summary>
    public Module Train(bool training = true)
    {
        Training = training && !(Frozen && StaysInEvalWhenFrozen);
        RegisterFields();
        foreach (var (_, child) in _children) child.Train(training);
        return this;
    }

    /// <summary>Evaluation mode: dropout off, batch norm uses running statistics.</summary>
    public Module Eval() => Train(false);

    /// <summary>
    /// Clears the gradients of all parameters, as module.zero_grad(): by default (<paramref name="setToNone"/>, PyTorch's
    /// default) each becomes null and the next backward writes its array over instead of allocating or adding to
    /// zeros (see <see cref="Optim.Optimizer.ZeroGrad"/>); with setToNone false they are filled with zeros in place.
    /// </summary>
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (var p in Parameters())
        {
            if (setToNone) p.ParkGrad();
            else p.Grad?.Fill(0f);
        }
    }
}
