#!/usr/bin/python3
"""Where a batch-1 run after an idle gap spends the time a warm run does not: step by step, one process.

    /usr/bin/python3 bench/idle_b1.py --models resnet18 mobilenet_v2 --rounds 30
    /usr/bin/python3 bench/idle_b1.py --models resnet50 --rounds 20 --json r50.json --env STRIATE_BENCH_X=0

One `striate bench --serve-b1 MODEL` process per model (and bench/OrtPaired, ONNX Runtime's session) answers "steps"
lines: a timed run with a timestamp before every step (InferenceSession's stamped Run; serve-b1's TimedSteps). Each
round times every condition once, in an order shuffled per round (seeded), each after both processes have been off the
CPU for 12 ms (bench/ort_b1.py's wait_idle):
  gap0    one untimed run, then the timed run straight after it (the warm reference: profile's situation)
  gap1 / gap10 / gap100   one untimed run, a 1 / 10 / 100 ms sleep in the Striate process, then the timed run
  idle    the timed run after the driver's idle wait only (what bench/ort_b1.py --paired times for Striate)
  ort     ONNX Runtime runs once, then the idle wait, then the timed run (the paired benchmark's S after O)
and ONNX Runtime's own run (its wall clock only) in the same rotation, for comparison:
  owarm   straight after one untimed ORT run (its intra-op threads still spinning)
  oidle   after the idle wait only (what --paired times for ORT)
  o100    after the idle wait and a further 100 ms sleep of the driver
  ostriate  Striate runs once, then the idle wait, then ORT's timed run (the paired benchmark's O after S: "ort"'s mirror)
Prints per condition the median wall clock and the median over rounds of (condition − gap0), the first step's and the
rest's share of it, the worker wake-ups per run (semaphore releases) and their mean µs from release to the worker
running, the loops per run, the mean µs from a loop's publication to the worker looking at it, and the GCs and JIT
compilations seen during timed runs; then the steps with the largest median excess over gap0 in the "idle" condition;
then ORT's conditions: median and the median excess over owarm.
"""

import argparse
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import b1common as ob  # noqa: E402

CONDITIONS = ["gap0", "gap1", "gap10", "gap100", "idle", "ort"]
ORT_CONDITIONS = ["owarm", "oidle", "o100", "ostriate"]


def steps(server, gap):
    return ob.stamped_run(server, gap)


def measure(model, env, rounds, gap_ms, seed, conditions, striate_args=()):
    wants_ort = any(c == "ort" or c.startswith("o") for c in conditions)
    ort = ob.Server(["dotnet", ob.build_ort_paired(), ob.onnx_file(model)], env) if wants_ort else None
    s = ob.Server([ob.STRIATE, "bench", "--serve-b1", model, *striate_args], env)
    servers = [x for x in (s, ort) if x]
    rng = random.Random(seed)
    out = {c: [] for c in conditions}
    try:
        for _ in range(3):
            s.run()
            if ort:
                ort.run()
        for _ in range(rounds):
            order = list(conditions)
            rng.shuffle(order)
            for c in order:
                ob.wait_idle(servers, gap_ms / 1e3)
                if c == "owarm":
                    ort.run()
                    out[c].append({"ms": ort.run()})
                elif c == "oidle":
                    out[c].append({"ms": ort.run()})
                elif c == "ostriate":
                    s.run()
                    ob.wait_idle(servers, gap_ms / 1e3)
                    out[c].append({"ms": ort.run()})
                elif c == "o100":
                    time.sleep(0.1)
                    out[c].append({"ms": ort.run()})
                elif c == "ort":
                    ort.run()
                    ob.wait_idle(servers, gap_ms / 1e3)
                    out[c].append(steps(s, None))
                elif c == "idle":
                    out[c].append(steps(s, None))
                else:
                    out[c].append(steps(s, int(c[3:])))
    finally:
        for x in servers:
            x.close()
    return out


