namespace Striate.Nn;

public abstract partial class Module
{
    /// <summary>
    /// Set by <see cref="Freeze"/> on every module it froze: its parameters take no gradient, and batch norm keeps its
    /// running statistics (it stays in eval mode when the model trains, as fine-tuning recipes ask).
    /// </summary>
    public bool Frozen { get; private set; }

    /// <summary>Whether this module stays in eval mode while <see cref="Frozen"/> (batch norm: its running statistics belong to the pretrained weights).</summary>
    protected virtual bool StaysInEvalWhenFrozen => false;

    /// <summary>
    /// Freezes the module at <paramref name="prefix"/> (a dotted module name such as "layer1" or "features.0"; "" for
    /// the whole model) and everything under it: their parameters stop requiring grad (and lose any gradient), so
    /// optimizers leave them alone and backward skips their weight gradients; batch norm among them stays in eval mode.
    /// Returns the frozen parameters' names. Throws when no module has that name.
    /// </summary>
    public IReadOnlyList<string> Freeze(string prefix = "") => SetFrozen(prefix, true);

    /// <summary>Undoes <see cref="Freeze"/> for the module at <paramref name="prefix"/> and everything under it; returns the parameters' names.</summary>
    public IReadOnlyList<string> Unfreeze(string prefix = "") => SetFrozen(prefix, false);

    /// <summary>The parameters that still require grad (what an optimizer should get after <see cref="Freeze"/>).</summary>
    public IEnumerable<Tensor> TrainableParameters() => Parameters().Where(p => p.RequiresGrad);

    /// <summary>
    /// The dotted name of the classifier: the last <see cref="Linear"/> in registration order (torchvision's ResNet and
    /// GoogLeNet <c>fc</c>, AlexNet, VGG and MobileNetV2 <c>classifier.N</c>, DenseNet <c>classifier</c>, the book's last
    /// Linear), or for a model without one (NiN) the last <see cref="Conv2d"/>. Null for a model with neither.
    /// </summary>
    public string? ClassifierName()
    {
        string? lastLinear = null, lastConv = null;
        foreach (var (name, module) in NamedModules())
        {
            if (module is Linear) lastLinear = name;
            else if (module is Conv2d) lastConv = name;
        }
        return lastLinear ?? lastConv;
    }

    /// <summary>
    /// Replaces the classifier (<see cref="ClassifierName"/>) by a freshly initialized one with
    /// <paramref name="numClasses"/> outputs (PyTorch's default layer initialization, drawn from
    /// <paramref name="generator"/>), as <c>model.fc = nn.Linear(model.fc.in_features, n)</c> does in PyTorch; the new
    /// layer is trainable even if it was frozen. Returns the replaced keys (e.g. fc.weight, fc.bias). Build optimizers
    /// after this: they hold the parameters they were given.
    /// </summary>
    public IReadOnlyList<string> ReplaceClassifier(int numClasses, Generator? generator = null)
    {
        if (numClasses <= 0) throw new ArgumentException($"ReplaceClassifier: the number of classes must be positive, got {numClasses}.", nameof(numClasses));
        string name = ClassifierName()
            ?? throw new InvalidOperationException($"ReplaceClassifier: {TypeName} has no Linear or Conv2d layer to use as its classifier.");
        var module = NamedModules().First(m => m.Key == name).Value;
        switch (module)
        {
            case Linear linear: linear.ReplaceOutputs(numClasses, generator); break;
            case Conv2d conv: conv.ReplaceOutputs(numClasses, generator); break;
        }
        module.Frozen = false;
        module.Training = Training;
        return module.NamedParameters(name).Select(p => p.Key).ToList();
    }

    /// <summary>Puts <paramref name="tensor"/> in place of the parameter called <paramref name="name"/> (for layers that change shape).</summary>
    protected void ReplaceParameter(string name, Tensor tensor)
    {
        int i = _parameters.FindIndex(p => p.Key == name);
        if (i < 0) throw new ArgumentException($"{TypeName}: no parameter named '{name}'.", nameof(name));
        tensor.RequiresGrad = true;
        _parameters[i] = new(name, tensor);
    }

    private IReadOnlyList<string> SetFrozen(string prefix, bool frozen)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var matched = NamedModules().Where(m => prefix.Length == 0 || m.Key == prefix || m.Key.StartsWith(prefix + ".", StringComparison.Ordinal)).ToList();
        if (matched.Count == 0)
            throw new ArgumentException($"{TypeName} has no module named '{prefix}'; its top-level modules are {string.Join(", ", NamedChildren().Select(c => c.Key))}.", nameof(prefix));
        var names = new List<string>();
        foreach (var (path, module) in matched)
        {
            module.Frozen = frozen;
            module.Training = frozen && module.StaysInEvalWhenFrozen ? false : Training;
            foreach (var (name, p) in module._parameters)
            {
                p.RequiresGrad = !frozen;
                if (frozen) p.Grad = null;
                names.Add(path.Length == 0 ? name : path + "." + name);
            }
        }
        return names;
    }
}

/// <summary>
/// What <see cref="Module.LoadFitting"/> did: the keys it copied, the file's keys it skipped (not in the model, or of
/// another shape, with both shapes) and the model's keys the file did not have (they keep their initialization).
/// </summary>
public sealed record FittingLoad(IReadOnlyList<string> Loaded, IReadOnlyList<string> Misshapen, IReadOnlyList<string> Unexpected, IReadOnlyList<string> Missing);

public abstract partial class Module
{
    /// <summary>
    /// Copies every tensor of <paramref name="state"/> whose name this module has with the same shape, and skips the
    /// rest (e.g. a 1000-class head when this model has 5 classes); returns what was loaded and skipped. For the strict
    /// load use <see cref="LoadStateDict"/>.
    /// </summary>
    public FittingLoad LoadFitting(IEnumerable<KeyValuePair<string, Tensor>> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var own = StateDict().ToDictionary(e => e.Key, e => e.Value);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var (loaded, misshapen, unexpected) = (new List<string>(), new List<string>(), new List<string>());
        foreach (var (name, tensor) in state)
        {
            seen.Add(name);
            if (!own.TryGetValue(name, out var target)) { unexpected.Add(name); continue; }
            if (!target.Shape.SequenceEqual(tensor.Shape))
            {
                misshapen.Add($"{name} (file {Tensor.FormatShape(tensor.Shape)}, model {Tensor.FormatShape(target.Shape)})");
                continue;
            }
            tensor.ReadOnlySpan.CopyTo(target.Span);
            loaded.Add(name);
        }
        return new FittingLoad(loaded, misshapen, unexpected, own.Keys.Where(k => !seen.Contains(k)).ToList());
    }
}
