namespace Striate.Tests.TestSupport;

/// <summary>
/// Tests that write a process-wide static — <see cref="Striate.Kernels.KernelThreads.Count"/>, a kernel's or the
/// inference session's static switch (the fields STRIATE_BENCH_* switches set, e.g. <c>Conv2dDirect.RunInterleave</c>,
/// <c>InferenceSession.AffineIntoPool</c>), <c>TensorPool.DebugAllocations</c> — or that need every kernel worker to
/// themselves, run in this collection: one at a time and with no other test beside them. Every kernel test reads the
/// thread count and the switches when it chooses paths, tiles and schedules, so a test that flipped one while another
/// ran made the other's path (and any plan it pins) depend on timing (a CI failure, fixed in 2fa4ad8).
/// Set a switch with <see cref="Switches.Set{T}"/>; SwitchWritersTests fails on a test class that writes one outside a
/// non-parallel collection.
/// </summary>
[CollectionDefinition(nameof(StaticSwitchesCollection), DisableParallelization = true)]
public sealed class StaticSwitchesCollection;
