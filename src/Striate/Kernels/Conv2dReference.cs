namespace Striate.Kernels;

/// <summary>
/// The plain twin of <see cref="Conv2dKernels"/>: the convolution written out as its definition, with double
/// accumulation. It is the specification the fast kernels are tested against.
/// Shapes: as <see cref="Conv2dGeometry"/>.
/// </summary>
public static class Conv2dReference
{
    /// <summary>y[n, o, i, j] = b[o] + Σ_{c in group(o), kh, kw} x[n, c, i·s − p + kh·d, j·s − p + kw·d] · w[o, c, kh, kw].</summary>
    public static void Forward(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> output)
    {
        g.CheckSpans("Reference.Forward", input.Length, weight.Length, output.Length);
        if (!bias.IsEmpty && bias.Length != g.OutChannels) throw new ArgumentException($"Conv2dReference.Forward: bias has {bias.Length} elements, expected {g.OutChannels} or none.");
        int oh = g.OutHeight, ow = g.OutWidth, cg = g.InChannelsPerGroup, og = g.OutChannelsPerGroup;
        for (int n = 0; n < g.Batch; n++)
        for (int o = 0; o < g.OutChannels; o++)
        for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++)
        {
            double sum = bias.IsEmpty ? 0 : bias[o];
            for (int c = 0; c < cg; c++)
            for (int kh = 0; kh < g.KernelHeight; kh++)
            for (int kw = 0; kw < g.KernelWidth; kw++)
            {
                int y = i * g.StrideH - g.PadH + kh * g.DilationH, x = j * g.StrideW - g.PadW + kw * g.DilationW;
                if ((uint)y >= (uint)g.InHeight || (uint)x >= (uint)g.InWidth) continue;
                int inC = o / og * cg + c;
                sum += (double)input[((n * g.InChannels + inC) * g.InHeight + y) * g.InWidth + x]
                     * weight[((o * cg + c) * g.KernelHeight + kh) * g.KernelWidth + kw];
            }
            output[((n * g.OutChannels + o) * oh + i) * ow + j] = (float)sum;
        }
    }

    /// <summary>
    /// pooled [N, Cout, OutH, OutW] = maxpool(relu(conv(x, w) + bias)) with the pooling <paramref name="pool"/> over the
    /// output planes: the three ops one after another (this forward, MathF.Max(v, 0),
    /// <see cref="PoolingReference.MaxPool2dForward"/>), the spec of the fused kernel (<see cref="Conv2dDirect.ForwardPixelsReluPool"/>).
    /// </summary>
    public static void ForwardReluMaxPool(in Conv2dGeometry g, in Pool2dGeometry pool, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> pooled)
    {
        var y = new float[g.OutputLength];
        Forward(g, input, weight, bias, y);
        for (int i = 0; i < y.Length; i++) y[i] = MathF.Max(y[i], 0f);
        PoolingReference.MaxPool2dForward(pool, y, pooled, new int[pooled.Length]);
    }

    /// <summary>dx[n, c, y, x] = Σ over every (o, i, j, kh, kw) that read x[n, c, y, x] of dy[n, o, i, j] · w[o, c, kh, kw]. Overwrites gradInput.</summary>
    public static void BackwardData(in Conv2dGeometry g, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> weight, Span<float> gradInput)
    {
        g.CheckSpans("Reference.BackwardData", gradInput.Length, weight.Length, gradOutput.Length, "gradInput", "gradOutput");
        var sum = new double[gradInput.Length]; // dx: [N, Cin, H, W]
        int oh = g.OutHeight, ow = g.OutWidth, cg = g.InChannelsPerGroup, og = g.OutChannelsPerGroup;
        for (int n = 0; n < g.Batch; n++)
        for (int o = 0; o < g.OutChannels; o++)
        for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++)
        {
            double dy = gradOutput[((n * g.OutChannels + o) * oh + i) * ow + j];
            for (int c = 0; c < cg; c++)
            for (int kh = 0; kh < g.KernelHeight; kh++)
            for (int kw = 0; kw < g.KernelWidth; kw++)
            {
                int y = i * g.StrideH - g.PadH + kh * g.DilationH, x = j * g.StrideW - g.PadW + kw * g.DilationW;
                if ((uint)y >= (uint)g.InHeight || (uint)x >= (uint)g.InWidth) continue;
                int inC = o / og * cg + c;
                sum[((n * g.InChannels + inC) * g.InHeight + y) * g.InWidth + x] += dy * weight[((o * cg + c) * g.KernelHeight + kh) * g.KernelWidth + kw];
            }
        }
        for (int k = 0; k < sum.Length; k++) gradInput[k] = (float)sum[k];
    }

    /// <summary>dw[o, c, kh, kw] = Σ_{n, i, j} dy[n, o, i, j] · x[n, c', i·s − p + kh·d, j·s − p + kw·d]. Overwrites gradWeight.</summary>
    public static void BackwardWeight(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, Span<float> gradWeight)
    {
        g.CheckSpans("Reference.BackwardWeight", input.Length, gradWeight.Length, gradOutput.Length, "input", "gradOutput");
        int oh = g.OutHeight, ow = g.OutWidth, cg = g.InChannelsPerGroup, og = g.OutChannelsPerGroup;
        for (int o = 0; o < g.OutChannels; o++)
        for (int c = 0; c < cg; c++)
        for (int kh = 0; kh < g.KernelHeight; kh++)
        for (int kw = 0; kw < g.KernelWidth; kw++)
        {
            double sum = 0;
            int inC = o / og * cg + c;
            for (int n = 0; n < g.Batch; n++)
            for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++)
            {
                int y = i * g.StrideH - g.PadH + kh * g.DilationH, x = j * g.StrideW - g.PadW + kw * g.DilationW;
                if ((uint)y >= (uint)g.InHeight || (uint)x >= (uint)g.InWidth) continue;
                sum += (double)gradOutput[((n * g.OutChannels + o) * oh + i) * ow + j] * input[((n * g.InChannels + inC) * g.InHeight + y) * g.InWidth + x];
            }
            gradWeight[((o * cg + c) * g.KernelHeight + kh) * g.KernelWidth + kw] = (float)sum;
        }
    }

    /// <summary>db[o] = Σ_{n, i, j} dy[n, o, i, j]. Overwrites gradBias.</summary>
    public static void BackwardBias(in Conv2dGeometry g, ReadOnlySpan<float> gradOutput, Span<float> gradBias)
    {
        g.Validate();
        if (gradOutput.Length != g.OutputLength || gradBias.Length != g.OutChannels)
            throw new ArgumentException($"Conv2dReference.BackwardBias: gradOutput has {gradOutput.Length} elements (expected {g.OutputLength}), gradBias {gradBias.Length} (expected {g.OutChannels}).");
        int plane = g.OutHeight * g.OutWidth;
        for (int o = 0; o < g.OutChannels; o++)
        {
            double sum = 0;
            for (int n = 0; n < g.Batch; n++)
                for (int k = 0; k < plane; k++) sum += gradOutput[(n * g.OutChannels + o) * plane + k];
            gradBias[o] = (float)sum;
        }
    }

    /// <summary>
    /// The gradients of y = relu(conv(x, w) + b) from y and dy: dy masked by y &gt; 0 (ReLU's backward from its
    /// output), then <see cref="BackwardData"/>, <see cref="BackwardWeight"/> and <see cref="BackwardBias"/> on it.
    /// An empty gradInput, gradWeight or gradBias is skipped.
    /// </summary>
    public static void BackwardRelu(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> output,
        ReadOnlySpan<float> gradOutput, Span<float> gradInput, Span<float> gradWeight, Span<float> gradBias)
    {
        var masked = new float[gradOutput.Length];
        for (int i = 0; i < masked.Length; i++) masked[i] = output[i] > 0 ? gradOutput[i] : 0f;
        if (!gradInput.IsEmpty) BackwardData(g, masked, weight, gradInput);
        if (!gradWeight.IsEmpty) BackwardWeight(g, input, masked, gradWeight);
        if (!gradBias.IsEmpty) BackwardBias(g, masked, gradBias);
    }
}
