#!/usr/bin/python3
"""Batch-1 latency of the torchvision models beside ONNX Runtime 1.32, and each fresh process's first call.

    /usr/bin/python3 bench/ort_b1.py                                   # 7 models, 2 rounds, this ISA
    /usr/bin/python3 bench/ort_b1.py --models resnet18 mobilenet_v2 --rounds 3 --isa avx2

Per model and round, one fresh `striate bench --only models --figures tv_MODEL_224_infer_b1_` process (it prints
the first call of a prepared session and the steady latency, median of 5 after 2 warm-ups) and one fresh
`../shared/anchors/ort/run.sh --bench MODEL.onnx 1` process (ONNX Runtime, 2 threads, median latency), the order
alternating between rounds. The ONNX files are torch.onnx exports (opset 13, random weights: latency does not depend
on the values) made once with Debian's python3-torch / python3-torchvision into ~/.cache/striate-bench/onnx.

Prints per model the medians over rounds and the median of the per-round ratios: ORT ÷ Striate (> 1: Striate faster;
the issue's target is ≥ 1; rounds where either side ran > 1.3× its best round — a slow-memory spell of the VM — are
starred and left out of it) and first ÷ steady (target ≤ 2). Build first: dotnet build src/Striate.Cli -c Release
(or point STRIATE_CLI at another build's striate to time that one).

--isa avx2 runs both sides as on an AVX2-only machine: under bench/avx2only/avx2only.so (built here with gcc into
~/.cache/striate-bench), which hides AVX-512 from CPUID, so ONNX Runtime's MLAS takes its AVX2 kernels as it would
there (it has no switch of its own) and .NET sees no AVX-512 either. Where the kernel has no CPUID faulting (flag
cpuid_fault in /proc/cpuinfo) or gcc is missing, only Striate is held to AVX2 (DOTNET_EnableAVX512=0) and the
header says that ONNX Runtime stayed on its widest kernels.
"""

import argparse
import os
import statistics
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STRIATE = os.environ.get("STRIATE_CLI") or os.path.join(REPO, "src/Striate.Cli/bin/Release/net10.0/striate")
ORT = os.path.join(os.path.dirname(REPO), "shared/anchors/ort/run.sh")
if not os.path.exists(ORT):
    ORT = "/work/shared/anchors/ort/run.sh"
MODELS = ["resnet18", "resnet50", "mobilenet_v2", "googlenet", "densenet121", "vgg11", "alexnet"]
ONNX_DIR = os.path.expanduser("~/.cache/striate-bench/onnx")
SPELL = 1.3  # a round slower than this × its side's best is taken as a slow-memory spell (see clean_rounds)
SHIM_SOURCE = os.path.join(REPO, "bench/avx2only/avx2only.c")
SHIM = os.path.expanduser("~/.cache/striate-bench/avx2only.so")

# Prints 1 when the process sees AVX-512F in CPUID leaf 7: checks that the shim took effect.
CPUID_CHECK = r"""
#include <cpuid.h>
#include <stdio.h>
int main(void) { unsigned a, b, c, d; __cpuid_count(7, 0, a, b, c, d); printf("%u\n", (b >> 16) & 1); return 0; }
"""

EXPORT = r"""
import sys, torch, torchvision
torch.manual_seed(0)
name, path = sys.argv[1], sys.argv[2]
kw = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
model = getattr(torchvision.models, name)(**kw).eval()
torch.onnx.export(model, torch.randn(1, 3, 224, 224), path, opset_version=13,
                  input_names=["input"], output_names=["logits"])
"""


