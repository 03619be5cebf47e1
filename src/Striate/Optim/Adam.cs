using System.Globalization;
using Striate.Kernels;

namespace Striate.Optim;

/// <summary>
/// Adam (Kingma &amp; Ba 2015) with torch.optim.Adam's (1.13) arithmetic: g = grad + wd·p; m = β1·m + (1 − β1)·g;
/// v = β2·v + (1 − β2)·g²; p −= (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + eps). With <c>amsgrad</c>
/// (Reddi et al. 2018) the running maximum of v replaces v in the denominator.
/// </summary>
/// <remarks>Shapes: state <c>exp_avg</c>, <c>exp_avg_sq</c> (and <c>max_exp_avg_sq</c>) have each parameter's shape.</remarks>
public class Adam : Optimizer
{
    private static readonly string[] Buffers = ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"];
    private static readonly string[] Hyper = ["beta1", "beta2", "eps", "weight_decay", "amsgrad"];
    private readonly Tensor?[] _expAvg, _expAvgSq, _maxExpAvgSq;
    private readonly bool _decoupled;
    private double _beta1;

    /// <summary>Adam over <paramref name="parameters"/>; arguments mean what they mean in torch.optim.Adam (betas = (beta1, beta2)).</summary>
    public Adam(IEnumerable<Tensor> parameters, float lr = 1e-3f, double beta1 = 0.9, double beta2 = 0.999, float eps = 1e-8f,
        float weightDecay = 0f, bool amsgrad = false)
        : this([new ParamGroup(parameters ?? throw new ArgumentNullException(nameof(parameters)))], lr, beta1, beta2, eps, weightDecay, amsgrad, decoupledWeightDecay: false, nameof(Adam))
    {
    }

    /// <summary>Adam over parameter <paramref name="groups"/>: a group's learning rate and weight decay replace <paramref name="lr"/> and <paramref name="weightDecay"/>.</summary>
    public Adam(IEnumerable<ParamGroup> groups, float lr = 1e-3f, double beta1 = 0.9, double beta2 = 0.999, float eps = 1e-8f,
        float weightDecay = 0f, bool amsgrad = false)
        : this(groups, lr, beta1, beta2, eps, weightDecay, amsgrad, decoupledWeightDecay: false, nameof(Adam))
    {
    }

    /// <summary>For <see cref="AdamW"/>: <paramref name="decoupledWeightDecay"/> shrinks p by (1 − lr·wd) instead of adding wd·p to g.</summary>
    protected Adam(IEnumerable<ParamGroup> groups, float lr, double beta1, double beta2, float eps, float weightDecay, bool amsgrad,
        bool decoupledWeightDecay, string name)
        : base(groups, lr, name)
    {
        CheckBeta(beta1, nameof(beta1));
        CheckBeta(beta2, nameof(beta2));
        CheckNonNegative(eps, nameof(eps));
        CheckNonNegative(weightDecay, nameof(weightDecay));
        _beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
        AmsGrad = amsgrad;
        _decoupled = decoupledWeightDecay;
        int n = Parameters.Count;
        _expAvg = new Tensor?[n];
        _expAvgSq = new Tensor?[n];
        _maxExpAvgSq = new Tensor?[n];
    }

    /// <summary>β1, the first-moment decay (OneCycleLR cycles it as momentum). In [0, 1).</summary>
    public double Beta1
    {
        get => _beta1;
        set { CheckBeta(value, nameof(Beta1)); _beta1 = value; }
    }

    /// <summary>β2, the second-moment decay.</summary>
    public double Beta2 { get; private set; }

    /// <summary>Term added to the denominator for numerical stability.</summary>
    public float Eps { get; private set; }

    /// <summary>Weight decay (an L2 term for Adam, decoupled for AdamW).</summary>
    public float WeightDecay { get; private set; }

    /// <summary>Whether the AMSGrad variant is used.</summary>
    public bool AmsGrad { get; private set; }

    /// <inheritdoc/>
    protected override void Update(int index, Tensor parameter, Tensor grad, long step)
    {
        var m = _expAvg[index] ??= NewState(index);
        var v = _expAvgSq[index] ??= NewState(index);
        Span<float> vMax = AmsGrad ? (_maxExpAvgSq[index] ??= NewState(index)).Span : default;
        // Bias corrections in double, as PyTorch computes them in Python floats.
        double lr = LearningRateOf(index);
        float weightDecay = WeightDecayOf(index, WeightDecay);
        double biasCorrection1 = 1 - Math.Pow(_beta1, step);
        double biasCorrection2 = 1 - Math.Pow(Beta2, step);
        float stepSize = (float)(lr / biasCorrection1);
        float bc2Sqrt = (float)Math.Sqrt(biasCorrection2);
        float paramScale = _decoupled ? (float)(1 - lr * weightDecay) : 1f;
        float l2 = _decoupled ? 0f : weightDecay;
        OptimizerKernels.AdamStep(parameter.Span, grad.ReadOnlySpan, m.Span, v.Span, vMax, stepSize, _beta1, Beta2, Eps, l2, bc2Sqrt, paramScale);
    }

