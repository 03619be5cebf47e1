#!/usr/bin/python3
"""Batch-1 layer by layer beside ONNX Runtime: where the whole-model gap sits.

    /usr/bin/python3 bench/layers_vs_ort.py --model resnet18 --rounds 60 --json r18.json
    /usr/bin/python3 bench/layers_vs_ort.py --from r18.json --top 12          # the report again, 12 largest gaps
    /usr/bin/python3 bench/layers_vs_ort.py --from r18.json --steps layer3.   # only rows whose name holds TEXT

Three kinds of long-lived process take turns, each run after all of them have been off the CPU for 12 ms (at least
--gap-ms; bench/ort_b1.py's idle gaps), in an order shuffled per round (seeded):
  S  --procs `striate bench --serve-b1 MODEL` processes (used in turn, round i: process i mod N, so a per-process
     offset such as the GEMM code's placement averages out; RESULTS 2026-12-06 22:42): a "run" (its wall clock, the
     figure ort_b1.py --paired compares; serve-b1's stamped "steps" run, so the time outside its steps is read within it),
     then a "profile" (one untimed run, one timed step by step).
  O  bench/OrtPaired --profile: the anchor's ONNX Runtime session (2 intra-op threads, ORT_ENABLE_ALL) built with
     SessionOptions.EnableProfiling; its "profile" runs once untimed and once timed, both traced node by node. At the
     end the chrome-trace JSON is read: per measured run ("model_run" event) every "*_kernel_time" node of the
     optimized graph (fused Conv+Relu(+Add), MaxPool, Concat, the NCHWc Reorder nodes — ORT's layout costs).
  P  bench/OrtPaired without profiling: a plain "run", so the whole-model ratio is the untraced one (ORT's tracing
     costs a few µs per node; O's wall clock beside P's shows how much).

Mapping ORT's nodes to Striate's steps. Convolutions by signature — (Cin, Cout, kH, kW, input H, stride, in a
downsample or not) from ORT's input_type_shape / output shape and from the text in Striate's step name ("Direct
64→64 3×3 s1 @56×56"; a SharedInput1x1 step holds several 1×1s, "192→96+16+64", its module paths in the same order)
— the k-th ORT node of a signature to the k-th Striate conv of it (both run in topological order). Any other ORT node
goes to the Striate step of the same module path (ORT names a node by its output, "/layer1/layer1.0/relu/Relu_output_0"
→ layer1.0.relu; "/inception3a/branch4/branch4.0/MaxPool" → inception3a.branch4.0); a MaxPool with no such step goes
to the convolution before it when that step fused its pooling (Striate's ConvPool: the stem's conv+maxpool is one step);
the rest (Reorder*, Concat, Flatten) are ORT-only rows (Striate writes branches into the concatenation's slices and
keeps NCHW). ORT's time between its nodes (model_run minus the nodes' sum: executor, allocations) is a row of its own.

Prints the wall clocks (P, O, S; per round ORT ÷ Striate with its 90 % bootstrap interval), then per row: ORT median,
Striate median, the median over rounds of (Striate − ORT) with its 90 % bootstrap interval ('*' where it leaves out 0)
and ORT ÷ Striate of the medians; then the same summed per kind of layer (stem, maxpool, 3×3 s1 @56/28/14/7, 3×3 s2,
1×1, downsample, pooling, FC, concat, reorders), and the sums: rows' median differences, the median over rounds of
(sum of Striate's steps − ORT's model_run), Striate's time between steps (its timed run − that run's stamped steps: the
counterpart of ORT's "between nodes"; the timed run − the profile's steps crosses two runs, a cold one and a warm one),
and P's and S's wall clocks. --json FILE keeps every round; --from FILE
reports it again.
"""

import argparse
import json
import os
import random
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import b1common as ob  # noqa: E402

SIG = re.compile(r"(\d+)→([\d+]+) (\d+)×(\d+) (?:s(\d+) )?@(\d+)×(\d+)")


