using System.CommandLine;
using Striate.IO;
using Striate.IO.Pth;
using Striate.Training;

namespace Striate.Cli.Commands;

/// <summary>
/// <c>striate convert IN.pth OUT.safetensors [--key K] [--model NAME]</c>: a PyTorch state dict, read without Python
/// and without running anything in the file, written atomically as safetensors — floating tensors as F32, integer and
/// bool tensors as exact I64 (so <c>num_batches_tracked</c> stays an integer buffer), old torchvision key names renamed.
/// </summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("IN") { Description = "A PyTorch file written by torch.save (.pth/.pt, zip or pre-1.6 format)." };
        var output = new Argument<string>("OUT") { Description = "The safetensors file to write (atomically: an existing file is replaced only once the new one is complete)." };
        var key = LoadedModel.KeyOption();
        var modelName = new Option<string?>("--model")
        {
            Description = "Check that the weights load into this registry model, and record its name in the file so later commands need no --model.",
        };
        var command = new Command("convert", "Convert a PyTorch .pth state dict to safetensors, without Python and without running the file.")
        {
            input, output, key, modelName,
        };
        command.SetAction(parse => CliErrors.Run(parse, "convert", () =>
        {
            string source = parse.GetValue(input)!, target = parse.GetValue(output)!;
            if (!File.Exists(source)) throw new FileNotFoundException($"{source} does not exist.", source);
            if (!PthFile.IsPthFile(source))
                throw new ArgumentException($"{source} is not a PyTorch file written by torch.save (a zip archive, or the pre-1.6 format); convert reads .pth files.");
            var pth = PthFile.Load(source, parse.GetValue(key));
            var checkpoint = Checkpoint.FromPth(pth);
            var builder = new SafetensorsBuilder();
            builder.AddMetadata("format", "pt");
            builder.AddMetadata("source", Path.GetFileName(source));
            if (pth.Key != null) builder.AddMetadata("key", pth.Key);
            if (parse.GetValue(modelName) is { } name)
            {
                var loaded = LoadedModel.FromCheckpoint(checkpoint, source, name); // throws, naming every mismatch, if they do not fit
                builder.AddMetadata("model", loaded.Entry.Name);
            }
            int floats = 0, integers = 0;
            for (int i = 0; i < pth.Tensors.Count; i++)
            {
                var (tensor, stored) = (pth.Tensors[i], checkpoint.ModelState[i].Key);
                if (tensor.Integers is { } values) { builder.AddInt64(stored, values, tensor.Shape); integers++; }
                else { builder.AddFloat(stored, tensor.Value); floats++; }
            }
            builder.Save(target);
            int renamed = pth.Names.Where((n, i) => n != checkpoint.ModelState[i].Key).Count();
            Console.WriteLine($"{target}: {pth.Tensors.Count} tensors ({floats} F32, {integers} I64) from {source} " +
                $"({(pth.Format == PthFormat.Zip ? "zip" : "legacy")} format{(pth.Key != null ? $", key '{pth.Key}'" : "")})" +
                (renamed > 0 ? $"; {renamed} old key names renamed as torchvision does" : ""));
            return 0;
        }));
        return command;
    }
}
