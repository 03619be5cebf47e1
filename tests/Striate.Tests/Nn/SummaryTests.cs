using System.Text.Json;
using Striate.Functional;
using Striate.Models;
using Striate.Nn;

namespace Striate.Tests.Nn;

/// <summary>
/// Module.Summary: per-layer shapes, parameters, MACs and receptive fields (r, jump, start; Araujo et al. 2019)
/// on models whose figures are computed by hand below.
/// </summary>
public sealed class SummaryTests
{
    private static void AssertRow(LayerSummary row, string name, string type, int[] shape, long parameters, long macs, double r, double j, double start)
    {
        Assert.Equal(name, row.Name);
        Assert.Equal(type, row.TypeName);
        Assert.Equal(shape, row.OutputShape);
        Assert.Equal(parameters, row.Parameters);
        Assert.Equal(macs, row.Macs);
        Assert.Equal(new Extent2(r, r), row.ReceptiveField.Size);
        Assert.Equal(new Extent2(j, j), row.ReceptiveField.Jump);
        Assert.Equal(new Extent2(start, start), row.ReceptiveField.Start);
    }

    [Fact]
    public void LeNetRowsMatchHandComputedShapesMacsAndReceptiveFields()
    {
        var s = LeNet.Create().Summary(1, 28, 28);
        Assert.Equal(12, s.Layers.Count);
        // r_out = r_in + (k−1)·j_in, j_out = j_in·s, start_out = start_in + ((k−1)/2 − p)·j_in; input r = 1, j = 1, start = 0.
        AssertRow(s.Layers[0], "0", "Conv2d", [6, 28, 28], 156, 6 * 28 * 28 * 1 * 25, 5, 1, 0);        // k5 p2: 0 + (2 − 2)
        AssertRow(s.Layers[1], "1", "Sigmoid", [6, 28, 28], 0, 0, 5, 1, 0);
        AssertRow(s.Layers[2], "2", "AvgPool2d", [6, 14, 14], 0, 0, 6, 2, 0.5);                           // k2 s2: 5 + 1·1, 0 + 0.5·1
        AssertRow(s.Layers[3], "3", "Conv2d", [16, 10, 10], 2416, 16 * 10 * 10 * 6 * 25, 14, 2, 4.5);   // k5: 6 + 4·2, 0.5 + 2·2
        AssertRow(s.Layers[4], "4", "Sigmoid", [16, 10, 10], 0, 0, 14, 2, 4.5);
        AssertRow(s.Layers[5], "5", "AvgPool2d", [16, 5, 5], 0, 0, 16, 4, 5.5);                           // 14 + 1·2, 4.5 + 0.5·2
        AssertRow(s.Layers[6], "6", "Flatten", [400], 0, 0, 16, 4, 5.5);                                  // a view: passes through
        AssertRow(s.Layers[7], "7", "Linear", [120], 48120, 400 * 120, 32, 20, 13.5);                     // sees the whole 5×5 map: 16 + 4·4, 4·5, 5.5 + 2·4
        AssertRow(s.Layers[8], "8", "Sigmoid", [120], 0, 0, 32, 20, 13.5);
        AssertRow(s.Layers[9], "9", "Linear", [84], 10164, 120 * 84, 32, 20, 13.5);
        AssertRow(s.Layers[10], "10", "Sigmoid", [84], 0, 0, 32, 20, 13.5);
        AssertRow(s.Layers[11], "11", "Linear", [10], 850, 84 * 10, 32, 20, 13.5);

        Assert.Equal(61_706, s.TotalParameters);
        Assert.Equal(61_706, s.TrainableParameters);
        Assert.Equal(117_600 + 240_000 + 48_000 + 10_080 + 840, s.TotalMacs);
        Assert.Equal([10], s.OutputShape);
        // Training: input + every output once (Flatten's view shares the pool output's storage).
        Assert.Equal(4L * (784 + 2 * 4704 + 1176 + 2 * 1600 + 400 + 2 * 120 + 2 * 84 + 10), s.TrainingActivationBytes);
        // Inference: the largest input + output of one layer is the first sigmoid, 6×28×28 in and out.
        Assert.Equal(4L * 2 * 4704, s.InferenceActivationBytes);
        Assert.DoesNotContain(s.Layers, l => l.InputInferred);
    }

