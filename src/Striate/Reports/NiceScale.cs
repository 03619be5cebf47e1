using System.Globalization;

namespace Striate.Reports;

/// <summary>
/// An axis with round ticks: the step is 1, 2, 2.5 or 5 times a power of ten, and the axis runs from the last tick at or
/// below the lowest value to the first tick at or above the highest (Heckbert, "Nice numbers for graph labels",
/// Graphics Gems, 1990). Labels carry exactly the decimals the step needs (0.2 → "0.2", 25 → "25").
/// </summary>
public sealed record NiceScale(double Min, double Max, double Step)
{
    /// <summary>
    /// The scale covering [<paramref name="lo"/>, <paramref name="hi"/>] with about <paramref name="ticks"/> ticks, never
    /// reaching outside [<paramref name="floor"/>, <paramref name="ceiling"/>] (e.g. 0–100 for a percentage).
    /// </summary>
    public static NiceScale For(double lo, double hi, int ticks = 5, double floor = double.NegativeInfinity, double ceiling = double.PositiveInfinity)
    {
        if (!double.IsFinite(lo) || !double.IsFinite(hi)) (lo, hi) = (0, 1);
        if (lo > hi) (lo, hi) = (hi, lo);
        if (hi - lo < 1e-12)
        {
            // One value: a unit-sized window around it, kept inside the bounds.
            double half = Math.Abs(lo) > 1e-12 ? Math.Abs(lo) * 0.1 : 0.5;
            (lo, hi) = (lo - half, hi + half);
        }
        lo = Math.Max(lo, floor);
        hi = Math.Min(hi, ceiling);
        double step = Nice((hi - lo) / Math.Max(1, ticks - 1));
        double min = Math.Max(floor, Math.Floor(lo / step + 1e-9) * step);
        double max = Math.Min(ceiling, Math.Ceiling(hi / step - 1e-9) * step);
        if (max <= min) max = min + step;
        return new NiceScale(min, max, step);
    }

    /// <summary>The nearest of 1, 2, 2.5, 5 × 10^k to <paramref name="x"/> (positive).</summary>
    public static double Nice(double x)
    {
        if (!(x > 0) || !double.IsFinite(x)) return 1;
        double power = Math.Pow(10, Math.Floor(Math.Log10(x)));
        double f = x / power;
        double nice = f < 1.5 ? 1 : f < 2.25 ? 2 : f < 3.5 ? 2.5 : f < 7.5 ? 5 : 10;
        return nice * power;
    }

    /// <summary>The tick values from <see cref="Min"/> to <see cref="Max"/>, each a whole multiple of <see cref="Step"/>.</summary>
    public IReadOnlyList<double> Ticks
    {
        get
        {
            var ticks = new List<double>();
            long first = (long)Math.Round(Min / Step), last = (long)Math.Round(Max / Step);
            for (long i = first; i <= last; i++) ticks.Add(i * Step);
            return ticks;
        }
    }

    /// <summary>Decimals the step needs: 0 for 1, 5, 25; 1 for 0.5; 2 for 0.25 or 0.05.</summary>
    public int Decimals
    {
        get
        {
            for (int d = 0; d < 10; d++)
            {
                double scaled = Step * Math.Pow(10, d);
                if (Math.Abs(scaled - Math.Round(scaled)) < 1e-6 * Math.Max(1, scaled)) return d;
            }
            return 10;
        }
    }

    /// <summary><paramref name="value"/> with <see cref="Decimals"/> decimals, invariant culture, no "-0".</summary>
    public string Label(double value)
    {
        string s = value.ToString("F" + Decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return s.StartsWith('-') && double.Parse(s, CultureInfo.InvariantCulture) == 0 ? s[1..] : s;
    }
}
