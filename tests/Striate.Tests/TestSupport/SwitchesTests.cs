using System.Reflection;
using System.Text.RegularExpressions;

namespace Striate.Tests.TestSupport;

/// <summary>
/// <see cref="Switches.Set{T}"/> sets a static for a block and puts it back, also on an exception; and no test class
/// outside a non-parallel collection writes one of Striate's process-wide statics (the race 2fa4ad8 fixed: a test that
/// set KernelThreads.Count while another test chose its plan).
/// </summary>
public sealed class SwitchesTests
{
    // Fields of this class only: no other test reads them, so these tests run in parallel.
    private static int s_field = 1;
    private static string? s_nullable = "a";
    private static readonly int s_readOnly = 1;
    private static int s_checked = 1;

    private static int Checked
    {
        get => s_checked;
        set => s_checked = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "at least 1");
    }

    [Fact]
    public void SetsAFieldForTheBlockAndPutsItBack()
    {
        using (Switches.Set(() => s_field, 5))
        {
            Assert.Equal(5, s_field);
            using (Switches.Set(() => s_field, 7)) Assert.Equal(7, s_field);
            Assert.Equal(5, s_field);
        }
        Assert.Equal(1, s_field);
        using (Switches.Set(() => s_nullable, null)) Assert.Null(s_nullable);
        Assert.Equal("a", s_nullable);
    }

    [Fact]
    public void PutsTheValueBackWhenTheBlockThrows()
    {
        static void Body()
        {
            using (Switches.Set(() => s_field, 9))
            using (Switches.Set(() => Checked, 4))
                throw new InvalidOperationException("inside");
        }
        var e = Assert.Throws<InvalidOperationException>(Body);
        Assert.Equal("inside", e.Message);
        Assert.Equal(1, s_field);
        Assert.Equal(1, Checked);
    }

    [Fact]
    public void SetsAPropertyThroughItsSetterAndSurfacesWhatTheSetterThrows()
    {
        using (Switches.Set(() => Checked, 3)) Assert.Equal(3, Checked);
        Assert.Equal(1, Checked);
        Assert.Throws<ArgumentOutOfRangeException>(() => Switches.Set(() => Checked, 0));
        Assert.Equal(1, Checked);
    }

    [Fact]
    public void RefusesWhatIsNotASettableStatic()
    {
        Assert.Throws<ArgumentException>(() => Switches.Set(() => s_readOnly, 2));
        Assert.Throws<ArgumentException>(() => Switches.Set(() => s_field + 1, 2));
        Assert.Throws<ArgumentException>(() => Switches.Set(() => "abc".Length, 2));
        Assert.Equal(1, s_readOnly);
    }

    [Fact]
    public void TheWriteFinderSeesEveryFormOfWriteAndNoRead()
    {
        (string, string)[] members = [("KernelThreads", "Count"), ("PhaseSchedule", "L2BudgetOverride")];
        string source = """
            KernelThreads.Count = 2;
            Striate.Kernels.KernelThreads.Count += 1;
            KernelThreads.Count++;
            --KernelThreads.Count;
            Interlocked.Exchange(ref KernelThreads.Count, 3);
            using (Switches.Set(() => Conv2dDirect.PhaseSchedule.L2BudgetOverride, 1L)) { }
            Assert.Throws<ArgumentOutOfRangeException>(() => KernelThreads.Count = 0);
            BenchSwitches.Apply();
            (PhaseSchedule.L2BudgetOverride, KernelThreads.Count) = (1L, 2);
            int n = KernelThreads.Count;
            bool same = KernelThreads.Count == 2;
            Func<int> f = () => KernelThreads.Count;
            var t = (KernelThreads.Count, 1);
            using (Switches.Set(() => s_field, Math.Max(2, KernelThreads.Count))) { }
            if (Math.Max(KernelThreads.Count, 1) == 2) { }
            var s = "KernelThreads.Count = 1";
            // KernelThreads.Count = 1 in a comment
            /* PhaseSchedule.L2BudgetOverride = 1 */
            MyKernelThreads.Count = 4;
            """;
        var lines = WriteFinder.Writes(source, members).Select(w => w.Line).ToArray();
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 9], lines);
    }

    /// <summary>
    /// Every test class that writes a process-wide static of Striate (a settable non-private static field or property
    /// that is not [ThreadStatic]: KernelThreads.Count, the kernels' and the inference passes' switches), or applies
    /// the bench's switches, is in a collection that runs alone (<see cref="StaticSwitchesCollection"/>).
    /// </summary>
    [Fact]
    public void NoTestWritesAProcessWideStaticBesideAnotherTest()
    {
        var members = WriteFinder.ProcessWideStatics(typeof(Tensor).Assembly, typeof(Striate.Onnx.OnnxModel).Assembly,
            typeof(Striate.Imaging.JpegWriter).Assembly).ToArray();
        Assert.Contains(members, m => m == ("KernelThreads", "Count"));
        Assert.Contains(members, m => m == ("InferenceSession", "AffineIntoPool"));
        Assert.DoesNotContain(members, m => m == ("DirectSchedule", "Override")); // [ThreadStatic]: the writing thread's own

        var tests = typeof(SwitchesTests).Assembly;
        var alone = tests.GetTypes()
            .SelectMany(t => t.GetCustomAttributesData().Where(a => a.AttributeType == typeof(CollectionDefinitionAttribute)))
            .Where(a => a.NamedArguments.Any(n => n.MemberName == nameof(CollectionDefinitionAttribute.DisableParallelization) && n.TypedValue.Value is true))
            .Select(a => (string)a.ConstructorArguments[0].Value!)
            .ToHashSet();
        Assert.Contains(nameof(StaticSwitchesCollection), alone);

        var folder = Path.Combine(RepoPaths.Root, "tests", "Striate.Tests");
        var files = Directory.GetFiles(folder, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .ToArray();
        Assert.Contains(files, f => f.EndsWith("Conv2dFlatKernelTests.cs", StringComparison.Ordinal));
        var bad = new List<string>();
        int writes = 0;
        foreach (var file in files)
        {
            var source = File.ReadAllText(file);
            foreach (var w in WriteFinder.Writes(source, members))
            {
                writes++;
                string where = $"{Path.GetRelativePath(folder, file)}:{w.Line} writes {w.What}";
                if (w.TopLevelType is not { } name) { bad.Add($"{where} outside any type"); continue; }
                var type = tests.GetType(name);
                if (type == null) { bad.Add($"{where} in {name}, which the test assembly does not hold"); continue; }
                var collection = type.GetCustomAttributesData().FirstOrDefault(a => a.AttributeType == typeof(CollectionAttribute));
                var collectionName = collection?.ConstructorArguments[0].Value switch { string s => s, Type t => t.Name, _ => null };
                if (collectionName == null || !alone.Contains(collectionName))
                    bad.Add($"{where} in {name}, which is not in a non-parallel collection: add [Collection(nameof(StaticSwitchesCollection))] (or move the test into a class that has it)");
            }
        }
        Assert.True(writes > 20, $"the finder saw {writes} writes in the test sources; expected the many switch-flipping tests");
        Assert.True(bad.Count == 0, $"{bad.Count} writes of process-wide statics beside other tests:\n{string.Join("\n", bad)}");
    }
}