    [Fact]
    public void VggLikeStackAccumulatesFieldAndMacs()
    {
        var model = new Sequential(
            new Conv2d(3, 8, 3, padding: 1), new ReLU(), new Conv2d(8, 8, 3, padding: 1), new ReLU(), new MaxPool2d(2),
            new Conv2d(8, 16, 3, padding: 1), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(16 * 8 * 8, 10));
        var s = model.Summary(3, 32, 32);
        double[] r = [3, 3, 5, 5, 6, 10, 10, 12];
        double[] j = [1, 1, 1, 1, 2, 2, 2, 4];
        double[] start = [0, 0, 0, 0, 0.5, 0.5, 0.5, 1.5];
        for (int i = 0; i < r.Length; i++)
        {
            Assert.Equal(new Extent2(r[i], r[i]), s.Layers[i].ReceptiveField.Size);
            Assert.Equal(new Extent2(j[i], j[i]), s.Layers[i].ReceptiveField.Jump);
            Assert.Equal(new Extent2(start[i], start[i]), s.Layers[i].ReceptiveField.Start);
        }
        Assert.Equal(8L * 32 * 32 * 27 + 8L * 32 * 32 * 72 + 16L * 16 * 16 * 72 + 1024 * 10, s.TotalMacs);
    }

    /// <summary>ResNet basic block with a strided 1×1 shortcut: the sum is made by F.Add inside Forward.</summary>
    private sealed class ResidualNet : Module
    {
        private readonly Conv2d _stem, _conv1, _conv2, _shortcut;
        private readonly BatchNorm2d _bn1, _bn2;
        private readonly ReLU _relu;
        private readonly AdaptiveAvgPool2d _pool;
        private readonly Linear _fc;

        public ResidualNet()
        {
            _stem = RegisterModule("stem", new Conv2d(3, 8, 3, padding: 1));
            _conv1 = RegisterModule("conv1", new Conv2d(8, 16, 3, stride: 2, padding: 1, bias: false));
            _bn1 = RegisterModule("bn1", new BatchNorm2d(16));
            _relu = RegisterModule("relu", new ReLU());
            _conv2 = RegisterModule("conv2", new Conv2d(16, 16, 3, padding: 1, bias: false));
            _bn2 = RegisterModule("bn2", new BatchNorm2d(16));
            _shortcut = RegisterModule("shortcut", new Conv2d(8, 16, 1, stride: 2, bias: false));
            _pool = RegisterModule("avgpool", new AdaptiveAvgPool2d(1));
            _fc = RegisterModule("fc", new Linear(16, 10));
        }

        public override Tensor Forward(Tensor x)
        {
            x = _stem.Call(x);
            var y = _bn2.Call(_conv2.Call(_relu.Call(_bn1.Call(_conv1.Call(x)))));
            y = F.Relu(F.Add(y, _shortcut.Call(x)));
            return _fc.Call(_pool.Call(y).Flatten(1));
        }
    }

    [Fact]
    public void ResidualSumTakesTheWidestBranchFieldAndGlobalPoolCoversTheMap()
    {
        var s = new ResidualNet().Summary(3, 8, 8);
        var byName = s.Layers.ToDictionary(l => l.Name);
        Assert.Equal(new Extent2(3, 3), byName["stem"].ReceptiveField.Size);
        Assert.Equal(new Extent2(5, 5), byName["conv1"].ReceptiveField.Size);   // 3 + 2·1
        Assert.Equal(new Extent2(0, 0), byName["conv1"].ReceptiveField.Start);  // 0 + (1 − 1)·1
        Assert.Equal(new Extent2(9, 9), byName["bn2"].ReceptiveField.Size);     // 5 + 2·2
        Assert.Equal(new Extent2(3, 3), byName["shortcut"].ReceptiveField.Size); // 1×1: passes r, jump 2
        Assert.Equal(new Extent2(2, 2), byName["shortcut"].ReceptiveField.Jump);
        // The pool's input is F.Relu(F.Add(...)), unknown to the hooks: the widest 4×4 map (r = 9, j = 2, start 0) stands in.
        var pool = byName["avgpool"];
        Assert.True(pool.InputInferred);
        Assert.Equal(new Extent2(15, 15), pool.ReceptiveField.Size);  // 9 + (4 − 1)·2
        Assert.Equal(new Extent2(8, 8), pool.ReceptiveField.Jump);    // 2·4
        Assert.Equal(new Extent2(3, 3), pool.ReceptiveField.Start);   // 0 + 1.5·2
        // fc's input is a flatten view made in Forward: matched by element count to the pool output.
        Assert.True(byName["fc"].InputInferred);
        Assert.Equal(new Extent2(15, 15), byName["fc"].ReceptiveField.Size);
        Assert.Equal(8L * 64 * 27 + 16L * 16 * 8 * 9 + 16L * 16 * 16 * 9 + 16L * 16 * 8 + 160, s.TotalMacs);
        Assert.Equal(16 + 16, byName["bn1"].Parameters);
    }

