namespace Striate.Nn;

/// <summary>
/// Runs its children in order, each on the previous one's output. Children are named "0", "1", … unless
/// added with names, as torch.nn.Sequential (and OrderedDict).
/// </summary>
public sealed class Sequential : Module
{
    private readonly List<Module> _layers = new();

    /// <summary>An empty container; add layers with <see cref="Add(Module)"/>.</summary>
    // Without it, `new Sequential()` matches both params constructors and does not compile.
    public Sequential() { }

    /// <summary>Children named by position.</summary>
    public Sequential(params Module[] layers)
    {
        foreach (var layer in layers) Add(layer);
    }

    /// <summary>Children with explicit names.</summary>
    public Sequential(params (string Name, Module Layer)[] layers)
    {
        foreach (var (name, layer) in layers) Add(name, layer);
    }

    /// <summary>Appends a layer named by its position.</summary>
    public Sequential Add(Module layer) => Add(_layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), layer);

    /// <summary>Appends a named layer.</summary>
    public Sequential Add(string name, Module layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        RegisterModule(name, layer);
        _layers.Add(layer);
        return this;
    }

    /// <summary>The number of layers.</summary>
    public int Count => _layers.Count;

    /// <summary>The layer at <paramref name="index"/>.</summary>
    public Module this[int index] => _layers[index];

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ExpectCall();
        var x = input;
        for (int i = 0; i < _layers.Count; i++)
        {
            if (_layers[i] is Conv2d c && i + 2 < _layers.Count && _layers[i + 1] is ReLU r && _layers[i + 2] is MaxPool2d pool && c.FusesReluMaxPool(r, pool, x))
            {
                x = c.ForwardReluMaxPool(x);
                i += 2;
                continue;
            }
            if (_layers[i] is Conv2d conv && i + 1 < _layers.Count && _layers[i + 1] is ReLU relu && conv.FusesRelu(relu, x))
            {
                x = conv.ForwardRelu(x);
                i++;
                continue;
            }
            x = _layers[i].Call(x);
        }
        return x;
    }
}
