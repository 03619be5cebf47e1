namespace Striate.Autograd;

/// <summary>Runs backward passes: orders the recorded graph and sums gradients as PyTorch does.</summary>
internal static class Engine
{
    // The early release of the backward pass running on this thread (null: none, or not releasing early).
    [ThreadStatic] private static EarlyRelease? t_release;

    public static void Backward(Tensor root, Tensor? gradient)
    {
        if (!root.RequiresGrad)
            throw new InvalidOperationException($"Tensor.Backward: the tensor (shape {Tensor.FormatShape(root.Shape)}) does not require grad and has no graph; did it come from a no-grad scope, or do none of its inputs require grad?");
        if (gradient == null)
        {
            if (root.Numel != 1)
                throw new ArgumentException($"Tensor.Backward: a gradient is needed for a non-scalar tensor of shape {Tensor.FormatShape(root.Shape)} (only one-element tensors get an implicit 1).");
            gradient = Tensor.Full(1f, root.ShapeArray);
        }
        else if (!gradient.Shape.SequenceEqual(root.Shape))
        {
            throw new ArgumentException($"Tensor.Backward: gradient has shape {Tensor.FormatShape(gradient.Shape)}, expected the tensor's shape {Tensor.FormatShape(root.Shape)}.", nameof(gradient));
        }

        var order = TopologicalOrder(root);
        var hookedLeaves = CountHookedLeafEdges(order, out bool gradHooks);
        // Gradients and temporaries made during this pass go back to the pool as soon as nothing needs them, as
        // PyTorch frees them by reference count, instead of all staying until the step's scope ends: the pass then
        // reuses a few arrays instead of holding one of every activation's size. Not when a hook can see a gradient
        // (it may keep it) or outside a scope (then the GC reclaims them).
        var scope = TensorScope.Current;
        var release = scope != null && !gradHooks ? new EarlyRelease(scope) : null;
        var outerRelease = t_release;
        t_release = release;
        var outerCallbacks = BackwardPass.Enter();
        try
        {
            Accumulate(root, gradient, fresh: false);
            // Reverse topological order: every consumer of a tensor has passed its gradient before the tensor's
            // own node runs, so each node runs once with the complete sum.
            using var noGrad = GradMode.NoGrad();
            for (int i = order.Count - 1; i >= 0; i--)
            {
                var t = order[i];
                var g = t.PendingGrad;
                t.PendingGrad = null;
                if (g == null) continue;
                g.StorageObject.PendingRefs--;
                if (t.GradHooks != null) foreach (var hook in t.GradHooks) hook(g);
                if (t.RetainsGrad) t.Grad = TensorScope.Keep(t.PendingGradOwned ? g : g.Clone());
                t.GradFn!.CheckSavedVersions();
                int mark = release?.Mark() ?? 0;
                t.GradFn.Backward(g);
                release?.After(mark, g);
            }
            // A leaf some of whose consumers passed nothing back (their outputs got no gradient) is final now.
            if (hookedLeaves != null)
                foreach (var leaf in hookedLeaves)
                    if (leaf.PendingAccumulations > 0 && leaf.AccumulatedThisPass) RunPostAccumulateHooks(leaf);
            BackwardPass.RunCallbacks();
        }
        finally
        {
            if (hookedLeaves != null)
                foreach (var leaf in hookedLeaves) (leaf.PendingAccumulations, leaf.AccumulatedThisPass) = (0, false);
            BackwardPass.Exit(outerCallbacks);
            t_release = outerRelease;
        }
    }

    /// <summary>
    /// For every leaf with post-accumulate hooks, counts the graph edges that will bring it a gradient in this pass
    /// (its <see cref="Tensor.PendingAccumulations"/>), so its hooks can run as soon as the last one has arrived.
    /// Returns those leaves, or null when there are none (the common case costs one check per edge).
    /// </summary>
    /// <remarks><paramref name="gradHooks"/> says whether any tensor of the graph has a gradient hook (<see cref="Tensor.RegisterHook"/>).</remarks>
    private static List<Tensor>? CountHookedLeafEdges(List<Tensor> order, out bool gradHooks)
    {
        List<Tensor>? leaves = null;
        gradHooks = false;
        foreach (var node in order)
        {
            if (node.GradHooks != null) gradHooks = true;
            foreach (var input in node.GradFn!.Inputs)
            {
                if (input is { GradHooks: not null }) gradHooks = true;
                if (input is not { IsLeaf: true, RequiresGrad: true, PostAccumulateGradHooks.Count: > 0 }) continue;
                if (input.PendingAccumulations++ == 0) (leaves ??= new()).Add(input);
            }
        }
        return leaves;
    }

    /// <summary>
    /// Returns to the pool, after each node's backward, what that backward rented and did not pass on as a pending
    /// gradient, and the node's incoming gradient once nothing pending shares its array. Only arrays rented during
    /// this pass in the step's scope qualify: activations saved by the forward, and whatever the caller holds from
    /// before <see cref="Backward"/>, are never touched.
    /// </summary>
    private sealed class EarlyRelease(TensorScope scope)
    {
        private readonly int _passStart = scope.RentedCount;
        private readonly List<TensorStorage> _dropped = new();

        public int Mark() => scope.RentedCount;

        /// <summary>A pending gradient was replaced (cloned before a sum): its array may be free after this node.</summary>
        public void Dropped(TensorStorage storage) => _dropped.Add(storage);

