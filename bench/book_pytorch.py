#!/usr/bin/python3
"""The d2l book's recipe in PyTorch, on the same Fashion-MNIST images a `striate train` run of bench/book_results.sh
sees, so a trimmed run's test accuracy has a figure to stand beside (is 0.09 after 23 steps what PyTorch gets too?).

    /usr/bin/python3 bench/book_pytorch.py d2l-densenet --epochs 2 --batch-size 256 --lr 0.1 --resize 96 \
        --limit-train 6000 --limit-test 2000 --out runs/book-pytorch/d2l-densenet

The models are the ones tests/Striate.Tests/Models/book_models.py defines (d2l 0.17's nn.Sequential forms). The recipe
is d2l's train_ch6: Xavier-uniform Conv2d/Linear weights, plain SGD, cross-entropy, shuffled mini-batches, images
scaled to [0, 1] and resized bilinearly (align_corners=False, as Striate's --resize), no normalization; the first
--limit-train training and --limit-test test images, as Striate's Subset takes them. Writes OUT/metrics.json with
test_accuracy, images_per_second (training) and seconds per epoch.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests/Striate.Tests/Models"))
import book_models  # noqa: E402
from lenet_train_bench import read_idx  # noqa: E402  (bench/ is on sys.path as the script's folder)


def lenet():
    """d2l's LeNet-5 (sigmoid, average pooling; Striate's `lenet`)."""
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10))


def vgg11(width):
    ratio = round(1 / width)
    return book_models.vgg([(n, c // ratio) for n, c in book_models.conv_arch])


MODELS = {
    "lenet": lambda width: lenet(),
    "d2l-alexnet": lambda width: book_models.alexnet(),
    "d2l-vgg11": vgg11,
    "nin": lambda width: book_models.nin(),
    "d2l-googlenet": lambda width: book_models.googlenet(),
    "d2l-resnet18": lambda width: book_models.resnet18(),
    "d2l-densenet": lambda width: book_models.densenet(),
}


def load(folder, split, limit, resize):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"))
    if limit:
        images, labels = images[:limit], labels[:limit]
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    if resize and resize != x.shape[-1]:
        x = torch.cat([F.interpolate(c, size=(resize, resize), mode="bilinear", align_corners=False)
                       for c in torch.split(x, 1000)])
    return x, torch.from_numpy(labels.astype(np.int64))


def accuracy(net, x, y, batch):
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (net(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", choices=sorted(MODELS))
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--batch-size", type=int, required=True)
    p.add_argument("--lr", type=float, required=True)
    p.add_argument("--resize", type=int, default=28)
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--limit-train", type=int)
    p.add_argument("--limit-test", type=int)
    p.add_argument("--data", default=os.path.join(REPO, "../shared/datasets/fashion-mnist"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    train_x, train_y = load(a.data, "train", a.limit_train, a.resize)
    test_x, test_y = load(a.data, "test", a.limit_test, a.resize)

    net = MODELS[a.model](a.width)
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
    optimizer = torch.optim.SGD(net.parameters(), lr=a.lr)
    print(f"PyTorch {torch.__version__}: {a.model} on {len(train_x):,} training and {len(test_x):,} test images of "
          f"1x{a.resize}x{a.resize}, {a.epochs} epochs, batch {a.batch_size}, sgd lr {a.lr}, {a.threads} threads.",
          flush=True)

    epochs = []
    for epoch in range(1, a.epochs + 1):
        net.train()
        order = torch.randperm(len(train_x))
        start, loss_sum, correct = time.perf_counter(), 0.0, 0
        for i in range(0, len(train_x), a.batch_size):
            idx = order[i:i + a.batch_size]
            x, y = train_x[idx], train_y[idx]
            logits = net(x)
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(1) == y).sum().item()
        train_seconds = time.perf_counter() - start
        test_accuracy = accuracy(net, test_x, test_y, 256)
        seconds = time.perf_counter() - start
        e = {"epoch": epoch, "train_loss": loss_sum / len(train_x), "train_accuracy": correct / len(train_x),
             "test_accuracy": test_accuracy, "images_per_second": len(train_x) / train_seconds, "seconds": seconds}
        epochs.append(e)
        print(f"epoch {epoch}: train loss {e['train_loss']:.4f}, train accuracy {e['train_accuracy']:.3f}, "
              f"test accuracy {test_accuracy:.3f}, {e['images_per_second']:.1f} images/s, {seconds:.0f} s", flush=True)

    os.makedirs(a.out, exist_ok=True)
    config = {"model": a.model, "epochs": a.epochs, "batch_size": a.batch_size, "lr": a.lr, "resize": a.resize,
              "width": a.width, "limit_train": a.limit_train, "limit_test": a.limit_test, "seed": a.seed,
              "threads": a.threads, "framework": f"pytorch {torch.__version__}"}
    with open(os.path.join(a.out, "metrics.json"), "w") as f:
        json.dump({"config": config, "epochs": epochs}, f, indent=2)


if __name__ == "__main__":
    main()
