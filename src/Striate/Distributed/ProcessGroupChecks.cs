namespace Striate.Distributed;

/// <summary>Argument checks shared by the process-group backends, with messages that name the call and the sizes.</summary>
internal static class ProcessGroupChecks
{
    public static void Root(IProcessGroup group, int root, string operation)
    {
        if (root < 0 || root >= group.WorldSize)
            throw new ArgumentOutOfRangeException(nameof(root), root, $"{operation}: root must be a rank in [0, {group.WorldSize - 1}], got {root}.");
    }

    public static void GatherSizes(IProcessGroup group, int input, int output)
    {
        if ((long)input * group.WorldSize != output)
            throw new ArgumentException($"AllGather: the output holds {output} elements, expected {group.WorldSize} processes × {input} = {(long)input * group.WorldSize}.");
    }
}
