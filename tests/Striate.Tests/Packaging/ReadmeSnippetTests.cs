using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Packaging;

/// <summary>
/// Every ```csharp block of README.md and the package readme compiles against the real assemblies (Roslyn in-process,
/// a second or two for all of them). A block is a whole file (top-level statements or type declarations) unless an
/// HTML comment right above it, <c>&lt;!-- given: Module model, Tensor images --&gt;</c>, names the variables it takes
/// from the text around it: then it is compiled as the body of a method with those parameters. Every block sees the
/// usings a project gets by default plus the Striate namespaces; its own <c>using</c> lines are kept.
/// </summary>
public sealed class ReadmeSnippetTests(ITestOutputHelper output)
{
    private static readonly string[] Usings =
    [
        "System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Threading.Tasks",
        "Striate", "Striate.Nn", "Striate.Functional", "Striate.Data", "Striate.Data.Transforms", "Striate.Models",
        "Striate.Optim", "Striate.Training", "Striate.IO", "Striate.Insight",
    ];

    public sealed record Snippet(string File, int Line, string Code, string? Given);

    /// <summary>The csharp blocks of a markdown file, with the given-comment right above each (if any).</summary>
    public static List<Snippet> Extract(string path)
    {
        var lines = File.ReadAllLines(path);
        var snippets = new List<Snippet>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Trim() != "```csharp") continue;
            int start = i + 1, end = start;
            while (end < lines.Length && lines[end].Trim() != "```") end++;
            Assert.True(end < lines.Length, $"{path}:{i + 1}: a csharp block is not closed.");
            var given = i > 0 ? Regex.Match(lines[i - 1], @"^<!--\s*given:\s*(.*?)\s*-->\s*$") : Match.Empty;
            snippets.Add(new Snippet(Path.GetFileName(path), i + 1, string.Join('\n', lines[start..end]), given.Success ? given.Groups[1].Value : null));
            i = end;
        }
        return snippets;
    }

    /// <summary>The C# source a snippet compiles as: its usings on top, the body wrapped in a method when it takes given variables.</summary>
    public static (string Source, bool Program) Wrap(Snippet s)
    {
        var own = s.Code.Split('\n').TakeWhile(l => l.StartsWith("using ", StringComparison.Ordinal) || l.Trim().Length == 0).ToList();
        string body = string.Join('\n', s.Code.Split('\n').Skip(own.Count));
        string usings = string.Concat(Usings.Select(u => $"using {u};\n")) + string.Join('\n', own.Where(l => l.Trim().Length > 0)) + "\n";
        if (s.Given != null)
            return (usings + $"static class Snippet\n{{\n    static void Run({s.Given})\n    {{\n{body}\n    }}\n}}\n", false);
        bool program = CSharpSyntaxTree.ParseText(body).GetRoot().DescendantNodes().OfType<GlobalStatementSyntax>().Any();
        return (usings + body + "\n", program);
    }

    private static IReadOnlyList<MetadataReference> References()
    {
        // The runtime's own assemblies plus the ones this test project references (Striate, Striate.Onnx, Striate.Imaging).
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator).ToList();
        foreach (var name in new[] { "Striate.dll", "Striate.Onnx.dll", "Striate.Imaging.dll" })
            paths.Add(Path.Combine(AppContext.BaseDirectory, name));
        return paths.Distinct().Where(File.Exists).Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToList();
    }

    /// <summary>The compiler's errors for <paramref name="s"/>, each with the README line it comes from.</summary>
    public static List<string> Errors(Snippet s, IReadOnlyList<MetadataReference> references)
    {
        var (source, program) = Wrap(s);
        var tree = CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest));
        var compilation = CSharpCompilation.Create("Snippet", [tree], references,
            new CSharpCompilationOptions(program ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        using var pe = new MemoryStream();
        var result = compilation.Emit(pe);
        return result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)
            .Select(d => $"{s.File}:{s.Line}: {d.Id} {d.GetMessage()} (in: {source.Split('\n')[d.Location.GetLineSpan().StartLinePosition.Line].Trim()})")
            .ToList();
    }

    [Fact]
    public void EveryCSharpBlockInTheReadmesCompiles()
    {
        var snippets = Extract(Path.Combine(RepoPaths.Root, "README.md")).Concat(Extract(Path.Combine(RepoPaths.Root, "docs", "package-readme.md"))).ToList();
        Assert.True(snippets.Count >= 5, $"found only {snippets.Count} csharp blocks; did the README lose its examples or the extraction break?");
        var references = References();
        var errors = snippets.SelectMany(s => Errors(s, references)).ToList();
        output.WriteLine($"{snippets.Count} blocks compiled: {string.Join(", ", snippets.Select(s => $"{s.File}:{s.Line}{(s.Given != null ? " (given)" : "")}"))}");
        Assert.True(errors.Count == 0, string.Join('\n', errors));
    }

    /// <summary>The check can fail: a name the block never declares, or a method that does not exist, is an error.</summary>
    [Fact]
    public void ABlockUsingAnUndeclaredVariableOrAMissingMethodFails()
    {
        var references = References();
        Assert.NotEmpty(Errors(new Snippet("t.md", 1, "model.Freeze();", null), references));
        Assert.Empty(Errors(new Snippet("t.md", 1, "model.Freeze();", "Module model"), references));
        Assert.NotEmpty(Errors(new Snippet("t.md", 1, "model.FreezeEverythingTwice();", "Module model"), references));
        Assert.Empty(Errors(new Snippet("t.md", 1, "sealed class Net : Module\n{\n    public override Tensor Forward(Tensor x) => F.Relu(x);\n}", null), references));
        Assert.Empty(Errors(new Snippet("t.md", 1, "using Striate.Onnx;\nvar m = OnnxModel.Load(\"m.onnx\");\nreturn 0;", null), references));
    }
}
