using Striate.IO;
using Striate.IO.Pth;

namespace Striate.Tests.IO.Pth;

/// <summary>
/// Training checkpoints hold a state dict among other things: the one state dict is picked by itself, several need a
/// key, and the errors list the keys there are.
/// </summary>
public sealed class PthCheckpointSelectionTests
{
    [Theory]
    [InlineData("model")]
    [InlineData("model_ema")]
    public void AKeyPicksThatStateDict(string key)
    {
        var pth = PthFile.Load(PthFixtures.PathOf("nested.pth"), key);
        var expected = SafetensorsFile.Load(PthFixtures.PathOf("nested.expected.safetensors"));
        var names = expected.Names.Where(n => n.StartsWith(key + ".", StringComparison.Ordinal)).ToList();
        Assert.Equal(names.Select(n => n[(key.Length + 1)..]), pth.Names);
        foreach (var n in names)
            Assert.Equal(expected.GetTensor(n).ToArray(), pth[n[(key.Length + 1)..]].Value.ToArray());
        Assert.Equal(["1.num_batches_tracked"], pth.IntegerNames);
    }

    [Fact]
    public void SeveralStateDictsNeedAKeyAndTheErrorListsThem()
    {
        var e = Assert.Throws<PthFormatException>(() => PthFile.Load(PthFixtures.PathOf("nested.pth")));
        Assert.Contains("the file holds 2 state dicts ('model', 'model_ema'); pick one with --key NAME", e.Message);
        Assert.Contains("'model' (a state dict of 9 tensors)", e.Message);
        Assert.Contains("'epoch' (the integer 3)", e.Message);
        Assert.Contains("'args' (an object made by argparse.Namespace)", e.Message);
        Assert.Contains("'optimizer' (a dict of 2)", e.Message);
    }

    [Fact]
    public void TheOnlyStateDictOfACheckpointIsPickedByItself()
    {
        var pth = PthFile.Load(PthFixtures.PathOf("checkpoint.pth"));
        Assert.Equal("model", pth.Key);
        Assert.Equal(["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked", "3.weight", "3.bias"],
            pth.Names.Take(9));
    }

    [Fact]
    public void AnUnknownKeyListsTheKeysThereAre()
    {
        var e = Assert.Throws<PthFormatException>(() => PthFile.Load(PthFixtures.PathOf("nested.pth"), key: "state_dict"));
        Assert.Contains("there is no key 'state_dict'", e.Message);
        Assert.Contains("'model_ema' (a state dict of 9 tensors)", e.Message);
    }

    [Fact]
    public void AKeyThatIsNotAStateDictSaysWhatItHolds()
    {
        var e = Assert.Throws<PthFormatException>(() => PthFile.Load(PthFixtures.PathOf("nested.pth"), key: "optimizer"));
        Assert.Contains("key 'optimizer' is not a state dict: its entry 'state' is a dict of 6, not a tensor", e.Message);
        e = Assert.Throws<PthFormatException>(() => PthFile.Load(PthFixtures.PathOf("nested.pth"), key: "optimizer/param_groups"));
        Assert.Contains("key 'optimizer/param_groups' holds a list of 1, not a state dict", e.Message);
        e = Assert.Throws<PthUnsafeGlobalException>(() => PthFile.Load(PthFixtures.PathOf("nested.pth"), key: "args"));
        Assert.Contains("key 'args' holds an object made by argparse.Namespace", e.Message);
    }

    [Fact]
    public void APathReachesIntoNestedDicts()
    {
        var e = Assert.Throws<PthFormatException>(() => PthFile.Load(PthFixtures.PathOf("nested.pth"), key: "epoch/x"));
        Assert.Contains("'epoch' is the integer 3, not a dict", e.Message);
    }

    [Fact]
    public void OldDenseNetKeysAreRenamedAsTorchvisionDoes()
    {
        var pth = PthFile.Load(PthFixtures.PathOf("densenet_old_keys.pth"));
        Assert.Contains("features.denseblock1.denselayer1.norm.1.weight", pth.Names); // the file's own names
        var names = StateDictKeys.Normalize(pth.Names, out int renamed);
        Assert.Equal(
        [
            "features.conv0.weight", "features.denseblock1.denselayer1.norm1.weight", "features.denseblock1.denselayer1.norm1.running_var",
            "features.denseblock1.denselayer1.conv1.weight", "features.denseblock1.denselayer1.norm2.bias", "features.denseblock1.denselayer1.conv2.weight",
            // torchvision's pattern does not cover num_batches_tracked (old DenseNet files predate it): left as it is.
            "features.denseblock2.denselayer12.norm.1.num_batches_tracked",
            "features.transition1.norm.weight", "classifier.weight",
        ], names);
        Assert.Equal(5, renamed);
    }

    [Fact]
    public void DataParallelsModulePrefixIsRemovedOnlyWhenEveryKeyHasIt()
    {
        Assert.Equal(["conv.weight", "fc.bias"], StateDictKeys.Normalize(["module.conv.weight", "module.fc.bias"], out int renamed));
        Assert.Equal(2, renamed);
        Assert.Equal(["module.conv.weight", "fc.bias"], StateDictKeys.Normalize(["module.conv.weight", "fc.bias"], out renamed));
        Assert.Equal(0, renamed);
    }
}
