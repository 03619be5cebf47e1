namespace Striate.Functional;

/// <summary>
/// The functional ops (as torch.nn.functional): each validates its arguments, calls a kernel for the
/// forward, and records a <see cref="Autograd.GradFn"/> whose backward calls the matching gradient kernels.
/// One file per op family; each file holds its forward here and its backward class beside it.
/// </summary>
public static partial class F
{
    internal static string Shape(Tensor t) => Tensor.FormatShape(t.Shape);

    internal static void ExpectRank(Tensor t, int rank, string op, string argument, string layout)
    {
        if (t.Rank != rank)
            throw new ArgumentException($"{op}: {argument} must be {rank}-D {layout}, got shape {Shape(t)}.", argument);
    }
}
