namespace Striate;

/// <summary>
/// Seeded pseudo-random generator (xoshiro256**, Blackman and Vigna 2018) used for every random draw in
/// Striate: initialization, dropout masks, shuffling and augmentation. Its whole state can be saved and
/// restored, so a resumed training run continues the exact same random sequence.
/// </summary>
public sealed class Generator
{
    private ulong _s0, _s1, _s2, _s3;
    private double _spareGaussian;
    private bool _hasSpare;

    /// <summary>Creates a generator whose sequence is fully determined by <paramref name="seed"/>.</summary>
    public Generator(ulong seed = 0) => Reseed(seed);

    /// <summary>The process-wide default generator (seed 0 until <see cref="Manual"/> is called).</summary>
    public static Generator Default { get; private set; } = new(0);

    /// <summary>Reseeds the default generator, as torch.manual_seed does.</summary>
    public static void Manual(ulong seed) => Default = new Generator(seed);

    /// <summary>Resets the sequence to the one <paramref name="seed"/> starts.</summary>
    public void Reseed(ulong seed)
    {
        // splitmix64 spreads a small seed over the 256-bit state, so seeds 0, 1, 2 give unrelated streams.
        ulong x = seed;
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
        _hasSpare = false;
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 24 random bits, so every value is an exact float.</summary>
    public float NextFloat() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, <paramref name="maxExclusive"/>), without modulo bias.</summary>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0) throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, "Generator.NextInt: maxExclusive must be positive.");
        // Lemire's multiply-shift: one 64-bit product, rejection only in the rare biased band.
        ulong range = (ulong)maxExclusive;
        while (true)
        {
            ulong r = NextUInt64() >> 32;
            ulong m = r * range;
            if ((uint)m >= (uint)((1UL << 32) % range)) return (int)(m >> 32);
        }
    }

    /// <summary>Standard normal sample (Box–Muller; the second value of each pair is kept for the next call).</summary>
    public double NextGaussian()
    {
        if (_hasSpare) { _hasSpare = false; return _spareGaussian; }
        double u1;
        do { u1 = NextDouble(); } while (u1 <= double.Epsilon);
        double u2 = NextDouble();
        double radius = Math.Sqrt(-2.0 * Math.Log(u1));
        _spareGaussian = radius * Math.Sin(2 * Math.PI * u2);
        _hasSpare = true;
        return radius * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher–Yates).</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>The complete state (for checkpoints): four state words, the spare Gaussian and its flag.</summary>
    public ulong[] GetState() => [_s0, _s1, _s2, _s3, BitConverter.DoubleToUInt64Bits(_spareGaussian), _hasSpare ? 1UL : 0UL];

    /// <summary>Restores a state returned by <see cref="GetState"/>.</summary>
    public void SetState(ReadOnlySpan<ulong> state)
    {
        ValidateState(state);
        (_s0, _s1, _s2, _s3) = (state[0], state[1], state[2], state[3]);
        _spareGaussian = BitConverter.UInt64BitsToDouble(state[4]);
        _hasSpare = state[5] != 0;
    }

    /// <summary>Throws if <see cref="SetState"/> would refuse <paramref name="state"/>; changes nothing.</summary>
    public static void ValidateState(ReadOnlySpan<ulong> state)
    {
        if (state.Length != 6)
            throw new ArgumentException($"Generator.SetState: state must have 6 words, got {state.Length}.", nameof(state));
        if ((state[0] | state[1] | state[2] | state[3]) == 0)
            throw new ArgumentException("Generator.SetState: an all-zero xoshiro state is invalid.", nameof(state));
    }
}
