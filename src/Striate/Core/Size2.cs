namespace Striate;

/// <summary>
/// A height and width, as PyTorch's "int or (int, int)" arguments: <c>kernelSize: 3</c> and
/// <c>kernelSize: (1, 7)</c> both convert implicitly.
/// </summary>
public readonly record struct Size2(int H, int W)
{
    public static implicit operator Size2(int value) => new(value, value);
    public static implicit operator Size2((int H, int W) value) => new(value.H, value.W);

    /// <summary>True when both sides are equal.</summary>
    public bool IsSquare => H == W;

    /// <summary>"3" for square sizes, "(1, 7)" otherwise, as PyTorch prints them.</summary>
    public override string ToString() => IsSquare ? $"{H}" : $"({H}, {W})";
}