        public void After(int mark, Tensor gradOutput)
        {
            for (int i = mark; i < scope.RentedCount; i++)
                if (scope.Rented(i) is { } s) TryReturn(s);
            TryReturn(gradOutput.StorageObject);
            foreach (var s in _dropped) TryReturn(s);
            _dropped.Clear();
        }

        private void TryReturn(TensorStorage s)
        {
            if (s.Owner == scope && s.Slot >= _passStart && s.PendingRefs == 0) scope.ReturnEarly(s);
        }
    }

    /// <summary>
    /// For an op that can write its gradient for leaf <paramref name="target"/> straight into the leaf's gradient
    /// array (a linear layer's dW as the GEMM's C, with beta 1 to add): that array, and whether to add to it (an
    /// earlier contribution of this or a previous backward is there) or overwrite it. Spares a temporary the size of
    /// the weight and a pass that copies or adds it (AlexNet's fc6: 151 MB). False, leaving the gradient untouched,
    /// when the contribution must be seen by itself: the target is not a leaf (pending sums) or has gradient hooks.
    /// Call <see cref="EndAccumulateInPlace"/> once the array is written.
    /// </summary>
    internal static bool TryBeginAccumulateInPlace(Tensor target, out Tensor grad, out bool add)
    {
        if (!target.IsLeaf || target.GradHooks != null)
        {
            (grad, add) = (null!, false);
            return false;
        }
        add = target.Grad != null;
        // After ZeroGrad the parked array is overwritten: no fill, no add, no allocation (as Accumulate does).
        target.Grad ??= target.TakeParkedGrad() ?? Tensor.AllocatePersistent(target.Shape);
        grad = target.Grad;
        return true;
    }

    /// <summary>Ends <see cref="TryBeginAccumulateInPlace"/>: the leaf's post-accumulate hooks run as after <see cref="Accumulate"/>.</summary>
    internal static void EndAccumulateInPlace(Tensor target)
    {
        if (target.PendingAccumulations > 0)
        {
            target.AccumulatedThisPass = true;
            if (--target.PendingAccumulations == 0) RunPostAccumulateHooks(target);
        }
    }

    private static void RunPostAccumulateHooks(Tensor leaf)
    {
        leaf.PendingAccumulations = 0;
        // A copy: a hook may remove itself.
        foreach (var hook in leaf.PostAccumulateGradHooks!.ToArray()) hook(leaf);
    }

    /// <summary>Non-leaf tensors reachable from <paramref name="root"/>, each after all tensors it depends on.</summary>
    private static List<Tensor> TopologicalOrder(Tensor root)
    {
        var order = new List<Tensor>();
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        // Iterative post-order DFS: deep networks (DenseNet, ResNet-50) would overflow a recursive one.
        var stack = new Stack<(Tensor Node, int NextInput)>();
        visited.Add(root);
        stack.Push((root, 0));
        while (stack.Count > 0)
        {
            var (node, next) = stack.Pop();
            var inputs = node.GradFn!.Inputs;
            bool descended = false;
            for (int i = next; i < inputs.Length; i++)
            {
                var input = inputs[i];
                if (input is not { GradFn: not null } || !visited.Add(input)) continue;
                stack.Push((node, i + 1));
                stack.Push((input, 0));
                descended = true;
                break;
            }
            if (!descended) order.Add(node);
        }
        return order;
    }

    public static void Accumulate(Tensor target, Tensor grad, bool fresh)
    {
        if (!grad.Shape.SequenceEqual(target.Shape))
            throw new InvalidOperationException($"Autograd: gradient of shape {Tensor.FormatShape(grad.Shape)} for a tensor of shape {Tensor.FormatShape(target.Shape)} ({target.GradFn?.Name ?? "leaf"}); this is a bug in an op's backward.");
        if (target.IsLeaf)
        {
            if (target.GradHooks != null) foreach (var hook in target.GradHooks) hook(grad);
            // Leaf gradients outlive any scope: they are summed across backward passes until zeroed.
            if (target.Grad == null)
            {
                // After ZeroGrad the first contribution is copied into the parked array: no fill, no add, no allocation.
                var persistent = target.TakeParkedGrad() ?? Tensor.AllocatePersistent(target.Shape);
                grad.ReadOnlySpan.CopyTo(persistent.Span);
                target.Grad = persistent;
            }
            else
            {
                Kernels.Elementwise.AddInPlace(target.Grad.Span, grad.ReadOnlySpan);
            }
            if (target.PendingAccumulations > 0)
            {
                target.AccumulatedThisPass = true;
                if (--target.PendingAccumulations == 0) RunPostAccumulateHooks(target);
            }
            return;
        }
        if (target.PendingGrad == null)
        {
            target.PendingGrad = grad;
            target.PendingGradOwned = fresh;
            grad.StorageObject.PendingRefs++;
            return;
        }
        if (!target.PendingGradOwned)
        {
            var shared = target.PendingGrad;
            target.PendingGrad = shared.Clone();
            target.PendingGradOwned = true;
            target.PendingGrad.StorageObject.PendingRefs++;
            shared.StorageObject.PendingRefs--;
            t_release?.Dropped(shared.StorageObject);
        }
        Kernels.Elementwise.AddInPlace(target.PendingGrad.Span, grad.ReadOnlySpan);
    }
}
