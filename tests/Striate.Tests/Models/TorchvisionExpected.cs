using System.Globalization;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Models;

/// <summary>
/// A torchvision model's state_dict layout as dumped by tests/Striate.Tests/Models/expected/generate.py:
/// parameter count, minimum input size and every (name, int64?, shape) in state_dict order.
/// </summary>
internal sealed record TorchvisionExpected(string Model, long Parameters, int MinimumSize, IReadOnlyList<(string Name, bool IsInteger, int[] Shape)> Entries)
{
    public static string Folder => Path.Combine(RepoPaths.Root, "tests", "Striate.Tests", "Models", "expected");

    public static TorchvisionExpected Load(string model)
    {
        var lines = File.ReadAllLines(Path.Combine(Folder, model + ".txt"));
        var header = lines[0].Split(' ');
        if (header is not ["#", _, _, _] || header[1] != model)
            throw new InvalidDataException($"{model}.txt: malformed header '{lines[0]}'.");
        var entries = new List<(string, bool, int[])>();
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            var parts = line.Split(' ');
            var shape = parts[2].Length == 0 ? [] : parts[2].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            entries.Add((parts[0], parts[1] == "i64", shape));
        }
        return new(model, long.Parse(header[2], CultureInfo.InvariantCulture), int.Parse(header[3], CultureInfo.InvariantCulture), entries);
    }
}
