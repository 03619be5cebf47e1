using Striate.Nn;

namespace Striate.Insight;

/// <summary>
/// What every explanation method does around its forward/backward pass: the model goes into eval mode and its
/// parameters stop requiring grad (so no weight gradients are computed or accumulated into <c>.Grad</c>);
/// disposing puts both back exactly as they were.
/// </summary>
internal readonly struct InsightRun : IDisposable
{
    private readonly Module _model;
    private readonly bool _wasTraining;
    private readonly List<Tensor> _frozen;

    private InsightRun(Module model)
    {
        _model = model;
        _wasTraining = model.Training;
        _frozen = new List<Tensor>();
        foreach (var p in model.Parameters())
            if (p.RequiresGrad) { p.RequiresGrad = false; _frozen.Add(p); }
        model.Eval();
    }

    /// <summary>Eval mode and frozen parameters until disposed.</summary>
    public static InsightRun Begin(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new InsightRun(model);
    }

    public void Dispose()
    {
        foreach (var p in _frozen) p.RequiresGrad = true;
        _model.Train(_wasTraining);
    }

    /// <summary>
    /// Checks <paramref name="input"/> is one image [1, C, H, W] (or a batch [N, C, H, W] when allowed) with the
    /// channel count the model's first convolution expects; the message says what was expected.
    /// </summary>
    public static void CheckInput(Module model, Tensor input, string method, bool batch = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(input);
        // The expected channel count is known when the model's first leaf layer is a convolution (as in every CNN here).
        int? channels = (model.NamedModules().Select(p => p.Value).FirstOrDefault(m => !m.NamedChildren().Any()) as Conv2d)?.InChannels;
        string c = channels?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "C";
        string expected = batch ? $"[N, {c}, H, W] (a batch of images)" : $"[1, {c}, H, W] (one image with a batch dimension)";
        if (input.Rank != 4 || (!batch && input.Size(0) != 1) || input.Size(0) < 1 || (channels is int k && input.Size(1) != k))
            throw new ArgumentException($"{method}: the input has shape {Tensor.FormatShape(input.Shape)}, but it expects {expected}.");
    }

    /// <summary>The index of the largest value.</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    /// <summary>The class to explain: <paramref name="classIndex"/> if given (checked), else the predicted one.</summary>
    public static int ResolveClass(Tensor logits, int? classIndex, string method)
    {
        if (logits.Rank != 2 || logits.Size(0) != 1)
            throw new ArgumentException($"{method}: the model's output has shape {Tensor.FormatShape(logits.Shape)}; a classifier's [1, classes] is needed.");
        int classes = logits.Size(1);
        if (classIndex is int k)
        {
            if ((uint)k >= (uint)classes) throw new ArgumentException($"{method}: class {k} is out of range; the model has {classes} classes (0–{classes - 1}).");
            return k;
        }
        return ArgMax(logits.ReadOnlySpan);
    }

    /// <summary>A leaf copy of <paramref name="input"/> that requires grad (so ∂/∂x lands in its <c>Grad</c>).</summary>
    public static Tensor LeafCopy(Tensor input) => Tensor.FromArray(input.ReadOnlySpan, input.ShapeArray).RequireGrad();

    /// <summary>The gradient seed for y_c: one-hot [1, classes].</summary>
    public static Tensor OneHot(int classes, int index)
    {
        var t = Tensor.Zeros(1, classes);
        t.Span[index] = 1f;
        return t;
    }

    /// <summary>A result tensor no <see cref="TensorScope"/> reclaims.</summary>
    public static Tensor Result(ReadOnlySpan<float> data, params int[] shape)
    {
        var t = Tensor.AllocatePersistent(shape);
        data.CopyTo(t.Span);
        return t;
    }
}
