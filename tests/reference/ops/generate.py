#!/usr/bin/python3
"""Additional PyTorch reference cases for Striate's op tests.

Run (from anywhere; needs only torch, tested with Debian's python3-torch 1.13.1):

    /usr/bin/python3 tests/reference/ops/generate.py            # (re)write the cases below next to this script
    /usr/bin/python3 tests/reference/ops/generate.py --check    # verify the files on disk are what this script makes
    /usr/bin/python3 tests/reference/ops/generate.py --out DIR --only conv2d_depthwise_00

It writes only the files named in CASES; the original cases (conv2d_00 … tanh_00, from the shared reference
set, /work/shared/reference/README.md) are never touched. The format is the same as theirs:

* safetensors, tensors in the order input/target/running stats, weight, bias, output, grad_output, grad_*,
  then `__metadata__`; header JSON without spaces, padded with spaces to a multiple of 8 bytes; all F32
  except integer targets (I64);
* `__metadata__.op` names the op; every other entry is an argument as a Python `str()` ("2", "0.0001",
  "True", and "4,4" for pairs), with the same key names as the original cases. One key is new:
  `count_include_pad` on avg_pool2d cases (absent in the originals, which all count padding → "True");
* inputs are drawn in float32 (seeded per case from its name, so reruns are byte-identical), then the op,
  its output and every gradient (for the upstream gradient `grad_output`) are computed in float64 and
  rounded to float32 once at the end.

Element-wise cases (ops add, sub, mul, div) hold `input` and `other` (broadcast against each other as PyTorch
does) and both gradients; scalar cases (add_scalar, sub_scalar, rsub_scalar, mul_scalar, div_scalar, rdiv_scalar)
name the Python scalar in metadata `other` (rsub/rdiv: the scalar is on the left); `neg` is unary minus.

Hardtanh cases (op `hardtanh`, metadata min_val/max_val) cover ReLU6 as min_val 0, max_val 6.

Deliberately absent: dropout (its mask cannot match PyTorch's RNG), batch norm with affine=False (the
metadata format has no key for it yet).
"""

import argparse
import json
import os
import struct
import sys
import zlib

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


# ---- safetensors writer (mirrors the layout of the original cases) --------------------------------

def to_bytes(t):
    if t.dtype == torch.int64:
        return "I64", t.contiguous().numpy().astype("<i8").tobytes()
    return "F32", t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()


def serialize(tensors, metadata):
    header, chunks, offset = {}, [], 0
    for name, t in tensors:
        dtype, data = to_bytes(t)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


# ---- helpers ----------------------------------------------------------------------------------

class Rng:
    """float32 draws from a generator seeded by the case name (stable across runs and machines)."""

    def __init__(self, name):
        self.g = torch.Generator().manual_seed(zlib.crc32(name.encode()))

    def randn(self, *shape, scale=1.0):
        return (torch.randn(shape, generator=self.g, dtype=torch.float32) * scale).to(torch.float64)

    def rand(self, *shape, low=0.0, high=1.0):
        return (torch.rand(shape, generator=self.g, dtype=torch.float32) * (high - low) + low).to(torch.float64)

    def randint(self, high, *shape):
        return torch.randint(0, high, shape, generator=self.g, dtype=torch.int64)


def leaf(t):
    return t.clone().requires_grad_(True)


def pair(v):
    return f"{v[0]},{v[1]}"


def forward_backward(rng, fn, inputs, output_scale=1.0):
    """inputs: list of (name, float64 tensor); returns output, grad_output and grad_<name> for each."""
    leaves = [(n, leaf(t)) for n, t in inputs]
    out = fn(*[t for _, t in leaves])
    grad_output = rng.randn(*out.shape, scale=output_scale)
    out.backward(grad_output)
    grads = [("grad_" + n, t.grad) for n, t in leaves]
    return out.detach(), grad_output, grads


# ---- cases ------------------------------------------------------------------------------------

