#!/usr/bin/python3
"""Training step of the d2l book's ResNet-18 on 1x96x96 input at batch 64, PyTorch vs Striate, in one run.

    /usr/bin/python3 bench/resnet18_d2l_bench.py                 # both sides
    /usr/bin/python3 bench/resnet18_d2l_bench.py --pytorch-only
    /usr/bin/python3 bench/resnet18_d2l_bench.py --striate "src/Striate.Cli/bin/Release/net10.0/striate bench --only resnet --json"

PyTorch side: the book's ResNet-18 (d2l section 8.6; `d2l-resnet18` in Striate's registry, src/Striate/Models/Book/D2lResNet.cs):
Residual = conv1 3x3 (stride s) + BN + ReLU, conv2 3x3 + BN, optional 1x1 conv3 (stride s) on the shortcut, ReLU of the
sum; b1 = conv 7x7 s2 p3 (64) + BN + ReLU + maxpool 3 s2 p1; b2..b5 with 2 residuals each (64/128/256/512 channels);
global average pooling, Flatten, Linear(512, 10); 11,178,378 parameters. SGD lr 0.05, cross-entropy, one fixed random
batch [64, 1, 96, 96], torch.set_num_threads(THREADS); warm-up steps, then the best of several timed steps (forward +
backward + SGD step). Striate side: `striate bench --only resnet --json`, figure resnet18_d2l_96_train_b64, the same
step on the same kind of batch. Prints images/s of both and the ratio Striate / PyTorch.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_STRIATE = os.path.join(REPO, "src/Striate.Cli/bin/Release/net10.0/striate") + " bench --only resnet --json"


class Residual(nn.Module):
    def __init__(self, in_channels, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, num_channels, 3, padding=1, stride=strides)
        self.conv2 = nn.Conv2d(num_channels, num_channels, 3, padding=1)
        self.conv3 = nn.Conv2d(in_channels, num_channels, 1, stride=strides) if use_1x1conv else None
        self.bn1 = nn.BatchNorm2d(num_channels)
        self.bn2 = nn.BatchNorm2d(num_channels)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        if self.conv3 is not None:
            x = self.conv3(x)
        return F.relu(y + x)


def resnet_block(in_channels, num_channels, num_residuals, first_block=False):
    blk = []
    for i in range(num_residuals):
        if i == 0 and not first_block:
            blk.append(Residual(in_channels, num_channels, use_1x1conv=True, strides=2))
        else:
            blk.append(Residual(num_channels, num_channels))
    return nn.Sequential(*blk)


def d2l_resnet18(in_channels=1, num_classes=10):
    b1 = nn.Sequential(nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3), nn.BatchNorm2d(64), nn.ReLU(),
                       nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    return nn.Sequential(b1, resnet_block(64, 64, 2, first_block=True), resnet_block(64, 128, 2),
                         resnet_block(128, 256, 2), resnet_block(256, 512, 2),
                         nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(512, num_classes))


def pytorch_step_seconds(threads, batch, size, warmup, min_seconds, min_runs):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = d2l_resnet18()
    params = sum(p.numel() for p in model.parameters())
    assert params == 11_178_378, params
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(batch, 1, size, size)
    y = torch.arange(batch) % 10

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    best, total, runs = float("inf"), time.perf_counter(), 0
    while runs < min_runs or time.perf_counter() - total < min_seconds:
        start = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - start)
        runs += 1
    return best


def striate_figures(command):
    out = subprocess.run(shlex.split(command), cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"striate failed ({out.returncode}):\n{out.stderr}")
    text = out.stdout
    return {row["name"]: row["value"] for row in json.loads(text[text.index("["):])}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--min-seconds", type=float, default=4.0)
    ap.add_argument("--min-runs", type=int, default=3)
    ap.add_argument("--pytorch-only", action="store_true")
    ap.add_argument("--striate", default=DEFAULT_STRIATE, help="command printing striate bench --json output")
    args = ap.parse_args()

    seconds = pytorch_step_seconds(args.threads, args.batch, args.size, args.warmup, args.min_seconds, args.min_runs)
    torch_ips = args.batch / seconds
    print(f"pytorch {torch.__version__} threads={args.threads}: {torch_ips:,.1f} images/s ({seconds * 1000:.0f} ms/step)")
    if args.pytorch_only:
        return
    name = f"resnet18_d2l_{args.size}_train_b{args.batch}"
    figures = striate_figures(args.striate)
    ips = figures[name]
    print(f"striate: {ips:,.1f} images/s ({args.batch / ips * 1000:.0f} ms/step)")
    print(f"ratio striate / pytorch: {ips / torch_ips:.2f}")


if __name__ == "__main__":
    main()