def report(model, data):
    q = ob.quantile
    base = data["gap0"]
    n = len(base)
    print(f"\n## {model}: {n} rounds; ms; excess = median over rounds of (condition − gap0 of the same round)")
    print(f"{'cond':7s} {'median':>7s} {'excess':>7s} {'1st step':>8s} {'rest':>6s} {'wakes':>6s} {'wake µs':>8s} "
          f"{'loops':>6s} {'joins':>6s} {'join µs':>8s} {'gc':>3s} {'jit':>4s}")
    for c, runs in data.items():
        if c in ORT_CONDITIONS:
            continue
        ex = [r["ms"] - b["ms"] for r, b in zip(runs, base)]
        first = [r["steps"][0] - b["steps"][0] for r, b in zip(runs, base)]
        rest = [sum(r["steps"][1:]) - sum(b["steps"][1:]) for r, b in zip(runs, base)]
        print(f"{c:7s} {q([r['ms'] for r in runs], 0.5):7.2f} {q(ex, 0.5):+7.2f} {q(first, 0.5):+8.3f} {q(rest, 0.5):+6.2f} "
              f"{q([r['wakeups'] for r in runs], 0.5):6.0f} {q([r['wake_us'] for r in runs], 0.5):8.1f} "
              f"{q([r['loops'] for r in runs], 0.5):6.0f} {q([r['joins'] for r in runs], 0.5):6.0f} "
              f"{q([r['join_us'] for r in runs], 0.5):8.1f} {sum(r['gc'] for r in runs):3d} {sum(r['jit'] for r in runs):4d}")
    for c in ("idle", "ort"):
        if c not in data:
            continue
        runs = data[c]
        k = len(base[0]["steps"])
        per = [q([r["steps"][i] - b["steps"][i] for r, b in zip(runs, base)], 0.5) for i in range(k)]
        top = sorted(range(k), key=lambda i: -per[i])[:8]
        print(f"{c}: largest per-step median excess (step index: ms): "
              + ", ".join(f"{i}: {per[i]:+.3f}" for i in top) + f"; sum of per-step medians {sum(per):+.2f}")


    for c in ("gap0", "idle"):
        runs = data.get(c, [])
        if runs and "step_wakeups" in runs[0]:
            k = len(runs[0]["step_wakeups"])
            mean = [sum(r["step_wakeups"][i] for r in runs) / len(runs) for i in range(k)]
            print(f"{c}: steps that woke a sleeping worker (step index: wake-ups per run, mean): "
                  + ", ".join(f"{i}: {mean[i]:.2f}" for i in range(k) if mean[i] >= 0.1))

    if "owarm" in data:
        warm = data["owarm"]
        print("ORT: " + ", ".join(f"{c} median {q([r['ms'] for r in data[c]], 0.5):.2f} excess "
                                 f"{q([r['ms'] - w['ms'] for r, w in zip(data[c], warm)], 0.5):+.2f}"
                                 for c in ORT_CONDITIONS if c in data))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["resnet18"], choices=ob.MODELS)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--gap-ms", type=float, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--conditions", nargs="+", default=CONDITIONS, choices=CONDITIONS + ORT_CONDITIONS)
    ap.add_argument("--env", nargs="*", default=[], metavar="NAME=VALUE", help="set in both processes")
    ap.add_argument("--isa", choices=["native", "avx2"], default="native",
                    help="avx2: Striate on AVX2 only (DOTNET_EnableAVX512=0; always so before 2026-12-08, when it was "
                         "written on the AVX2-only Zen 3); native: what the machine has")
    ap.add_argument("--threads", type=int, help="striate bench --threads N for the serve-b1 process (default: its own)")
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("--from", dest="source", metavar="FILE", help="report a saved --json again")
    args = ap.parse_args()
    if args.source:
        with open(args.source) as f:
            saved = json.load(f)
        for model, data in saved.items():
            report(model, data)
        return
    env = dict(os.environ)
    if args.isa == "avx2":
        env.update(DOTNET_EnableAVX512="0")
    for kv in args.env:
        k, v = kv.split("=", 1)
        env[k] = v
    saved = {}
    for model in args.models:
        saved[model] = measure(model, env, args.rounds, args.gap_ms, args.seed, ["gap0"] + [c for c in args.conditions if c != "gap0"],
                                 ["--threads", str(args.threads)] if args.threads else [])
        report(model, saved[model])
        if args.json:
            with open(args.json, "w") as f:
                json.dump(saved, f)


if __name__ == "__main__":
    main()
