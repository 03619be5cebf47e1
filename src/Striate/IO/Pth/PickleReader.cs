namespace Striate.IO.Pth;

/// <summary>
/// A pickle reader (protocols 0–5, the opcodes of Python's <c>Lib/pickletools.py</c>) that builds only data:
/// the containers and scalars of PickleValues.cs, the allowlisted globals of <see cref="TorchGlobals"/>, storage
/// references through a persistent-load callback, and inert <see cref="RefusedObject"/>s for every other global.
/// It never imports, constructs or calls anything a file names, and it never recurses, so hostile nesting cannot
/// overflow the stack. Errors name the pickle and the byte offset of the opcode.
/// </summary>
internal sealed partial class PickleReader
{
    private readonly PickleInput _in;
    private readonly string _name;
    private readonly long _base;
    private readonly Func<object?, PickleReader, object?>? _persistentLoad;
    private readonly List<object?> _stack = new();
    private readonly List<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = new();
    private long _opcodeOffset;

    private PickleReader(PickleInput input, string name, long reportBase, Func<object?, PickleReader, object?>? persistentLoad)
    {
        _in = input;
        _name = name;
        _base = reportBase;
        _persistentLoad = persistentLoad;
    }

    /// <summary>
    /// Reads one pickle from <paramref name="input"/> up to its STOP opcode and returns the object it builds.
    /// <paramref name="name"/> and <paramref name="reportBase"/> (the absolute offset reported as byte 0) place errors;
    /// <paramref name="persistentLoad"/> resolves BINPERSID ids (null: a persistent id is an error).
    /// </summary>
    public static object? Load(PickleInput input, string name, long reportBase, Func<object?, PickleReader, object?>? persistentLoad) =>
        new PickleReader(input, name, reportBase, persistentLoad).Run();

    /// <summary>Where the current opcode is, for messages: "archive/data.pkl at byte 56", or "file offset 3400" with no name.</summary>
    public string Where => _name.Length == 0 ? $"file offset {_opcodeOffset - _base}" : $"{_name} at byte {_opcodeOffset - _base}";

    public string SourceName => _in.SourceName;

    public PthFormatException Error(string problem) => new(_in.SourceName, Where, problem);

    private object? Run()
    {
        while (true)
        {
            _opcodeOffset = _in.Position;
            int op = _in.ReadByte();
            if (op < 0) throw Error("the pickle ends without its STOP opcode; it is truncated");
            switch (op)
            {
                case 0x80: // PROTO
                    int protocol = ReadU8();
                    if (protocol > 5) throw Error($"pickle protocol {protocol} is not one Python writes (0 to 5)");
                    break;
                case 0x95: ReadU64(); break; // FRAME: a length hint for buffered readers; the opcodes follow as usual
                case '.': return Stop();

                case 'N': Push(null); break;
                case 0x88: Push(true); break;
                case 0x89: Push(false); break;
                case 'I': Push(ReadTextInt()); break;
                case 'J': Push((long)ReadI32()); break;
                case 'K': Push((long)ReadU8()); break;
                case 'M': Push((long)ReadU16()); break;
                case 'L': Push(ReadTextLong()); break;
                case 0x8a: Push(ReadLong(ReadU8())); break;
                case 0x8b: Push(ReadLong(ReadLength(ReadI32(), "LONG4"))); break;
                case 'G': Push(ReadBinFloat()); break;
                case 'F': Push(ReadTextFloat()); break;

                case 'X': Push(ReadUtf8(ReadU32(), "BINUNICODE")); break;
                case 0x8c: Push(ReadUtf8(ReadU8(), "SHORT_BINUNICODE")); break;
                case 0x8d: Push(ReadUtf8(ReadLength(ReadU64(), "BINUNICODE8"), "BINUNICODE8")); break;
                case 'V': Push(ReadRawUnicodeEscape()); break;
                case 'T': Push(Latin1(ReadBytes(ReadLength(ReadI32(), "BINSTRING"), "BINSTRING"))); break;
                case 'U': Push(Latin1(ReadBytes(ReadU8(), "SHORT_BINSTRING"))); break;
                case 'S': Push(ReadQuotedString()); break;
                case 'B': Push(ReadBytes(ReadU32(), "BINBYTES")); break;
                case 'C': Push(ReadBytes(ReadU8(), "SHORT_BINBYTES")); break;
                case 0x8e: Push(ReadBytes(ReadLength(ReadU64(), "BINBYTES8"), "BINBYTES8")); break;
                case 0x96: Push(ReadBytes(ReadLength(ReadU64(), "BYTEARRAY8"), "BYTEARRAY8")); break;

                case '(': _marks.Add(_stack.Count); break;
                case ')': Push(new PickleTuple([])); break;
                case 't': Push(new PickleTuple(PopMark())); break;
                case 0x85: Push(new PickleTuple([Pop()])); break;
                case 0x86: { var b = Pop(); var a = Pop(); Push(new PickleTuple([a, b])); break; }
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new PickleTuple([a, b, c])); break; }
                case ']': Push(new PickleList()); break;
                case 'l': { var list = new PickleList(); list.Items.AddRange(PopMark()); Push(list); break; }
                case 'a': { var item = Pop(); Append(Peek(), [item]); break; }
                case 'e': { var items = PopMark(); Append(Peek(), items); break; }
                case '}': Push(new PickleDict()); break;
                case 'd': { var dict = new PickleDict(); SetItems(dict, PopMark()); Push(dict); break; }
                case 's': { var value = Pop(); var key = Pop(); SetItems(Peek(), [key, value]); break; }
                case 'u': { var items = PopMark(); SetItems(Peek(), items); break; }
                case 0x8f: Push(new PickleSet()); break;
                case 0x90: { var items = PopMark(); AddItems(Peek(), items); break; }
                case 0x91: { var set = new PickleSet(); set.Items.AddRange(PopMark()); Push(set); break; }

