using Striate.Functional;

namespace Striate.Tests.Autograd;

/// <summary>
/// Inside a <see cref="TensorScope"/>, backward gives the gradients and temporaries it makes back to the pool as soon
/// as nothing pending needs them (PyTorch frees them by reference count), so a deep network's backward reuses a few
/// arrays instead of holding one per activation until the step ends. The gradients must be exactly those computed
/// without a scope, and nothing the forward made may be touched.
/// </summary>
public sealed class EarlyReleaseTests
{
    // A graph with every way a gradient is shared: Add passes its gradient through to both inputs (one array,
    // two pending tensors), a view passes it on reshaped, a tensor used three times sums (and clones) what it gets.
    private static (Tensor Loss, Tensor Hidden, Tensor Logits) Forward(Tensor x, Tensor w1, Tensor w2)
    {
        var h = F.Relu(F.Linear(x, w1));                     // [4, 6]
        var r = F.Add(h, F.Mul(h, 0.5f));                    // h used twice; Add passes through
        var v = F.Add(r.Reshape(4, 2, 3), r.Reshape(4, 2, 3)).Reshape(4, 6);
        var s = F.Add(F.Tanh(v), h);                         // h's third use
        var logits = F.Linear(s, w2);                        // [4, 3]
        return (F.CrossEntropy(logits, [0, 2, 1, 2], 0f), h, logits);
    }

    private static (Tensor X, Tensor W1, Tensor W2) Leaves()
    {
        var g = new Generator(3);
        return (Tensor.Randn([4, 5], g), Tensor.Randn([6, 5], g).RequireGrad(), Tensor.Randn([3, 6], g).RequireGrad());
    }

    [Fact]
    public void GradientsInAScopeEqualThoseWithoutOneAndTheForwardsTensorsStayReadable()
    {
        var (x, w1, w2) = Leaves();
        Forward(x, w1, w2).Loss.Backward();
        float[] expected1 = w1.Grad!.ToArray(), expected2 = w2.Grad!.ToArray();

        var (xs, v1, v2) = Leaves();
        using (TensorScope.Begin())
        {
            var (loss, hidden, logits) = Forward(xs, v1, v2);
            float[] hiddenBefore = hidden.ToArray(), logitsBefore = logits.ToArray();
            loss.Backward();
            // The training loop reads the logits (accuracy) after backward: the forward's arrays are not recycled.
            Assert.Equal(logitsBefore, logits.ToArray());
            Assert.Equal(hiddenBefore, hidden.ToArray());
            Assert.Equal(expected1, v1.Grad!.ToArray());
            Assert.Equal(expected2, v2.Grad!.ToArray());
        }
        Assert.Equal(expected1, v1.Grad!.ToArray());
    }

    [Fact]
    public void ADeepChainsBackwardReusesAFewArraysInsteadOfOnePerLayer()
    {
        const int layers = 40;
        var g = new Generator(1);
        var x = Tensor.Randn([8, 333], g).RequireGrad();
        using var scope = TensorScope.Begin();
        var h = x;
        for (int i = 0; i < layers; i++) h = F.Tanh(F.Mul(h, 0.9f));
        var loss = F.Sum(h);
        long beforeBackward = TensorPool.FreshArrays;
        loss.Backward();
        long backwardArrays = TensorPool.FreshArrays - beforeBackward;
        // Each of the 80 nodes makes one gradient of [8, 333]; each is free once the next node has consumed it.
        Assert.InRange(backwardArrays, 1, 4);
        Assert.NotNull(x.Grad);
        Assert.All(x.Grad!.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void AGradientAHookSawOrRetainGradKeptStaysValidUntilTheScopeEnds()
    {
        var (x, w1, w2) = Leaves();
        using var scope = TensorScope.Begin();
        var hidden = F.Relu(F.Linear(x, w1)).RetainGrad();
        var middle = F.Mul(hidden, 2f);
        Tensor? seen = null;
        middle.RegisterHook(grad => seen = grad);
        var loss = F.Sum(F.Linear(F.Tanh(middle), w2));
        loss.Backward();
        float[] seenValues = seen!.ToArray(); // would throw had the pass recycled it
        // middle = 2·hidden, so hidden's gradient is twice the one the hook saw.
        var retained = hidden.Grad!.ToArray();
        for (int i = 0; i < retained.Length; i++) Assert.Equal(2f * seenValues[i], retained[i], 5);
    }
}
