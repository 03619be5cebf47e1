using System.Globalization;
using System.Text.Json;

namespace Striate.Onnx;

/// <summary>
/// What an ONNX file says about its model beyond the graph, stored in the model's <c>metadata_props</c>: the registry
/// model it was built from, the class names (index order), and the per-channel input normalization ((x − mean) / std
/// on pixels in [0, 1]) the model expects. Unknown keys read from a file are kept in <see cref="Other"/>.
/// </summary>
public sealed record OnnxMetadata
{
    /// <summary>Key of the registry model name, e.g. <c>resnet18</c>.</summary>
    public const string ModelKey = "model";
    /// <summary>Key of the class names, a JSON array of strings in class-index order.</summary>
    public const string ClassNamesKey = "class_names";
    /// <summary>Key of the per-channel normalization means, a JSON array of numbers.</summary>
    public const string NormalizeMeanKey = "normalize_mean";
    /// <summary>Key of the per-channel normalization standard deviations, a JSON array of numbers.</summary>
    public const string NormalizeStdKey = "normalize_std";
    /// <summary>Key of the input description (<c>NCHW float32, pixels in [0, 1] before normalization</c>).</summary>
    public const string InputKey = "input";

    /// <summary>The registry name of the model, when known.</summary>
    public string? ModelName { get; init; }

    /// <summary>Class names in index order, when known.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>Per-channel means subtracted from pixels in [0, 1], when the model expects normalized input.</summary>
    public float[]? NormalizeMean { get; init; }

    /// <summary>Per-channel standard deviations, beside <see cref="NormalizeMean"/>.</summary>
    public float[]? NormalizeStd { get; init; }

    /// <summary>Other <c>metadata_props</c> entries (kept when read; written as given).</summary>
    public IReadOnlyDictionary<string, string> Other { get; init; } = new Dictionary<string, string>();

    /// <summary>The entries to write, in a stable order.</summary>
    internal IEnumerable<KeyValuePair<string, string>> ToProperties()
    {
        if (ModelName is { Length: > 0 }) yield return new(ModelKey, ModelName);
        if (ClassNames is { Count: > 0 }) yield return new(ClassNamesKey, JsonSerializer.Serialize(ClassNames));
        if ((NormalizeMean == null) != (NormalizeStd == null) || (NormalizeMean != null && NormalizeMean.Length != NormalizeStd!.Length))
            throw new ArgumentException("OnnxMetadata: NormalizeMean and NormalizeStd must both be given, with one entry per channel each.");
        if (NormalizeMean != null)
        {
            yield return new(NormalizeMeanKey, FormatFloats(NormalizeMean));
            yield return new(NormalizeStdKey, FormatFloats(NormalizeStd!));
        }
        yield return new(InputKey, "NCHW float32, pixels in [0, 1]" + (NormalizeMean != null ? ", then (x - normalize_mean) / normalize_std per channel" : ""));
        foreach (var (k, v) in Other)
            if (k is not (ModelKey or ClassNamesKey or NormalizeMeanKey or NormalizeStdKey or InputKey)) yield return new(k, v);
    }

    /// <summary>Reads the entries Striate knows from <paramref name="properties"/>; a malformed known entry fails naming its key.</summary>
    internal static OnnxMetadata FromProperties(IEnumerable<KeyValuePair<string, string>> properties, string source)
    {
        var all = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in properties) all[k] = v;
        string[]? classes = null;
        float[]? mean = null, std = null;
        if (all.TryGetValue(ClassNamesKey, out var text))
            classes = Parse<string[]>(text, ClassNamesKey, source, "a JSON array of strings");
        if (all.TryGetValue(NormalizeMeanKey, out text)) mean = Parse<float[]>(text, NormalizeMeanKey, source, "a JSON array of numbers");
        if (all.TryGetValue(NormalizeStdKey, out text)) std = Parse<float[]>(text, NormalizeStdKey, source, "a JSON array of numbers");
        if ((mean == null) != (std == null) || (mean != null && mean.Length != std!.Length))
            throw new InvalidDataException($"{source}: metadata '{NormalizeMeanKey}' and '{NormalizeStdKey}' must both be present with the same number of entries.");
        if (std != null && std.Any(s => !(s > 0)))
            throw new InvalidDataException($"{source}: metadata '{NormalizeStdKey}' must hold positive numbers, got {FormatFloats(std)}.");
        return new OnnxMetadata
        {
            ModelName = all.GetValueOrDefault(ModelKey),
            ClassNames = classes,
            NormalizeMean = mean,
            NormalizeStd = std,
            Other = all.Where(p => p.Key is not (ModelKey or ClassNamesKey or NormalizeMeanKey or NormalizeStdKey or InputKey))
                .ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
        };
    }

    private static T Parse<T>(string text, string key, string source, string expected) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(text) ?? throw new JsonException("null");
        }
        catch (JsonException)
        {
            throw new InvalidDataException($"{source}: metadata '{key}' must be {expected}, got '{(text.Length > 80 ? text[..80] + "…" : text)}'.");
        }
    }

    private static string FormatFloats(float[] values) =>
        "[" + string.Join(", ", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]";
}
