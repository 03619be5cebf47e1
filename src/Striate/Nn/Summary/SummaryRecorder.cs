using Striate.Autograd;

namespace Striate.Nn;

/// <summary>
/// Runs one forward pass of a model on a zero image with hooks on every leaf layer and records each call's output
/// shape, MACs and receptive field (see <see cref="Module.Summary(int[])"/>).
/// </summary>
/// <remarks>
/// The receptive field travels with tensors: each leaf's output is mapped (by reference) to its field, and a leaf's
/// input field is looked up by the identity of its input tensor. An input no leaf produced — made by a functional op
/// in a parent's Forward (F.Add of a residual, F.Concat of branches, a flatten view) — takes the field of the
/// recorded tensor that matches it best: among recorded maps of the same spatial size (4-D inputs) or the same
/// element count (other inputs), the one with the largest r, the most recent on ties; with no such tensor, the
/// largest r recorded so far. For sums and concatenations this is the field of the widest branch, which is what
/// the union of the branch fields is when the branches are centred alike.
/// </remarks>
internal sealed class SummaryRecorder
{
    private readonly Dictionary<Tensor, ReceptiveField> _fields = new(ReferenceEqualityComparer.Instance);
    private readonly List<(Tensor Tensor, ReceptiveField Field)> _recorded = new();
    private readonly HashSet<float[]> _storages = new(ReferenceEqualityComparer.Instance);
    private readonly List<LayerSummary> _layers = new();
    private readonly HashSet<Module> _ran = new(ReferenceEqualityComparer.Instance);
    private long _trainingBytes, _inferenceBytes;
    private (string Name, Module Module, Tensor Input)? _current;
    private string? _lastFinished;

    public static ModelSummary Run(Module model, int[] imageShape)
    {
        if (imageShape.Length == 0 || imageShape.Any(d => d <= 0))
            throw new ArgumentException($"Summary: input shape must be non-empty with positive sizes (C, H, W), got [{string.Join(", ", imageShape)}].", nameof(imageShape));
        var recorder = new SummaryRecorder();
        var leaves = new List<KeyValuePair<string, Module>>();
        var names = new Dictionary<Module, string>(ReferenceEqualityComparer.Instance);
        foreach (var (name, module) in model.NamedModules())
        {
            if (module.NamedChildren().Any() || names.ContainsKey(module)) continue;
            names[module] = name;
            leaves.Add(new(name, module));
        }

        var modes = model.NamedModules().Select(p => (p.Value, p.Value.Training)).ToList();
        var hooks = new List<IDisposable>();
        Tensor output;
        try
        {
            foreach (var (name, module) in leaves)
            {
                hooks.Add(module.RegisterForwardPreHook((m, input) => recorder._current = (name, m, input)));
                hooks.Add(module.RegisterForwardHook((m, input, output) => recorder.OnLayer(name, m, input, output)));
            }
            model.Eval();
            using var noGrad = GradMode.NoGrad();
            var input = Tensor.Zeros([1, .. imageShape]);
            recorder.Record(input, imageShape.Length == 3 ? ReceptiveField.OfInput(imageShape[1], imageShape[2]) : ReceptiveField.OfInput(1, 1));
            recorder._storages.Add(input.Storage);
            recorder._trainingBytes = input.Numel * 4L;
            try
            {
                output = model.Call(input);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw recorder.Explain(model, imageShape, e);
            }
        }
        finally
        {
            foreach (var hook in hooks) hook.Dispose();
            foreach (var (module, training) in modes) module.SetTrainingFlag(training);
        }

        foreach (var (name, module) in leaves)
        {
            if (!recorder._ran.Contains(module))
                recorder._layers.Add(new LayerSummary(name, module.TypeName, [], module.ParameterCount(), 0, default) { Ran = false });
        }
        var parameters = model.Parameters().ToList();
        return new ModelSummary(model.TypeName, imageShape.ToArray(), recorder._layers,
            parameters.Sum(p => (long)p.Numel), parameters.Where(p => p.RequiresGrad).Sum(p => (long)p.Numel),
            recorder._layers.Sum(l => l.Macs), recorder._inferenceBytes, recorder._trainingBytes)
        {
            OutputShape = output.ShapeArray[1..],
        };
    }

    private void Record(Tensor tensor, ReceptiveField field)
    {
        _fields[tensor] = field;
        _recorded.Add((tensor, field));
    }

