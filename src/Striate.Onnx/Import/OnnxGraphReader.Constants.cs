using Striate.Onnx.Proto;

namespace Striate.Onnx;

/// <summary>
/// Constant folding: Constant nodes, and the shape arithmetic exporters write around Flatten and Reshape
/// (<c>Shape → Gather → Unsqueeze → Concat → Reshape</c>), computed when the file is read. Integer constants that came
/// from the input's batch size keep a flag, so a Reshape to them keeps the batch dimension free.
/// </summary>
internal sealed partial class OnnxGraphReader
{
    private void Constant(NodeProto node)
    {
        var a = new OnnxAttributes(node, _where, "value", "value_float", "value_floats", "value_int", "value_ints");
        Item item;
        if (a.Tensor("value") is { } t)
        {
            item = new Item();
            if (OnnxTensorReader.IsInteger(t)) (item.Ints, item.Dims) = OnnxTensorReader.ReadInt64s(t, _where);
            else (item.Floats, item.Dims) = OnnxTensorReader.ReadFloats(t, _where);
        }
        else if (a.Has("value_float")) item = new Item { Floats = [a.Float("value_float", 0)], Dims = [] };
        else if (a.Floats("value_floats") is { } fs) item = new Item { Floats = fs, Dims = [fs.Length] };
        else if (a.Has("value_int")) item = new Item { Ints = [a.Int("value_int", 0)], Dims = [] };
        else if (a.Ints("value_ints") is { } ints) item = new Item { Ints = ints, Dims = [ints.Length] };
        else throw _where.Malformed("the Constant has no value (value, value_float(s) or value_int(s)).");
        SetOutput(node, item);
    }

    private void Shape(NodeProto node)
    {
        var a = new OnnxAttributes(node, _where, "start", "end");
        var x = In(node, 0);
        var shape = x.Shape;
        int rank = shape.Length;
        int Clamp(long v) => (int)Math.Clamp(v < 0 ? v + rank : v, 0, rank);
        int start = Clamp(a.Int("start", 0)), end = Clamp(a.Int("end", rank));
        var dims = new List<long>();
        var flags = new List<bool>();
        for (int i = start; i < end; i++)
        {
            dims.Add(shape[i]);
            flags.Add(i == 0 && x.IsComputed && x.Batched);
        }
        SetOutput(node, new Item { Ints = dims.ToArray(), BatchFlags = flags.ToArray(), Dims = [dims.Count] });
    }