    private void CheckBeta(double beta, string argument)
    {
        if (!(beta >= 0 && beta < 1))
            throw new ArgumentOutOfRangeException(argument, beta, $"{Name}: {argument} must be in [0, 1), got {beta}.");
    }

    /// <inheritdoc/>
    protected override IReadOnlyList<string> BufferNames => Buffers;

    /// <inheritdoc/>
    protected override Tensor? GetBuffer(int index, string name) => name switch
    {
        "exp_avg" => _expAvg[index],
        "exp_avg_sq" => _expAvgSq[index],
        "max_exp_avg_sq" => _maxExpAvgSq[index],
        _ => null,
    };

    /// <inheritdoc/>
    protected override void SetBuffer(int index, string name, Tensor? buffer)
    {
        switch (name)
        {
            case "exp_avg": _expAvg[index] = buffer; break;
            case "exp_avg_sq": _expAvgSq[index] = buffer; break;
            case "max_exp_avg_sq": _maxExpAvgSq[index] = buffer; break;
        }
    }

    /// <inheritdoc/>
    protected override IEnumerable<string> RequiredBuffers(IReadOnlyDictionary<string, float> hyperparameters) =>
        hyperparameters["amsgrad"] == 1 ? Buffers : Buffers[..2];

    /// <inheritdoc/>
    protected override bool IsNonNegativeBuffer(string name) => name is "exp_avg_sq" or "max_exp_avg_sq";

    /// <inheritdoc/>
    protected override IReadOnlyList<string> HyperparameterNames => Hyper;

    /// <inheritdoc/>
    protected override float GetHyperparameter(string name) => name switch
    {
        "beta1" => (float)_beta1,
        "beta2" => (float)Beta2,
        "eps" => Eps,
        "weight_decay" => WeightDecay,
        "amsgrad" => AmsGrad ? 1f : 0f,
        _ => throw new ArgumentException($"{Name}: unknown hyperparameter '{name}'.", nameof(name)),
    };

    /// <inheritdoc/>
    protected override void ValidateHyperparameters(IReadOnlyDictionary<string, float> h)
    {
        foreach (var key in new[] { "beta1", "beta2" })
            if (!(h[key] >= 0 && h[key] < 1))
                throw new ArgumentException($"{Name}.LoadStateDict: key '{key}' holds {h[key]}; expected a value in [0, 1).", "stateDict");
        foreach (var key in new[] { "eps", "weight_decay" })
            if (!(h[key] >= 0) || float.IsInfinity(h[key]))
                throw new ArgumentException($"{Name}.LoadStateDict: key '{key}' holds {h[key]}; expected a finite number ≥ 0.", "stateDict");
        ReadFlag(h, "amsgrad");
    }

    // The state dict holds betas as float32; the shortest decimal that round-trips the float recovers the value
    // the user typed (0.999f → 0.999), which matters because 1 − β2 is sensitive to β2's last bits.
    private static double Widen(float value) =>
        double.Parse(value.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    protected override void ApplyHyperparameters(IReadOnlyDictionary<string, float> h)
    {
        _beta1 = Widen(h["beta1"]);
        Beta2 = Widen(h["beta2"]);
        Eps = h["eps"];
        WeightDecay = h["weight_decay"];
        AmsGrad = h["amsgrad"] == 1;
    }
}

/// <summary>
/// AdamW (Loshchilov &amp; Hutter 2019) as torch.optim.AdamW (1.13): p *= (1 − lr·wd) first, then the Adam update
/// without the L2 term.
/// </summary>
/// <remarks>Shapes: as <see cref="Adam"/>.</remarks>
public sealed class AdamW : Adam
{
    /// <summary>AdamW over <paramref name="parameters"/>; arguments mean what they mean in torch.optim.AdamW.</summary>
    public AdamW(IEnumerable<Tensor> parameters, float lr = 1e-3f, double beta1 = 0.9, double beta2 = 0.999, float eps = 1e-8f,
        float weightDecay = 1e-2f, bool amsgrad = false)
        : base([new ParamGroup(parameters ?? throw new ArgumentNullException(nameof(parameters)))], lr, beta1, beta2, eps, weightDecay, amsgrad, decoupledWeightDecay: true, nameof(AdamW))
    {
    }

    /// <summary>AdamW over parameter <paramref name="groups"/>: a group's learning rate and weight decay replace <paramref name="lr"/> and <paramref name="weightDecay"/>.</summary>
    public AdamW(IEnumerable<ParamGroup> groups, float lr = 1e-3f, double beta1 = 0.9, double beta2 = 0.999, float eps = 1e-8f,
        float weightDecay = 1e-2f, bool amsgrad = false)
        : base(groups, lr, beta1, beta2, eps, weightDecay, amsgrad, decoupledWeightDecay: true, nameof(AdamW))
    {
    }
}
