namespace Striate.Cli;

/// <summary>
/// Training into a folder that already holds a run: refused unless --resume (continue it) or --force (replace it),
/// so a second run neither silently overwrites the model nor leaves the first run's report and plots beside the new
/// metrics. With --force the files striate wrote there before are removed first; other files are left alone. Checked
/// while holding the folder's lock, so two runs cannot both find it empty or both clear it.
/// </summary>
internal static class RunFolderReuse
{
    /// <summary>
    /// The files striate train, report and ablate write into a run folder. The run-folder lock's own files
    /// (<see cref="Striate.Training.RunFolderLock"/>) are not among them: the run taking the folder holds that lock.
    /// </summary>
    public static readonly string[] RunFiles =
        ["model.safetensors", Commands.TrainRun.BestCheckpointName, "metrics.json", "curves.svg", "confusion.svg", "report.html", "ablation.svg"];

    public static void Check(string outDir, bool resume, bool force)
    {
        if (resume || !Directory.Exists(outDir)) return;
        var present = RunFiles.Where(f => File.Exists(Path.Combine(outDir, f))).ToList();
        if (present.Count == 0) return;
        if (!force)
            throw new ArgumentException($"{outDir} already holds a training run ({string.Join(", ", present)}); pass --resume to continue it, " +
                                        "--force to replace it, or --out to choose another folder.");
        foreach (var f in present) File.Delete(Path.Combine(outDir, f));
    }
}