                case '0': if (_stack.Count > CurrentMarkFloor()) Pop(); else PopMark(); break; // POP (an empty frame pops its mark)
                case '1': PopMark(); break;
                case '2': Push(Peek()); break;
                case 'p': _memo[ReadTextIndex("PUT")] = Peek(); break;
                case 'q': _memo[ReadU8()] = Peek(); break;
                case 'r': _memo[ReadU32()] = Peek(); break;
                case 0x94: _memo[_memo.Count] = Peek(); break;
                case 'g': Push(Recall(ReadTextIndex("GET"))); break;
                case 'h': Push(Recall(ReadU8())); break;
                case 'j': Push(Recall(ReadU32())); break;

                case 'c': { string module = ReadGlobalLine("module"); Push(Resolve(module, ReadGlobalLine("name"))); break; }
                case 0x93: { var name = Pop(); var module = Pop(); Push(Resolve(GlobalPart(module, "module"), GlobalPart(name, "name"))); break; }
                case 'R': { var args = Pop(); var callable = Pop(); Push(Call(callable, args)); break; }
                case 0x81: { var args = Pop(); var cls = Pop(); Push(New(cls, args)); break; }
                case 0x92: { Pop(); var args = Pop(); var cls = Pop(); Push(New(cls, args)); break; } // NEWOBJ_EX: keyword arguments unused
                case 'b': { var state = Pop(); Build(Peek(), state); break; }
                case 'i': // INST: like GLOBAL then a call with the marked items
                {
                    string module = ReadGlobalLine("module");
                    var cls = Resolve(module, ReadGlobalLine("name"));
                    Push(Call(cls, new PickleTuple(PopMark())));
                    break;
                }
                case 'o': // OBJ: the first marked item is the class, the rest its arguments
                {
                    var items = PopMark();
                    if (items.Length == 0) throw Error("OBJ has no class after its MARK");
                    Push(Call(items[0], new PickleTuple(items[1..])));
                    break;
                }
                case 'Q': { var pid = Pop(); Push(PersistentLoad(pid)); break; }
                case 'P':
                    throw Error("the text persistent id opcode PERSID is not supported; torch.save writes BINPERSID");
                case 0x82: case 0x83: case 0x84:
                    throw Error($"extension-registry opcode EXT (0x{op:x2}) names a class by a process-local code; it is not supported");
                case 0x97: case 0x98:
                    throw Error($"out-of-band buffer opcode (0x{op:x2}) refers to data outside the file; it is not supported");
                default:
                    throw Error($"unknown pickle opcode 0x{op:x2}; the pickle is corrupt or not a pickle");
            }
        }
    }

    private object? Stop()
    {
        if (_stack.Count == 0) throw Error("STOP with nothing on the stack; the pickle is corrupt");
        return Pop();
    }

    private void Push(object? value) => _stack.Add(value);

    private int CurrentMarkFloor() => _marks.Count > 0 ? _marks[^1] : 0;

    private object? Pop()
    {
        if (_stack.Count <= CurrentMarkFloor())
            throw Error(_marks.Count > 0 ? "an opcode takes a value from the stack but finds its MARK; the pickle is corrupt"
                : "an opcode takes a value from an empty stack; the pickle is corrupt");
        var value = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private object? Peek()
    {
        if (_stack.Count <= CurrentMarkFloor()) throw Error("an opcode needs a value on the stack but there is none; the pickle is corrupt");
        return _stack[^1];
    }

    /// <summary>Everything above the topmost MARK, which is removed.</summary>
    private object?[] PopMark()
    {
        if (_marks.Count == 0) throw Error("an opcode expects a MARK on the stack but there is none; the pickle is corrupt");
        int at = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        var items = _stack.GetRange(at, _stack.Count - at).ToArray();
        _stack.RemoveRange(at, _stack.Count - at);
        return items;
    }

    private object? Recall(long index) =>
        _memo.TryGetValue(index, out var value) ? value : throw Error($"memo entry {index} is read before it is stored; the pickle is corrupt");

    private object? PersistentLoad(object? pid) =>
        _persistentLoad == null
            ? throw Error("a persistent id (BINPERSID) appears where no storage may be referenced")
            : _persistentLoad(pid, this);
}