def conv2d(name, n, cin, h, w, cout, k, stride, padding, dilation, groups, bias):
    rng = Rng(name)
    x = rng.randn(n, cin, h, w)
    fan_in = cin // groups * k * k
    weight = rng.randn(cout, cin // groups, k, k, scale=fan_in ** -0.5)
    inputs = [("input", x), ("weight", weight)]
    if bias:
        inputs.append(("bias", rng.randn(cout)))

    def fn(x, weight, b=None):
        return F.conv2d(x, weight, b, stride=stride, padding=padding, dilation=dilation, groups=groups)

    out, go, grads = forward_backward(rng, fn, inputs)
    tensors = inputs + [("output", out), ("grad_output", go)] + grads
    meta = {"op": "conv2d", "stride": stride, "padding": padding, "dilation": dilation, "groups": groups, "bias": bias}
    return tensors, meta


def max_pool2d(name, shape, kernel, stride, padding, ceil_mode):
    rng = Rng(name)
    x = rng.randn(*shape)
    out, go, grads = forward_backward(
        rng, lambda x: F.max_pool2d(x, kernel, stride, padding, ceil_mode=ceil_mode), [("input", x)])
    meta = {"op": "max_pool2d", "kernel": kernel, "stride": stride, "padding": padding, "ceil_mode": ceil_mode}
    return [("input", x), ("output", out), ("grad_output", go)] + grads, meta


def avg_pool2d(name, shape, kernel, stride, padding, ceil_mode, count_include_pad):
    rng = Rng(name)
    x = rng.randn(*shape)
    fn = lambda x: F.avg_pool2d(x, kernel, stride, padding, ceil_mode=ceil_mode, count_include_pad=count_include_pad)
    out, go, grads = forward_backward(rng, fn, [("input", x)])
    meta = {"op": "avg_pool2d", "kernel": kernel, "stride": stride, "padding": padding, "ceil_mode": ceil_mode,
            "count_include_pad": count_include_pad}
    return [("input", x), ("output", out), ("grad_output", go)] + grads, meta


def cross_entropy(name, n, classes, label_smoothing, scale):
    rng = Rng(name)
    x = rng.randn(n, classes, scale=scale)
    target = rng.randint(classes, n)
    leaf_x = leaf(x)
    loss = F.cross_entropy(leaf_x, target, reduction="mean", label_smoothing=label_smoothing)
    grad_output = rng.randn(1)
    loss.backward(grad_output[0])
    tensors = [("input", x), ("target", target), ("output", loss.detach().reshape(1)),
               ("grad_output", grad_output), ("grad_input", leaf_x.grad)]
    return tensors, {"op": "cross_entropy", "reduction": "mean", "label_smoothing": label_smoothing}


def interpolate_bilinear(name, shape, size):
    rng = Rng(name)
    x = rng.randn(*shape)
    fn = lambda x: F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    out, go, grads = forward_backward(rng, fn, [("input", x)])
    meta = {"op": "interpolate_bilinear", "size": pair(size), "align_corners": False}
    return [("input", x), ("output", out), ("grad_output", go)] + grads, meta


def local_response_norm(name, shape, size, alpha, beta, k, scale):
    rng = Rng(name)
    x = rng.randn(*shape, scale=scale)
    fn = lambda x: F.local_response_norm(x, size, alpha=alpha, beta=beta, k=k)
    out, go, grads = forward_backward(rng, fn, [("input", x)])
    meta = {"op": "local_response_norm", "size": size, "alpha": alpha, "beta": beta, "k": k}
    return [("input", x), ("output", out), ("grad_output", go)] + grads, meta


def batch_norm2d(name, shape, training, momentum, eps):
    rng = Rng(name)
    c = shape[1]
    x = rng.randn(*shape, scale=2.0) + 1.0
    running_mean = rng.randn(c, scale=0.5)
    running_var = rng.rand(c, low=0.5, high=1.5)
    weight, bias = rng.randn(c), rng.randn(c, scale=0.5)
    rm, rv = running_mean.clone(), running_var.clone()
    fn = lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=training, momentum=momentum, eps=eps)
    out, go, grads = forward_backward(rng, fn, [("input", x), ("weight", weight), ("bias", bias)])
    tensors = [("input", x), ("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
               ("bias", bias), ("output", out), ("grad_output", go)] + grads + [
                  ("running_mean_after", rm), ("running_var_after", rv)]
    return tensors, {"op": "batch_norm2d", "training": training, "momentum": momentum, "eps": eps}


def hardtanh(name, shape, min_val, max_val, scale):
    """Also sets a few inputs to exactly min_val and max_val, where PyTorch's gradient is zero."""
    rng = Rng(name)
    x = rng.randn(*shape, scale=scale)
    flat = x.view(-1)
    flat[0], flat[1], flat[-1] = min_val, max_val, max_val
    fn = lambda x: F.hardtanh(x, min_val, max_val)
    out, go, grads = forward_backward(rng, fn, [("input", x)])
    meta = {"op": "hardtanh", "min_val": min_val, "max_val": max_val}
    return [("input", x), ("output", out), ("grad_output", go)] + grads, meta


def binary(name, op, a_shape, b_shape, divisor=False):
    """a op b with broadcasting; a divisor is kept in ±[0.5, 2) so the quotient and its gradient stay tame."""
    rng = Rng(name)
    a = rng.randn(*a_shape)
    if divisor:
        b = rng.rand(*b_shape, low=0.5, high=2.0) * torch.where(rng.randn(*b_shape) >= 0, 1.0, -1.0)
    else:
        b = rng.randn(*b_shape)
    fn = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}[op]
    out, go, grads = forward_backward(rng, fn, [("input", a), ("other", b)])
    return [("input", a), ("other", b), ("output", out), ("grad_output", go)] + grads, {"op": op}


