using System.CommandLine;
using System.CommandLine.Parsing;

namespace Striate.Cli;

/// <summary>
/// Turns System.CommandLine's parse errors into one line in the user's words (the option, what it takes, what was
/// typed, the nearest known name) with a pointer to --help, instead of .NET type names and the whole help text.
/// </summary>
internal static class UsageErrors
{
    /// <summary>Prints the first parse error of <paramref name="parse"/> as one line on stderr; returns the usage exit code.</summary>
    public static int Report(ParseResult parse)
    {
        string command = CommandPath(parse.CommandResult);
        Console.Error.WriteLine($"{command}: {Describe(parse)} Run '{command} --help' for the {(parse.CommandResult.Command.Subcommands.Count > 0 ? "commands" : "options")}.");
        return CliErrors.UsageError;
    }

    private static string Describe(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        if (parse.UnmatchedTokens.Count > 0)
        {
            string token = parse.UnmatchedTokens[0];
            if (token.StartsWith('-'))
                return $"unknown option '{token}'{Suggest(token, command.Options.Concat(CliErrors.RecursiveOptions).SelectMany(o => o.Aliases.Prepend(o.Name)).Where(n => n.StartsWith("--")))}.";
            if (command.Subcommands.Count > 0)
                return $"unknown command '{token}'{Suggest(token, command.Subcommands.Select(c => c.Name))}.";
            return $"unexpected argument '{token}'.";
        }
        var error = parse.Errors[0];
        var option = error.SymbolResult as OptionResult ?? (error.SymbolResult as ArgumentResult)?.Parent as OptionResult;
        if (option is not null)
        {
            string name = option.Option.Name;
            string wants = Expected(option.Option.ValueType) ?? Lower(option.Option.Description) ?? "a value";
            var tokens = (error.SymbolResult as ArgumentResult)?.Tokens ?? option.Tokens;
            if (option.IdentifierToken is null) return $"{name} is required ({wants}).";
            return tokens.Count == 0
                ? $"{name} needs a value ({wants})."
                : $"{name} takes {wants}, not '{string.Join(' ', tokens.Select(t => t.Value))}'.";
        }
        if (error.SymbolResult is ArgumentResult { Argument: var argument } && argument.ValueType != typeof(string) && argument.ValueType != typeof(string[]))
            return $"{argument.Name} takes {Expected(argument.ValueType) ?? "a value"}, not '{string.Join(' ', ((ArgumentResult)error.SymbolResult).Tokens.Select(t => t.Value))}'.";
        var missing = command.Arguments.FirstOrDefault(a => parse.GetResult(a) is not { Tokens.Count: > 0 } && a.Arity.MinimumNumberOfValues > 0);
        if (missing is not null)
            return $"{missing.Name} is missing{(Lower(missing.Description) is { } d ? $": {d}" : "")}.";
        if (command.Subcommands.Count > 0 && command.Action is null)
            return $"no command given; the commands are {string.Join(", ", command.Subcommands.Select(c => c.Name))}.";
        return error.Message.TrimEnd('.') + ".";
    }

    /// <summary>"Output PNG." → "output PNG"; null for no description.</summary>
    private static string? Lower(string? description) =>
        string.IsNullOrWhiteSpace(description) ? null : char.ToLowerInvariant(description[0]) + description[1..].TrimEnd('.');

    /// <summary>What an option of type <paramref name="type"/> takes, in words; null for text, which the description says better.</summary>
    private static string? Expected(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(double) || type == typeof(float)) return "a number";
        if (type == typeof(int) || type == typeof(long)) return "a whole number";
        if (type == typeof(uint) || type == typeof(ulong)) return "a whole number ≥ 0";
        if (type == typeof(bool)) return "true or false";
        if (type.IsEnum) return "one of " + string.Join(", ", Enum.GetNames(type).Select(n => n.ToLowerInvariant()));
        return null;
    }

    /// <summary>" (did you mean --lr?)" for the closest name within a small edit distance, else "".</summary>
    private static string Suggest(string typed, IEnumerable<string> names)
    {
        var best = names.Distinct()
            .Select(n => (Name: n, Distance: Distance(typed.TrimStart('-'), n.TrimStart('-'))))
            .Where(c => c.Distance <= Math.Max(1, Math.Min(typed.TrimStart('-').Length, c.Name.TrimStart('-').Length) / 3))
            .OrderBy(c => c.Distance).ThenBy(c => c.Name, StringComparer.Ordinal)
            .FirstOrDefault();
        return best.Name is null ? "" : $" (did you mean {best.Name}?)";
    }

    /// <summary>Edit distance counting a swap of neighbours as one edit (optimal string alignment), case-insensitive.</summary>
    private static int Distance(string a, string b)
    {
        a = a.ToLowerInvariant(); b = b.ToLowerInvariant();
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }

    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is not null; r = r.Parent)
            if (r is CommandResult c) names.Add(c.Command is RootCommand ? "striate" : c.Command.Name);
        names.Reverse();
        return string.Join(' ', names);
    }
}
