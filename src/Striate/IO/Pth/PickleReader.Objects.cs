using System.Numerics;

namespace Striate.IO.Pth;

// What the object-building opcodes do. An allowlisted global is interpreted by TorchGlobals; a refused one yields
// inert RefusedObjects whatever is done to it (called, instantiated, given state, appended to), so a file can never
// make anything run, and it is refused later only if a tensor was expected where such a stand-in sits.
internal sealed partial class PickleReader
{
    private object Resolve(string module, string name) =>
        TorchGlobals.TryResolve(module, name) is { } global ? global : new RefusedObject($"{module}.{name}", Where);

    /// <summary>REDUCE (and INST/OBJ): <paramref name="callable"/> applied to the tuple <paramref name="args"/>.</summary>
    private object? Call(object? callable, object? args)
    {
        if (args is not PickleTuple tuple) throw Error($"REDUCE's arguments are {Describe(args)}, not a tuple; the pickle is corrupt");
        return callable switch
        {
            TorchGlobal global => TorchGlobals.Call(this, global, tuple.Items),
            RefusedObject refused => new RefusedObject(refused.Global, refused.Where, refused.Detail),
            _ => throw Error($"REDUCE calls {Describe(callable)}, which is not a callable; the pickle is corrupt"),
        };
    }

    /// <summary>NEWOBJ: <c>cls.__new__(cls, *args)</c>; only an OrderedDict or a refused class can be instantiated.</summary>
    private object? New(object? cls, object? args)
    {
        if (args is not PickleTuple) throw Error($"NEWOBJ's arguments are {Describe(args)}, not a tuple; the pickle is corrupt");
        return cls switch
        {
            TorchGlobal { Kind: TorchGlobalKind.OrderedDict } => new PickleDict(),
            RefusedObject refused => new RefusedObject(refused.Global, refused.Where, refused.Detail),
            TorchGlobal global => throw Error($"NEWOBJ instantiates {global.FullName}, which is only ever called; the pickle is corrupt"),
            _ => throw Error($"NEWOBJ instantiates {Describe(cls)}, which is not a class; the pickle is corrupt"),
        };
    }

    /// <summary>
    /// BUILD: Python would call <c>__setstate__</c> or update <c>__dict__</c>. An OrderedDict's state is its attributes
    /// (a state dict's <c>_metadata</c>), which Striate does not need; a refused object stays inert.
    /// </summary>
    private void Build(object? target, object? state)
    {
        switch (target)
        {
            case PickleDict:
            case RefusedObject:
                return;
            default:
                throw Error($"BUILD gives state to {Describe(target)}, which takes none; the pickle is corrupt");
        }
    }

    private void Append(object? target, object?[] items)
    {
        switch (target)
        {
            case PickleList list: list.Items.AddRange(items); return;
            case RefusedObject: return;
            default: throw Error($"APPEND adds to {Describe(target)}, not a list; the pickle is corrupt");
        }
    }

    private void SetItems(object? target, object?[] items)
    {
        if (items.Length % 2 != 0) throw Error($"SETITEMS has {items.Length} items, not key-value pairs; the pickle is corrupt");
        switch (target)
        {
            case PickleDict dict:
                for (int i = 0; i < items.Length; i += 2) dict.Set(items[i], items[i + 1]);
                return;
            case RefusedObject: return;
            default: throw Error($"SETITEM sets an item of {Describe(target)}, not a dict; the pickle is corrupt");
        }
    }

    private void AddItems(object? target, object?[] items)
    {
        switch (target)
        {
            case PickleSet set: set.Items.AddRange(items); return;
            case RefusedObject: return;
            default: throw Error($"ADDITEMS adds to {Describe(target)}, not a set; the pickle is corrupt");
        }
    }

    /// <summary>A short description of a pickled value for messages (never recursive).</summary>
    public static string Describe(object? value) => value switch
    {
        null => "None",
        bool b => b ? "True" : "False",
        long n => $"the integer {n}",
        BigInteger => "a large integer",
        double d => $"the float {d}",
        string s => s.Length <= 40 ? $"the string '{s}'" : $"a string of {s.Length} characters",
        byte[] b => $"bytes ({b.Length})",
        PickleTuple t => $"a tuple of {t.Items.Length}",
        PickleList l => $"a list of {l.Items.Count}",
        PickleDict d => $"a dict of {d.Count}",
        PickleSet s => $"a set of {s.Items.Count}",
        TorchGlobal g => g.FullName,
        RefusedObject r => r.Description,
        StorageRef s => $"storage '{s.Key}' ({PthDtypes.StorageClassName(s.Dtype)})",
        TensorRef t => $"a tensor [{string.Join(", ", t.Size)}]",
        _ => value.GetType().Name,
    };
}
