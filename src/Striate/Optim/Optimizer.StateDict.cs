using System.Globalization;

namespace Striate.Optim;

public abstract partial class Optimizer
{
    /// <summary>Names of the per-parameter state tensors this optimizer may keep (e.g. "exp_avg").</summary>
    protected abstract IReadOnlyList<string> BufferNames { get; }

    /// <summary>State tensor <paramref name="name"/> of parameter <paramref name="index"/>, or null if it has none yet.</summary>
    protected abstract Tensor? GetBuffer(int index, string name);

    /// <summary>Replaces (or, with null, drops) state tensor <paramref name="name"/> of parameter <paramref name="index"/>.</summary>
    protected abstract void SetBuffer(int index, string name, Tensor? buffer);

    /// <summary>The state tensors a parameter that has stepped must have under the given hyperparameters.</summary>
    protected abstract IEnumerable<string> RequiredBuffers(IReadOnlyDictionary<string, float> hyperparameters);

    /// <summary>Names of the scalar hyperparameters besides "lr" (booleans are stored as 0 or 1).</summary>
    protected abstract IReadOnlyList<string> HyperparameterNames { get; }

    /// <summary>The current value of hyperparameter <paramref name="name"/>.</summary>
    protected abstract float GetHyperparameter(string name);

    /// <summary>Throws (naming the key) if the hyperparameters do not form a valid configuration; does not apply them.</summary>
    protected abstract void ValidateHyperparameters(IReadOnlyDictionary<string, float> hyperparameters);

    /// <summary>Applies hyperparameters already accepted by <see cref="ValidateHyperparameters"/>.</summary>
    protected abstract void ApplyHyperparameters(IReadOnlyDictionary<string, float> hyperparameters);

    /// <summary>
    /// A checkpoint of this optimizer: <c>lr</c> and the other hyperparameters as one-element tensors, and for
    /// every parameter that has stepped <c>state.{index}.step</c> plus its state tensors
    /// (<c>state.{index}.momentum_buffer</c>, <c>state.{index}.exp_avg</c>, …). The tensors are copies. With more than
    /// one parameter group, each group g adds <c>param_groups.g.params</c> (its parameter count),
    /// <c>param_groups.g.initial_lr</c> and <c>param_groups.g.base_lr</c> (its learning rate and the default one when the
    /// optimizer was built: the group's lr is lr × initial_lr / base_lr) and, when it has its own,
    /// <c>param_groups.g.weight_decay</c>.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> StateDict()
    {
        var dict = new Dictionary<string, Tensor>(StringComparer.Ordinal) { ["lr"] = ScalarState(_learningRate) };
        foreach (var name in HyperparameterNames) dict[name] = ScalarState(GetHyperparameter(name));
        if (GroupCount > 1)
            for (int g = 0; g < GroupCount; g++)
            {
                dict[GroupKey(g, "params")] = ScalarState(_groupSizes[g]);
                dict[GroupKey(g, "initial_lr")] = ScalarState(_groupInitialLr[g]);
                dict[GroupKey(g, "base_lr")] = ScalarState(_initialLr);
                if (_groupWeightDecay[g] is float wd) dict[GroupKey(g, "weight_decay")] = ScalarState(wd);
            }
        for (int i = 0; i < _parameters.Length; i++)
        {
            if (_steps[i] == 0) continue;
            dict[Key(i, "step")] = ScalarState(_steps[i]);
            foreach (var name in BufferNames)
            {
                var buffer = GetBuffer(i, name);
                if (buffer is null) continue;
                var copy = Tensor.AllocatePersistent(buffer.Shape);
                buffer.ReadOnlySpan.CopyTo(copy.Span);
                dict[Key(i, name)] = copy;
            }
        }
        return dict;
    }

    /// <summary>
    /// Restores a checkpoint made by <see cref="StateDict"/> of an optimizer of the same kind over parameters of
    /// the same shapes. Strict: every hyperparameter must be present, no unknown key is accepted, state shapes
    /// must match their parameters; nothing changes unless the whole dictionary is valid.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict) => Apply(Check(stateDict));

    /// <summary>
    /// Throws (naming the key and what was expected) if <see cref="LoadStateDict"/> would refuse
    /// <paramref name="stateDict"/>; changes nothing. Lets a checkpoint check every part before applying any.
    /// </summary>
    public void ValidateStateDict(IReadOnlyDictionary<string, Tensor> stateDict) => Check(stateDict);

