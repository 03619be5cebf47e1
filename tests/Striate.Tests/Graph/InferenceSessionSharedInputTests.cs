using Striate.Autograd;
using Striate.Functional;
using Striate.Graph;
using Striate.Nn;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Graph;

/// <summary>
/// At batch 1 a prepared session runs the 1×1 convolutions that read the same input with the same activation as one
/// product (an Inception block's branch 1 and the reduces of branches 2 and 3): these pin that the merged session gives
/// the eager model's output and the unmerged session's, on GoogLeNet-shaped graphs (members moved up past other
/// branches, members whose outputs are concatenation parts, the graph's output, or read twice), that only true siblings
/// merge (another activation, a residual, a 3×3, another input, batch 3 stay apart), and on GoogLeNet itself; and that
/// the product storing branch 1's rows straight into the concatenation gives what copying them there gives.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public sealed class InferenceSessionSharedInputTests
{
    /// <summary>conv (k×k, padding k/2) → optional bias → optional batch norm → optional ReLU, as a test unit.</summary>
    private sealed class Unit : Module
    {
        private readonly Conv2d _conv;
        private readonly BatchNorm2d? _norm;
        private readonly bool _relu;

        public Unit(int cin, int cout, int k, bool relu, bool norm, bool bias, Generator g)
        {
            _conv = RegisterModule("conv", new Conv2d(cin, cout, k, padding: k / 2, bias: bias, generator: g));
            if (norm) _norm = RegisterModule("bn", new BatchNorm2d(cout));
            _relu = relu;
        }

        public override Tensor Forward(Tensor x)
        {
            x = _conv.Call(x);
            if (_norm != null) x = _norm.Call(x);
            return _relu ? F.Relu(x) : x;
        }
    }

    /// <summary>A model wired by a lambda from numbered units.</summary>
    private sealed class Wired : Module
    {
        private readonly Unit[] _units;
        private readonly Func<Wired, Tensor, Tensor> _forward;

        public Wired((int In, int Out, int K, bool Relu)[] units, Func<Wired, Tensor, Tensor> forward, int seed = 3)
        {
            var g = new Generator((ulong)seed);
            _units = units.Select((u, i) => RegisterModule($"u{i}", new Unit(u.In, u.Out, u.K, u.Relu, norm: i % 2 == 0, bias: i % 3 != 0, g))).ToArray();
            _forward = forward;
            RegistryModels.RandomizeStatistics(this, g);
            Eval();
        }

        public Tensor U(int i, Tensor x) => _units[i].Call(x);

        public override Tensor Forward(Tensor input) => _forward(this, input);
    }

    private static (int, int, int, bool) R(int cin, int cout, int k = 1) => (cin, cout, k, true);
    private static (int, int, int, bool) L(int cin, int cout, int k = 1) => (cin, cout, k, false);

    /// <summary>Two Inception blocks as torchvision's: branch 1, 1×1 → 3×3, 1×1 → 3×3, 3×3/1 max pool → 1×1; concatenated.</summary>
    private static Wired Inception() => new(
        [R(3, 8, 3), R(8, 4), R(8, 3), R(3, 5, 3), R(8, 2), R(2, 3, 3), R(8, 2),
         R(14, 5), R(14, 6), R(6, 4, 3), R(14, 1), R(1, 2, 3), R(14, 3)],
        (m, x) =>
        {
            x = m.U(0, x);
            x = F.Concat(m.U(1, x), m.U(3, m.U(2, x)), m.U(5, m.U(4, x)), m.U(6, F.MaxPool2d(x, 3, 1, 1)));
            x = F.MaxPool2d(x, 2, 2, 0, ceilMode: true);
            return F.Concat(m.U(7, x), m.U(9, m.U(8, x)), m.U(11, m.U(10, x)), m.U(12, F.MaxPool2d(x, 3, 1, 1)));
        });

    /// <summary>
    /// Siblings that are not all alike: two with ReLU and two without (two groups), a 3×3 and a 1×1 with a residual
    /// add on the same input (apart), a member read twice and a member read by the next convolution and an add.
    /// </summary>
    private static Wired Mixed() => new(
        [R(3, 6, 3), R(6, 4), L(6, 5), R(6, 3), R(6, 4, 3), L(6, 6), L(6, 2), R(4, 4, 3)],
        (m, x) =>
        {
            x = m.U(0, x);
            var a = m.U(1, x);                      // ReLU 1×1: merges with d
            var b = m.U(2, x);                      // no activation (read twice, so the ReLU after it stays apart): merges with f
            var c = m.U(4, x);                      // 3×3: apart
            var d = m.U(3, x);
            var e = F.Add(m.U(5, x), x);            // 1×1 with a residual add after it (fused into its store): apart
            var f = m.U(6, x);
            var h = m.U(7, a);
            return F.Concat(a, b, F.Relu(b), c, d, e, f, h, F.Add(h, a));
        });

    /// <summary>Three reduces, none a concatenation part, each into a 3×3, summed: the product writes all three in place.</summary>
    private static Wired Reduces() => new(
        [R(3, 7, 3), R(7, 3), R(7, 5), R(7, 2), R(3, 4, 3), R(5, 4, 3), R(2, 4, 3)],
        (m, x) =>
        {
            x = m.U(0, x);
            var (a, b, c) = (m.U(1, x), m.U(2, x), m.U(3, x));
            return F.Add(F.Add(m.U(4, a), m.U(5, b)), m.U(6, c));
        });

    private static readonly Dictionary<string, Func<Wired>> Builders = new()
    {
        ["inception"] = Inception,
        ["mixed"] = Mixed,
        ["reduces"] = Reduces,
    };

    private static int Copied(InferenceSession session, int copies) =>
        session.StepNodes.Count(s => s.Contains("(SharedInput ", StringComparison.Ordinal) && s.Contains($", {copies} copied)", StringComparison.Ordinal));

    private static int Merged(InferenceSession session) => session.StepNodes.Count(s => s.Contains("(SharedInput ", StringComparison.Ordinal));

    private static InferenceSession Prepare(Module model, int[] shape, bool merge)
    {
        using (Switches.Set(() => InferenceSession.MergeSharedInputPointwise, merge))
            return model.PrepareForInference(shape);
    }

    /// <summary>
    /// The product writes in place the members no concatenation placed (laid out one after another by the plan) and
    /// copies the rest: Inception's branch 1 (its block of the concatenation) is copied, its reduces are not; "mixed"
    /// has only concatenation parts (both groups copy everything, through the scratch); "reduces" copies nothing.
    /// </summary>
    [Theory]
    [InlineData("inception", 1, 2)]
    [InlineData("inception", 3, 0)] // at batch 3 the members' outputs would be strided slices of the product: not merged
    [InlineData("mixed", 1, 2)]
    [InlineData("reduces", 1, 1)]
    public void MergedPointwiseSiblingsGiveTheEagerAndUnmergedOutputs(string name, int batch, int mergedSteps)
    {
        var model = Builders[name]();
        int[] shape = [batch, 3, 9, 9];
        var input = Tensor.Rand(shape, new Generator(11), -1f, 1f);
        var expected = EagerOutput.Of(model, input);

        var merged = Prepare(model, shape, merge: true);
        var apart = Prepare(model, shape, merge: false);
        Assert.Equal(mergedSteps, Merged(merged));
        Assert.Equal(0, Merged(apart));
        Assert.Equal(name switch { "inception" => mergedSteps, "reduces" => 0, _ => 0 }, Copied(merged, 1));
        Assert.Equal(name == "reduces" ? 1 : 0, Copied(merged, 0));
        Assert.Equal(name == "mixed" ? 2 : 0, Copied(merged, 2));
        var actual = merged.Run(input);
        Close.Assert(expected, actual, 1e-4, 1e-5, $"{name} at batch {batch}: merged session against eager");
        Close.Assert(apart.Run(input), actual, 1e-5, 1e-6, $"{name} at batch {batch}: merged against unmerged session");
        Close.Assert(actual, merged.Run(input), 0, 0, $"{name} at batch {batch}: second run");
        Close.Assert(actual, RunCopying(merged, input), 0, 0, $"{name} at batch {batch}: copied rows against rows stored in place");
    }

    /// <summary>The session's output with the copied members' rows copied after the product, not stored in place by it.</summary>
    private static Tensor RunCopying(InferenceSession session, Tensor input)
    {
        using (Switches.Set(() => InferenceSession.SharedInputSplitRows, false))
            return session.Run(input);
    }

    [Fact]
    public void GoogLeNetMergesEachInceptionBlocksThreePointwiseBranches()
    {
        var (model, (c, _, _)) = RegistryModels.Build("googlenet");
        int[] shape = [1, c, 64, 64];
        var input = Tensor.Rand(shape, new Generator(13), -1f, 1f);
        var expected = EagerOutput.Of(model, input);
        var session = Prepare(model, shape, merge: true);
        Assert.Equal(9, Merged(session));
        Assert.Equal(9, Copied(session, 1)); // branch 1 in its block of the concatenation; the reduces written in place
        Assert.Equal(0, session.StepNodes.Count(s => s.Contains("(ConcatStep)", StringComparison.Ordinal)));
        var actual = session.Run(input);
        Close.Assert(expected, actual, 1e-3, 1e-4, "googlenet @64: merged session against eager");
        Close.Assert(actual, RunCopying(session, input), 0, 0, "googlenet @64: branch 1 copied against stored in place");
    }
}
