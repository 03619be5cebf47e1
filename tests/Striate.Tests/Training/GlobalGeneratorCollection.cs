namespace Striate.Tests.Training;

/// <summary>
/// Tests that seed the process-wide <see cref="Generator.Default"/> (as torch.manual_seed does) and then need the exact
/// sequence it draws — dropout masks, shuffles — run alone: a test of another class drawing from the same generator at
/// the same moment would shift that sequence and make two runs that should be bit-identical differ now and then.
/// </summary>
[CollectionDefinition(nameof(GlobalGeneratorCollection), DisableParallelization = true)]
public sealed class GlobalGeneratorCollection;