/// <summary>Finds writes of given static members in C# source text (the test sources), ignoring comments and strings.</summary>
internal static class WriteFinder
{
    public sealed record Write(int Line, string What, string? TopLevelType);

    /// <summary>Striate's process-wide statics: settable non-private static fields and properties, not [ThreadStatic], not compiler-generated.</summary>
    public static IEnumerable<(string Type, string Member)> ProcessWideStatics(params Assembly[] assemblies)
    {
        const BindingFlags flags = BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;
        foreach (var type in assemblies.SelectMany(a => a.GetTypes()))
        {
            if (type.Name.Contains('<')) continue;
            string typeName = type.Name.Split('`')[0];
            foreach (var f in type.GetFields(flags))
                if (!f.IsPrivate && !f.IsInitOnly && !f.IsLiteral && !f.Name.Contains('<') && !f.IsDefined(typeof(ThreadStaticAttribute)))
                    yield return (typeName, f.Name);
            foreach (var p in type.GetProperties(flags))
                if (p.SetMethod is { IsPrivate: false } && p.GetIndexParameters().Length == 0)
                    yield return (typeName, p.Name);
        }
    }

    // An assignment (plain, compound, ++/--) right after the member, or the member as an element of a tuple that is assigned: (A.B, C.D) = (...).
    private static readonly Regex Assignment = new(@"\G\s*(?:=(?![=>])|[-+*/%&|^]=|<<=|>>=|\?\?=|\+\+|--|(?:,[^;(){}=]*)?\)\s*=(?![=>]))", RegexOptions.Compiled);
    private static readonly Regex WritingPrefix = new(@"(?:\bref\s+|\bout\s+|\+\+\s*|--\s*|\bSwitches\.Set\(\s*\(\)\s*=>\s*)(?:\w+\s*\.\s*)*$", RegexOptions.Compiled);
    private static readonly Regex WritesEverySwitch = new(@"\b(?:BenchSwitches\.(?:Apply|RestoreDefaults)|BenchAb\.Run)\s*\(", RegexOptions.Compiled);
    private static readonly Regex TopLevelType = new(@"^(?:(?:public|internal|file|sealed|static|abstract|partial|unsafe|readonly)\s+)*(?:class|record|struct)\s+(\w+)", RegexOptions.Compiled | RegexOptions.Multiline);
    private static readonly Regex Namespace = new(@"^namespace\s+([\w.]+)\s*;", RegexOptions.Compiled | RegexOptions.Multiline);