    /// <summary>The largest step count accepted from a checkpoint: far beyond any run, small enough that the bias
    /// corrections and the float that stores it stay meaningful (1e30 steps turned Adam's next step into NaN).</summary>
    public const float MaxRestoredStep = 1L << 31;

    private sealed record CheckedState(float LearningRate, Dictionary<string, float> Hyperparameters, long?[] Steps,
        Dictionary<(int, string), Tensor> Buffers, Dictionary<(int, string), float> GroupValues);

    private CheckedState Check(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        string op = $"{Name}.LoadStateDict";
        var hyper = new Dictionary<string, float>(StringComparer.Ordinal);
        var steps = new long?[_parameters.Length];
        var buffers = new Dictionary<(int, string), Tensor>();
        var groupValues = new Dictionary<(int, string), float>();

        foreach (var (key, value) in stateDict)
        {
            if (value is null) throw new ArgumentException($"{op}: key '{key}' holds null.", nameof(stateDict));
            if (key.StartsWith("param_groups.", StringComparison.Ordinal))
            {
                var gp = key.Split('.');
                if (gp.Length != 3 || !int.TryParse(gp[1], NumberStyles.None, CultureInfo.InvariantCulture, out int g) || gp[2] is not ("params" or "initial_lr" or "base_lr" or "weight_decay"))
                    throw new ArgumentException($"{op}: unexpected key '{key}'; expected 'param_groups.<group>.params', '.initial_lr', '.base_lr' or '.weight_decay'.", nameof(stateDict));
                if (GroupCount == 1 || g >= GroupCount)
                    throw new ArgumentException($"{op}: key '{key}' belongs to parameter group {g}, but this optimizer has {GroupCount} group{(GroupCount == 1 ? "" : "s")}; build it with the same groups as the one saved.", nameof(stateDict));
                float v = SingleValue(op, key, value);
                if (!(v >= 0) || float.IsInfinity(v))
                    throw new ArgumentException($"{op}: key '{key}' holds {v}; expected a finite number ≥ 0.", nameof(stateDict));
                groupValues[(g, gp[2])] = v;
                continue;
            }
            if (key == "lr" || HyperparameterNames.Contains(key))
            {
                hyper[key] = SingleValue(op, key, value);
                continue;
            }
            var parts = key.Split('.');
            if (parts.Length != 3 || parts[0] != "state"
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int index))
                throw new ArgumentException($"{op}: unexpected key '{key}'; expected 'lr', {string.Join(", ", HyperparameterNames.Select(n => $"'{n}'"))} or 'state.<index>.<name>'.", nameof(stateDict));
            if (index >= _parameters.Length)
                throw new ArgumentException($"{op}: key '{key}' refers to parameter {index}, but this optimizer has {_parameters.Length} parameters.", nameof(stateDict));
            string name = parts[2];
            if (name == "step")
            {
                float s = SingleValue(op, key, value);
                if (!(s >= 0 && s <= MaxRestoredStep) || s != MathF.Floor(s))
                    throw new ArgumentException($"{op}: key '{key}' holds {s}; expected a whole number of steps from 0 to {MaxRestoredStep}.", nameof(stateDict));
                steps[index] = (long)s;
            }
            else if (BufferNames.Contains(name))
            {
                var expected = _parameters[index].Shape;
                if (!value.Shape.SequenceEqual(expected))
                    throw new ArgumentException($"{op}: key '{key}' has shape {Tensor.FormatShape(value.Shape)}, but parameter {index} has shape {Tensor.FormatShape(expected)}.", nameof(stateDict));
                // A non-finite moment (or a negative second moment) turns the next step's weights into NaN.
                var values = value.ReadOnlySpan;
                for (int j = 0; j < values.Length; j++)
                    if (!float.IsFinite(values[j]) || (values[j] < 0 && IsNonNegativeBuffer(name)))
                        throw new ArgumentException($"{op}: key '{key}' element {j} is {values[j]}; expected a finite number{(IsNonNegativeBuffer(name) ? " ≥ 0" : "")}.", nameof(stateDict));
                buffers[(index, name)] = value;
            }
            else
                throw new ArgumentException($"{op}: unexpected key '{key}'; per-parameter state of {Name} is 'step'{string.Concat(BufferNames.Select(n => $", '{n}'"))}.", nameof(stateDict));
        }

