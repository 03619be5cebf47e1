using System.Collections.Concurrent;
using System.Reflection;
using System.Text;

namespace Striate.Nn;

/// <summary>Keeps a field out of automatic registration (a reference to a module or parameter that is not this module's own).</summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
public sealed class NotRegisteredAttribute : Attribute;

public abstract partial class Module
{
    // Fields that may hold children or parameters, per concrete type (one reflection pass per type), base classes first.
    private static readonly ConcurrentDictionary<Type, (FieldInfo Field, string Name)[]> FieldsByType = new();

    // Names this module registered from its fields (a field assigned again replaces its entry, as PyTorch's setattr).
    private HashSet<string>? _fieldNames;

    /// <summary>
    /// Registers what this module's fields hold, as assigning attributes in PyTorch's <c>__init__</c> does: a
    /// <see cref="Module"/> becomes a child and a tensor that requires grad a parameter, named after the field in
    /// PyTorch's style (<c>_conv1</c> and <c>Conv1</c> → <c>conv1</c>, <c>_downSample</c> → <c>down_sample</c>), in
    /// declaration order after what was registered explicitly. Anything already registered (explicitly, under any name)
    /// is left alone, so explicit names (torchvision's "0", "downsample") still win; plain tensors stay unregistered
    /// (constants, like non-Parameter tensors in PyTorch; buffers need <see cref="RegisterBuffer"/>); fields marked
    /// <see cref="NotRegisteredAttribute"/> are skipped. Runs before every traversal, so a field set after construction
    /// is seen too; it reads only fields that can hold a module or tensor.
    /// </summary>
    private void RegisterFields()
    {
        var fields = FieldsByType.GetOrAdd(GetType(), CandidateFields);
        foreach (var (field, name) in fields)
        {
            switch (field.GetValue(this))
            {
                case Module child when !ReferenceEquals(child, this):
                    if (_children.Any(c => ReferenceEquals(c.Value, child))) break;
                    if (_fieldNames?.Contains(name) == true)
                    {
                        int at = _children.FindIndex(c => c.Key == name);
                        _children[at] = new(name, child);
                        break;
                    }
                    CheckFieldName(name, field);
                    _children.Add(new(name, child));
                    (_fieldNames ??= new()).Add(name);
                    break;
                case Tensor { RequiresGrad: true } tensor:
                    if (_parameters.Any(p => ReferenceEquals(p.Value, tensor)) || _buffers.Any(b => ReferenceEquals(b.Value, tensor))) break;
                    if (_fieldNames?.Contains(name) == true)
                    {
                        int at = _parameters.FindIndex(p => p.Key == name);
                        if (at >= 0) { _parameters[at] = new(name, tensor); break; }
                    }
                    CheckFieldName(name, field);
                    _parameters.Add(new(name, tensor));
                    (_fieldNames ??= new()).Add(name);
                    break;
            }
        }
    }

    private void CheckFieldName(string name, FieldInfo field)
    {
        try { CheckNewName(name); }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"{TypeName}: field '{field.Name}' would be registered as '{name}', but {e.Message[(e.Message.IndexOf(':') + 2)..].TrimEnd()} " +
                $"Register it explicitly under another name, or mark the field [NotRegistered].", e);
        }
    }

    private static (FieldInfo, string)[] CandidateFields(Type type)
    {
        var chain = new List<Type>();
        for (var t = type; t != null && t != typeof(Module); t = t.BaseType) chain.Add(t);
        chain.Reverse();
        var result = new List<(FieldInfo, string)>();
        foreach (var t in chain)
            foreach (var f in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (!typeof(Module).IsAssignableFrom(f.FieldType) && f.FieldType != typeof(Tensor)) continue;
                if (f.IsDefined(typeof(NotRegisteredAttribute)) || PropertyOf(t, f)?.IsDefined(typeof(NotRegisteredAttribute)) == true) continue;
                result.Add((f, PyTorchName(f.Name)));
            }
        return result.ToArray();
    }

    // The auto-property whose backing field f is, so [NotRegistered] on the property counts.
    private static PropertyInfo? PropertyOf(Type t, FieldInfo f) =>
        f.Name.StartsWith('<') && f.Name.EndsWith(">k__BackingField", StringComparison.Ordinal)
            ? t.GetProperty(f.Name[1..f.Name.IndexOf('>')], BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
            : null;

    /// <summary>
    /// A field's name as PyTorch would spell the attribute: the property of a compiler-generated backing field or the
    /// captured primary-constructor parameter, without a leading <c>_</c> or <c>m_</c>, in snake_case.
    /// </summary>
    internal static string PyTorchName(string field)
    {
        string name = field;
        if (name.StartsWith('<')) name = name[1..name.IndexOf('>')]; // <Conv1>k__BackingField, <conv1>P
        if (name.StartsWith("m_", StringComparison.Ordinal)) name = name[2..];
        name = name.TrimStart('_');
        var sb = new StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c))
            {
                bool afterLowerOrDigit = i > 0 && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1]));
                bool endsAcronym = i > 0 && char.IsUpper(name[i - 1]) && i + 1 < name.Length && char.IsLower(name[i + 1]);
                if ((afterLowerOrDigit || endsAcronym) && sb.Length > 0 && sb[^1] != '_') sb.Append('_');
                sb.Append(char.ToLowerInvariant(c));
            }
            else sb.Append(c);
        }
        return sb.ToString();
    }
}
