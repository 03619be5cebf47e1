#!/usr/bin/python3
"""What the batch-1 bench scripts share: the paths, the long-lived processes they time (`striate bench --serve-b1`,
bench/OrtPaired) and the idle wait between runs, the ONNX exports, serve-b1's "profile" answer, the statistics
(quantile, bootstrap interval of a median, sign test) and the command-line options and --json / --from handling of
the round-based scripts. Imported by ort_b1.py, steps_b1.py, layers_vs_ort.py, placement_b1.py and idle_b1.py (which
still find these names as ort_b1.X / steps_b1.X).
"""

import glob
import json
import math
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STRIATE = os.environ.get("STRIATE_CLI") or os.path.join(REPO, "src/Striate.Cli/bin/Release/net10.0/striate")
ORT_PAIRED = os.path.join(REPO, "bench/OrtPaired")
MODELS = ["resnet18", "resnet50", "mobilenet_v2", "googlenet", "densenet121", "vgg11", "alexnet"]
ONNX_DIR = os.path.expanduser("~/.cache/striate-bench/onnx")

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


def quantile(xs, q):
    """The q-quantile of xs, linear between the two nearest order statistics (numpy's default; q=0.5: the median)."""
    v = sorted(xs)
    pos = q * (len(v) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


RESAMPLES = 4000
LEVEL = 0.90


def bootstrap_median(xs, rng, resamples=RESAMPLES, level=LEVEL):
    """The central `level` interval of the median of xs over bootstrap resamples (percentile method)."""
    n = len(xs)
    meds = []
    for _ in range(resamples):
        s = sorted(rng.choices(xs, k=n))
        meds.append(s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2]))
    tail = (1 - level) / 2
    return quantile(meds, tail), quantile(meds, 1 - tail)


def sign_test(a, b):
    """Two-sided exact sign test: the chance a fair coin tossed a + b times splits at least as unevenly as a : b."""
    n, k = a + b, min(a, b)
    if n == 0:
        return 1.0
    tail = sum(math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2))
               for i in range(k + 1))
    return min(1.0, 2 * tail)


def parse_profile(line):
    """serve-b1's answer to "profile": NODE=MS;NODE=MS;... (node names may hold '=': split at the last)."""
    out = []
    for entry in line.strip().split(";"):
        name, ms = entry.rsplit("=", 1)
        out.append((name, float(ms)))
    return out


def stamped_run(server, gap=None):
    """serve-b1's "steps [GAP]": one run timed as "run" times it, with a timestamp before every step — a dict with its
    wall clock "ms", each step's "steps" ms, "step_wakeups" and the kernel pool's counters (PairedB1Server.TimedSteps)."""
    server.proc.stdin.write("steps" + ("" if gap is None else f" {gap}") + "\n")
    server.proc.stdin.flush()
    line = server.proc.stdout.readline()
    if not line:
        raise RuntimeError("serve-b1 ended instead of answering 'steps' (a build without the verb?)")
    return json.loads(line)


def profile(server):
    server.proc.stdin.write("profile\n")
    server.proc.stdin.flush()
    line = server.proc.stdout.readline()
    if not line:
        raise RuntimeError("serve-b1 ended instead of answering 'profile' (a build without the verb?)")
    return parse_profile(line)


SCHEDSTAT = os.path.exists("/proc/self/schedstat")


class Server:
    """One long-lived side of --paired: a process that prints "ready", then answers each "run" with its milliseconds."""

    def __init__(self, cmd, env=None, cwd=None):
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
                                     cwd=cwd)
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            self.proc.kill()
            raise RuntimeError(f"{' '.join(cmd)} did not start: {line!r}")

    def run(self):
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def cpu_ns(self):
        """Nanoseconds on a CPU so far, all threads: /proc/PID/task/*/schedstat's first field, or where the kernel has
        no schedstat, utime + stime of /proc/PID/task/*/stat (clock ticks)."""
        total = 0
        for task in glob.glob(f"/proc/{self.proc.pid}/task/*"):
            try:
                if SCHEDSTAT:
                    with open(task + "/schedstat") as f:
                        total += int(f.read().split()[0])
                else:
                    with open(task + "/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    total += (int(fields[11]) + int(fields[12])) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")
            except (OSError, ValueError, IndexError):
                pass  # a thread that ended between the listing and the read
        return total

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