        foreach (var name in HyperparameterNames.Prepend("lr"))
            if (!hyper.ContainsKey(name)) throw new ArgumentException($"{op}: missing key '{name}'.", nameof(stateDict));
        if (GroupCount > 1)
            for (int g = 0; g < GroupCount; g++)
            {
                foreach (var field in new[] { "params", "initial_lr", "base_lr" })
                    if (!groupValues.ContainsKey((g, field)))
                        throw new ArgumentException($"{op}: missing key '{GroupKey(g, field)}' (this optimizer has {GroupCount} parameter groups; was the state saved from one with a single group?).", nameof(stateDict));
                if (groupValues[(g, "base_lr")] != groupValues[(0, "base_lr")])
                    throw new ArgumentException($"{op}: parameter groups 0 and {g} disagree on base_lr ({groupValues[(0, "base_lr")]} and {groupValues[(g, "base_lr")]}).", nameof(stateDict));
                float size = groupValues[(g, "params")];
                if (size != _groupSizes[g])
                    throw new ArgumentException($"{op}: key '{GroupKey(g, "params")}' says parameter group {g} had {size} parameters, but here it has {_groupSizes[g]}.", nameof(stateDict));
            }
        float lr = hyper["lr"];
        if (!(lr >= 0) || float.IsInfinity(lr))
            throw new ArgumentException($"{op}: key 'lr' holds {lr}; expected a finite number ≥ 0.", nameof(stateDict));
        ValidateHyperparameters(hyper);

        var required = RequiredBuffers(hyper).ToArray();
        for (int i = 0; i < _parameters.Length; i++)
        {
            if (steps[i] is null)
            {
                foreach (var name in BufferNames)
                    if (buffers.ContainsKey((i, name)))
                        throw new ArgumentException($"{op}: key '{Key(i, name)}' is present but '{Key(i, "step")}' is missing.", nameof(stateDict));
                continue;
            }
            if (steps[i] == 0) continue;
            foreach (var name in required)
                if (!buffers.ContainsKey((i, name)))
                    throw new ArgumentException($"{op}: missing key '{Key(i, name)}' (parameter {i} has taken {steps[i]} steps).", nameof(stateDict));
        }

        return new CheckedState(lr, hyper, steps, buffers, groupValues);
    }

    private void Apply(CheckedState state)
    {
        var (lr, hyper, steps, buffers, groupValues) = state;
        _learningRate = lr;
        if (GroupCount > 1)
            for (int g = 0; g < GroupCount; g++)
            {
                _groupInitialLr[g] = groupValues[(g, "initial_lr")];
                _initialLr = groupValues[(g, "base_lr")];
                _groupWeightDecay[g] = groupValues.TryGetValue((g, "weight_decay"), out float wd) ? wd : null;
            }
        ApplyHyperparameters(hyper);
        for (int i = 0; i < _parameters.Length; i++)
        {
            _steps[i] = steps[i] ?? 0;
            foreach (var name in BufferNames)
            {
                if (!buffers.TryGetValue((i, name), out var source)) { SetBuffer(i, name, null); continue; }
                var copy = NewState(i);
                source.ReadOnlySpan.CopyTo(copy.Span);
                SetBuffer(i, name, copy);
            }
        }
    }

    /// <summary>True for state that is a running mean of squares (Adam's exp_avg_sq), which cannot be negative.</summary>
    protected virtual bool IsNonNegativeBuffer(string name) => false;

    private static string Key(int index, string name) => $"state.{index}.{name}";

    private static string GroupKey(int group, string name) => $"param_groups.{group}.{name}";

    private static Tensor ScalarState(float value)
    {
        var t = Tensor.AllocatePersistent([1]);
        t.Span[0] = value;
        return t;
    }

    private static float SingleValue(string op, string key, Tensor value)
    {
        if (value.Numel != 1)
            throw new ArgumentException($"{op}: key '{key}' has shape {Tensor.FormatShape(value.Shape)}; expected a single value.", "stateDict");
        return value.ReadOnlySpan[0];
    }

    /// <summary>Reads a boolean hyperparameter stored as 0 or 1, naming the key if it is anything else.</summary>
    protected bool ReadFlag(IReadOnlyDictionary<string, float> hyperparameters, string key)
    {
        float v = hyperparameters[key];
        if (v != 0 && v != 1)
            throw new ArgumentException($"{Name}.LoadStateDict: key '{key}' holds {v}; expected 0 or 1.", "stateDict");
        return v == 1;
    }
}