    private sealed class TwoBranches : Module
    {
        private readonly Conv2d _a, _b, _mix;

        public TwoBranches()
        {
            _a = RegisterModule("a", new Conv2d(1, 2, 1));
            _b = RegisterModule("b", new Conv2d(1, 2, 5, padding: 2));
            _mix = RegisterModule("mix", new Conv2d(4, 1, 1));
        }

        public override Tensor Forward(Tensor x) => _mix.Call(F.Concat(_a.Call(x), _b.Call(x)));
    }

    [Fact]
    public void ConcatenatedBranchesTakeTheWiderField()
    {
        var s = new TwoBranches().Summary(1, 6, 6);
        Assert.Equal(new Extent2(5, 5), s.Layers[2].ReceptiveField.Size);
        Assert.True(s.Layers[2].InputInferred);
        Assert.Equal(6L * 6 * 4, s.Layers[2].Macs);
    }

    [Fact]
    public void NonSquareKernelsAndStridesReportEachAxis()
    {
        var model = new Sequential(new Conv2d(1, 2, (1, 7), stride: (1, 2), padding: (0, 3)), new MaxPool2d(2));
        var s = model.Summary(1, 8, 16);
        Assert.Equal(new Extent2(1, 7), s.Layers[0].ReceptiveField.Size);
        Assert.Equal(new Extent2(1, 2), s.Layers[0].ReceptiveField.Jump);
        Assert.Equal(new Extent2(2, 9), s.Layers[1].ReceptiveField.Size);   // (1 + 1·1, 7 + 1·2)
        Assert.Equal(new Extent2(2, 4), s.Layers[1].ReceptiveField.Jump);
        Assert.Equal(new Extent2(0.5, 1), s.Layers[1].ReceptiveField.Start); // (0 + 0.5·1, 0 + 0.5·2)
        Assert.Equal("2×9", s.Layers[1].ReceptiveField.Size.ToString());
        Assert.Equal("7", new Extent2(7, 7).ToString());
        Assert.Equal(2L * 8 * 8 * 7, s.Layers[0].Macs);
    }

    [Fact]
    public void DilationWidensTheFieldAndGroupsDivideMacs()
    {
        var model = new Sequential(new Conv2d(4, 8, 3, padding: 2, dilation: 2), new Conv2d(8, 8, 3, padding: 1, groups: 4));
        var s = model.Summary(4, 10, 10);
        Assert.Equal(new Extent2(5, 5), s.Layers[0].ReceptiveField.Size);   // 1 + 2·2·1
        Assert.Equal(new Extent2(0, 0), s.Layers[0].ReceptiveField.Start);  // 0 + (2·2/2 − 2)
        Assert.Equal(8L * 100 * 4 * 9, s.Layers[0].Macs);
        Assert.Equal(8L * 100 * 2 * 9, s.Layers[1].Macs);                   // C_in/groups = 2
    }

    [Fact]
    public void AdaptivePoolingThatDoesNotDivideUsesTheWidestWindow()
    {
        // 5 → 3: PyTorch windows [0,2), [1,4), [3,5): widest 3, first 2, mean stride 5/3.
        var s = new Sequential(new AdaptiveAvgPool2d(3)).Summary(1, 5, 5);
        Assert.Equal(new Extent2(3, 3), s.Layers[0].ReceptiveField.Size);
        Assert.Equal(5.0 / 3, s.Layers[0].ReceptiveField.Jump.H, 12);
        Assert.Equal(new Extent2(0.5, 0.5), s.Layers[0].ReceptiveField.Start);
    }

    [Fact]
    public void FrozenParametersAreNotTrainable()
    {
        var model = LeNet.Create();
        var conv = (Conv2d)model.NamedModules().First(m => m.Key == "0").Value;
        conv.Weight.RequiresGrad = false;
        var s = model.Summary(1, 28, 28);
        Assert.Equal(61_706, s.TotalParameters);
        Assert.Equal(61_706 - 150, s.TrainableParameters);
    }

