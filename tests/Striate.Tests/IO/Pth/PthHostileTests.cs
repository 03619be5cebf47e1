using Striate.IO.Pth;

namespace Striate.Tests.IO.Pth;

/// <summary>
/// Pickles that would run code (or build objects that are not tensors) if Python unpickled them: each is refused
/// with an error naming its global and saying what to save instead, and nothing runs (no PWNED file appears).
/// </summary>
public sealed class PthHostileTests
{
    [Theory]
    [InlineData("evil_os_system.pth", "posix.system", "'fc.weight' is made by posix.system")]
    [InlineData("evil_inst.pth", "os.system", "the file holds an object made by os.system")]
    [InlineData("evil_eval.pth", "__builtin__.eval", "the file holds an object made by __builtin__.eval")]
    [InlineData("evil_eval_p4.pth", "builtins.eval", "'w' is made by builtins.eval")]
    [InlineData("evil_module.pth", "torch.nn.modules.linear.Linear", "the file holds an object made by torch.nn.modules.linear.Linear")]
    [InlineData("evil_module_legacy.pth", "torch.nn.modules.linear.Linear", "whole module (torch.nn.modules.linear.Linear) saved with torch.save(model)")]
    [InlineData("evil_parameter.pth", "torch._utils._rebuild_parameter", "'weight' is made by torch._utils._rebuild_parameter")]
    [InlineData("evil_storage_type.pth", "posix.system", "'w' is a tensor on a storage of type posix.system, not one of the storage classes Striate reads")]
    public void AHostileFileIsRefusedNamingItsGlobal(string file, string global, string what)
    {
        var e = Assert.Throws<PthUnsafeGlobalException>(() => PthFile.Load(PthFixtures.PathOf(file)));
        Assert.Equal(global, e.Global);
        Assert.Contains(what, e.Message);
        Assert.Contains($"{global} is a Python global outside Striate's allowlist", e.Message);
        Assert.Contains("torch.save(model.state_dict(), path)", e.Message);
        Assert.StartsWith(PthFixtures.PathOf(file) + ": ", e.Message);
        Assert.False(File.Exists(Path.Combine(PthFixtures.Folder, "PWNED")));
        Assert.False(File.Exists("PWNED"));
    }

    [Fact]
    public void TheRefusalSaysWhereInThePickleTheGlobalIsNamed()
    {
        var e = Assert.Throws<PthUnsafeGlobalException>(() => PthFile.Load(PthFixtures.PathOf("evil_storage_type.pth")));
        // data.pkl of evil_storage_type: GLOBAL 'posix system' at byte 56 feeds the BINPERSID at byte 87.
        Assert.Equal("archive/data.pkl at byte 87", e.Where);
    }

    [Fact]
    public void AGlobalOutsideTheStateDictIsNeverUsedAndDoesNotStopLoading()
    {
        // nested.pth holds an argparse.Namespace and a numpy scalar beside the weights: inert, never built.
        var pth = PthFile.Load(PthFixtures.PathOf("nested.pth"), key: "model");
        Assert.Equal("model", pth.Key);
        Assert.Equal(9, pth.Tensors.Count);
    }
}
