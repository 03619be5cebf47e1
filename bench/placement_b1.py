#!/usr/bin/python3
"""Batch-1 step times of N identical serve-b1 processes beside where each one's memory and threads sit.

    /usr/bin/python3 bench/placement_b1.py --model resnet50 --procs 10 --rounds 40 --json out.json
    /usr/bin/python3 bench/placement_b1.py --from out.json                # the report again from a saved run

Starts --procs `striate bench --serve-b1 MODEL` processes with the same environment (set STRIATE_BENCH_* switches
outside to compare placements under a switch), asks each for its "placement" line (PlacementReport: addresses mod
64 / 4 KiB / 2 MiB, pages, transparent huge pages and, as root, each page's physical frame, of every planned buffer,
packed weight and per-thread GEMM scratch; each kernel thread's CPU), then profiles them round by round, in an order
shuffled per round, each after all have been off the CPU for 12 ms (bench/ort_b1.py's idle gaps), and reads after
each profile which CPU the calling thread last ran on (/proc/PID/task/TID/stat). A second "placement" at the end shows
whether pages moved meanwhile.

Per process and per kind of step (1×1 products: Pointwise and Im2ColGemm 1×1; 3×3: Direct 3×3; the rest), the report
gives the median over rounds of the process's time ÷ the median of all processes in the same round (so a slow spell of
the host, which falls on one round, cancels), with a 90 % bootstrap interval; then each process's placement summary:
the calling thread's CPU (share of rounds ending on CPU 0), each thread's GEMM scratch (address mod 4 KiB, L2 colour
load: the most pages of its first 64 (256 KiB) that share physical address bits 12–15, of which 16 groups of 8 ways fit 8
pages each without conflict), the planned buffers' starts mod 64, and how much is in transparent huge pages; and where
the AVX2 GEMM's tile methods were compiled (start mod 64) beside each process's ratios, grouped by Run's.
"""

import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import b1common as ob  # noqa: E402

KINDS = ("1x1", "3x3", "other")


def kind(name):
    """A step's kind from its profile name: '... (Pointwise 64→256 1×1 s1 @56×56)' → 1x1."""
    if "1×1" in name:
        return "1x1"
    if "3×3" in name:
        return "3x3"
    return "other"


def ask(server, line):
    server.proc.stdin.write(line + "\n")
    server.proc.stdin.flush()
    answer = server.proc.stdout.readline()
    if not answer:
        raise RuntimeError(f"serve-b1 ended instead of answering '{line}' (a build without the verb?)")
    return answer


def task_cpu(pid, tid):
    """The CPU thread tid of process pid last ran on (field 39 of /proc/PID/task/TID/stat), or -1."""
    try:
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[36])
    except (OSError, ValueError, IndexError):
        return -1


def measure(args):
    servers, placements = [], []
    try:
        for _ in range(args.procs):
            s = ob.Server([ob.STRIATE, "bench", "--serve-b1", args.model], dict(os.environ))
            servers.append(s)
            placements.append(json.loads(ask(s, "placement")))
        names = None
        for _ in range(args.warm_up):
            for s in servers:
                ob.wait_idle(servers, args.gap_ms / 1e3)
                steps = [n for n, _ in ob.parse_profile(ask(s, "profile"))]
                if names is None:
                    names = steps
                elif steps != names:
                    raise RuntimeError("the processes prepared different steps")
        rng = random.Random(args.seed)
        log = []
        for i in range(args.rounds):
            order = list(range(args.procs))
            rng.shuffle(order)
            row = {"order": order, "steps": {}, "cpu": {}}
            for p in order:
                ob.wait_idle(servers, args.gap_ms / 1e3)
                row["steps"][p] = [ms for _, ms in ob.parse_profile(ask(servers[p], "profile"))]
                row["cpu"][p] = task_cpu(servers[p].proc.pid, placements[p]["caller_tid"])
            log.append(row)
            if args.progress and (i + 1) % 10 == 0:
                print(f"[placement_b1] round {i + 1}/{args.rounds}", file=sys.stderr, flush=True)
        after = [json.loads(ask(s, "placement")) for s in servers]
    finally:
        for s in servers:
            s.close()
    return {"model": args.model, "procs": args.procs, "rounds": args.rounds, "seed": args.seed, "gap_ms": args.gap_ms,
            "env": {k: v for k, v in os.environ.items() if k.startswith("STRIATE_")},
            "names": names, "log": log, "placement": placements, "placement_after": after}


