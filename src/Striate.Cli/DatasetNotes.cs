using Striate.Data;

namespace Striate.Cli;

/// <summary>
/// What striate train says out loud about a folder dataset before training: images converted to the model's channel
/// count. (A folder with fewer than two classes is refused when its splits are opened, DatasetSplits.)
/// </summary>
internal static class DatasetNotes
{
    public static void Print(IDataset train, string modelName, int modelChannels)
    {
        var source = train;
        while (source is Subset subset) source = subset.Source; // a validation split or --limit-train
        if (source is ImageFolderDataset folder && folder.Count > 0)
        {
            int channels = folder.Folder.Load(0).Channels;
            if (channels == 4) channels = 3; // alpha is dropped
            if (channels == 3 && modelChannels == 1)
                Console.Error.WriteLine($"note: the images are RGB and {modelName} takes 1 channel, so they are converted to gray (ITU-R 601 luma).");
            else if (channels == 1 && modelChannels == 3)
                Console.Error.WriteLine($"note: the images are gray and {modelName} takes 3 channels, so each gray value is copied to R, G and B.");
        }
    }
}
