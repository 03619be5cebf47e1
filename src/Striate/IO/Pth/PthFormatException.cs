namespace Striate.IO.Pth;

/// <summary>
/// The one exception (an <see cref="IOException"/>) the <c>.pth</c> reader throws for a file it will not load: truncated or corrupt archives, bad
/// CRCs, unknown pickle opcodes, lengths that do not fit the file, tensors that do not fit their storages, a state
/// dict that cannot be picked, and (as <see cref="PthUnsafeGlobalException"/>) any Python global outside the
/// allowlist. Anything else escaping <see cref="PthFile"/> (other than I/O errors opening the file) is a bug.
/// The message names the file, where in it the problem is (zip entry, byte offset) and what was expected.
/// </summary>
public class PthFormatException : IOException
{
    /// <summary>The file (or the name given to <see cref="PthFile.Parse"/>).</summary>
    public string SourceName { get; }

    /// <summary>Where in the file: a zip entry, a pickle and a byte offset; null when the whole file is meant.</summary>
    public string? Where { get; }

    public PthFormatException(string sourceName, string? where, string problem, Exception? inner = null)
        : base(where == null ? $"{sourceName}: {problem}" : $"{sourceName}: {where}: {problem}", inner)
    {
        SourceName = sourceName;
        Where = where;
    }
}

/// <summary>
/// A <c>.pth</c> file that asks for a Python global Striate does not allow (<c>posix.system</c>, <c>builtins.eval</c>,
/// a module class such as <c>torch.nn.modules.linear.Linear</c>, <c>torch._utils._rebuild_parameter</c>, …) where a
/// tensor was expected. Nothing was run: the reader never imports or calls anything a file names.
/// </summary>
public sealed class PthUnsafeGlobalException : PthFormatException
{
    /// <summary>The global as the file spells it, <c>module.name</c> (e.g. <c>posix.system</c>).</summary>
    public string Global { get; }

    public PthUnsafeGlobalException(string sourceName, string? where, string global, string problem)
        : base(sourceName, where, problem)
    {
        Global = global;
    }
}