def colour_load(pfns, colours=16, first=64):
    """The most pages of the first `first` present pages that share one colour (physical address bits 12..12+log2(colours))."""
    counts = [0] * colours
    for f in [f for f in pfns if f > 0][:first]:
        counts[f % colours] += 1
    return max(counts) if any(counts) else -1


def summarize_placement(pl):
    regions = pl["regions"]
    scratch = [r for r in regions if r["role"] == "gemm scratch"]
    buffers = [r for r in regions if r["role"].startswith("buffer")]
    weights = [r for r in regions if r["role"].startswith("weights")]
    total_pages = sum(r["pages"] for r in buffers + weights + scratch)
    thp = sum(max(r["thp"], 0) for r in buffers + weights + scratch)
    return {
        "scratch": [{"thread": r["node"], "mod4k": r["mod4k"], "kib": r["bytes"] // 1024,
                     "l2load": colour_load(r.get("pfns", [])), "l3load": colour_load(r.get("pfns", []), 512, 512)}
                    for r in scratch],
        "buffers_mod64": [r["mod64"] for r in buffers],
        "buffers_mod4k": [r["mod4k"] for r in buffers],
        "weights_mod4k_zero": sum(1 for r in weights if r["mod4k"] == 0),
        "weights": len(weights),
        "thp_pages": thp,
        "pages": total_pages,
        "threads": [(t["tid"], t["cpu"]) for t in pl["threads"]],
    }


