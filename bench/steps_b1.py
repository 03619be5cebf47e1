#!/usr/bin/python3
"""Batch-1 A/B per step in separate processes: one `striate bench --serve-b1 MODEL` per switch value, alternated.

    /usr/bin/python3 bench/steps_b1.py --model resnet50 --switch STRIATE_BENCH_X --values - 0 --procs 3 --rounds 90
    /usr/bin/python3 bench/steps_b1.py --model resnet50 --switch STRIATE_BENCH_X --values 1 1 --rounds 80   # A/A
    /usr/bin/python3 bench/steps_b1.py --model mobilenet_v2 --switch STRIATE_BENCH_X --values - 0 --ort --json out.json
    /usr/bin/python3 bench/steps_b1.py --from out.json --steps layer1.     # the report again from a saved run

Each --values entry is an arm (A, B, C, ...; '-' leaves the variable unset, the same value twice is an A/A run): one
long-lived serve-b1 process started with the variable so (the session prepared as the tv_MODEL_224_infer_b1_ figures
prepare it, the STRIATE_BENCH_* switches read at start); a --switch starting with "--" is an option of `striate bench`
given on the command line instead (`--switch=--threads --values 1 2`: every step on one kernel thread and on two). Each
answers a "profile" line with one untimed run and one timed step by step (session.Profile with one run): every step's
milliseconds. After --warm-up untimed profiles per arm, each round profiles every arm once in an order shuffled per
round (seeded), each after all processes have been off the CPU for 12 ms (at least --gap-ms): bench/ort_b1.py's idle
gaps, so no arm runs beside another's spinning threads and a slow spell of the host falls on the arms at random. With
--ort, bench/OrtPaired (ONNX Runtime, the anchor's session) joins the rotation as arm O, and each Striate arm also
answers a "run" (its wall clock after the idle gap, the figure --paired compares) before its profile, so ORT ÷ arm
compares like with like.

Why not `striate bench --ab` at batch 1: --ab alternates arms inside one process, rebuilding and re-preparing the model
between them, and on a host with slow spells of seconds its ResNet-50 b1 A/A read 0.91–1.10 for identical code; run
by run in separate processes, per step, an A/A over 80 rounds resolves a few hundredths of a ms per step (RESULTS).

Prints per arm the total (sum of the steps; with --ort also the wall clock) min / p10 / p25 / median; per other arm X
the per-round ratio X ÷ A: median, p10–p90, a 90 % bootstrap interval of the median (rounds drawn with replacement,
4000 times, fixed seed) and the sign test of "X faster in k of n rounds" (as --ab); then per step A's min / p10 / p25 /
median, each other arm's p25 and the median over rounds of (X − A) with its 90 % bootstrap interval ('*' where it
leaves out 0). Steps are matched by module path and kind (the text after "  # "), so a switch that changes the graph
renumbering its values still pairs; a step only one arm has shows '—'. --json FILE keeps every round.

One process per arm confounds the switch with the process: on the Zen 3 host, of three identical processes set beside
a fourth (ResNet-50, 60 rounds), one ran every 1×1 step ~5 % faster all along (38 of 55 steps' intervals left out 0,
sum −1.7 ms), the others matched it within chance. --procs N starts N processes per arm and uses them in turn (round
i: process i mod N), so such offsets average out, and prints each process's median: give a switch's A/B --procs 3 or
more before trusting a per-step move of a few %.
"""

import argparse
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import b1common as ob  # noqa: E402  (Server, wait_idle, build_ort_paired, onnx_file, STRIATE, MODELS)
from b1common import bootstrap_median, parse_profile, profile, quantile, sign_test  # noqa: E402,F401  (steps_b1.X to others)


def step_keys(names):
    """Each step's key: its module path and kind (after "  # "), the k-th repeat of one as "... #k"."""
    seen, keys = {}, []
    for name in names:
        at = name.rfind("  # ")
        node = name if at < 0 else name[at + 4:]
        seen[node] = seen.get(node, 0) + 1
        keys.append(node if seen[node] == 1 else f"{node} #{seen[node]}")
    return keys


