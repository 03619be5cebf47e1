using Striate.Nn;
using Striate.Optim;
using Striate.Tests.Fuzz;
using Striate.Training;

namespace Striate.Tests.Training;

/// <summary>
/// A damaged checkpoint fails on loading or before restoring anything, naming the file, the field and what was
/// expected (issue 14, defects 4 and 5).
/// </summary>
public sealed class CheckpointValidationTests
{
    private static string Regression(string name) => Path.Combine(HostileInputRegressionTests.Regressions, "checkpoint", name);

    private static Sequential SmallNet(ulong seed) => new(
        new Conv2d(1, 2, 3, generator: new Generator(seed)), new Flatten(), new Linear(2 * 4 * 4, 3, generator: new Generator(seed + 1)));

    /// <summary>A checkpoint of a net after one Adam step, saved in <paramref name="dir"/>, with its optimizer state edited.</summary>
    private static string SavedWithOptimizerState(string dir, Action<Dictionary<string, Tensor>> edit)
    {
        var net = SmallNet(1);
        var adam = new Adam(net.Parameters(), 0.01f);
        foreach (var p in net.Parameters()) p.Grad = Tensor.Full(0.5f, p.Shape.ToArray());
        adam.Step();
        var state = adam.StateDict().ToDictionary(e => e.Key, e => e.Value);
        edit(state);
        var captured = Checkpoint.Capture("small", 1, net, adam, null, "{}", "[]", [], (1, 6, 6));
        string path = Path.Combine(dir, "edited.safetensors");
        new Checkpoint
        {
            ModelName = captured.ModelName, Epoch = captured.Epoch, ModelState = captured.ModelState,
            OptimizerState = state, InputShape = captured.InputShape,
        }.Save(path);
        return path;
    }

    private static void AssertRestoreRefusedAndNothingChanged(string path, params string[] fragments)
    {
        var net = SmallNet(7);
        var adam = new Adam(net.Parameters(), 0.01f);
        var before = net.StateDict().Select(e => e.Value.ToArray()).ToList();
        var checkpoint = Checkpoint.Load(path);
        var e = Assert.Throws<ArgumentException>(() => checkpoint.Restore(net, adam));
        Assert.Contains(path, e.Message);
        foreach (var f in fragments) Assert.Contains(f, e.Message);
        var after = net.StateDict().Select(e => e.Value.ToArray()).ToList();
        for (int i = 0; i < before.Count; i++) Assert.Equal(before[i], after[i]);
        Assert.Equal(0, adam.StepCount(0));
    }

    [Fact]
    public void ACheckpointWithoutEpochNamesTheFileAndTheField()
    {
        string path = Regression("no-epoch.safetensors");
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("metadata 'epoch' is missing", e.Message);
        Assert.Contains("expected the number of epochs completed", e.Message);
    }

    [Fact]
    public void AConfigThatIsNotARunConfigurationNamesTheFileAndTheField()
    {
        string path = Regression("config-not-a-run-configuration.safetensors");
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("metadata 'config'", e.Message);
        Assert.Contains("$.width", e.Message);
    }

    [Theory]
    [InlineData("input_shape", "0,28,28", "three positive integers")]
    [InlineData("input_shape", "100000,1000,1000", "at most")]
    [InlineData("epoch", "-1", "a whole number ≥ 0")]
    [InlineData("generator", "0,0,0,0,0,0", "a valid generator state")]
    [InlineData("classes", "[null]", "class names")]
    [InlineData("scheduler", "{\"last_epoch\":\"x\"}", "a JSON object of numbers")]
    [InlineData("history", "{}", "a JSON list of epoch records")]
    public void BadMetadataNamesTheFileTheFieldAndWhatWasExpected(string field, string value, string expected)
    {
        using var tmp = new Striate.Tests.Data.TempFolder();
        string path = tmp.File("c.safetensors");
        var builder = new Striate.IO.SafetensorsBuilder();
        var metadata = new Dictionary<string, string> { ["format"] = Checkpoint.Format, ["model"] = "lenet", ["epoch"] = "1", [field] = value };
        foreach (var (k, v) in metadata) builder.AddMetadata(k, v);
        builder.Save(path);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains($"metadata '{field}'", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void AnAbsurdOptimizerStepIsRefusedBeforeTheModelIsTouched()
    {
        // 1e30 steps used to be accepted; the next Adam step then wrote NaN into every weight.
        using var tmp = new Striate.Tests.Data.TempFolder();
        string path = SavedWithOptimizerState(tmp.Path, s => s["state.0.step"].Span[0] = 1e30f);
        AssertRestoreRefusedAndNothingChanged(path, "'state.0.step'", "expected a whole number of steps");
    }

    [Fact]
    public void ANegativeSecondMomentIsRefused()
    {
        using var tmp = new Striate.Tests.Data.TempFolder();
        string path = SavedWithOptimizerState(tmp.Path, s => s["state.1.exp_avg_sq"].Span[0] = -1f);
        AssertRestoreRefusedAndNothingChanged(path, "'state.1.exp_avg_sq'", "≥ 0");
    }

    [Fact]
    public void ABadOptimizerSectionLeavesTheModelAsItWas()
    {
        // The model used to be overwritten first, then the optimizer refused: a half-restored model.
        using var tmp = new Striate.Tests.Data.TempFolder();
        string path = SavedWithOptimizerState(tmp.Path, s => s["state.9.momentum"] = Tensor.Zeros(1));
        AssertRestoreRefusedAndNothingChanged(path, "state.9.momentum");
    }

    [Fact]
    public void AValidCheckpointStillRestoresEverything()
    {
        // Guards the editing helper: the refused cases above differ from this one in one value.
        using var tmp = new Striate.Tests.Data.TempFolder();
        string path = SavedWithOptimizerState(tmp.Path, _ => { });
        var net = SmallNet(7);
        var adam = new Adam(net.Parameters(), 0.01f);
        Checkpoint.Load(path).Restore(net, adam);
        Assert.Equal(1, adam.StepCount(0));
        Assert.Equal(SmallNet(1).StateDict().Count, net.StateDict().Count);
    }
}
