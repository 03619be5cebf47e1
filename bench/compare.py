#!/usr/bin/python3
"""Striate's `striate bench` figures beside the TorchSharp anchor and PyTorch 1.13, interleaved, with ratios.

    /usr/bin/python3 bench/compare.py                                  # models suite, 3 rounds, 2 threads, this ISA
    /usr/bin/python3 bench/compare.py --suites conv gemm --rounds 5
    /usr/bin/python3 bench/compare.py --suites models --figures tv_resnet18 resnet18_d2l --isa avx2
    /usr/bin/python3 bench/compare.py --suites conv --no-pytorch --json-out /tmp/conv.json

Each round runs every side once, back to back (the order alternates between rounds, so a slow spell of the shared
machine does not always land on the same side); a figure's ratio is the median over rounds of the ratio within a
round. Ratio > 1 means Striate is ahead: Striate / peer for rates (GFLOPS, img/s), peer / Striate for times (ms, us).

Sides:
  striate     src/Striate.Cli/bin/Release/net10.0/striate bench --json --only SUITES [--figures ...] --threads T
              (build first: dotnet build src/Striate.Cli -c Release)
  torchsharp  bash ../shared/anchors/torchsharp/run.sh --threads T --only X, one call per suite or --figures pattern
  pytorch     bench/pytorch_bench.py --pytorch-only (gemm, conv) and bench/torch_models_bench.py (models, resnet)

--isa avx2 runs every side on AVX2: DOTNET_EnableAVX512=0 for .NET, ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA = AVX2 for
oneDNN and MKL_ENABLE_INSTRUCTIONS=AVX2 for MKL. --isa native (the default) leaves each side on its widest path.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable  # Debian's, which has torch 1.13
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STRIATE = os.path.join(REPO, "src/Striate.Cli/bin/Release/net10.0/striate")
ANCHOR = os.path.join(os.path.dirname(REPO), "shared/anchors/torchsharp/run.sh")
if not os.path.exists(ANCHOR):
    ANCHOR = "/work/shared/anchors/torchsharp/run.sh"

# What the anchor's --only takes for each Striate suite (it matches one substring of the figure name).
ANCHOR_ONLY = {"gemm": ["sgemm"], "conv": ["conv"], "models": ["resnet18_d2l", "tv"], "resnet": ["resnet18_d2l"], "lenet": ["lenet"]}
TIME_UNITS = {"ms", "us", "s"}


def isa_env(isa):
    env = dict(os.environ)
    if isa == "avx2":
        env.update(DOTNET_EnableAVX512="0", ONEDNN_MAX_CPU_ISA="AVX2", DNNL_MAX_CPU_ISA="AVX2", MKL_ENABLE_INSTRUCTIONS="AVX2")
    return env


def run(command, env, what):
    print(f"[{what}] {' '.join(command)}", file=sys.stderr, flush=True)
    out = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        print(f"[{what}] failed ({out.returncode}):\n{out.stderr[-2000:]}", file=sys.stderr)
        return None
    return out.stdout


def parse_tsv(text):
    figures = {}
    for line in (text or "").splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            try:
                figures[parts[0]] = (float(parts[1]), parts[2])
            except ValueError:
                pass
    return figures


def striate_side(args, env):
    command = [STRIATE, "bench", "--json", "--threads", str(args.threads), "--only", *args.suites]
    if args.figures:
        command += ["--figures", *args.figures]
    text = run(command, env, "striate")
    if text is None:
        return {}
    rows = json.loads(text[text.index("["):])
    return {r["name"]: (float(r["value"]), r["unit"]) for r in rows}


# The anchor's --only matches a substring of its section names ("lenet", "tv_googlenet", ...), so "lenet" also runs
# GoogLeNet and MobileNet-V2, and "lenet_relu_step" runs nothing. LeNet figure patterns go to the "lenet" section, and
# the anchor is stopped once that section's last figure is out (it comes before the torchvision models).
LENET_SECTION_LAST = "lenet_infer_b1_latency"


def anchor_section(pattern):
    # A whole torchvision figure name ("tv_mobilenet_v2_224_infer_b16") would match none of the anchor's section names
    # ("tv_mobilenet_v2"): ask for the model's section, whose other figures are dropped by the ratio table.
    model = re.match(r"(tv_[a-z0-9_]+?)_\d+_", pattern)
    return "lenet" if pattern.startswith("lenet") else model.group(1) if model else pattern


def run_until(command, env, what, last):
    """Like run, but stops the command once a line naming `last` is printed (None: runs to the end)."""
    if last is None:
        return run(command, env, what)
    print(f"[{what}] {' '.join(command)} (stopped after {last})", file=sys.stderr, flush=True)
    lines = []
    with subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as proc:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith(last + "\t"):
                proc.terminate()
                break
    return "".join(lines)


def torchsharp_side(args, env):
    patterns = args.figures or sorted({p for s in args.suites for p in ANCHOR_ONLY.get(s, [])})
    figures = {}
    for section in sorted({anchor_section(p) for p in patterns}):
        last = LENET_SECTION_LAST if section == "lenet" else None
        figures.update(parse_tsv(run_until(["bash", ANCHOR, "--threads", str(args.threads), "--only", section], env, "torchsharp", last)))
    return figures


def pytorch_side(args, env):
    figures = {}
    kernel_suites = [s for s in args.suites if s in ("gemm", "conv")]
    if kernel_suites:
        only = args.figures or [("sgemm" if s == "gemm" else "conv") for s in kernel_suites]
        with tempfile.NamedTemporaryFile(suffix=".json") as f:
            if run([PYTHON, "bench/pytorch_bench.py", "--pytorch-only", "--threads", str(args.threads),
                    "--json-out", f.name, "--only", *only], env, "pytorch") is not None:
                for row in json.load(open(f.name))["rows"]:
                    if row.get("pytorch") is not None:
                        figures[row["name"]] = (float(row["pytorch"]), row.get("unit", "GFLOPS"))
    if any(s in ("models", "resnet") for s in args.suites):
        only = args.figures or (["resnet18_d2l", "tv_"] if "models" in args.suites else ["resnet18_d2l"])
        figures.update(parse_tsv(run([PYTHON, "bench/torch_models_bench.py", "--threads", str(args.threads),
                                      "--only", *only], env, "pytorch")))
    return figures


def ratio(striate, peer, unit):
    if striate is None or peer is None or striate <= 0 or peer <= 0:
        return None
    return peer / striate if unit in TIME_UNITS else striate / peer


def fmt(v, digits=1):
    return "—" if v is None else f"{v:,.{digits}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suites", nargs="+", default=["models"], help="striate bench suites (gemm conv models resnet lenet)")
    ap.add_argument("--figures", nargs="*", default=[], help="only figures whose name contains one of these")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--isa", choices=["native", "avx2"], default="native")
    ap.add_argument("--no-torchsharp", action="store_true")
    ap.add_argument("--no-pytorch", action="store_true")
    ap.add_argument("--json-out", metavar="FILE", help="also write every round's figures and the ratios as JSON")
    args = ap.parse_args()
    env = isa_env(args.isa)

    sides = [("striate", striate_side)]
    if not args.no_torchsharp:
        sides.append(("torchsharp", torchsharp_side))
    if not args.no_pytorch:
        sides.append(("pytorch", pytorch_side))
    rounds = []
    for r in range(args.rounds):
        order = sides if r % 2 == 0 else sides[::-1]
        got = {}
        for name, fn in order:
            got[name] = fn(args, env)
        rounds.append(got)

    names = []
    for got in rounds:
        for name in got["striate"]:
            if name not in names:
                names.append(name)
    peers = [name for name, _ in sides if name != "striate"]
    rows = []
    for name in names:
        unit = next(got["striate"][name][1] for got in rounds if name in got["striate"])
        row = {"name": name, "unit": unit, "striate": None}
        values = [got["striate"][name][0] for got in rounds if name in got["striate"]]
        row["striate"] = statistics.median(values) if values else None
        for peer in peers:
            pv = [got[peer][name][0] for got in rounds if name in got.get(peer, {})]
            row[peer] = statistics.median(pv) if pv else None
            rs = [ratio(got["striate"].get(name, (None,))[0], got[peer][name][0], unit)
                  for got in rounds if name in got.get(peer, {})]
            rs = [x for x in rs if x is not None]
            row[peer + "_ratio"] = statistics.median(rs) if rs else None
            row[peer + "_ratio_range"] = (min(rs), max(rs)) if rs else None
        rows.append(row)

    isa = "AVX2 (forced)" if args.isa == "avx2" else "native (AVX-512 where the CPU has it)"
    print(f"# {args.rounds} round(s), {args.threads} thread(s), ISA: {isa}; values are medians over rounds, "
          "ratios the median of per-round ratios (> 1: Striate ahead)")
    width = max([len(r["name"]) for r in rows] + [6])
    header = f"{'figure':{width}s} {'striate':>9s}"
    for peer in peers:
        header += f" {peer:>10s} {'ratio':>6s} {'(range)':>11s}"
    print(header + "  unit")
    for r in rows:
        line = f"{r['name']:{width}s} {fmt(r['striate']):>9s}"
        for peer in peers:
            rng = r[peer + "_ratio_range"]
            line += f" {fmt(r[peer]):>10s} {fmt(r[peer + '_ratio'], 2):>6s} {('' if rng is None else f'{rng[0]:.2f}–{rng[1]:.2f}'):>11s}"
        print(line + f"  {r['unit']}")
    for r in rows:
        if re.fullmatch(r"sgemm_\d+", r["name"]):
            # Striate's own sgemm_N_of_peak (its best product ÷ the best FMA-peak run sampled beside it) and, for older builds
            # without it, the product's GFLOPS over the run's one fma_peak figure.
            interleaved = [got["striate"][r["name"] + "_of_peak"][0] / 100
                           for got in rounds if r["name"] + "_of_peak" in got["striate"]]
            shares = interleaved or [got["striate"][r["name"]][0] / got["striate"]["fma_peak"][0]
                                     for got in rounds if r["name"] in got["striate"] and "fma_peak" in got["striate"]]
            if shares:
                what = "the FMA peak sampled beside it" if interleaved else "the same run's fma_peak"
                print(f"{r['name']}: {100 * statistics.median(shares):.0f}% of {what} "
                      f"({', '.join(f'{100 * s:.0f}%' for s in shares)})")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"args": vars(args), "rounds": rounds, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
