using System.Text.RegularExpressions;

namespace Striate.IO.Pth;

/// <summary>
/// The key renames PyTorch users apply to old or wrapped state dicts before loading them, applied the same way:
/// torchvision's DenseNet names from before torchvision 0.3 (<c>denselayer1.norm.1.weight</c> → <c>denselayer1.norm1.weight</c>,
/// the regular expression of <c>torchvision/models/densenet.py: _load_state_dict</c>), and the <c>module.</c> prefix
/// that <c>nn.DataParallel</c> adds to every key (removed when every key has it, as
/// <c>torch.nn.modules.utils.consume_prefix_in_state_dict_if_present</c> does).
/// </summary>
public static partial class StateDictKeys
{
    [GeneratedRegex(@"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$")]
    private static partial Regex OldDenseNetKey();

    /// <summary>
    /// <paramref name="names"/> renamed (same order and count); <paramref name="renamed"/> counts the keys that changed.
    /// </summary>
    public static IReadOnlyList<string> Normalize(IReadOnlyList<string> names, out int renamed)
    {
        ArgumentNullException.ThrowIfNull(names);
        const string wrapper = "module.";
        bool stripWrapper = names.Count > 0 && names.All(n => n.StartsWith(wrapper, StringComparison.Ordinal));
        var result = new string[names.Count];
        renamed = 0;
        for (int i = 0; i < names.Count; i++)
        {
            string name = stripWrapper ? names[i][wrapper.Length..] : names[i];
            var match = OldDenseNetKey().Match(name);
            if (match.Success) name = match.Groups[1].Value + match.Groups[2].Value;
            if (name != names[i]) renamed++;
            result[i] = name;
        }
        var duplicate = result.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate != null)
            throw new ArgumentException($"Renaming old key names would give two tensors the name '{duplicate.Key}'; the state dict mixes old and new names.", nameof(names));
        return result;
    }
}
