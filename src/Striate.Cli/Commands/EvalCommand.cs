using System.CommandLine;
using Striate.Data;
using Striate.Training;

namespace Striate.Cli.Commands;

/// <summary>
/// <c>striate eval CHECKPOINT [--dataset D] [--adversarial fgsm --eps E]</c>: loss, top-1, top-5 and per-class accuracy on
/// a test set (for an image folder, the run's held-out images: see <see cref="EvaluationImages"/>) — of the clean images,
/// or of FGSM adversarial versions of them (Goodfellow et al. 2015; ε in pixel units).
/// </summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<string>("CHECKPOINT") { Description = "A model.safetensors written by striate train, a weights file (safetensors, PyTorch .pth), or an ONNX file." };
        var dataset = new Option<string?>("--dataset") { Description = "Dataset to evaluate on (default: the one it was trained on)." };
        var modelName = new Option<string?>("--model") { Description = "Model name, for weights files that do not name it." };
        var key = LoadedModel.KeyOption();
        var data = new Option<string?>("--data") { Description = "Folder holding the dataset files." };
        var batchSize = new Option<int>("--batch-size") { Description = "Batch size.", DefaultValueFactory = _ => 256 };
        var limit = new Option<int?>("--limit") { Description = "Evaluate on N images only (the first N of a test split; sampled across classes from an image folder)." };
        var adversarial = new Option<string?>("--adversarial") { Description = "Attack each test image first: fgsm." };
        var eps = new Option<float?>("--eps") { Description = "FGSM step in pixel units (images in [0, 1]), e.g. 0.1." };
        var command = new Command("eval", "Evaluate a trained model on a test set.") { checkpoint, dataset, modelName, key, data, batchSize, limit, adversarial, eps };
        command.SetAction(parse => CliErrors.Run(parse, "eval", () =>
        {
            var loaded = LoadedModel.Load(parse.GetValue(checkpoint)!, parse.GetValue(modelName), parse.GetValue(key));
            string name = parse.GetValue(dataset) ?? loaded.Config?.Dataset
                ?? throw new ArgumentException("--dataset is required: the weights file does not say what it was trained on.");
            if (parse.GetValue(batchSize) <= 0) throw new ArgumentException($"--batch-size must be positive, got {parse.GetValue(batchSize)}.");
            if (parse.GetValue(limit) is <= 0) throw new ArgumentException($"--limit must be positive, got {parse.GetValue(limit)}.");
            var (test, description) = EvaluationImages.Open(loaded, name, parse.GetValue(data), parse.GetValue(limit));
            Console.WriteLine($"Evaluating on {description}.");
            var config = InsightData.Config(loaded, name);
            var loader = new DataLoader(test, parse.GetValue(batchSize), transform: config.BuildTransform(false, test.SampleShape));
            CheckShape(loader.SampleShape, loaded.InputShape);
            string? attack = parse.GetValue(adversarial)?.ToLowerInvariant();
            if (attack != null && attack != "fgsm") throw new ArgumentException($"--adversarial supports fgsm only, got '{parse.GetValue(adversarial)}'.");
            if (attack == null && parse.GetValue(eps) != null) throw new ArgumentException("--eps needs --adversarial fgsm.");
            EvaluationResult result;
            if (attack == null)
            {
                result = Evaluator.Evaluate(loaded.Model, loader);
                Console.WriteLine($"{loaded.Entry.Name} on {name} ({result.Samples:N0} images): loss {result.Loss:F4}, top-1 {result.Top1:P2}{TopFive(result)}");
            }
            else
            {
                float e = parse.GetValue(eps) ?? throw new ArgumentException("--adversarial fgsm needs --eps E (pixel units, e.g. 0.1).");
                if (!(e >= 0 && e <= 1)) throw new ArgumentException($"--eps must be in [0, 1] (pixel units), got {e}.");
                var clean = Evaluator.Evaluate(loaded.Model, loader);
                result = AdversarialEvaluation.Evaluate(loaded.Model, loader, e, config.NormalizeMean, config.NormalizeStd);
                Console.WriteLine($"{loaded.Entry.Name} on {name} ({result.Samples:N0} images), clean: loss {clean.Loss:F4}, top-1 {clean.Top1:P2}{TopFive(clean)}");
                Console.WriteLine($"under FGSM, ε = {e.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture)}: loss {result.Loss:F4}, top-1 {result.Top1:P2}{TopFive(result)}");
            }
            var perClass = result.PerClassAccuracy();
            for (int c = 0; c < perClass.Length; c++)
                Console.WriteLine($"  {result.ClassNames[c],-14} {perClass[c]:P2}");
            return 0;
        }));
        return command;
    }

    /// <summary>Evaluation of FGSM adversarial examples made from each batch (the attack uses the true labels).</summary>
    private static class AdversarialEvaluation
    {
        public static EvaluationResult Evaluate(Striate.Nn.Module model, DataLoader loader, float eps, float[] mean, float[] std)
        {
            var classes = loader.Dataset.ClassNames;
            var metrics = new MetricAccumulator(classes.Count);
            bool wasTraining = model.Training;
            model.Eval();
            try
            {
                foreach (var batch in loader.Epoch(0))
                {
                    var labels = batch.LabelArray();
                    var attacked = mean.Length > 0
                        ? Striate.Insight.Fgsm.AttackNormalized(model, batch.Images, labels, eps, mean, std)
                        : Striate.Insight.Fgsm.Attack(model, batch.Images, labels, eps);
                    using var noGrad = Striate.Autograd.GradMode.NoGrad();
                    using var scope = TensorScope.Begin();
                    var logits = model.Call(attacked);
                    var loss = Striate.Functional.F.CrossEntropy(logits, labels);
                    metrics.Add(loss.Item(), logits.ReadOnlySpan, labels);
                }
            }
            finally
            {
                model.Train(wasTraining);
            }
            return new EvaluationResult
            {
                Loss = metrics.MeanLoss, Top1 = metrics.Top1, Top5 = metrics.Top5, Samples = metrics.Samples,
                Confusion = metrics.Confusion, ClassNames = classes,
            };
        }
    }

    internal static void CheckShape((int C, int H, int W) data, (int C, int H, int W) model)
    {
        if (data != model)
            throw new ArgumentException($"the data gives {data.C}×{data.H}×{data.W} images, but the model was trained on {model.C}×{model.H}×{model.W}.");
    }

    /// <summary>", top-5 …" — or nothing with five classes or fewer, where top-5 is 100 % by construction.</summary>
    internal static string TopFive(EvaluationResult result) => result.ClassNames.Count > 5 ? $", top-5 {result.Top5:P2}" : "";
}