    private sealed class WithUnusedHead : Module
    {
        private readonly Linear _main;

        public WithUnusedHead()
        {
            _main = RegisterModule("main", new Linear(4, 2));
            RegisterModule("aux", new Linear(4, 3));
        }

        public override Tensor Forward(Tensor x) => _main.Call(x);
    }

    [Fact]
    public void LeavesThatDoNotRunAreListedSoParametersAddUp()
    {
        var s = new WithUnusedHead().Summary(4);
        Assert.Equal(2, s.Layers.Count);
        Assert.True(s.Layers[0].Ran);
        Assert.False(s.Layers[1].Ran);
        Assert.Equal("aux", s.Layers[1].Name);
        Assert.Equal(s.TotalParameters, s.Layers.Sum(l => l.Parameters));
        Assert.Equal(8, s.TotalMacs);
    }

    [Fact]
    public void SummaryRestoresModesAndRemovesItsHooks()
    {
        var model = LeNet.Create();
        int calls = 0;
        using var hook = model.RegisterForwardHook((_, _, _) => calls++);
        var first = model.Summary(1, 28, 28);
        Assert.True(model.Training);
        Assert.All(model.NamedModules(), m => Assert.True(m.Value.Training));
        var second = model.Summary(1, 28, 28);
        Assert.Equal(first.Layers.Count, second.Layers.Count);
        Assert.Equal(2, calls); // the user's hook still runs, once per summary

        model.Eval();
        model.Summary(1, 28, 28);
        Assert.False(model.Training);
    }

    [Fact]
    public void WrongChannelCountSaysWhatTheFirstLayerExpects()
    {
        var e = Assert.Throws<ArgumentException>(() => LeNet.Create().Summary(3, 28, 28));
        Assert.Contains("layer '0' (Conv2d) expects 1 input channels, got 3", e.Message);
    }

    [Fact]
    public void WrongImageSizeNamesTheLayerThatCannotTakeIt()
    {
        var e = Assert.Throws<ArgumentException>(() => LeNet.Create().Summary(1, 32, 32));
        Assert.Contains("layer '7' (Linear) expects 400 input features, got 576", e.Message);
        var tooSmall = Assert.Throws<ArgumentException>(() => LeNet.Create().Summary(1, 6, 6));
        Assert.Contains("layer '3' (Conv2d)", tooSmall.Message);
        Assert.Contains("1×6×6", tooSmall.Message);
    }

    [Fact]
    public void TableIsAlignedAndEndsWithTotals()
    {
        var text = LeNet.Create().Summary(1, 28, 28).ToString();
        var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        int header = lines.FindIndex(l => l.StartsWith("Layer", StringComparison.Ordinal));
        Assert.True(header >= 0, text);
        var table = lines.Skip(header).TakeWhile(l => !l.StartsWith("Output", StringComparison.Ordinal)).ToList();
        Assert.Equal(1 + 1 + 12 + 1, table.Count);
        Assert.Single(table.Select(l => l.Length).Distinct()); // every line as wide: fixed-width, right-aligned numbers
        int paramsEnd = table[0].IndexOf("Params", StringComparison.Ordinal) + "Params".Length;
        Assert.Equal("48,120", table[2 + 7].Substring(paramsEnd - 6, 6));
        Assert.Contains("Total parameters: 61,706", text);
        Assert.Contains("Trainable parameters: 61,706", text);
        Assert.Contains("Total MACs: 416,520 (0.000417 G)", text);
        Assert.Contains("Activation memory per image: inference 36.75 KiB", text);
    }

    [Fact]
    public void JsonCarriesRowsAndTotals()
    {
        using var doc = JsonDocument.Parse(LeNet.Create().Summary(1, 28, 28).ToJson());
        var root = doc.RootElement;
        Assert.Equal(61_706, root.GetProperty("total_parameters").GetInt64());
        Assert.Equal(416_520, root.GetProperty("total_macs").GetInt64());
        var conv = root.GetProperty("layers")[3];
        Assert.Equal("Conv2d", conv.GetProperty("type").GetString());
        Assert.Equal(14, conv.GetProperty("receptive_field").GetProperty("h").GetDouble());
        Assert.Equal(4.5, conv.GetProperty("start").GetProperty("w").GetDouble());
        Assert.Equal([16, 10, 10], conv.GetProperty("output").EnumerateArray().Select(e => e.GetInt32()));
    }
}
