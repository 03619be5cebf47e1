using System.Text.Json;
using System.Text.Json.Nodes;
using Striate.IO;

namespace Striate.Training;

/// <summary>
/// metrics.json: the run's configuration and one object per epoch with train_loss, train_accuracy, test_loss,
/// test_accuracy (0–1), test_top5 — or val_loss, val_accuracy, val_top5 when validation images were evaluated —,
/// images_per_second (training), seconds and learning_rate.
/// </summary>
public static class MetricsFile
{
    private static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>The history as a JSON array (stored in checkpoints so a resumed run keeps its earlier epochs).</summary>
    public static string HistoryJson(IEnumerable<EpochRecord> history) => JsonSerializer.Serialize(history, Options);

    /// <summary>Reads what <see cref="HistoryJson"/> wrote.</summary>
    public static IReadOnlyList<EpochRecord> ParseHistory(string json, string? source = null)
    {
        try { return JsonSerializer.Deserialize<List<EpochRecord>>(json, Options) ?? []; }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException(source is null ? $"The checkpoint's training history is not valid: {e.Message}"
                : $"Checkpoint file '{source}': metadata 'history' is not a JSON list of epoch records ({e.Message}).", e);
        }
    }

    /// <summary>
    /// Writes metrics.json atomically (temporary file, then rename); <paramref name="evaluatedOn"/> says which images
    /// the per-epoch figures come from, <paramref name="bestEpoch"/> the epoch with the best validation accuracy.
    /// </summary>
    public static void Write(string path, RunConfig config, IReadOnlyList<EpochRecord> history, int? bestEpoch = null, string? evaluatedOn = null)
    {
        var root = new JsonObject
        {
            ["model"] = config.Model,
            ["dataset"] = config.Dataset,
            ["config"] = JsonNode.Parse(config.ToJson()),
            ["epochs"] = JsonNode.Parse(HistoryJson(history)),
        };
        if (evaluatedOn != null) root["evaluated_on"] = evaluatedOn;
        if (bestEpoch is int b) root["best_epoch"] = b;
        if (history.Count > 0) root["final"] = JsonNode.Parse(JsonSerializer.Serialize(history[^1], Options));
        AtomicFile.WriteAllText(path, root.ToJsonString(Options));
    }
}