def onnx_file(name):
    path = os.path.join(ONNX_DIR, name + ".onnx")
    if not os.path.exists(path):
        os.makedirs(ONNX_DIR, exist_ok=True)
        print(f"[export] {name} -> {path}", file=sys.stderr, flush=True)
        subprocess.run(["/usr/bin/python3", "-c", EXPORT, name, path + ".tmp"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.replace(path + ".tmp", path)
    return path


def avx2_shim():
    """The path of a working avx2only.so, or None (no gcc, no CPUID faulting): see the docstring."""
    try:
        if "cpuid_fault" not in open("/proc/cpuinfo").read().split():
            return None
        os.makedirs(os.path.dirname(SHIM), exist_ok=True)
        if not os.path.exists(SHIM) or os.path.getmtime(SHIM) < os.path.getmtime(SHIM_SOURCE):
            subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", SHIM + ".tmp", SHIM_SOURCE, "-ldl"], check=True)
            os.replace(SHIM + ".tmp", SHIM)
        check = SHIM + ".check"
        subprocess.run(["gcc", "-x", "c", "-o", check, "-"], input=CPUID_CHECK, text=True, check=True)
        seen = subprocess.run([check], env=dict(os.environ, LD_PRELOAD=SHIM), capture_output=True, text=True,
                              check=True).stdout.strip()
        return SHIM if seen == "0" else None
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"[avx2only] not available: {e}", file=sys.stderr)
        return None


def figures(text):
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            try:
                out[parts[0]] = float(parts[1])
            except ValueError:
                pass
    return out


def striate(name, env):
    text = subprocess.run([STRIATE, "bench", "--only", "models", "--figures", f"tv_{name}_224_infer_b1_"],
                          env=env, capture_output=True, text=True, check=True).stdout
    got = figures(text)
    return got[f"tv_{name}_224_infer_b1_first_call"], got[f"tv_{name}_224_infer_b1_latency"]


def ort(name, env):
    text = subprocess.run(["bash", ORT, "--bench", onnx_file(name), "1"], env=env, capture_output=True,
                          text=True, check=True).stdout
    return figures(text)[f"tv_{name}_224_infer_b1_latency"]


def clean_rounds(rows):
    """The rounds whose steady latencies are both within SPELL × their side's best round (all rounds if none is).

    The VM has slow-memory spells that stretch one process 1.5–2× and not the next; a ratio taken across a spell
    compares the machine's state, not the two libraries. Dropped rounds are starred in the printout.
    """
    best_striate = min(s for _, s, _ in rows)
    best_peer = min(p for _, _, p in rows)
    kept = [r for r in rows if r[1] <= SPELL * best_striate and r[2] <= SPELL * best_peer]
    return kept or rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--isa", choices=["native", "avx2"], default="native",
                    help="avx2: both sides under bench/avx2only (CPUID without AVX-512), as on an AVX2-only machine")
    args = ap.parse_args()
    env = dict(os.environ)
    isa = args.isa
    if args.isa == "avx2":
        env.update(DOTNET_EnableAVX512="0")
        shim = avx2_shim()
        if shim:
            env.update(LD_PRELOAD=shim)
            isa = "avx2 (both sides: CPUID without AVX-512)"
        else:
            isa = "avx2 for Striate only (DOTNET_EnableAVX512=0; no CPUID faulting here: ONNX Runtime stays on AVX-512)"
    for name in args.models:
        onnx_file(name)

    print(f"# {args.rounds} round(s), 2 threads, ISA: {isa}; ms, medians over rounds; ratios: median of "
          "per-round ratios")
    print(f"{'model':14s} {'first':>8s} {'steady':>8s} {'ORT':>8s} {'ORT÷steady':>11s} {'first÷steady':>13s}  rounds")
    for name in args.models:
        rows = []
        for r in range(args.rounds):
            if r % 2 == 0:
                first, steady = striate(name, env)
                peer = ort(name, env)
            else:
                peer = ort(name, env)
                first, steady = striate(name, env)
            rows.append((first, steady, peer))
        med = [statistics.median(x[i] for x in rows) for i in range(3)]
        clean = clean_rounds(rows)
        speed = statistics.median(p / s for _, s, p in clean)
        warm = statistics.median(f / s for f, s, _ in rows)
        each = ", ".join(f"{f:.1f}/{s:.1f}/{p:.1f}" + ("" if (f, s, p) in clean else "*") for f, s, p in rows)
        print(f"{name:14s} {med[0]:8.1f} {med[1]:8.1f} {med[2]:8.1f} {speed:11.2f} {warm:13.2f}  {each}", flush=True)


if __name__ == "__main__":
    main()
