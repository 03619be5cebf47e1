namespace Striate.Optim;

/// <summary>
/// Updates a fixed list of leaf parameters from their gradients, as torch.optim.Optimizer. <see cref="Step"/> skips
/// parameters whose <see cref="Tensor.Grad"/> is null, as PyTorch does. Parameters may come in groups
/// (<see cref="ParamGroup"/>, PyTorch's param_groups) with their own learning rate and weight decay.
/// </summary>
/// <remarks>
/// A group's learning rate is kept as a multiple of <see cref="LearningRate"/> (the default), so a scheduler that sets
/// LearningRate scales every group alike, as PyTorch's schedulers scale each group's initial learning rate.
/// </remarks>
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
    private readonly int[] _groupOf;          // parameter index → group index
    private readonly int[] _groupSizes;       // group index → parameter count
    // A group's learning rate is LearningRate × (its lr when built / the default lr when built); both kept as the floats
    // given, so the ratio is recomputed exactly after a state dict round trip.
    private readonly float[] _groupInitialLr;
    private float _initialLr;
    private readonly float?[] _groupWeightDecay;

    /// <summary>Validates and captures <paramref name="parameters"/>; <paramref name="name"/> prefixes error messages.</summary>
    protected Optimizer(IEnumerable<Tensor> parameters, float learningRate, string name)
        : this([new ParamGroup(parameters ?? throw new ArgumentNullException(nameof(parameters)))], learningRate, name)
    {
    }

    /// <summary>
    /// Validates and captures <paramref name="groups"/> (PyTorch's param_groups; a group's null fields take this
    /// optimizer's defaults); <paramref name="name"/> prefixes error messages.
    /// </summary>
    protected Optimizer(IEnumerable<ParamGroup> groups, float learningRate, string name)
    {
        ArgumentNullException.ThrowIfNull(groups);
        Name = name;
        var groupList = groups.ToArray();
        if (groupList.Length == 0) throw new ArgumentException($"{name}: got no parameter groups; expected at least one.", nameof(groups));
        CheckLearningRate(learningRate);
        var all = new List<Tensor>();
        var groupOf = new List<int>();
        _groupSizes = new int[groupList.Length];
        _groupInitialLr = new float[groupList.Length];
        _initialLr = learningRate;
        _groupWeightDecay = new float?[groupList.Length];
        for (int g = 0; g < groupList.Length; g++)
        {
            var group = groupList[g] ?? throw new ArgumentException($"{name}: parameter group {g} is null.", nameof(groups));
            var members = (group.Parameters ?? throw new ArgumentException($"{name}: parameter group {g} has no parameter list.", nameof(groups))).ToArray();
            if (members.Length == 0 && groupList.Length > 1)
                throw new ArgumentException($"{name}: parameter group {g} is empty; leave it out.", nameof(groups));
            all.AddRange(members);
            groupOf.AddRange(Enumerable.Repeat(g, members.Length));
            _groupSizes[g] = members.Length;
            if (group.LearningRate is float lr)
            {
                CheckLearningRate(lr);
                if (learningRate == 0 && lr != 0)
                    throw new ArgumentException($"{name}: parameter group {g} sets lr {lr} but the default lr is 0; group learning rates are kept relative to the default, so give a positive default.", nameof(learningRate));
                _groupInitialLr[g] = lr;
            }
            else _groupInitialLr[g] = learningRate;
            if (group.WeightDecay is float wd) CheckNonNegative(wd, $"weight decay of parameter group {g}");
            _groupWeightDecay[g] = group.WeightDecay;
        }
        _groupOf = groupOf.ToArray();
        _parameters = all.ToArray();
        if (_parameters.Length == 0)
            throw new ArgumentException($"{name}: got an empty parameter list; expected at least one tensor.", "parameters");
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            if (p is null) throw new ArgumentException($"{name}: parameter {i} is null.", "parameters");
            if (!seen.Add(p)) throw new ArgumentException($"{name}: parameter {i} ({p}) appears more than once in the parameter list.", "parameters");
            if (!p.IsLeaf)
                throw new ArgumentException($"{name}: parameter {i} ({Tensor.FormatShape(p.Shape)}) is not a leaf (it is the output of {p.GradFn!.GetType().Name}); optimize the tensor it was computed from, or Detach() it and call RequireGrad().", "parameters");
            if (!p.RequiresGrad)
                throw new ArgumentException($"{name}: parameter {i} ({Tensor.FormatShape(p.Shape)}) does not require grad; call RequireGrad() on it or leave it out.", "parameters");
        }
        _steps = new long[_parameters.Length];
        _learningRate = learningRate;
    }

    /// <summary>The number of parameter groups (1 unless the optimizer was given <see cref="ParamGroup"/>s).</summary>
    public int GroupCount => _groupSizes.Length;

    /// <summary>The group parameter <paramref name="index"/> belongs to.</summary>
    public int GroupOf(int index) => _groupOf[index];

    /// <summary>Group <paramref name="group"/>'s current learning rate (its multiple of <see cref="LearningRate"/>).</summary>
    public float GroupLearningRate(int group) =>
        _groupInitialLr[group] == _initialLr ? _learningRate : (float)(_learningRate * ((double)_groupInitialLr[group] / _initialLr));

    /// <summary>Group <paramref name="group"/>'s own weight decay, or null when it uses the optimizer's.</summary>
    public float? GroupWeightDecay(int group) => _groupWeightDecay[group];

    /// <summary>The learning rate for parameter <paramref name="index"/>: its group's.</summary>
    protected float LearningRateOf(int index) => GroupLearningRate(_groupOf[index]);

    /// <summary>The weight decay for parameter <paramref name="index"/>: its group's, else <paramref name="optimizerDefault"/>.</summary>
    protected float WeightDecayOf(int index, float optimizerDefault) => _groupWeightDecay[_groupOf[index]] ?? optimizerDefault;

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

    /// <summary>
    /// Clears every parameter's gradient before the next backward, as optimizer.zero_grad(). By default
    /// (<paramref name="setToNone"/>, PyTorch's default since 2.0) each <see cref="Tensor.Grad"/> becomes null: the next
    /// backward copies its first contribution into the old array instead of adding it to zeros, and <see cref="Step"/>
    /// skips a parameter that got no gradient. With setToNone false the gradients are filled with zeros in place.
    /// A gradient tensor taken before a set-to-none call must be cloned to keep its values: its array is reused.
    /// </summary>
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (var p in _parameters)
        {
            if (setToNone) p.ParkGrad();
            else p.Grad?.Fill(0f);
        }
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