class OrtProfiled(ob.Server):
    """bench/OrtPaired --profile: "profile" runs twice (both traced) and prints the second's wall clock; at the end
    the process prints "trace PATH" (relative to its working directory)."""

    def __init__(self, dll, model, workdir):
        self.workdir = workdir
        super().__init__(["dotnet", dll, model, "--profile", "ort"], cwd=workdir)

    def profile(self):
        self.proc.stdin.write("profile\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def finish(self):
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        trace = None
        for line in self.proc.stdout:
            if line.startswith("trace "):
                trace = line[6:].strip()
        self.proc.wait(timeout=60)
        if not trace:
            raise RuntimeError("OrtPaired --profile wrote no trace")
        return os.path.join(self.workdir, trace)


def ort_runs(trace_path):
    """Per traced run, in order: (model_run µs, [(node name, op, inputs' shapes, output shape, µs), ...])."""
    with open(trace_path) as f:
        events = json.load(f)
    runs = sorted((e for e in events if e.get("name") == "model_run"), key=lambda e: e["ts"])
    nodes = sorted((e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")),
                   key=lambda e: e["ts"])
    out, j = [], 0
    for r in runs:
        t0, t1 = r["ts"], r["ts"] + r["dur"]
        while j < len(nodes) and nodes[j]["ts"] < t0:
            j += 1
        got = []
        while j < len(nodes) and nodes[j]["ts"] <= t1:
            a = nodes[j]["args"]
            ins = [list(x.values())[0] for x in a.get("input_type_shape", [])]
            outs = [list(x.values())[0] for x in a.get("output_type_shape", [])]
            got.append((nodes[j]["name"][:-len("_kernel_time")], a.get("op_name", "?"), ins, outs[0] if outs else [],
                        nodes[j]["dur"]))
            j += 1
        out.append((r["dur"], got))
    return out


def ort_path(name):
    """The torch module path of an ORT node named after its output: /layer2/layer2.0/downsample/downsample.0/Conv_..."""
    segs = [s for s in name.split("/") if s][:-1]
    path = []
    for s in segs:
        if path and s.startswith(path[-1] + "."):
            path[-1] = s
        else:
            path.append(s)
    return ".".join(path)


def striate_steps(names):
    """Per Striate step: (module paths, label, [conv signature per path or None], fused pooling?)."""
    out = []
    for name in names:
        at = name.rfind("  # ")
        tail = name[at + 4:] if at >= 0 else name
        op = name[:at] if at >= 0 else name
        paren = tail.find(" (")
        paths = [p.strip() for p in (tail[:paren] if paren >= 0 else tail).split(",")]
        label = tail[paren + 2:-1] if paren >= 0 else ""
        sigs = [None] * len(paths)
        m = SIG.search(label)
        if m:
            cin, couts, kh, kw, s, h, _ = m.groups()
            couts = [int(c) for c in couts.split("+")]
            if len(couts) == len(paths):
                sigs = [(int(cin), c, int(kh), int(kw), int(h), int(s or 1), "downsample" in p)
                        for c, p in zip(couts, paths)]
        out.append((paths, label, sigs, "MaxPool2d" in op and "Conv" in op, op))
    return out


def ort_sig(name, ins, outs):
    if len(ins) < 2 or len(ins[0]) != 4 or len(ins[1]) != 4 or len(outs) != 4:
        return None
    h, ho = ins[0][2], outs[2]
    stride = 1 if ho == h else round(h / ho)
    return (ins[0][1], ins[1][0], ins[1][2], ins[1][3], h, stride, "downsample" in name)


def build_map(snames, onodes):
    """Rows (each: label, Striate step indices, ORT node indices, kind) from Striate's step names and one ORT run."""
    steps = striate_steps(snames)
    by_sig, by_path = {}, {}
    for i, (paths, _, sigs, _, _) in enumerate(steps):
        for p, sg in zip(paths, sigs):
            by_path.setdefault(p, i)
            if sg:
                by_sig.setdefault(sg, []).append(i)
    rows = [{"name": ", ".join(p) + (f" ({lab})" if lab else ""), "s": [i], "o": [], "kind": None}
            for i, (p, lab, _, _, _) in enumerate(steps)]
    used = {}
    last_conv = None
    for j, (name, op, ins, outs) in enumerate(onodes):
        target = None
        if op in ("Conv", "FusedConv"):
            sg = ort_sig(name, ins, outs)
            k = used.get(sg, 0)
            if sg in by_sig and k < len(by_sig[sg]):
                target = by_sig[sg][k]
                used[sg] = k + 1
                last_conv = target
        elif not op.startswith("Reorder"):
            p = ort_path(name)
            if p in by_path:
                target = by_path[p]
            elif op == "MaxPool" and last_conv is not None and steps[last_conv][3]:
                target = last_conv
        if target is None:
            rows.append({"name": f"ORT only: {name} ({op})", "s": [], "o": [j], "kind": None})
        else:
            rows[target]["o"].append(j)
    for r in rows:
        r["kind"] = kind_of(r, steps, onodes)
    return rows


def kind_of(row, steps, onodes):
    if not row["s"]:
        op = onodes[row["o"][0]][1]
        if op.startswith("Reorder"):
            return "ORT reorders (NCHWc layout)"
        return {"Concat": "concat", "Flatten": "flatten"}.get(op, "ORT other: " + op)
    paths, label, sigs, pooled, op = steps[row["s"][0]]
    sg = next((s for s in sigs if s), None)
    if sg is None:
        if "MaxPool" in op:
            return "maxpool"
        if "AvgPool" in op:
            return "global avg pool"
        if "Linear" in op:
            return "FC"
        return "other: " + op.split("=", 1)[-1].strip()
    cin, _, kh, kw, h, s, down = sg
    if cin == 3:
        return f"stem {kh}×{kw} s{s}" + (" + maxpool" if pooled else "")
    if label.startswith("SharedInput"):
        return f"1×1 shared input @{h}"
    if kh == 1 and kw == 1:
        return f"1×1 downsample s{s} @{h}" if down else f"1×1 s{s} @{h}"
    return f"{kh}×{kw} s{s} @{h}" + (" + maxpool" if pooled else "")


def measure(args):
    workdir = tempfile.mkdtemp(prefix="layers_vs_ort.")
    dll = ob.build_ort_paired()
    onnx = ob.onnx_file(args.model)
    env = dict(os.environ)
    servers, striate = {}, []
    try:
        servers["O"] = OrtProfiled(dll, onnx, workdir)
        servers["P"] = ob.Server(["dotnet", dll, onnx], dict(env))
        for j in range(args.procs):
            striate.append(ob.Server([ob.STRIATE, "bench", "--serve-b1", args.model], dict(env)))
        everyone = list(servers.values()) + striate
        names = None
        for _ in range(args.warm_up):
            for s in striate:
                ob.wait_idle(everyone, args.gap_ms / 1e3)
                got = [n for n, _ in ob.profile(s)]
                if names is None:
                    names = got
                elif got != names:
                    raise RuntimeError("the Striate processes prepared different steps")
            ob.wait_idle(everyone, args.gap_ms / 1e3)
            servers["O"].profile()
            ob.wait_idle(everyone, args.gap_ms / 1e3)
            servers["P"].run()
        rng = random.Random(args.seed)
        log = []
        for i in range(args.rounds):
            order = ["S", "O", "P"]
            rng.shuffle(order)
            row = {"order": "".join(order), "proc": i % args.procs, "wall": {}}
            for k in order:
                ob.wait_idle(everyone, args.gap_ms / 1e3)
                if k == "S":
                    s = striate[i % args.procs]
                    # Timed as "run", with a stamp before every step: the time outside the steps of this same run
                    # (the counterpart of ORT's model_run − nodes; the profile below is another, warm run).
                    stamped = ob.stamped_run(s)
                    row["wall"]["S"] = stamped["ms"]
                    row["s_between"] = stamped["ms"] - sum(stamped["steps"])
                    steps = ob.profile(s)
                    if [n for n, _ in steps] != names:
                        raise RuntimeError("Striate's steps changed between profiles")
                    row["s"] = [ms for _, ms in steps]
                elif k == "O":
                    row["wall"]["O"] = servers["O"].profile()
                else:
                    row["wall"]["P"] = servers["P"].run()
            log.append(row)
            if args.progress and (i + 1) % 10 == 0:
                print(f"[layers_vs_ort] round {i + 1}/{args.rounds}", file=sys.stderr, flush=True)
        trace = servers.pop("O").finish()
    finally:
        for s in list(servers.values()) + striate:
            try:
                s.close()
            except Exception:  # noqa: BLE001  (a process that already ended)
                pass
    runs = ort_runs(trace)
    measured = runs[1::2][args.warm_up:]  # each "profile": one untimed run, then the measured one
    if len(measured) != args.rounds:
        raise RuntimeError(f"trace {trace}: {len(runs)} runs, expected {2 * (args.warm_up + args.rounds)}")
    onames = [(n, op, ins, outs) for n, op, ins, outs, _ in measured[0][1]]
    for i, (run_us, nodes) in enumerate(measured):
        if [n for n, *_ in nodes] != [n for n, *_ in onames]:
            raise RuntimeError(f"ORT's nodes differ in round {i}")
        log[i]["o"] = [us / 1e3 for *_, us in nodes]
        log[i]["o_run"] = run_us / 1e3
    os.remove(trace)
    os.rmdir(workdir)
    return {"model": args.model, "rounds": args.rounds, "procs": args.procs, "seed": args.seed, "gap_ms": args.gap_ms,
            "warm_up": args.warm_up, "striate_steps": names, "ort_nodes": onames, "log": log}


def report(data, text_filter="", top=None):
    log, rng, n = data["log"], random.Random(20261207), len(data["log"])
    q = ob.quantile
    rows = build_map(data["striate_steps"], data["ort_nodes"])
    out = [f"# {data['model']} b1, {n} rounds; Striate: {data['procs']} serve-b1 processes used in turn; ONNX Runtime: "
           f"one traced session (O) and one plain (P); order of S, O, P shuffled per round (seed {data['seed']}), each "
           f"after ≥ {data['gap_ms']:g} ms and 12 ms idle"]
    for k, label in (("P", "ORT plain run"), ("O", "ORT traced run"), ("S", "Striate run")):
        xs = [r["wall"][k] for r in log]
        out.append(f"{label:22s} median {q(xs, .5):8.3f}  p25 {q(xs, .25):8.3f}  min {min(xs):8.3f} ms")
    for k, label in (("P", "ORT plain ÷ Striate"), ("O", "ORT traced ÷ Striate")):
        rs = [r["wall"][k] / r["wall"]["S"] for r in log]
        lo, hi = ob.bootstrap_median(rs, rng)
        out.append(f"{label:22s} per round median {q(rs, .5):.3f}  p25–p75 {q(rs, .25):.3f}–{q(rs, .75):.3f}  "
                   f"90% CI {lo:.3f}–{hi:.3f}")
    s_sum = [sum(r["s"]) for r in log]
    o_sum = [sum(r["o"]) for r in log]
    o_run = [r["o_run"] for r in log]
    out.append(f"{'Striate sum of steps':22s} median {q(s_sum, .5):8.3f};  ORT sum of nodes {q(o_sum, .5):8.3f}, "
               f"model_run {q(o_run, .5):8.3f} (between nodes {q([a - b for a, b in zip(o_run, o_sum)], .5):.3f}) ms")
    if all("s_between" in r for r in log):
        # Striate's run (after the idle wait, often after another process's run) and its profile (a warm run straight
        # after an untimed one) are different runs: their difference is mostly the host's state, which ORT's plain run
        # pays too (RESULTS 2026-12-08, gap); the time outside the steps is read within the timed run itself.
        out.append(f"{'Striate between steps':22s} median {q([r['s_between'] for r in log], .5):8.3f} ms (timed run − its "
                   f"stamped steps);  timed run − profiled steps {q([r['wall']['S'] - sum(r['s']) for r in log], .5):.3f} "
                   f"(different runs: warm profile vs the run after the idle wait)")

    def series(row, side):
        return [sum(r[side][i] for i in row[side]) for r in log]

    table = []
    for row in rows:
        o, s = series(row, "o"), series(row, "s")
        d = [b - a for a, b in zip(o, s)]
        lo, hi = ob.bootstrap_median(d, rng, resamples=1000)
        table.append(dict(row, o_med=q(o, .5), s_med=q(s, .5), d_med=q(d, .5), ci=(lo, hi), d=d))
    gap = [a - b for a, b in zip(o_run, o_sum)]
    lo, hi = ob.bootstrap_median([-x for x in gap], rng, resamples=1000)
    table.append({"name": "ORT between nodes (model_run − nodes)", "kind": "ORT between nodes", "o": [], "s": [],
                  "o_med": q(gap, .5), "s_med": 0.0, "d_med": -q(gap, .5), "ci": (lo, hi), "d": [-x for x in gap]})
    shown = [t for t in table if text_filter in t["name"]]
    if top:
        shown = sorted(shown, key=lambda t: -t["d_med"])[:top]
    out.append("")
    out.append("per layer, ms: ORT median | Striate median | median over rounds of Striate − ORT [90% CI; * leaves out 0] "
               "| ORT ÷ Striate (medians) | kind | Striate step (ORT nodes)")
    for t in shown:
        lo, hi = t["ci"]
        star = "*" if lo > 0 or hi < 0 else " "
        ratio = f"{t['o_med'] / t['s_med']:5.2f}" if t["s_med"] > 0 else "    —"
        onames = ", ".join(data["ort_nodes"][j][0] for j in t["o"]) if t["s"] else ""
        out.append(f"{t['o_med']:7.3f} | {t['s_med']:7.3f} | {t['d_med']:+7.3f} [{lo:+.3f},{hi:+.3f}]{star} | {ratio} | "
                   f"{t['kind']:26s} | {t['name']}" + (f"  ⟵ {onames}" if onames and t["o"] else
                                                          ("  ⟵ (no ORT node)" if t["s"] else "")))
    if len(shown) < len(table):
        out.append(f"    ({len(table) - len(shown)} more rows not shown)")
    # Per kind: sums of the rows' medians, and the median over rounds of the summed per-round differences.
    kinds = {}
    for t in table:
        kinds.setdefault(t["kind"], []).append(t)
    out.append("")
    out.append("per kind, ms: ORT (sum of medians) | Striate | median over rounds of Σ(Striate − ORT) [90% CI] | rows | kind")
    krows = []
    for kind, ts in kinds.items():
        d = [sum(t["d"][i] for t in ts) for i in range(n)]
        lo, hi = ob.bootstrap_median(d, rng, resamples=1000)
        krows.append((q(d, .5), kind, sum(t["o_med"] for t in ts), sum(t["s_med"] for t in ts), lo, hi, len(ts)))
    for dm, kind, om, sm, lo, hi, cnt in sorted(krows, key=lambda x: -x[0]):
        star = "*" if lo > 0 or hi < 0 else " "
        out.append(f"{om:8.3f} | {sm:8.3f} | {dm:+7.3f} [{lo:+.3f},{hi:+.3f}]{star} | {cnt:3d} | {kind}")
    total_d = [s - o for s, o in zip(s_sum, o_run)]
    wall_d = [r["wall"]["S"] - r["wall"]["P"] for r in log]
    out.append("")
    out.append(f"sums, ms: rows' median differences {sum(t['d_med'] for t in table):+.3f}; median over rounds of "
               f"(Striate's steps − ORT's model_run) {q(total_d, .5):+.3f}; of (Striate run − ORT plain run) "
               f"{q(wall_d, .5):+.3f}; medians: Striate run {q([r['wall']['S'] for r in log], .5):.3f} − ORT plain "
               f"{q([r['wall']['P'] for r in log], .5):.3f}")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=ob.MODELS)
    ob.round_options(ap, rounds=60, seed=18, procs=3, procs_help="serve-b1 processes, used in turn (default 3)")
    ap.add_argument("--steps", default="", metavar="TEXT", help="list only the rows whose name holds TEXT")
    ap.add_argument("--top", type=int, metavar="N", help="list only the N rows where Striate loses most")
    args = ap.parse_args()
    if not args.source:
        if not args.model:
            ap.error("give --model (or --from FILE)")
        if args.rounds < 1 or args.warm_up < 1 or args.procs < 1:
            ap.error("--rounds, --warm-up and --procs must be at least 1")
    data, new = ob.measured_or_loaded(args, measure)
    ob.print_and_keep(args, data, new, report(data, args.steps, args.top))


if __name__ == "__main__":
    main()