    private void OnLayer(string name, Module module, Tensor input, Tensor output)
    {
        _current = null;
        _lastFinished = name;
        _ran.Add(module);
        bool inferred = !_fields.TryGetValue(input, out var field);
        if (inferred) field = Fallback(input);
        if (input.Rank == 4) field = field.WithSpatial(input.Size(2), input.Size(3));
        var outField = Next(module, field, input, output);
        Record(output, outField);

        long outBytes = output.Numel * 4L, inBytes = input.Numel * 4L;
        if (_storages.Add(output.Storage)) _trainingBytes += outBytes;
        _inferenceBytes = Math.Max(_inferenceBytes, ReferenceEquals(input.Storage, output.Storage) ? outBytes : inBytes + outBytes);
        _layers.Add(new LayerSummary(name, module.TypeName, output.ShapeArray[1..], module.ParameterCount(),
            MacCounter.Count(module, input, output), outField) { InputInferred = inferred });
    }

    /// <summary>The field of an input no leaf produced (the rule in the class remarks).</summary>
    private ReceptiveField Fallback(Tensor input)
    {
        (Tensor Tensor, ReceptiveField Field)? best = null, widest = null;
        foreach (var entry in _recorded)
        {
            if (widest == null || Area(entry.Field) >= Area(widest.Value.Field)) widest = entry;
            var t = entry.Tensor;
            bool matches = input.Rank == 4
                ? t.Rank == 4 && t.Size(2) == input.Size(2) && t.Size(3) == input.Size(3)
                : t.Numel == input.Numel;
            if (matches && (best == null || Area(entry.Field) >= Area(best.Value.Field))) best = entry;
        }
        return (best ?? widest)!.Value.Field;
    }

    private static double Area(ReceptiveField f) => f.Size.H * f.Size.W;

    /// <summary>The field of a layer's output from its input's (Araujo et al. 2019, eq. 1–2 per axis).</summary>
    private static ReceptiveField Next(Module module, ReceptiveField field, Tensor input, Tensor output)
    {
        bool spatialOut = output.Rank == 4;
        int oh = spatialOut ? output.Size(2) : 1, ow = spatialOut ? output.Size(3) : 1;
        return module switch
        {
            Conv2d c => field.Window(c.KernelSize, c.Stride, c.Padding, c.Dilation, oh, ow),
            MaxPool2d p => field.Window(p.KernelSize, p.Stride, p.Padding, 1, oh, ow),
            AvgPool2d p => field.Window(p.KernelSize, p.Stride, p.Padding, 1, oh, ow),
            AdaptiveAvgPool2d or AdaptiveMaxPool2d => field.Adaptive(oh, ow),
            // Every output of these sees the whole map.
            SpatialPyramidPool or Linear => field.Global(),
            // Another layer that changes the spatial size: treated as adaptive pooling (exact for k = s = n/m).
            _ when spatialOut && input.Rank == 4 && (oh, ow) != (input.Size(2), input.Size(3)) => field.Adaptive(oh, ow),
            // 1×1, elementwise, normalization, dropout, flatten: the field passes through.
            _ => spatialOut ? field.WithSpatial(oh, ow) : field,
        };
    }

    /// <summary>A forward failure restated with the layer that failed and what it expected.</summary>
    private ArgumentException Explain(Module model, int[] imageShape, Exception e)
    {
        string reason = e is ArgumentException { ParamName: { } param } a ? a.Message.Replace($" (Parameter '{param}')", "") : e.Message;
        string image = string.Join("×", imageShape);
        if (_current is not { } cur)
        {
            string where = _lastFinished == null ? "before its first layer" : $"after layer '{_lastFinished}'";
            return new ArgumentException($"{model.TypeName}: input {image} does not fit; the forward pass failed {where}: {reason}", e);
        }
        string layer = $"layer '{(cur.Name.Length == 0 ? model.TypeName : cur.Name)}' ({cur.Module.TypeName})";
        string got = Tensor.FormatShape(cur.Input.Shape);
        string? expects = cur.Module switch
        {
            Conv2d c when cur.Input.Rank == 4 && cur.Input.Size(1) != c.InChannels => $"{layer} expects {c.InChannels} input channels, got {cur.Input.Size(1)} (input {got})",
            BatchNormBase b when cur.Input.Rank >= 2 && cur.Input.Size(1) != b.NumFeatures => $"{layer} expects {b.NumFeatures} channels, got {cur.Input.Size(1)} (input {got})",
            Linear l when cur.Input.Size(-1) != l.InFeatures => $"{layer} expects {l.InFeatures} input features, got {cur.Input.Size(-1)} (input {got}; the image size sets the flattened feature count)",
            _ => null,
        };
        return new ArgumentException($"{model.TypeName}: input {image} does not fit: {expects ?? $"{layer} failed on input {got}: {reason}"}", e);
    }
}
