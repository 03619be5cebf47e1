using System.Globalization;
using System.Text.RegularExpressions;
using Striate.Reports;
using Striate.Training;

namespace Striate.Tests.Reports;

/// <summary>Learning-curve axes: round ticks, loss from zero, accuracy in percent inside 0–100 %.</summary>
public sealed class ChartAxisTests
{
    [Theory]
    [InlineData(0.0, 1.159, 0.0, 1.25, 0.25)]
    [InlineData(0.0, 2.302, 0.0, 2.5, 0.5)]
    [InlineData(0.0, 0.0871, 0.0, 0.1, 0.02)]
    [InlineData(86.9, 99.1, 85.0, 100.0, 2.5)]
    [InlineData(10.3, 98.7, 0.0, 100.0, 20.0)]
    public void ScaleRunsFromTheTickBelowToTheTickAboveWithARoundStep(double lo, double hi, double min, double max, double step)
    {
        var s = NiceScale.For(lo, hi, 5, floor: 0, ceiling: 100);
        Assert.Equal(min, s.Min, 9);
        Assert.Equal(max, s.Max, 9);
        Assert.Equal(step, s.Step, 9);
        Assert.All(s.Ticks, t => Assert.Equal(Math.Round(t / step), t / step, 9));
    }

    [Fact]
    public void AScaleNeverLeavesItsBoundsAndLabelsHaveTheStepsDecimals()
    {
        var s = NiceScale.For(99.2, 100, 5, floor: 0, ceiling: 100);
        Assert.True(s.Max <= 100 && s.Min >= 0, $"{s.Min}..{s.Max}");
        Assert.Equal(["99.2", "99.4", "99.6", "99.8", "100.0"], s.Ticks.Select(s.Label).ToArray());
        var flat = NiceScale.For(0.5, 0.5);
        Assert.True(flat.Min < 0.5 && flat.Max > 0.5);
        Assert.Equal("0.00", NiceScale.For(-0.3, 1).Label(-0.0));
        Assert.Equal([1, 2, 2.5, 5, 10], new[] { 1.2, 1.9, 2.6, 4.9, 8.0 }.Select(NiceScale.Nice).ToArray());
    }

    /// <summary>The numbers of the issue: loss 1.159 → 0.869 and accuracy reaching 1.0 drew ticks 1.159, 0.869 … and an axis to 1.026.</summary>
    [Fact]
    public void LearningCurvesHaveRoundTicksAndAnAccuracyAxisInPercentUpTo100()
    {
        var history = new List<EpochRecord>
        {
            new(1, 1.159, 0.62, 0.95, 0.71, 0.1, 100, 1, 0.01),
            new(2, 0.869, 0.85, 0.70, 0.93, 0.1, 100, 1, 0.01),
            new(3, 0.412, 0.97, 0.33, 1.00, 0.1, 100, 1, 0.01),
        };
        string svg = Charts.LearningCurves(history, "run");
        var labels = Regex.Matches(svg, "<text[^>]*text-anchor=\"end\"[^>]*>([^<]*)</text>").Select(m => m.Groups[1].Value).ToList();
        var percent = labels.Where(l => l.EndsWith(" %", StringComparison.Ordinal)).Select(l => double.Parse(l[..^2], CultureInfo.InvariantCulture)).ToList();
        var loss = labels.Where(l => !l.EndsWith(" %", StringComparison.Ordinal)).Select(l => double.Parse(l, CultureInfo.InvariantCulture)).ToList();

        Assert.Equal([0, 0.25, 0.5, 0.75, 1, 1.25], loss);
        Assert.Equal(100, percent.Max());
        Assert.True(percent.Min() >= 0);
        Assert.Equal(percent.Count, percent.Distinct().Count());
        double step = percent[1] - percent[0];
        Assert.Contains(step, new[] { 1.0, 2, 2.5, 5, 10, 20, 25 });
        Assert.All(percent, p => Assert.Equal(Math.Round(p / step), p / step, 9));
        Assert.Contains(">accuracy (%)</text>", svg);
        Assert.DoesNotContain("1.159", svg);
        Assert.DoesNotContain("1.026", svg);
    }

    [Fact]
    public void ALongRunLabelsEpochsInRoundSteps()
    {
        var history = Enumerable.Range(1, 90).Select(e => new EpochRecord(e, 1.0 / e, 0.5, 1.0 / e, 0.5, 0.1, 100, 1, 0.01)).ToList();
        string svg = Charts.LearningCurves(history, "long");
        var epochs = Regex.Matches(svg, "<text[^>]*text-anchor=\"middle\"[^>]*>(\\d+)</text>").Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Distinct().ToList();
        Assert.Equal([1, 10, 20, 30, 40, 50, 60, 70, 80, 90], epochs);
    }
}
