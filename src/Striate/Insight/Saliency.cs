using Striate.Nn;

namespace Striate.Insight;

/// <summary>
/// Vanilla gradient saliency (Simonyan, Vedaldi and Zisserman 2014, "Deep Inside Convolutional Networks"):
/// M_ij = max_c |∂y_class/∂x_c,i,j|, the class score's sensitivity to each pixel.
/// Shapes: input [1, C, H, W] → map [H, W].
/// </summary>
public static class Saliency
{
    /// <summary>The saliency map of <paramref name="classIndex"/> (default: the predicted class), in eval mode.</summary>
    public static Tensor Compute(Module model, Tensor input, int? classIndex = null)
    {
        InsightRun.CheckInput(model, input, "Saliency.Compute");
        using var run = InsightRun.Begin(model);
        using var scope = TensorScope.Begin();
        var x = InsightRun.LeafCopy(input);
        var logits = model.Call(x);
        int c = InsightRun.ResolveClass(logits, classIndex, "Saliency.Compute");
        logits.Backward(InsightRun.OneHot(logits.Size(1), c));
        int channels = input.Size(1), h = input.Size(2), w = input.Size(3), plane = h * w;
        var map = new float[plane];
        if (x.Grad is { } g)
        {
            var gs = g.ReadOnlySpan;
            for (int ch = 0; ch < channels; ch++)
                for (int i = 0; i < plane; i++) map[i] = Math.Max(map[i], Math.Abs(gs[ch * plane + i]));
        }
        return InsightRun.Result(map, h, w);
    }
}
