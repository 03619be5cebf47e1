using Striate.Training;

namespace Striate.Reports;

/// <summary>The pictures a training run writes: learning curves and the confusion matrix, as SVG.</summary>
public static class Charts
{
    /// <summary>
    /// Two panels over epochs: loss (train against the per-epoch evaluation: validation, else test) and accuracy (the
    /// same). Epochs without an evaluation figure (NaN) are left out of its lines.
    /// </summary>
    public static string LearningCurves(IReadOnlyList<EpochRecord> history, string title)
    {
        var svg = new Svg(900, 380);
        svg.Text(450, 24, title, 16, "middle");
        Panel(svg, 60, 50, 360, 280, "loss", history, r => r.TrainLoss, r => r.EvaluationLoss, fromZero: true);
        Panel(svg, 510, 50, 360, 280, "accuracy", history, r => r.TrainAccuracy, r => r.EvaluationAccuracy, fromZero: false);
        return svg.ToString();
    }

    private static void Panel(Svg svg, double x0, double y0, double w, double h, string label, IReadOnlyList<EpochRecord> history,
        Func<EpochRecord, double> train, Func<EpochRecord, double> test, bool fromZero)
    {
        // Accuracy is drawn in percent on an axis that never leaves 0–100 %; loss from zero. Both get round ticks.
        bool percent = label == "accuracy";
        double unit = percent ? 100 : 1;
        var values = history.SelectMany(r => new[] { train(r), test(r) }).Where(double.IsFinite).Select(v => v * unit).ToList();
        double lo = values.Count == 0 ? 0 : values.Min(), hi = values.Count == 0 ? unit : values.Max();
        if (fromZero) lo = Math.Min(0, lo);
        var scale = NiceScale.For(lo, hi, 5, floor: percent || fromZero ? 0 : double.NegativeInfinity, ceiling: percent ? 100 : double.PositiveInfinity);
        int n = history.Count;
        int firstEpoch = n == 0 ? 1 : history[0].Epoch, lastEpoch = n == 0 ? 1 : history[^1].Epoch;
        double X(int epoch) => x0 + (lastEpoch == firstEpoch ? w / 2 : (double)(epoch - firstEpoch) * w / (lastEpoch - firstEpoch));
        double Y(double v) => y0 + h - (v * unit - scale.Min) / (scale.Max - scale.Min) * h;
        double YAxis(double tick) => y0 + h - (tick - scale.Min) / (scale.Max - scale.Min) * h;

        svg.Rect(x0, y0, w, h, "#fafafa");
        foreach (double tick in scale.Ticks)
        {
            svg.Line(x0, YAxis(tick), x0 + w, YAxis(tick), "#ddd");
            svg.Text(x0 - 6, YAxis(tick) + 4, scale.Label(tick) + (percent ? " %" : ""), 10, "end");
        }
        // Every epoch is labelled up to 12; beyond, round steps (5, 10, 20 …) so labels do not collide.
        int epochStep = lastEpoch - firstEpoch <= 11 ? 1 : (int)Math.Max(1, NiceScale.Nice((lastEpoch - firstEpoch) / 8.0));
        if (epochStep is > 1 and < 5) epochStep = 5;
        for (int e = firstEpoch; e <= lastEpoch; e++)
            if (e == firstEpoch || e % epochStep == 0)
                svg.Text(X(e), y0 + h + 16, e.ToString(System.Globalization.CultureInfo.InvariantCulture), 10, "middle");
        svg.Text(x0 + w / 2, y0 + h + 34, "epoch", 11, "middle");
        svg.Text(x0, y0 - 8, percent ? "accuracy (%)" : label, 13);

        void Series(Func<EpochRecord, double> f, string colour, string? dash)
        {
            var pts = history.Where(r => double.IsFinite(f(r))).Select(r => (X(r.Epoch), Y(f(r)))).ToList();
            svg.Polyline(pts, colour, 2, dash);
            foreach (var (px, py) in pts) svg.Circle(px, py, 3, colour);
        }
        Series(train, "#1f77b4", null);
        Series(test, "#d62728", "6 3");
        // The legend sits above the plot's top-right corner, where no curve can run under it.
        svg.Line(x0 + w - 120, y0 - 12, x0 + w - 100, y0 - 12, "#1f77b4", 2);
        svg.Text(x0 + w - 95, y0 - 8, "train", 11);
        svg.Line(x0 + w - 60, y0 - 12, x0 + w - 40, y0 - 12, "#d62728", 2, "6 3");
        svg.Text(x0 + w - 35, y0 - 8, history.Any(r => !double.IsNaN(r.ValLoss)) ? "val" : "test", 11);
    }

    /// <summary>The confusion matrix as a heat map (rows: true class, columns: predicted), each row normalized, counts in cells.</summary>
    public static string ConfusionMatrix(long[,] confusion, IReadOnlyList<string> classNames, string title)
    {
        int k = confusion.GetLength(0);
        double cell = Math.Clamp(480.0 / Math.Max(k, 1), 12, 48);
        double left = 130, top = 60;
        var svg = new Svg((int)(left + cell * k + 40), (int)(top + cell * k + 110));
        svg.Text(svg.Width / 2.0, 24, title, 16, "middle");
        for (int r = 0; r < k; r++)
        {
            long rowTotal = 0;
            for (int c = 0; c < k; c++) rowTotal += confusion[r, c];
            for (int c = 0; c < k; c++)
            {
                double share = rowTotal == 0 ? 0 : (double)confusion[r, c] / rowTotal;
                int shade = (int)Math.Round(255 - share * 200);
                string fill = r == c ? $"rgb({shade},{255},{shade})" : $"rgb(255,{shade},{shade})";
                svg.Rect(left + c * cell, top + r * cell, cell - 1, cell - 1, fill,
                    $"true {Name(classNames, r)}, predicted {Name(classNames, c)}: {confusion[r, c]} ({share:P1})");
                if (cell >= 24) svg.Text(left + c * cell + cell / 2, top + r * cell + cell / 2 + 4, confusion[r, c].ToString(System.Globalization.CultureInfo.InvariantCulture), 9, "middle");
            }
            svg.Text(left - 6, top + r * cell + cell / 2 + 4, Name(classNames, r), 11, "end");
            svg.Text(left + r * cell + cell / 2, top + k * cell + 10, Name(classNames, r), 11, "end", rotate: -45);
        }
        svg.Text(left - 110, top - 12, "true ↓  predicted →", 11);
        return svg.ToString();
    }

    private static string Name(IReadOnlyList<string> names, int i) => i < names.Count ? names[i] : i.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