IDLE_WINDOW = 0.012  # s: the processes are idle when they took < IDLE_CPU of CPU time over the last IDLE_WINDOW
IDLE_CPU = 0.2e-3    # s (per-thread CPU time advances at scheduler ticks, so the window spans a few of them)


def wait_idle(servers, min_gap, cap=1.0):
    """Sleeps at least min_gap s and until no server has used the CPU for IDLE_WINDOW (ONNX Runtime's intra-op
    threads spin for tens of ms after a run); returns the seconds waited (at most cap)."""
    start = time.perf_counter()
    history = [(start, sum(s.cpu_ns() for s in servers))]
    while True:
        time.sleep(0.002)
        now = time.perf_counter()
        cpu = sum(s.cpu_ns() for s in servers)
        history.append((now, cpu))
        while len(history) > 1 and history[1][0] <= now - IDLE_WINDOW:
            history.pop(0)
        quiet = history[0][0] <= now - IDLE_WINDOW and cpu - history[0][1] < IDLE_CPU * 1e9
        if (quiet and now - start >= min_gap) or now - start >= cap:
            return now - start


def build_ort_paired():
    """bench/OrtPaired's DLL, built first unless it is newer than its sources: under /work/quiet.sh a build can wait
    forever on a compiler server or MSBuild node that quiet.sh stopped (2026-12-07 02:00: 4 minutes of a quiet window)."""
    dll = os.path.join(ORT_PAIRED, "bin/Release/net10.0/OrtPaired.dll")
    sources = [os.path.join(ORT_PAIRED, f) for f in ("Program.cs", "OrtPaired.csproj")]
    if os.path.exists(dll) and all(os.path.getmtime(dll) >= os.path.getmtime(f) for f in sources):
        return dll
    subprocess.run(["dotnet", "build", ORT_PAIRED, "-c", "Release", "-nologo", "-v", "q"], check=True,
                   stdout=subprocess.DEVNULL)
    return dll


def round_options(ap, rounds, seed, procs, procs_help, json_help="write every round as JSON into FILE"):
    """The options of the scripts that time rounds of long-lived processes (steps_b1, layers_vs_ort, placement_b1):
    --rounds, --procs, --warm-up, --gap-ms, --seed, --json, --from and --progress, with these defaults."""
    ap.add_argument("--rounds", type=int, default=rounds, help=f"rounds (default {rounds})")
    ap.add_argument("--procs", type=int, default=procs, metavar="N", help=procs_help)
    ap.add_argument("--warm-up", type=int, default=2, help="untimed profiles per process before round 1 (default 2)")
    ap.add_argument("--gap-ms", type=float, default=5, help="at least this many ms between runs (default 5)")
    ap.add_argument("--seed", type=int, default=seed, help=f"seed of the per-round order (default {seed})")
    ap.add_argument("--json", metavar="FILE", help=json_help)
    ap.add_argument("--from", dest="source", metavar="FILE", help="no measuring: report a --json FILE again")
    ap.add_argument("--progress", action="store_true", help="a line on stderr every 10 rounds")


def measured_or_loaded(args, measure):
    """The run of --from FILE, or a new one from measure(args); and whether it is new (so --json should keep it)."""
    if args.source:
        with open(args.source) as f:
            return json.load(f), False
    return measure(args), True


def print_and_keep(args, data, new, text, summary=None):
    """Prints the report; a new run goes into --json FILE (with the report's summary, where it has one)."""
    print(text)
    if args.json and new:
        with open(args.json, "w") as f:
            json.dump(data if summary is None else dict(data, summary=summary), f)
