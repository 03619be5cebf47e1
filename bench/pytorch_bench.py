#!/usr/bin/python3
"""Measure with PyTorch (CPU) the figures `striate bench --json` reports, and print them side by side.

Run from anywhere (the C# command runs in the repository root):

    /usr/bin/python3 bench/pytorch_bench.py                      # both sides, table on stdout
    /usr/bin/python3 bench/pytorch_bench.py --pytorch-only        # PyTorch side alone (~1-3 minutes)
    /usr/bin/python3 bench/pytorch_bench.py --threads 1 --json-out bench.json
    /usr/bin/python3 bench/pytorch_bench.py --only sgemm --striate "dotnet run -c Release --project src/Striate.Cli -- bench --json"

Figures (all GFLOPS, best of several runs, since noise on a shared machine only ever adds time):
  sgemm_{256,512,1024,2048}          torch.mm of square fp32 matrices, 2·n³ flops;
  sgemm_{n}_onednn                   the same product through oneDNN (extra: Debian's torch.mm uses the
                                     generic netlib BLAS, far slower than the BLAS PyTorch normally ships);
  conv3x3_64_56_b32_fwd / _fwdbwd    ResNet-18 stage-1 conv (3×3, 64→64, pad 1) on 32×64×56×56;
  conv{k}x{k}_{cin}_{cout}_{hin}_s{stride}_b32_fwd / _fwdbwd
                                     the other ResNet-18 conv shapes (padding k//2, no bias).
  Convolution flops: 2·N·Cout·Hout·Wout·(Cin/groups)·k² forward; ×3 for _fwdbwd, which times forward plus
  autograd's input and weight gradients (requires_grad on input and weight).

The C# command must print a JSON array of {"name", "value", "unit"} (other output before the array is
ignored). The thread count passed with --threads applies to PyTorch only; give the C# side the same via its
own command line if it has such an option.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_STRIATE = "dotnet run -c Release --project src/Striate.Cli -- bench --json"
BATCH = 32

# (kernel, cin, cout, hin, stride) of ResNet-18's convolutions; padding is kernel // 2.
RESNET18_CONVS = [
    (3, 64, 64, 56, 1),    # stage 1 (named conv3x3_64_56_b32_*)
    (7, 3, 64, 224, 2),    # stem
    (3, 128, 128, 28, 1),
    (3, 256, 256, 14, 1),
    (3, 512, 512, 7, 1),
    (3, 64, 128, 56, 2),   # first conv of stages 2-4
    (3, 128, 256, 28, 2),
    (3, 256, 512, 14, 2),
    (1, 64, 128, 56, 2),   # downsample shortcuts
    (1, 128, 256, 28, 2),
    (1, 256, 512, 14, 2),
]


def conv_name(k, cin, cout, hin, stride):
    if (k, cin, cout, hin, stride) == (3, 64, 64, 56, 1):
        return "conv3x3_64_56_b32"  # the name striate bench has always used for the stage-1 conv
    return f"conv{k}x{k}_{cin}_{cout}_{hin}_s{stride}_b{BATCH}"


def best_seconds(action, min_seconds, min_runs=3):
    """Warm up once, then run until min_seconds have passed (at least min_runs times); best single run."""
    action()
    best = float("inf")
    start_all = time.perf_counter()
    runs = 0
    while runs < min_runs or time.perf_counter() - start_all < min_seconds:
        t0 = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - t0)
        runs += 1
    return best


def bench_sgemm(n, min_seconds):
    g = torch.Generator().manual_seed(n)
    a = torch.randn(n, n, generator=g)
    b = torch.randn(n, n, generator=g)
    c = torch.empty(n, n)
    seconds = best_seconds(lambda: torch.mm(a, b, out=c), min_seconds)
    return 2.0 * n ** 3 / seconds / 1e9


def bench_sgemm_onednn(n, min_seconds):
    """The same product through oneDNN's inner-product primitive, or None if this build lacks it.

    Debian's torch links torch.mm to the generic (netlib) BLAS, which is not what PyTorch users normally get;
    this figure shows what an optimized GEMM in the same process reaches.
    """
    g = torch.Generator().manual_seed(n)
    a = torch.randn(n, n, generator=g)
    b = torch.randn(n, n, generator=g)
    try:
        am, btm = a.to_mkldnn(), b.t().contiguous().to_mkldnn()
        linear = torch._C._nn.mkldnn_linear
        if not torch.allclose(linear(am, btm, None).to_dense(), a @ b, rtol=1e-3, atol=1e-3):
            return None
    except (RuntimeError, AttributeError):
        return None
    seconds = best_seconds(lambda: linear(am, btm, None), min_seconds)
    return 2.0 * n ** 3 / seconds / 1e9


def bench_conv(k, cin, cout, hin, stride, min_seconds):
    pad = k // 2
    hout = (hin + 2 * pad - k) // stride + 1
    flops = 2.0 * BATCH * cout * hout * hout * cin * k * k
    g = torch.Generator().manual_seed(k * 1000 + cin)
    x = torch.randn(BATCH, cin, hin, hin, generator=g)
    w = torch.randn(cout, cin, k, k, generator=g) * (cin * k * k) ** -0.5

    with torch.no_grad():
        fwd = best_seconds(lambda: F.conv2d(x, w, None, stride, pad), min_seconds)

    xg = x.clone().requires_grad_(True)
    wg = w.clone().requires_grad_(True)
    grad_out = torch.randn(BATCH, cout, hout, hout, generator=g)

    def fwdbwd():
        xg.grad = None
        wg.grad = None
        F.conv2d(xg, wg, None, stride, pad).backward(grad_out)

    both = best_seconds(fwdbwd, min_seconds)
    return flops / fwd / 1e9, 3 * flops / both / 1e9


def run_pytorch(args):
    figures = []

    def record(name, value):
        figures.append({"name": name, "value": value, "unit": "GFLOPS"})
        print(f"  {name:40s} {value:9.2f} GFLOPS", file=sys.stderr, flush=True)

    def wanted(name):
        return not args.only or any(p in name for p in args.only)

    for n in (256, 512, 1024, 2048):
        if wanted(f"sgemm_{n}"):
            record(f"sgemm_{n}", bench_sgemm(n, args.min_seconds))
    for n in (256, 512, 1024, 2048):
        if wanted(f"sgemm_{n}_onednn"):
            value = bench_sgemm_onednn(n, args.min_seconds)
            if value is not None:
                record(f"sgemm_{n}_onednn", value)
    for shape in RESNET18_CONVS:
        name = conv_name(*shape)
        if wanted(name):
            fwd, both = bench_conv(*shape, args.min_seconds)
            record(name + "_fwd", fwd)
            record(name + "_fwdbwd", both)
    return figures


def parse_json_array(text):
    """The JSON array in the command's output; anything printed before it (build chatter) is skipped."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    decoder = json.JSONDecoder()
    for i in (i for i, ch in enumerate(text) if ch == "["):
        try:
            value, _ = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            continue
        if isinstance(value, list) and all(isinstance(v, dict) and "name" in v and "value" in v for v in value):
            return value
    raise ValueError("no JSON array of {name, value, unit} objects in the output")