def scalar_op(name, op, shape, scalar, divisor=False):
    """x op s, s op x (rsub, rdiv) and −x, as Python's operators on a tensor compute them."""
    rng = Rng(name)
    x = rng.randn(*shape)
    if divisor:
        x = x.sign() * (x.abs() + 0.5)
    fn = {"add_scalar": lambda x: x + scalar, "sub_scalar": lambda x: x - scalar, "rsub_scalar": lambda x: scalar - x,
          "mul_scalar": lambda x: x * scalar, "div_scalar": lambda x: x / scalar, "rdiv_scalar": lambda x: scalar / x,
          "neg": lambda x: -x}[op]
    out, go, grads = forward_backward(rng, fn, [("input", x)])
    meta = {"op": op} if op == "neg" else {"op": op, "other": scalar}
    return [("input", x), ("output", out), ("grad_output", go)] + grads, meta


CASES = {
    # MobileNet-style depthwise: channel multiplier 2, stride 2; and plain depthwise without bias.
    "conv2d_depthwise_00": lambda n: conv2d(n, 2, 8, 10, 10, 16, 3, 2, 1, 1, 8, True),
    "conv2d_depthwise_01": lambda n: conv2d(n, 2, 16, 7, 7, 16, 3, 1, 1, 1, 16, False),
    # AlexNet conv1 geometry (11×11, stride 4, padding 2) where the stride leaves a remainder.
    "conv2d_alexnet1_00": lambda n: conv2d(n, 1, 3, 29, 29, 4, 11, 4, 2, 1, 1, True),
    # ResNet stem (7×7, stride 2, padding 3, no bias) on an odd size; ResNet 1×1 stride-2 downsample.
    "conv2d_7x7_s2_00": lambda n: conv2d(n, 2, 3, 15, 15, 6, 7, 2, 3, 1, 1, False),
    "conv2d_1x1_s2_00": lambda n: conv2d(n, 2, 8, 9, 9, 12, 1, 2, 0, 1, 1, False),
    # Dilation and groups together.
    "conv2d_dilated_grouped_00": lambda n: conv2d(n, 2, 4, 9, 9, 6, 3, 1, 2, 2, 2, True),
    "conv2d_dilated_grouped_01": lambda n: conv2d(n, 1, 8, 11, 11, 8, 3, 2, 1, 2, 4, True),
    # ceil_mode where it changes the output size (10 → 5, floor would give 4), with and without padding.
    "maxpool2d_ceil_00": lambda n: max_pool2d(n, (2, 3, 10, 10), 3, 2, 0, True),
    "maxpool2d_ceil_pad_00": lambda n: max_pool2d(n, (2, 3, 10, 10), 3, 2, 1, True),
    # avg pooling that divides by the in-bounds window only; and ceil_mode's clipped last window.
    "avgpool2d_nopad_count_00": lambda n: avg_pool2d(n, (2, 3, 9, 9), 3, 2, 1, False, False),
    "avgpool2d_ceil_00": lambda n: avg_pool2d(n, (2, 3, 10, 10), 3, 2, 0, True, True),
    "avgpool2d_ceil_nopad_count_00": lambda n: avg_pool2d(n, (2, 3, 10, 10), 3, 2, 1, True, False),
    # Batch norm in eval mode with another shape (running stats must be used, not batch stats).
    "batch_norm2d_eval_01": lambda n: batch_norm2d(n, (3, 5, 4, 6), False, 0.1, 1e-05),
    "batch_norm2d_train_01": lambda n: batch_norm2d(n, (3, 5, 4, 6), True, 0.2, 0.001),
    # Label smoothing with another class count and weight.
    "cross_entropy_smooth_00": lambda n: cross_entropy(n, 5, 7, 0.2, 3.0),
    # Exact 2× upsampling and downsampling (no antialias).
    "interpolate_bilinear_up_00": lambda n: interpolate_bilinear(n, (2, 2, 5, 6), (10, 12)),
    "interpolate_bilinear_down_00": lambda n: interpolate_bilinear(n, (2, 1, 9, 11), (4, 5)),
    # AlexNet LRN (Krizhevsky et al. 2012: n=5, α=1e-4, β=0.75, k=2) on inputs big enough for the sum to
    # matter; and an even size, whose window is asymmetric (size//2 before, (size-1)//2 after).
    "local_response_norm_02": lambda n: local_response_norm(n, (2, 12, 3, 3), 5, 0.0001, 0.75, 2.0, 30.0),
    "local_response_norm_03": lambda n: local_response_norm(n, (2, 9, 3, 4), 4, 0.001, 0.75, 1.0, 10.0),
    # Hardtanh with its defaults, and ReLU6 (MobileNetV2: hardtanh on [0, 6]) on inputs spanning both clips.
    "hardtanh_00": lambda n: hardtanh(n, (2, 3, 5, 7), -1.0, 1.0, 2.0),
    "hardtanh_relu6_00": lambda n: hardtanh(n, (2, 4, 6, 5), 0.0, 6.0, 5.0),
    # Element-wise ops with PyTorch's broadcasting: same shapes; a per-channel [C, 1, 1] against NCHW; both operands
    # broadcast ([4, 1, 5] with [3, 1] → [4, 3, 5]); a rank-0 operand; fewer dimensions on the left.
    "add_00": lambda n: binary(n, "add", (2, 3, 4), (2, 3, 4)),
    "add_01": lambda n: binary(n, "add", (2, 3, 4, 5), (3, 1, 1)),
    "sub_00": lambda n: binary(n, "sub", (4, 1, 5), (3, 1)),
    "sub_01": lambda n: binary(n, "sub", (5,), (2, 3, 5)),
    "mul_00": lambda n: binary(n, "mul", (2, 3, 4, 5), (1, 3, 1, 5)),
    "mul_01": lambda n: binary(n, "mul", (), (3, 4)),
    "div_00": lambda n: binary(n, "div", (2, 3, 4), (2, 1, 4), divisor=True),
    "div_01": lambda n: binary(n, "div", (3, 1), (1, 4), divisor=True),
    # Scalar operands on either side, and unary minus.
    "add_scalar_00": lambda n: scalar_op(n, "add_scalar", (2, 3, 4), 2.5),
    "sub_scalar_00": lambda n: scalar_op(n, "sub_scalar", (2, 3, 4), 0.75),
    "rsub_scalar_00": lambda n: scalar_op(n, "rsub_scalar", (2, 3, 4), 1.5),
    "mul_scalar_00": lambda n: scalar_op(n, "mul_scalar", (2, 3, 4), -3.0),
    "div_scalar_00": lambda n: scalar_op(n, "div_scalar", (2, 3, 4), 3.0),
    "rdiv_scalar_00": lambda n: scalar_op(n, "rdiv_scalar", (2, 3, 4), 2.0, divisor=True),
    "neg_00": lambda n: scalar_op(n, "neg", (2, 3, 4), 0.0),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=HERE, help="folder to write into (default: this script's folder)")
    parser.add_argument("--only", nargs="*", help="case names to generate (default: all)")
    parser.add_argument("--check", action="store_true", help="compare with the files on disk instead of writing")
    args = parser.parse_args()

    torch.set_default_dtype(torch.float64)
    names = args.only or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        sys.exit(f"unknown case(s) {unknown}; known: {', '.join(CASES)}")

    mismatches = 0
    for name in names:
        tensors, meta = CASES[name](name)
        data = serialize(tensors, meta)
        if len(data) > 50_000:
            sys.exit(f"{name}: {len(data)} bytes, over the 50 KB budget for a reference case")
        path = os.path.join(args.out, name + ".safetensors")
        if args.check:
            same = os.path.exists(path) and open(path, "rb").read() == data
            mismatches += not same
            print(f"{'ok  ' if same else 'DIFF'} {name}")
            continue
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        shapes = ", ".join(f"{n}{list(t.shape)}" for n, t in tensors[:2])
        print(f"{name:32s} {len(data):6d} B  {json.dumps({k: str(v) for k, v in meta.items()})}  {shapes}")
    if mismatches:
        sys.exit(f"{mismatches} case(s) differ from what this script generates")


if __name__ == "__main__":
    main()
