using Striate.Nn;

namespace Striate.Insight;

/// <summary>Finds a layer of a model by its dotted <c>named_modules</c> name (<c>features.3</c>, <c>layer4.1.conv2</c>).</summary>
public static class LayerLookup
{
    /// <summary>
    /// The module called <paramref name="name"/> in <paramref name="model"/>. An unknown name throws an
    /// <see cref="ArgumentException"/> that lists every layer the model has, with its type.
    /// </summary>
    public static Module Find(Module model, string name)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!string.IsNullOrEmpty(name))
            foreach (var (n, module) in model.NamedModules())
                if (n == name) return module;
        throw new ArgumentException($"unknown layer '{name}'. The model's layers are: {Describe(model)}.");
    }

    /// <summary>Every named layer as "name (Type)", comma-separated, in registration order.</summary>
    internal static string Describe(Module model) =>
        string.Join(", ", model.NamedModules().Where(p => p.Key.Length > 0).Select(p => $"{p.Key} ({p.Value.TypeName})"));

    /// <summary>The dotted name of <paramref name="layer"/> inside <paramref name="model"/> ("" for the model itself).</summary>
    internal static string NameOf(Module model, Module layer)
    {
        foreach (var (n, module) in model.NamedModules())
            if (ReferenceEquals(module, layer)) return n;
        throw new ArgumentException($"the layer {layer.TypeName} is not part of the model.");
    }
}