def measure(args):
    env_base = dict(os.environ)
    env_base.pop(args.switch, None)
    keys = [chr(ord("A") + i) for i in range(len(args.values))]
    servers = {}
    try:
        if args.ort:
            servers["O"] = ob.Server(["dotnet", ob.build_ort_paired(), ob.onnx_file(args.model)], dict(env_base))
        procs = {}  # arm -> its --procs processes, used in turn (round i: process i mod --procs)
        for k, v in zip(keys, args.values):
            env, extra = dict(env_base), []
            if v != "-" and args.switch.startswith("--"):
                extra = [args.switch, v]  # a command-line option of striate bench (--threads), not a variable
            elif v != "-":
                env[args.switch] = v
            procs[k] = []
            for j in range(args.procs):
                servers[f"{k}{j}"] = ob.Server([ob.STRIATE, "bench", "--serve-b1", args.model] + extra, env)
                procs[k].append(servers[f"{k}{j}"])
        everyone = list(servers.values())
        names = {}
        for _ in range(args.warm_up):
            for k in keys:
                for server in procs[k]:
                    ob.wait_idle(everyone, args.gap_ms / 1e3)
                    steps = [n for n, _ in profile(server)]
                    if names.setdefault(k, steps) != steps:
                        raise RuntimeError(f"arm {k}'s processes prepared different steps")
            if args.ort:
                ob.wait_idle(everyone, args.gap_ms / 1e3)
                servers["O"].run()
        rng = random.Random(args.seed)
        log = []
        order_keys = keys + (["O"] if args.ort else [])
        for i in range(args.rounds):
            order = list(order_keys)
            rng.shuffle(order)
            row = {"order": "".join(order), "steps": {}, "wall": {}, "gap_ms": {}, "proc": i % args.procs}
            for k in order:
                row["gap_ms"][k] = round(1e3 * ob.wait_idle(everyone, args.gap_ms / 1e3), 2)
                if k == "O":
                    row["wall"]["O"] = servers["O"].run()
                    continue
                server = procs[k][i % args.procs]
                if args.ort:
                    row["wall"][k] = server.run()
                steps = profile(server)
                if [n for n, _ in steps] != names[k]:
                    raise RuntimeError(f"arm {k}'s steps changed between profiles")
                row["steps"][k] = [ms for _, ms in steps]
            log.append(row)
            if args.progress and (i + 1) % 10 == 0:
                print(f"[steps_b1] round {i + 1}/{args.rounds}", file=sys.stderr, flush=True)
    finally:
        for s in servers.values():
            s.close()
    return {"model": args.model, "switch": args.switch, "values": args.values, "arms": keys, "ort": args.ort,
            "rounds": args.rounds, "procs": args.procs, "seed": args.seed, "gap_ms": args.gap_ms, "warm_up": args.warm_up,
            "names": names, "log": log}


