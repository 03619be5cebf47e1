namespace Striate.Tests.Kernels;

/// <summary>
/// Tests that set the process-wide <see cref="Striate.Kernels.KernelThreads.Count"/> (or need every worker to themselves)
/// run in this collection, one at a time and with no other test beside them: every kernel test reads the count when it
/// chooses tiles and schedules, so a test that set it to 1 while another ran made the other's choice (and any expected
/// plan it pins) depend on timing.
/// </summary>
[CollectionDefinition(nameof(KernelThreadsAloneCollection), DisableParallelization = true)]
public sealed class KernelThreadsAloneCollection;
