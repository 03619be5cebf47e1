using Striate.Kernels;

namespace Striate.Optim;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, L2 weight decay and Nesterov momentum
/// (Sutskever et al. 2013), with torch.optim.SGD's (1.13) update: g = grad + wd·p; with momentum,
/// buf = g on a parameter's first step, else buf = μ·buf + (1 − dampening)·g, and g = nesterov ? g + μ·buf : buf;
/// then p −= lr·g.
/// </summary>
/// <remarks>Shapes: state <c>momentum_buffer</c> has each parameter's shape (only when momentum ≠ 0).</remarks>
public sealed class Sgd : Optimizer
{
    private static readonly string[] Buffers = ["momentum_buffer"];
    private static readonly string[] Hyper = ["momentum", "dampening", "weight_decay", "nesterov"];
    private readonly Tensor?[] _momentumBuffers;
    private float _momentum;

    /// <summary>SGD over <paramref name="parameters"/>; arguments mean what they mean in torch.optim.SGD.</summary>
    public Sgd(IEnumerable<Tensor> parameters, float lr, float momentum = 0f, float dampening = 0f, float weightDecay = 0f, bool nesterov = false)
        : this([new ParamGroup(parameters ?? throw new ArgumentNullException(nameof(parameters)))], lr, momentum, dampening, weightDecay, nesterov)
    {
    }

    /// <summary>
    /// SGD over parameter <paramref name="groups"/> (torch.optim.SGD given param_groups): a group's learning rate and
    /// weight decay replace <paramref name="lr"/> and <paramref name="weightDecay"/> for its parameters.
    /// </summary>
    public Sgd(IEnumerable<ParamGroup> groups, float lr, float momentum = 0f, float dampening = 0f, float weightDecay = 0f, bool nesterov = false)
        : base(groups, lr, nameof(Sgd))
    {
        CheckNonNegative(momentum, nameof(momentum));
        CheckNonNegative(dampening, nameof(dampening));
        CheckNonNegative(weightDecay, nameof(weightDecay));
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException($"Sgd: Nesterov momentum requires momentum > 0 and dampening = 0, got momentum {momentum} and dampening {dampening}.", nameof(nesterov));
        _momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
        _momentumBuffers = new Tensor?[Parameters.Count];
    }

    /// <summary>Momentum factor μ (OneCycleLR cycles it). Must stay &gt; 0 with Nesterov.</summary>
    public float Momentum
    {
        get => _momentum;
        set
        {
            CheckNonNegative(value, nameof(Momentum));
            if (Nesterov && value <= 0)
                throw new ArgumentOutOfRangeException(nameof(Momentum), value, "Sgd: Nesterov momentum requires momentum > 0.");
            _momentum = value;
        }
    }

    /// <summary>Dampening for momentum.</summary>
    public float Dampening { get; private set; }

    /// <summary>L2 penalty added to the gradient.</summary>
    public float WeightDecay { get; private set; }

    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; private set; }

    /// <inheritdoc/>
    protected override void Update(int index, Tensor parameter, Tensor grad, long step)
    {
        Span<float> buffer = default;
        bool initialize = false;
        if (_momentum != 0)
        {
            // As PyTorch: the buffer starts as a copy of the (decayed) gradient on its first use.
            var b = _momentumBuffers[index];
            if (b is null) { _momentumBuffers[index] = b = NewState(index); initialize = true; }
            buffer = b.Span;
        }
        OptimizerKernels.SgdStep(parameter.Span, grad.ReadOnlySpan, buffer, LearningRateOf(index), _momentum, Dampening, WeightDecayOf(index, WeightDecay), Nesterov, initialize);
    }

    /// <inheritdoc/>
    protected override IReadOnlyList<string> BufferNames => Buffers;

    /// <inheritdoc/>
    protected override Tensor? GetBuffer(int index, string name) => name == "momentum_buffer" ? _momentumBuffers[index] : null;

    /// <inheritdoc/>
    protected override void SetBuffer(int index, string name, Tensor? buffer)
    {
        if (name == "momentum_buffer") _momentumBuffers[index] = buffer;
    }

    // A stepped parameter may lack a buffer: momentum may have been 0 for all its steps.
    /// <inheritdoc/>
    protected override IEnumerable<string> RequiredBuffers(IReadOnlyDictionary<string, float> hyperparameters) => [];

    /// <inheritdoc/>
    protected override IReadOnlyList<string> HyperparameterNames => Hyper;

    /// <inheritdoc/>
    protected override float GetHyperparameter(string name) => name switch
    {
        "momentum" => _momentum,
        "dampening" => Dampening,
        "weight_decay" => WeightDecay,
        "nesterov" => Nesterov ? 1f : 0f,
        _ => throw new ArgumentException($"Sgd: unknown hyperparameter '{name}'.", nameof(name)),
    };

    /// <inheritdoc/>
    protected override void ValidateHyperparameters(IReadOnlyDictionary<string, float> h)
    {
        foreach (var key in new[] { "momentum", "dampening", "weight_decay" })
            if (!(h[key] >= 0) || float.IsInfinity(h[key]))
                throw new ArgumentException($"Sgd.LoadStateDict: key '{key}' holds {h[key]}; expected a finite number ≥ 0.", "stateDict");
        if (ReadFlag(h, "nesterov") && (h["momentum"] <= 0 || h["dampening"] != 0))
            throw new ArgumentException($"Sgd.LoadStateDict: key 'nesterov' is 1 but Nesterov momentum requires momentum > 0 and dampening = 0 (got {h["momentum"]} and {h["dampening"]}).", "stateDict");
    }

    /// <inheritdoc/>
    protected override void ApplyHyperparameters(IReadOnlyDictionary<string, float> h)
    {
        _momentum = h["momentum"];
        Dampening = h["dampening"];
        WeightDecay = h["weight_decay"];
        Nesterov = h["nesterov"] == 1;
    }
}
