using Striate.Distributed;

namespace Striate.Nn;

/// <summary>
/// Synchronized batch norm for data-parallel training, as torch.nn.SyncBatchNorm.convert_sync_batchnorm: the batch-norm
/// layers of a model normalize with statistics of the whole batch across the processes instead of their own share.
/// </summary>
public static class SyncBatchNorm
{
    /// <summary>
    /// Makes every <see cref="BatchNormBase"/> layer of <paramref name="model"/> synchronize over
    /// <paramref name="group"/> (null turns it off again); returns how many layers it changed. Parameter and buffer
    /// names stay as they are, so checkpoints load either way.
    /// </summary>
    public static int Convert(Module model, IProcessGroup? group)
    {
        ArgumentNullException.ThrowIfNull(model);
        int converted = 0;
        foreach (var (_, module) in model.NamedModules())
            if (module is BatchNormBase bn)
            {
                bn.ProcessGroup = group;
                converted++;
            }
        return converted;
    }
}
