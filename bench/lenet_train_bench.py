#!/usr/bin/python3
"""One epoch of LeNet (ReLU, max pooling) on MNIST, PyTorch vs Striate, in one run.

    /usr/bin/python3 bench/lenet_train_bench.py                 # both sides
    /usr/bin/python3 bench/lenet_train_bench.py --pytorch-only
    /usr/bin/python3 bench/lenet_train_bench.py --striate "src/Striate.Cli/bin/Release/net10.0/striate bench --only lenet --json"

PyTorch side: the model of src/Striate/Models/LeNet.cs (conv5x5 pad 2 1->6, ReLU, maxpool 2, conv5x5 6->16, ReLU,
maxpool 2, flatten, 400->120, ReLU, 120->84, ReLU, 84->10), batch 256, SGD lr 0.1 momentum 0.9, cross-entropy,
torch.utils.data.DataLoader(shuffle=True, num_workers=0) over a TensorDataset of the 60,000 training images already
normalized with MNIST's mean/std (0.1307, 0.3081), torch.set_num_threads(THREADS). A few batches warm up, then one
full epoch is timed (data loading included). Striate side: `striate bench --only lenet --json`, whose figure
lenet_relu_mnist_train_b256 is the same epoch through Trainer + DataLoader (data loading and per-sample
normalization included). Prints images/s of both and the ratio Striate / PyTorch.
"""

import argparse
import gzip
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resnet18_d2l_bench import striate_figures  # noqa: E402  (one reader of `striate bench --json` for both scripts)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_STRIATE = os.path.join(REPO, "src/Striate.Cli/bin/Release/net10.0/striate") + " bench --only lenet --json"


def find_mnist():
    for d in [os.path.join(REPO, "data", "mnist"), os.path.join(REPO, "..", "shared", "data", "mnist")]:
        if os.path.exists(os.path.join(d, "train-images-idx3-ubyte.gz")) or os.path.exists(os.path.join(d, "train-images-idx3-ubyte")):
            return d
    sys.exit("MNIST not found under data/mnist")


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    if not os.path.exists(path):
        path = path[:-3] if path.endswith(".gz") else path + ".gz"
        opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def lenet_relu():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def pytorch_epoch(threads, batch, warmup):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    d = find_mnist()
    images = read_idx(os.path.join(d, "train-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz"))
    x = (torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1) - 0.1307) / 0.3081
    y = torch.from_numpy(labels.astype(np.int64))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch, shuffle=True)
    model = lenet_relu()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step(xb, yb):
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    for i, (xb, yb) in enumerate(loader):  # warm-up
        step(xb, yb)
        if i + 1 >= warmup:
            break
    start = time.perf_counter()
    n = 0
    for xb, yb in loader:
        loss = step(xb, yb)
        n += xb.shape[0]
    seconds = time.perf_counter() - start
    return n / seconds, seconds, float(loss)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--warmup", type=int, default=5, help="batches before the timed epoch")
    ap.add_argument("--pytorch-only", action="store_true")
    ap.add_argument("--striate", default=DEFAULT_STRIATE, help="command printing striate bench --json output")
    args = ap.parse_args()

    torch_ips, torch_s, torch_loss = pytorch_epoch(args.threads, args.batch, args.warmup)
    print(f"pytorch {torch.__version__} threads={args.threads}: {torch_ips:,.0f} images/s ({torch_s:.2f} s/epoch, last loss {torch_loss:.3f})")
    if args.pytorch_only:
        return
    figures = striate_figures(args.striate)
    ips = figures["lenet_relu_mnist_train_b256"]
    print(f"striate: {ips:,.0f} images/s")
    if "lenet_relu_mnist_epoch_alloc_mb" in figures:
        print(f"striate: {figures['lenet_relu_mnist_epoch_alloc_mb']:.1f} MB allocated in the epoch after the first batch")
    print(f"ratio striate / pytorch: {ips / torch_ips:.2f}")


if __name__ == "__main__":
    main()
