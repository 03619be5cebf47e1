namespace Striate.Optim;

/// <summary>
/// Updates a fixed list of leaf parameters from their gradients, as torch.optim.Optimizer with one parameter
/// group. <see cref="Step"/> skips parameters whose <see cref="Tensor.Grad"/> is null, as PyTorch does.
/// </summary>
/// <remarks>
/// Shapes: every gradient must have its parameter's shape; per-parameter state (momentum, moments) has it too.
/// State tensors are persistent (never pooled), allocated on a parameter's first step and reused after that,
/// so a steady training loop allocates nothing here.
/// </remarks>
public abstract partial class Optimizer
{
    private readonly Tensor[] _parameters;
    private readonly long[] _steps;
    private float _learningRate;

    /// <summary>Validates and captures <paramref name="parameters"/>; <paramref name="name"/> prefixes error messages.</summary>
    protected Optimizer(IEnumerable<Tensor> parameters, float learningRate, string name)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Name = name;
        _parameters = parameters.ToArray();
        if (_parameters.Length == 0)
            throw new ArgumentException($"{name}: got an empty parameter list; expected at least one tensor.", nameof(parameters));
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            if (p is null) throw new ArgumentException($"{name}: parameter {i} is null.", nameof(parameters));
            if (!seen.Add(p)) throw new ArgumentException($"{name}: parameter {i} ({p}) appears more than once in the parameter list.", nameof(parameters));
            if (!p.IsLeaf)
                throw new ArgumentException($"{name}: parameter {i} ({Tensor.FormatShape(p.Shape)}) is not a leaf (it is the output of {p.GradFn!.GetType().Name}); optimize the tensor it was computed from, or Detach() it and call RequireGrad().", nameof(parameters));
            if (!p.RequiresGrad)
                throw new ArgumentException($"{name}: parameter {i} ({Tensor.FormatShape(p.Shape)}) does not require grad; call RequireGrad() on it or leave it out.", nameof(parameters));
        }
        _steps = new long[_parameters.Length];
        CheckLearningRate(learningRate);
        _learningRate = learningRate;
    }

    /// <summary>The name used in messages (the class name, e.g. "Adam").</summary>
    protected string Name { get; }

    /// <summary>The parameters, in the order given to the constructor (state is indexed by this order).</summary>
    public IReadOnlyList<Tensor> Parameters => _parameters;

    /// <summary>The learning rate (schedulers set it between steps). Must be non-negative.</summary>
    public float LearningRate
    {
        get => _learningRate;
        set { CheckLearningRate(value); _learningRate = value; }
    }

    /// <summary>
    /// Sets the learning rate without the ≥ 0 check, for schedulers: PyTorch's OneCycleLR with linear annealing
    /// overshoots below zero on its last step, and a scheduler should reproduce PyTorch's values.
    /// </summary>
    internal void SetScheduledLearningRate(double lr)
    {
        if (!double.IsFinite(lr)) throw new InvalidOperationException($"{Name}: a scheduler computed learning rate {lr}.");
        _learningRate = (float)lr;
    }

    /// <summary>How many steps parameter <paramref name="index"/> has taken (steps with a null gradient do not count).</summary>
    public long StepCount(int index) => _steps[index];

    /// <summary>Applies one update to every parameter that has a gradient.</summary>
    public void Step()
    {
        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            var g = p.Grad;
            if (g is null) continue;
            if (!g.Shape.SequenceEqual(p.Shape))
                throw new InvalidOperationException($"{Name}.Step: parameter {i} has shape {Tensor.FormatShape(p.Shape)} but its gradient has shape {Tensor.FormatShape(g.Shape)}.");
            _steps[i]++;
            Update(i, p, g, _steps[i]);
        }
    }

    /// <summary>Fills every existing gradient with zeros (keeping the buffers, as zero_grad(set_to_none=False)).</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters) p.Grad?.Fill(0f);
    }

    /// <summary>Updates parameter <paramref name="index"/> in place; <paramref name="step"/> counts from 1.</summary>
    protected abstract void Update(int index, Tensor parameter, Tensor grad, long step);

    /// <summary>A persistent zero tensor shaped like parameter <paramref name="index"/>, for optimizer state.</summary>
    protected Tensor NewState(int index) => Tensor.AllocatePersistent(_parameters[index].Shape);

    private void CheckLearningRate(float lr)
    {
        if (!(lr >= 0) || float.IsInfinity(lr))
            throw new ArgumentOutOfRangeException("lr", lr, $"{Name}: learning rate must be a finite number ≥ 0, got {lr}.");
    }

    /// <summary>Throws unless <paramref name="value"/> is finite and ≥ 0 (momentum, weight decay, eps, …).</summary>
    protected void CheckNonNegative(float value, string argument)
    {
        if (!(value >= 0) || float.IsInfinity(value))
            throw new ArgumentOutOfRangeException(argument, value, $"{Name}: {argument} must be a finite number ≥ 0, got {value}.");
    }
}
