using Striate.Autograd;
using Striate.Nn;

namespace Striate.Tests.TestSupport;

/// <summary>What a prepared session is checked against: the eager model's output, computed without autograd.</summary>
public static class EagerOutput
{
    /// <summary>model(input) under no-grad, kept out of the tensor scope its intermediates are returned to.</summary>
    public static Tensor Of(Module model, Tensor input)
    {
        using (GradMode.NoGrad())
        using (TensorScope.Begin())
            return TensorScope.Keep(model.Call(input));
    }
}