    /// <summary>Integer constants with their batch flags (all false when none).</summary>
    private (long[] Values, bool[] Flags) IntsOf(Item item, string role)
    {
        if (item.IsComputed || item.Ints == null)
            throw _where.Unsupported($"{role} must be constant integers for Striate to fold this {item.Shape.Length}-D shape arithmetic; it is {(item.IsComputed ? "computed from the input's values" : "floating point")}.");
        return (item.Ints, item.BatchFlags ?? new bool[item.Ints.Length]);
    }

    private void Gather(NodeProto node)
    {
        var a = new OnnxAttributes(node, _where, "axis");
        var data = In(node, 0);
        var (indices, _) = IntsOf(In(node, 1), "the indices");
        var indexDims = In(node, 1).Dims;
        if (data.IsComputed || data.Rank != 1 || a.Int("axis", 0) != 0)
            throw _where.Unsupported("Striate imports Gather only on a 1-D constant (a shape), along axis 0.");
        int n = data.Dims[0];
        var picked = indices.Select(i => i < 0 ? i + n : i).ToArray();
        if (picked.Any(i => i < 0 || i >= n)) throw _where.Malformed($"an index in [{string.Join(", ", indices)}] is out of range for {n} entries.");
        var item = new Item { Dims = indexDims };
        if (data.Ints != null)
        {
            item.Ints = picked.Select(i => data.Ints[i]).ToArray();
            item.BatchFlags = picked.Select(i => data.BatchFlags?[i] ?? false).ToArray();
        }
        else item.Floats = picked.Select(i => data.Floats![i]).ToArray();
        SetOutput(node, item);
    }

    private void Squeeze(NodeProto node)
    {
        bool unsqueeze = node.OpType == "Unsqueeze";
        var a = _opset < 13 ? new OnnxAttributes(node, _where, "axes") : new OnnxAttributes(node, _where);
        var x = In(node, 0);
        long[]? axes = _opset < 13 ? a.Ints("axes") : Optional(node, 1) is { } ax ? IntsOf(ax, "the axes").Values : null;
        var shape = x.Shape.ToList();
        if (unsqueeze)
        {
            if (axes == null) throw _where.Malformed("the axes are missing.");
            int rank = shape.Count + axes.Length;
            foreach (var axis in axes.Select(v => Axis(v, rank)).Order()) shape.Insert(axis, 1);
        }
        else
        {
            var remove = axes == null ? Enumerable.Range(0, shape.Count).Where(i => shape[i] == 1).ToHashSet() : axes.Select(v => Axis(v, shape.Count)).ToHashSet();
            if (remove.Any(i => shape[i] != 1)) throw _where.Malformed($"cannot squeeze axes [{string.Join(", ", remove)}] of shape {Tensor.FormatShape(x.Shape)}.");
            shape = shape.Where((_, i) => !remove.Contains(i)).ToList();
        }
        if (x.IsConstant) { SetOutput(node, Reshaped(x, shape.ToArray())); return; }
        // A computed tensor: a reshape that keeps the batch when dimension 0 stays in place.
        var target = shape.ToArray();
        bool keepsBatch = x.Batched && target.Length > 0 && (unsqueeze ? axes!.All(v => Axis(v, target.Length) != 0) : !(axes?.Any(v => Axis(v, x.Rank) == 0) ?? x.Shape[0] == 1));
        if (keepsBatch) target[0] = 0;
        SetOutput(node, Emit(node, new Striate.Graph.ReshapeOp(target), [x.Graph], keepsBatch));
    }

    private void Slice(NodeProto node)
    {
        long[] starts, ends, axes, steps;
        var x = In(node, 0);
        if (_opset < 10)
        {
            var a = new OnnxAttributes(node, _where, "starts", "ends", "axes");
            starts = a.Ints("starts") ?? throw _where.Malformed("the attribute starts is missing.");
            ends = a.Ints("ends") ?? throw _where.Malformed("the attribute ends is missing.");
            axes = a.Ints("axes") ?? Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
            steps = Enumerable.Repeat(1L, starts.Length).ToArray();
        }
        else
        {
            new OnnxAttributes(node, _where);
            starts = IntsOf(In(node, 1), "starts").Values;
            ends = IntsOf(In(node, 2), "ends").Values;
            axes = Optional(node, 3) is { } ax ? IntsOf(ax, "axes").Values : Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
            steps = Optional(node, 4) is { } st ? IntsOf(st, "steps").Values : Enumerable.Repeat(1L, starts.Length).ToArray();
        }
        if (x.IsComputed || x.Rank != 1 || axes.Length != 1 || Axis(axes[0], 1) != 0 || steps[0] != 1)
            throw _where.Unsupported("Striate imports Slice only on a 1-D constant (a shape) with step 1.");
        int n = x.Dims[0];
        int Clamp(long v) => (int)Math.Clamp(v < 0 ? v + n : v, 0, n);
        int s = Clamp(starts[0]), e = Math.Max(s, Clamp(ends[0]));
        var item = new Item { Dims = [e - s] };
        if (x.Ints != null) { item.Ints = x.Ints[s..e]; item.BatchFlags = x.BatchFlags?[s..e]; }
        else item.Floats = x.Floats![s..e];
        SetOutput(node, item);
    }

    private void Cast(NodeProto node)
    {
        var a = new OnnxAttributes(node, _where, "to", "saturate");
        var to = (TensorProto.Types.DataType)a.Int("to", 0);
        var x = In(node, 0);
        bool toFloat = to is TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Float16;
        bool toInt = to is TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Int32;
        if (x.IsComputed)
        {
            if (to != TensorProto.Types.DataType.Float) throw _where.Unsupported($"Cast of a computed tensor to {to} is not supported (Striate computes in float32).");
            SetOutput(node, x);
            return;
        }
        if (toFloat) SetOutput(node, new Item { Floats = x.Floats ?? x.Ints!.Select(v => (float)v).ToArray(), Dims = x.Dims });
        else if (toInt) SetOutput(node, new Item { Ints = x.Ints ?? x.Floats!.Select(v => (long)v).ToArray(), BatchFlags = x.BatchFlags, Dims = x.Dims });
        else throw _where.Unsupported($"Cast to {to} is not supported.");
    }

    /// <summary>The same constant data seen with other dims.</summary>
    private static Item Reshaped(Item x, int[] dims) =>
        new() { Floats = x.Floats, Ints = x.Ints, BatchFlags = x.BatchFlags, Dims = dims };

    private Item FoldConcat(List<Item> items, int axis)
    {
        if (items.Any(i => i.Rank != 1) || axis != 0) throw _where.Unsupported("Striate folds Concat of constants only for 1-D constants (shapes).");
        if (items.All(i => i.Ints != null))
            return new Item
            {
                Ints = items.SelectMany(i => i.Ints!).ToArray(),
                BatchFlags = items.SelectMany(i => i.BatchFlags ?? new bool[i.Ints!.Length]).ToArray(),
                Dims = [items.Sum(i => i.Ints!.Length)],
            };
        var floats = items.SelectMany(i => i.Floats ?? i.Ints!.Select(v => (float)v).ToArray()).ToArray();
        return new Item { Floats = floats, Dims = [floats.Length] };
    }

    /// <summary>Add, Sub, Mul, Div of two constants of one shape (or one of them a single value).</summary>
    private Item FoldArithmetic(string op, Item a, Item b)
    {
        int na = a.Floats?.Length ?? a.Ints!.Length, nb = b.Floats?.Length ?? b.Ints!.Length;
        if (na != nb && na != 1 && nb != 1) throw _where.Unsupported($"{op} of constants of shapes {Tensor.FormatShape(a.Dims)} and {Tensor.FormatShape(b.Dims)} is not supported (one shape, or a single value).");
        int n = Math.Max(na, nb);
        var dims = na >= nb ? a.Dims : b.Dims;
        if (a.Ints != null && b.Ints != null)
        {
            var r = new long[n];
            for (int i = 0; i < n; i++)
            {
                long x = a.Ints[na == 1 ? 0 : i], y = b.Ints[nb == 1 ? 0 : i];
                r[i] = op switch
                {
                    "Add" => x + y,
                    "Sub" => x - y,
                    "Mul" => x * y,
                    _ => y == 0 ? throw _where.Malformed("integer division by zero.") : x / y,
                };
            }
            return new Item { Ints = r, Dims = dims };
        }
        var fa = a.Floats ?? a.Ints!.Select(v => (float)v).ToArray();
        var fb = b.Floats ?? b.Ints!.Select(v => (float)v).ToArray();
        var f = new float[n];
        for (int i = 0; i < n; i++)
        {
            float x = fa[na == 1 ? 0 : i], y = fb[nb == 1 ? 0 : i];
            f[i] = op switch { "Add" => x + y, "Sub" => x - y, "Mul" => x * y, _ => x / y };
        }
        return new Item { Floats = f, Dims = dims };
    }
}
