#!/usr/bin/python3
"""PyTorch (Debian's 1.13, torchvision 0.14) side of `striate bench --only models`: the same figures, measured the way
the TorchSharp anchor (../shared/anchors/torchsharp/Program.cs) measures them, printed as "name<TAB>value<TAB>unit".

    /usr/bin/python3 bench/torch_models_bench.py [--threads 2] [--only SUBSTRING ...]

Figures:
  resnet18_d2l_96_train_b64      the book's ResNet-18 (bench/resnet18_d2l_bench.py), [64, 1, 96, 96], SGD lr 0.05
                                 momentum 0.9 + cross-entropy; 1 warm-up step, median of 3 (img/s)
  resnet18_d2l_96_infer_b64      the same network in eval mode under no_grad; 3 warm-up forwards, median of 9 (img/s)
  tv_MODEL_224_train_bN          torchvision MODEL on [N, 3, 224, 224]; 1 warm-up step, median of 2 (img/s)
  tv_MODEL_224_infer_bN          eval mode, no_grad; 1 warm-up forward, median of 3 (img/s)
  tv_MODEL_224_infer_b1_latency  the first image alone; 2 warm-ups, median of 5 (ms)
for resnet18 (b16), alexnet (b16), vgg11 (b8), googlenet (b16, no auxiliary heads, as Striate's), mobilenet_v2 (b16),
resnet50 (b8) and densenet121 (b8). The median is element len//2 of the sorted times, as the anchor takes it.
"""

import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resnet18_d2l_bench import d2l_resnet18  # noqa: E402

MODELS = [("resnet18", 16), ("alexnet", 16), ("vgg11", 8), ("googlenet", 16), ("mobilenet_v2", 16), ("resnet50", 8),
          ("densenet121", 8)]


def median(fn, warm, reps):
    for _ in range(warm):
        fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


def step_rate(net, x, y, reps):
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)

    def step():
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()

    return x.shape[0] / median(step, 1, reps)


def infer_seconds(net, x, warm, reps):
    with torch.no_grad():
        return median(lambda: net(x), warm, reps)


def make(name):
    if name == "googlenet":
        return torchvision.models.googlenet(aux_logits=False, init_weights=True)
    return getattr(torchvision.models, name)()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", nargs="*", default=[], metavar="SUBSTRING", help="figures whose name contains one of these")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"pytorch {torch.__version__}, torchvision {torchvision.__version__}, {torch.get_num_threads()} threads", file=sys.stderr)

    def want(name):
        return not args.only or any(p in name for p in args.only)

    def report(name, value, unit):
        print(f"{name}\t{value:.4g}\t{unit}", flush=True)

    if want("resnet18_d2l_96_train_b64") or want("resnet18_d2l_96_infer_b64"):
        torch.manual_seed(0)
        net = d2l_resnet18()
        x, y = torch.randn(64, 1, 96, 96), torch.randint(0, 10, (64,))
        if want("resnet18_d2l_96_train_b64"):
            net.train()
            report("resnet18_d2l_96_train_b64", step_rate(net, x, y, 3), "img/s")
        if want("resnet18_d2l_96_infer_b64"):
            net.eval()
            report("resnet18_d2l_96_infer_b64", 64 / infer_seconds(net, x, 3, 9), "img/s")

    for name, bs in MODELS:
        train, infer, latency = f"tv_{name}_224_train_b{bs}", f"tv_{name}_224_infer_b{bs}", f"tv_{name}_224_infer_b1_latency"
        if not (want(train) or want(infer) or want(latency)):
            continue
        torch.manual_seed(0)
        net = make(name)
        x, y = torch.randn(bs, 3, 224, 224), torch.randint(0, 1000, (bs,))
        if want(train):
            net.train()
            report(train, step_rate(net, x, y, 2), "img/s")
        net.eval()
        if want(infer):
            report(infer, bs / infer_seconds(net, x, 1, 3), "img/s")
        if want(latency):
            report(latency, infer_seconds(net, x[:1], 2, 5) * 1e3, "ms")


if __name__ == "__main__":
    main()