def run_striate(command):
    print(f"running C# side: {command}", file=sys.stderr, flush=True)
    proc = subprocess.run(command, shell=True, cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"striate command failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    try:
        return parse_json_array(proc.stdout)
    except ValueError as e:
        raise RuntimeError(f"striate command output could not be read: {e}\n--- output ---\n{proc.stdout[-2000:]}")


def fmt(v):
    return "—" if v is None else f"{v:.2f}"


def build_rows(striate, pytorch):
    s = {f["name"]: f for f in striate or []}
    p = {f["name"]: f for f in pytorch}
    names = [f["name"] for f in pytorch] + [n for n in s if n not in p]
    rows = []
    for name in names:
        sv = s[name]["value"] if name in s else None
        pv = p[name]["value"] if name in p else None
        unit = (s.get(name) or p.get(name))["unit"]
        ratio = sv / pv if sv is not None and pv not in (None, 0) else None
        rows.append({"name": name, "unit": unit, "striate": sv, "pytorch": pv, "ratio": ratio})
    return rows


def print_table(rows, show_striate):
    width = max([len(r["name"]) for r in rows] + [4])
    if show_striate:
        print(f"{'name':{width}s}  {'striate':>9s}  {'pytorch':>9s}  {'ratio':>6s}  unit")
        for r in rows:
            print(f"{r['name']:{width}s}  {fmt(r['striate']):>9s}  {fmt(r['pytorch']):>9s}  {fmt(r['ratio']):>6s}  {r['unit']}")
    else:
        print(f"{'name':{width}s}  {'pytorch':>9s}  unit")
        for r in rows:
            print(f"{r['name']:{width}s}  {fmt(r['pytorch']):>9s}  {r['unit']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch.set_num_threads (default: all CPUs)")
    parser.add_argument("--striate", default=DEFAULT_STRIATE, help=f"C# command printing the JSON figures (default: {DEFAULT_STRIATE!r})")
    parser.add_argument("--pytorch-only", action="store_true", help="skip the C# side")
    parser.add_argument("--json-out", metavar="FILE", help="also write the rows as JSON")
    parser.add_argument("--only", nargs="*", metavar="SUBSTRING", help="PyTorch figures whose name contains one of these")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="time budget per figure before taking the best run")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread(s)", file=sys.stderr, flush=True)
    pytorch = run_pytorch(args)
    print(f"PyTorch side took {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)

    striate, failure = None, None
    if not args.pytorch_only:
        try:
            striate = run_striate(args.striate)
        except RuntimeError as e:
            failure = str(e)
            print(failure, file=sys.stderr)
            print("(showing the PyTorch figures alone)", file=sys.stderr)
    rows = build_rows(striate, pytorch)
    print_table(rows, show_striate=striate is not None)

    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"threads": args.threads, "torch": torch.__version__,
                       "striate_command": None if args.pytorch_only else args.striate, "rows": rows}, f, indent=2)
            f.write("\n")
    if failure:
        sys.exit(1)


if __name__ == "__main__":
    main()
