using System.Runtime.InteropServices;
using System.Text;

namespace Striate.Distributed;

/// <summary>Which MPI binary interface a loaded library follows: how its handles are spelled.</summary>
public enum MpiFlavor
{
    /// <summary>Open MPI: handles are the addresses of exported globals (ompi_mpi_comm_world, ompi_mpi_float, …).</summary>
    OpenMpi,
    /// <summary>MPICH and the MPIs built on its interface (Intel MPI, MVAPICH, Cray MPICH, MS-MPI): handles are fixed integers.</summary>
    Mpich,
}

/// <summary>
/// The MPI C library, found and bound at run time through <see cref="NativeLibrary"/> and unmanaged function
/// pointers, so that Striate needs no MPI at build time and single-process use never loads one. Handles are kept as
/// pointer-sized integers: Open MPI's are addresses, MPICH's 32-bit integers passed in the same registers.
/// </summary>
internal sealed unsafe class MpiLibrary
{
    // MPI constants both interfaces share.
    public const int Success = 0;
    public const int ThreadMultiple = 3;

    private static readonly object Gate = new();
    private static MpiLibrary? _loaded;

    private MpiLibrary(nint handle, string path, MpiFlavor flavor)
    {
        (Handle, Path, Flavor) = (handle, path, flavor);
        InitThread = (delegate* unmanaged<int*, byte***, int, int*, int>)Export("MPI_Init_thread");
        Initialized = (delegate* unmanaged<int*, int>)Export("MPI_Initialized");
        Finalized = (delegate* unmanaged<int*, int>)Export("MPI_Finalized");
        Finalize = (delegate* unmanaged<int>)Export("MPI_Finalize");
        Abort = (delegate* unmanaged<nint, int, int>)Export("MPI_Abort");
        CommRank = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_rank");
        CommSize = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_size");
        CommDup = (delegate* unmanaged<nint, nint*, int>)Export("MPI_Comm_dup");
        CommFree = (delegate* unmanaged<nint*, int>)Export("MPI_Comm_free");
        CommSetErrhandler = (delegate* unmanaged<nint, nint, int>)Export("MPI_Comm_set_errhandler");
        Allreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)Export("MPI_Allreduce");
        Bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)Export("MPI_Bcast");
        Allgather = (delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int>)Export("MPI_Allgather");
        Barrier = (delegate* unmanaged<nint, int>)Export("MPI_Barrier");
        ErrorString = (delegate* unmanaged<int, byte*, int*, int>)Export("MPI_Error_string");
        GetLibraryVersion = (delegate* unmanaged<byte*, int*, int>)Export("MPI_Get_library_version");
        GetProcessorName = (delegate* unmanaged<byte*, int*, int>)Export("MPI_Get_processor_name");

        if (flavor == MpiFlavor.OpenMpi)
        {
            CommWorld = Export("ompi_mpi_comm_world");
            Float = Export("ompi_mpi_float");
            Double = Export("ompi_mpi_double");
            Byte = Export("ompi_mpi_byte");
            OpSum = Export("ompi_mpi_op_sum");
            OpMax = Export("ompi_mpi_op_max");
            OpMin = Export("ompi_mpi_op_min");
            ErrorsReturn = Export("ompi_mpi_errors_return");
            InPlace = 1;
        }
        else
        {
            // mpi.h of MPICH (and of the MPIs that keep its interface).
            CommWorld = 0x44000000;
            Float = 0x4c00040a;
            Double = 0x4c00080b;
            Byte = 0x4c00010d;
            OpMax = 0x58000001;
            OpMin = 0x58000002;
            OpSum = 0x58000003;
            ErrorsReturn = 0x54000001;
            InPlace = -1;
        }
    }

    public nint Handle { get; }
    public string Path { get; }
    public MpiFlavor Flavor { get; }

    public readonly delegate* unmanaged<int*, byte***, int, int*, int> InitThread;
    public readonly delegate* unmanaged<int*, int> Initialized;
    public readonly delegate* unmanaged<int*, int> Finalized;
    public readonly delegate* unmanaged<int> Finalize;
    public readonly delegate* unmanaged<nint, int, int> Abort;
    public readonly delegate* unmanaged<nint, int*, int> CommRank;
    public readonly delegate* unmanaged<nint, int*, int> CommSize;
    public readonly delegate* unmanaged<nint, nint*, int> CommDup;
    public readonly delegate* unmanaged<nint*, int> CommFree;
    public readonly delegate* unmanaged<nint, nint, int> CommSetErrhandler;
    public readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, int> Allreduce;
    public readonly delegate* unmanaged<void*, int, nint, int, nint, int> Bcast;
    public readonly delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int> Allgather;
    public readonly delegate* unmanaged<nint, int> Barrier;
    public readonly delegate* unmanaged<int, byte*, int*, int> ErrorString;
    public readonly delegate* unmanaged<byte*, int*, int> GetLibraryVersion;
    public readonly delegate* unmanaged<byte*, int*, int> GetProcessorName;

    public nint CommWorld { get; }
    public nint Float { get; }
    public nint Double { get; }
    public nint Byte { get; }
    public nint OpSum { get; }
    public nint OpMax { get; }
    public nint OpMin { get; }
    public nint ErrorsReturn { get; }

    /// <summary>MPI_IN_PLACE: (void*)1 in Open MPI, (void*)−1 in MPICH.</summary>
    public nint InPlace { get; }

    private nint Export(string name) =>
        NativeLibrary.TryGetExport(Handle, name, out var address)
            ? address
            : throw new MpiException($"The MPI library {Path} has no '{name}'; it does not look like a complete MPI-3 library. Set STRIATE_MPI_LIBRARY to the libmpi of Open MPI or MPICH.");

    /// <summary>The library names tried in order, after <c>$STRIATE_MPI_LIBRARY</c>.</summary>
    public static IReadOnlyList<string> Candidates { get; } =
        OperatingSystem.IsWindows() ? ["msmpi.dll", "impi.dll"]
        : OperatingSystem.IsMacOS() ? ["libmpi.40.dylib", "libmpi.12.dylib", "libmpi.dylib", "/opt/homebrew/lib/libmpi.dylib", "/usr/local/lib/libmpi.dylib"]
        // libmpi.so.40: Open MPI 3 to 5 (Debian's libopenmpi3); libmpi.so.12: MPICH 3 and 4 (libmpich12).
        : ["libmpi.so.40", "libmpi.so.12", "libmpi.so"];

    /// <summary>Loads (once) the MPI library: $STRIATE_MPI_LIBRARY, else the first of <see cref="Candidates"/> found.</summary>
    public static MpiLibrary Load()
    {
        lock (Gate)
        {
            if (_loaded != null) return _loaded;
            var overridden = Environment.GetEnvironmentVariable("STRIATE_MPI_LIBRARY");
            var names = string.IsNullOrEmpty(overridden) ? Candidates : [overridden];
            foreach (var name in names)
            {
                if (!NativeLibrary.TryLoad(name, out var handle)) continue;
                MpiFlavor flavor;
                if (NativeLibrary.TryGetExport(handle, "ompi_mpi_comm_world", out _)) flavor = MpiFlavor.OpenMpi;
                else if (NativeLibrary.TryGetExport(handle, "MPI_Init_thread", out _)) flavor = MpiFlavor.Mpich;
                else
                {
                    NativeLibrary.Free(handle);
                    continue;
                }
                return _loaded = new MpiLibrary(handle, name, flavor);
            }
            throw new MpiNotFoundException(string.IsNullOrEmpty(overridden)
                ? $"Distributed training needs an MPI library, and none was found (tried {string.Join(", ", Candidates)}). Install Open MPI — Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev; Fedora: dnf install openmpi; macOS: brew install open-mpi — or MPICH, or set STRIATE_MPI_LIBRARY to the path of libmpi, then start the processes with mpirun -np N."
                : $"STRIATE_MPI_LIBRARY is '{overridden}', which could not be loaded as an MPI library (missing, not a shared library for this platform, or without MPI_Init_thread). Point it at libmpi of Open MPI or MPICH, or unset it to search {string.Join(", ", Candidates)}.");
        }
    }

    /// <summary>Throws an <see cref="MpiException"/> naming the call and MPI's own description of <paramref name="code"/>.</summary>
    public void Check(int code, string call)
    {
        if (code == Success) return;
        throw new MpiException($"{call} failed with MPI error {code}: {Describe(code)}");
    }

    public string Describe(int code)
    {
        const int capacity = 4096; // ≥ MPI_MAX_ERROR_STRING in both (256 and 1024)
        byte* text = stackalloc byte[capacity];
        int length = 0;
        return ErrorString(code, text, &length) == Success ? Encoding.UTF8.GetString(text, Math.Clamp(length, 0, capacity)) : "(no description)";
    }

    /// <summary>The first line of MPI_Get_library_version, e.g. "Open MPI v4.1.4, package: Debian OpenMPI, …".</summary>
    public string Version()
    {
        const int capacity = 8192; // MPI_MAX_LIBRARY_VERSION_STRING: 256 in Open MPI, 8192 in MPICH
        byte[] text = new byte[capacity];
        int length = 0;
        fixed (byte* p = text)
            if (GetLibraryVersion(p, &length) != Success) return Flavor.ToString();
        var version = Encoding.UTF8.GetString(text, 0, Math.Clamp(length, 0, capacity)).TrimEnd('\0');
        int end = version.IndexOfAny([',', '\n']);
        return (end > 0 ? version[..end] : version).Trim();
    }

    public string ProcessorName()
    {
        const int capacity = 1024; // ≥ MPI_MAX_PROCESSOR_NAME (256 / 128)
        byte* text = stackalloc byte[capacity];
        int length = 0;
        return GetProcessorName(text, &length) == Success ? Encoding.UTF8.GetString(text, Math.Clamp(length, 0, capacity)) : Environment.MachineName;
    }
}

/// <summary>An MPI call failed; the message names the call and gives MPI's description of the error.</summary>
public class MpiException(string message) : Exception(message);

/// <summary>No MPI library could be loaded; the message says what to install.</summary>
public sealed class MpiNotFoundException(string message) : MpiException(message);