def report(data, step_filter="", top=None, sort="order"):
    keys, log, rng = data["arms"], data["log"], random.Random(20261206)
    n = len(log)
    out = []
    arms = ", ".join(f"{k}: {data['switch']}" + (" unset" if v == "-" else f"={v}") for k, v in zip(keys, data["values"]))
    out.append(f"# {data['model']} b1, {n} rounds, arms in separate serve-b1 processes "
               f"({data.get('procs', 1)} per arm, used in turn), order shuffled per round "
               f"(seed {data['seed']}), each after ≥ {data['gap_ms']:g} ms and 12 ms idle; {arms}"
               + ("; O: ONNX Runtime (bench/OrtPaired)" if data["ort"] else ""))
    total = {k: [sum(r["steps"][k]) for r in log] for k in keys}

    def qline(label, xs):
        return (f"{label:26s} min {min(xs):8.3f}  p10 {quantile(xs, .1):8.3f}  p25 {quantile(xs, .25):8.3f}  "
                f"median {quantile(xs, .5):8.3f} ms")

    for k in keys:
        out.append(qline(f"{k} sum of steps", total[k]))
    procs = data.get("procs", 1)
    if procs > 1:
        # The same code in another process can run some kernels a few % faster or slower all along (ResNet-50 A/A,
        # 2026-12-06: one process's 1×1s 5 % faster than another's): each process's median over its rounds shows it.
        for k in keys:
            per = [quantile([total[k][i] for i in range(n) if log[i].get("proc", 0) == j], .5) for j in range(procs)]
            out.append(f"{k} per process (median)      " + "  ".join(f"{x:8.3f}" for x in per) + " ms")
    if data["ort"]:
        for k in keys + ["O"]:
            out.append(qline(f"{k} wall clock (run)", [r["wall"][k] for r in log]))

    def ratio_line(label, ratios):
        lo, hi = bootstrap_median(ratios, rng)
        a_faster = sum(x > 1 for x in ratios)
        b_faster = sum(x < 1 for x in ratios)
        shown = "; differs (CI leaves out 1)" if lo > 1 or hi < 1 else "; no difference shown (CI holds 1)"
        return (f"{label:26s} median {quantile(ratios, .5):.3f}  p10–p90 {quantile(ratios, .1):.3f}–"
                f"{quantile(ratios, .9):.3f}  90% CI {lo:.3f}–{hi:.3f}  {label[0]} faster in {b_faster} of {n}, "
                f"sign p {sign_test(a_faster, b_faster):.3f}{shown}"), (lo, hi)

    summary = {"total": {k: {"min": min(total[k]), "p10": quantile(total[k], .1), "p25": quantile(total[k], .25),
                             "median": quantile(total[k], .5)} for k in keys}, "ratio": {}, "ort": {}}
    for k in keys[1:]:
        ratios = [total[k][i] / total["A"][i] for i in range(n)]
        line, ci = ratio_line(f"{k} ÷ A per round (steps)", ratios)
        out.append(line)
        summary["ratio"][k] = {"median": quantile(ratios, .5), "ci90": ci}
        if data["ort"]:
            wall = [log[i]["wall"][k] / log[i]["wall"]["A"] for i in range(n)]
            line, ci = ratio_line(f"{k} ÷ A per round (wall)", wall)
            out.append(line)
            summary["ratio"][k]["wall_median"], summary["ratio"][k]["wall_ci90"] = quantile(wall, .5), ci
    if data["ort"]:
        for k in keys:
            r = [log[i]["wall"]["O"] / log[i]["wall"][k] for i in range(n)]
            lo, hi = bootstrap_median(r, rng)
            out.append(f"{'ORT ÷ ' + k + ' per round':26s} median {quantile(r, .5):.3f}  p25–p75 {quantile(r, .25):.3f}–"
                       f"{quantile(r, .75):.3f}  90% CI {lo:.3f}–{hi:.3f}  (> 1: Striate arm faster)")
            summary["ort"][k] = {"median": quantile(r, .5), "ci90": [lo, hi]}

    # Per step, matched by key; per-round differences only where both arms have the step.
    kidx = {k: {key: i for i, key in enumerate(step_keys(data["names"][k]))} for k in keys}
    order = list(kidx["A"]) + [s for k in keys[1:] for s in kidx[k] if s not in kidx["A"]]
    order = list(dict.fromkeys(order))
    rows = []
    for s in order:
        def col(k):
            return [r["steps"][k][kidx[k][s]] for r in log] if s in kidx[k] else None
        a = col("A")
        row = {"step": s, "A": None if a is None else {"min": min(a), "p10": quantile(a, .1), "p25": quantile(a, .25),
                                                       "median": quantile(a, .5)}}
        for k in keys[1:]:
            b = col(k)
            if b is None:
                row[k] = None
                continue
            row[k] = {"p25": quantile(b, .25), "median": quantile(b, .5)}
            if a is not None:
                d = [y - x for x, y in zip(a, b)]
                lo, hi = bootstrap_median(d, rng, resamples=1000)
                row[k].update(diff_median=quantile(d, .5), diff_ci90=[lo, hi])
        rows.append(row)
    summary["steps"] = rows
    shown = [r for r in rows if step_filter in r["step"]]
    if sort == "diff" and len(keys) > 1:
        shown.sort(key=lambda r: -abs((r["B"] or {}).get("diff_median", 0)))
    if top:
        shown = shown[:top]
    out.append("")
    out.append("per step, ms: A min / p10 / p25 / median | per other arm X: X p25, median over rounds of (X − A) "
               "[90% bootstrap CI; * = leaves out 0]")
    for r in shown:
        a = r["A"]
        cols = [f"{a['min']:7.3f} {a['p10']:7.3f} {a['p25']:7.3f} {a['median']:7.3f}" if a else f"{'—':>31s}"]
        for k in keys[1:]:
            x = r[k]
            if x is None:
                cols.append(f"{'—':>7s} {'':>8s} {'':17s}")
            elif "diff_median" in x:
                lo, hi = x["diff_ci90"]
                star = "*" if lo > 0 or hi < 0 else " "
                cols.append(f"{x['p25']:7.3f} {x['diff_median']:+8.3f} [{lo:+.3f},{hi:+.3f}]{star}")
            else:
                cols.append(f"{x['p25']:7.3f} {'—':>8s} {'':17s}")
        out.append(" | ".join(cols) + "  " + r["step"])
    if len(shown) < len(rows):
        out.append(f"    ({len(rows) - len(shown)} more steps not shown: --steps, --top)")
    for k in keys[1:]:
        diffs = [r[k]["diff_median"] for r in rows if r[k] and "diff_median" in r[k]]
        stars = sum(1 for r in rows if r[k] and "diff_ci90" in r[k] and (r[k]["diff_ci90"][0] > 0 or r[k]["diff_ci90"][1] < 0))
        out.append(f"{k} − A: sum over steps of the median differences {sum(diffs):+.3f} ms; {stars} of {len(diffs)} "
                   f"steps with a CI leaving out 0 (about {0.1 * len(diffs):.0f} expected by chance)")
        summary["ratio"].setdefault(k, {})["sum_step_diffs"] = sum(diffs)
    return "\n".join(out), summary


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=ob.MODELS)
    ap.add_argument("--switch", help="the STRIATE_BENCH_* variable the arms differ in (or an option such as --threads)")
    ap.add_argument("--values", nargs="+", help="one value per arm, A first ('-' = unset); at least two")
    ap.add_argument("--ort", action="store_true", help="ONNX Runtime beside the arms (arm O) and each arm's wall clock")
    ob.round_options(ap, rounds=40, seed=16, procs=1,
                     procs_help="serve-b1 processes per arm, used in turn round by round (default 1; see above)",
                     json_help="write every round and the summary as JSON into FILE")
    ap.add_argument("--steps", default="", metavar="TEXT", help="list only the steps whose name holds TEXT")
    ap.add_argument("--top", type=int, metavar="N", help="list only N steps (with --sort diff: the N that moved most)")
    ap.add_argument("--sort", choices=["order", "diff"], default="order", help="steps in execution order or by |B − A|")
    args = ap.parse_args()
    if not args.source:
        if not (args.model and args.switch and args.values and len(args.values) >= 2):
            ap.error("give --model, --switch and at least two --values (or --from FILE)")
        if len(args.values) > 8:
            ap.error("at most 8 arms")
        if args.rounds < 1 or args.warm_up < 1 or args.procs < 1:
            ap.error("--rounds, --warm-up and --procs must be at least 1")
    data, new = ob.measured_or_loaded(args, measure)
    text, summary = report(data, args.steps, args.top, args.sort)
    ob.print_and_keep(args, data, new, text, summary)


if __name__ == "__main__":
    main()