def report(data):
    log, procs, names = data["log"], data["procs"], data["names"]
    rng = random.Random(20261206)
    kinds = [kind(n) for n in names]
    out = [f"# {data['model']} b1, {procs} identical serve-b1 processes, {len(log)} rounds (order shuffled per round, "
           f"seed {data['seed']}, ≥ {data['gap_ms']:g} ms and 12 ms idle before each profile); env "
           f"{' '.join(f'{k}={v}' for k, v in sorted(data['env'].items())) or '(no STRIATE_ variables)'}"]
    # per round, per process, per kind: the sum of its steps
    sums = [{p: {k: sum(ms for ms, kk in zip(r["steps"][str(p)] if str(p) in r["steps"] else r["steps"][p], kinds) if kk == k)
                 for k in KINDS} for p in range(procs)} for r in log]
    for row in sums:
        for p in range(procs):
            row[p]["total"] = sum(row[p][k] for k in KINDS)
    groups = KINDS + ("total",)
    ratios = {p: {g: [] for g in groups} for p in range(procs)}
    for row in sums:
        for g in groups:
            med = ob.quantile([row[p][g] for p in range(procs)], .5)
            for p in range(procs):
                ratios[p][g].append(row[p][g] / med)
    out.append("per process: median over rounds of (its time ÷ all processes' median that round) [90% CI], and its "
               "own median ms per kind")
    out.append(f"{'proc':>4s} " + " ".join(f"{g:>22s}" for g in groups) + "   ms: " + " ".join(f"{g:>7s}" for g in groups))
    summary = {"process": {}}
    for p in range(procs):
        cols, ms = [], []
        for g in groups:
            xs = ratios[p][g]
            lo, hi = ob.bootstrap_median(xs, rng, resamples=1000)
            star = "*" if lo > 1 or hi < 1 else " "
            cols.append(f"{ob.quantile(xs, .5):.3f} [{lo:.3f},{hi:.3f}]{star}")
            ms.append(f"{ob.quantile([row[p][g] for row in sums], .5):7.3f}")
            summary["process"].setdefault(p, {})[g] = {"ratio": ob.quantile(xs, .5), "ci90": [lo, hi]}
        out.append(f"{p:4d} " + " ".join(f"{c:>22s}" for c in cols) + "   ms: " + " ".join(ms))
    out.append("")
    out.append("placement per process: caller's CPU at the end of each profile (share on CPU 0); kernel threads (tid, CPU "
               "at the probe); GEMM scratch per thread (mod 4 KiB, KiB, L2 colour load of its first 64 pages, L3 load of "
               "its first 512); planned buffers' starts mod 64; THP pages of all pages")
    for p in range(procs):
        pl = data["placement"][p]
        s = summarize_placement(pl)
        cpus = [r["cpu"][str(p)] if str(p) in r["cpu"] else r["cpu"][p] for r in log]
        cpu0 = sum(1 for c in cpus if c == 0) / len(cpus)
        scratch = "; ".join(f"{x['mod4k']:4d} {x['kib']:5d} KiB L2 {x['l2load']:2d} L3 {x['l3load']:2d}" for x in s["scratch"])
        out.append(f"{p:4d} 1x1 {summary['process'][p]['1x1']['ratio']:.3f}  cpu0 {cpu0:4.2f}  threads "
                   f"{' '.join(f'{t}@{c}' for t, c in s['threads'])}  scratch {scratch}  buffers%64 {s['buffers_mod64']}  "
                   f"THP {s['thp_pages']}/{s['pages']}  anon_huge {pl['anon_huge_kib']} KiB")
        summary["process"][p]["placement"] = s
        summary["process"][p]["cpu0"] = cpu0
    # The AVX2 GEMM's code: its tile Run's start mod 64 (the JIT aligns methods with loops to 32 bytes only).
    code = {}
    for p in range(procs):
        c = {x["method"].split("(")[0]: x["mod64"] for x in data["placement"][p].get("code", [])}
        code[p] = c
    if any(code.values()):
        methods = ["Gemm256x6x16.Run", "Gemm256x6x16.RunInPlacePacking", "Gemm256x6x16.RunFewRows", "GemmDriver`1.Block"]
        out.append("")
        out.append("GEMM code start mod 64 per process (" + ", ".join(methods) + ") beside its 1x1 and 3x3 ratios:")
        for p in range(procs):
            out.append(f"{p:4d} " + " ".join(f"{code[p].get(m, -1):3d}" for m in methods)
                       + f"   1x1 {summary['process'][p]['1x1']['ratio']:.3f}  3x3 {summary['process'][p]['3x3']['ratio']:.3f}")
        for v in sorted({code[p].get("Gemm256x6x16.Run", -1) for p in range(procs)}):
            ps = [p for p in range(procs) if code[p].get("Gemm256x6x16.Run", -1) == v]
            r1 = [summary["process"][p]["1x1"]["ratio"] for p in ps]
            r3 = [summary["process"][p]["3x3"]["ratio"] for p in ps]
            out.append(f"Run at {v:2d} mod 64: {len(ps)} processes, 1x1 ratio median {ob.quantile(r1, .5):.3f} "
                       f"(range {min(r1):.3f}–{max(r1):.3f}), 3x3 median {ob.quantile(r3, .5):.3f}")
        summary["code"] = code
    moved = 0
    for p in range(procs):
        a = {(r["node"], r["role"]): r.get("pfns") for r in data["placement"][p]["regions"]}
        b = {(r["node"], r["role"]): r.get("pfns") for r in data["placement_after"][p]["regions"]}
        moved += sum(1 for key in a if key in b and a[key] != b[key])
    out.append(f"regions whose frames changed between the first and the last placement line: {moved}")
    return "\n".join(out), summary


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=ob.MODELS, default="resnet50")
    ob.round_options(ap, rounds=40, seed=16, procs=10, procs_help="identical serve-b1 processes (default 10)",
                     json_help="write every round, both placements and the summary into FILE")
    args = ap.parse_args()
    if not args.source and (args.procs < 2 or args.rounds < 1 or args.warm_up < 1):
        ap.error("--procs at least 2, --rounds and --warm-up at least 1")
    data, new = ob.measured_or_loaded(args, measure)
    text, summary = report(data)
    ob.print_and_keep(args, data, new, text, summary)


if __name__ == "__main__":
    main()