    /// <summary>Every write of one of <paramref name="members"/> in <paramref name="source"/>: its line, the member, and the top-level type (namespace-qualified) it is in.</summary>
    public static IEnumerable<Write> Writes(string source, IEnumerable<(string Type, string Member)> members)
    {
        string code = BlankCommentsAndStrings(source);
        var found = new List<(int Index, string What)>();
        foreach (var (type, member) in members.Distinct())
            foreach (Match m in Regex.Matches(code, $@"(?<![\w.]){Regex.Escape(type)}\s*\.\s*{Regex.Escape(member)}\b|(?<=\.\s*){Regex.Escape(type)}\s*\.\s*{Regex.Escape(member)}\b"))
                if (Assignment.IsMatch(code, m.Index + m.Length) || WritingPrefix.IsMatch(code[Math.Max(0, m.Index - 120)..m.Index]))
                    found.Add((m.Index, $"{type}.{member}"));
        foreach (Match m in WritesEverySwitch.Matches(code)) found.Add((m.Index, "every bench switch (" + m.Value.TrimEnd('(', ' ') + ")"));

        string? ns = Namespace.Match(code) is { Success: true } n ? n.Groups[1].Value : null;
        var types = TopLevelType.Matches(code).Select(t => (t.Index, Name: ns == null ? t.Groups[1].Value : $"{ns}.{t.Groups[1].Value}")).ToArray();
        foreach (var (index, what) in found.OrderBy(f => f.Index))
        {
            int line = 1 + code.AsSpan(0, index).Count('\n');
            string? owner = types.LastOrDefault(t => t.Index < index).Name;
            yield return new Write(line, what, owner);
        }
    }

    /// <summary>The source with comments and string/char literals replaced by spaces (newlines kept, so offsets and lines still match).</summary>
    private static string BlankCommentsAndStrings(string s)
    {
        var c = s.ToCharArray();
        int i = 0;
        void Blank(int from, int to) { for (int k = from; k < to && k < c.Length; k++) if (c[k] != '\n') c[k] = ' '; }
        while (i < c.Length)
        {
            if (c[i] == '/' && i + 1 < c.Length && c[i + 1] == '/')
            {
                int end = s.IndexOf('\n', i); if (end < 0) end = s.Length;
                Blank(i, end); i = end;
            }
            else if (c[i] == '/' && i + 1 < c.Length && c[i + 1] == '*')
            {
                int end = s.IndexOf("*/", i + 2, StringComparison.Ordinal); end = end < 0 ? s.Length : end + 2;
                Blank(i, end); i = end;
            }
            else if (c[i] == '"' && i + 2 < c.Length && c[i + 1] == '"' && c[i + 2] == '"')
            {
                int end = s.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal); end = end < 0 ? s.Length : end + 3;
                Blank(i, end); i = end;
            }
            else if (c[i] == '"')
            {
                bool verbatim = i > 0 && (s[i - 1] == '@' || (s[i - 1] == '$' && i > 1 && s[i - 2] == '@'));
                int k = i + 1;
                while (k < s.Length)
                {
                    if (verbatim && s[k] == '"' && k + 1 < s.Length && s[k + 1] == '"') { k += 2; continue; }
                    if (!verbatim && s[k] == '\\') { k += 2; continue; }
                    if (s[k] == '"' || (!verbatim && s[k] == '\n')) break;
                    k++;
                }
                Blank(i, k + 1); i = k + 1;
            }
            else if (c[i] == '\'' && i + 2 < c.Length && (c[i + 2] == '\'' || (c[i + 1] == '\\' && i + 3 < c.Length && c[i + 3] == '\'')))
            {
                int end = c[i + 1] == '\\' ? i + 4 : i + 3;
                Blank(i, end); i = end;
            }
            else i++;
        }
        return new string(c);
    }
}
