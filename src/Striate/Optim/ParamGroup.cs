namespace Striate.Optim;

/// <summary>
/// Parameters that share hyperparameters, as one entry of PyTorch's <c>param_groups</c>: e.g. a pretrained backbone
/// at a small learning rate and a new head at a larger one. Null fields take the optimizer's defaults (its constructor
/// arguments), as a PyTorch group dict without that key does.
/// </summary>
/// <param name="Parameters">The group's parameters (each in one group only).</param>
/// <param name="LearningRate">The group's learning rate; null: the optimizer's.</param>
/// <param name="WeightDecay">The group's weight decay; null: the optimizer's.</param>
public sealed record ParamGroup(IEnumerable<Tensor> Parameters, float? LearningRate = null, float? WeightDecay = null);
