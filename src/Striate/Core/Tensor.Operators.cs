using Striate.Functional;

namespace Striate;

// Arithmetic operators, as on torch.Tensor: each is the functional op (recorded by autograd and the graph tracer),
// with PyTorch's broadcasting between tensors.
public sealed partial class Tensor
{
    /// <summary>a + b with broadcasting (<see cref="F.Add(Tensor, Tensor)"/>).</summary>
    public static Tensor operator +(Tensor a, Tensor b) => F.Add(a, b);
    /// <summary>x + s (<see cref="F.Add(Tensor, float)"/>).</summary>
    public static Tensor operator +(Tensor x, float s) => F.Add(x, s);
    /// <summary>s + x (<see cref="F.Add(Tensor, float)"/>).</summary>
    public static Tensor operator +(float s, Tensor x) => F.Add(x, s);

    /// <summary>a − b with broadcasting (<see cref="F.Sub(Tensor, Tensor)"/>).</summary>
    public static Tensor operator -(Tensor a, Tensor b) => F.Sub(a, b);
    /// <summary>x − s (<see cref="F.Sub(Tensor, float)"/>).</summary>
    public static Tensor operator -(Tensor x, float s) => F.Sub(x, s);
    /// <summary>s − x (<see cref="F.Sub(float, Tensor)"/>).</summary>
    public static Tensor operator -(float s, Tensor x) => F.Sub(s, x);
    /// <summary>−x (<see cref="F.Neg"/>).</summary>
    public static Tensor operator -(Tensor x) => F.Neg(x);

    /// <summary>a · b element-wise with broadcasting (<see cref="F.Mul(Tensor, Tensor)"/>).</summary>
    public static Tensor operator *(Tensor a, Tensor b) => F.Mul(a, b);
    /// <summary>x · s (<see cref="F.Mul(Tensor, float)"/>).</summary>
    public static Tensor operator *(Tensor x, float s) => F.Mul(x, s);
    /// <summary>s · x (<see cref="F.Mul(Tensor, float)"/>).</summary>
    public static Tensor operator *(float s, Tensor x) => F.Mul(x, s);

    /// <summary>a / b element-wise with broadcasting (<see cref="F.Div(Tensor, Tensor)"/>).</summary>
    public static Tensor operator /(Tensor a, Tensor b) => F.Div(a, b);
    /// <summary>x / s (<see cref="F.Div(Tensor, float)"/>).</summary>
    public static Tensor operator /(Tensor x, float s) => F.Div(x, s);
    /// <summary>s / x (<see cref="F.Div(float, Tensor)"/>).</summary>
    public static Tensor operator /(float s, Tensor x) => F.Div(s, x);
}
