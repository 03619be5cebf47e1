#!/usr/bin/env python3
"""Turns the runs' metrics.json files into the README's markdown table.

runs/book/<model> holds the trimmed runs of bench/book_results.sh; runs/book-full/<model> the full-data runs made
separately (same options without --limit-train/--limit-test). Pass other folders as arguments to read those instead.
Where <root>-pytorch/<model>/metrics.json holds bench/book_pytorch.py's run on the same images and epochs, its test
accuracy and images/s fill the PyTorch column.
"""
import json, os, sys

BOOK = {  # the book's reported test accuracy and its full recipe
    "lenet": ("0.78", "--epochs 10 --batch-size 256 --lr 0.9 --resize 28"),
    "d2l-alexnet": ("0.885", "--epochs 10 --batch-size 128 --lr 0.01 --resize 224"),
    "d2l-vgg11": ("0.92", "--epochs 10 --batch-size 128 --lr 0.05 --resize 224 --width 0.25"),
    "nin": ("0.77", "--epochs 10 --batch-size 128 --lr 0.1 --resize 224"),
    "d2l-googlenet": ("0.886", "--epochs 10 --batch-size 128 --lr 0.1 --resize 96"),
    "d2l-resnet18": ("0.89–0.92", "--epochs 10 --batch-size 256 --lr 0.05 --resize 96"),
    "d2l-densenet": ("0.885", "--epochs 10 --batch-size 256 --lr 0.1 --resize 96"),
}


def pytorch_figures(root, name, config):
    """PyTorch's test accuracy and images/s from the twin run on the same images and epochs, or an empty cell."""
    path = os.path.join(root + "-pytorch", name, "metrics.json")
    if not os.path.exists(path):
        return ""
    m = json.load(open(path))
    c, epochs = m["config"], m["epochs"]
    same = all(c.get(k) == config.get(k) for k in ("limit_train", "limit_test", "epochs", "batch_size", "resize"))
    if not same:
        return ""
    ips = sum(e["images_per_second"] for e in epochs) / len(epochs)
    return f"{epochs[-1]['test_accuracy']:.3f} at {ips:,.0f}/s"


def row(name, book, recipe, root, path):
    m = json.load(open(path))
    c, epochs = m["config"], m["epochs"]
    size = c.get("resize") or 28
    train = c.get("limit_train") or 60000
    test = c.get("limit_test") or 10000
    seconds = sum(e["seconds"] for e in epochs)
    ips = sum(e["images_per_second"] for e in epochs) / len(epochs)
    return (f"| {name} | 1×{size}×{size} | {len(epochs)} × {train:,} | {test:,} | {epochs[-1]['test_accuracy']:.3f} | "
            f"{ips:,.0f} | {seconds / 60:.1f} min | {pytorch_figures(root, name, c)} | {book} | `striate train {name} --dataset fashion-mnist {recipe} --no-normalize` |")


roots = sys.argv[1:] or ["runs/book", "runs/book-full"]
print("| model | input | epochs × training images | test images | test accuracy | images/s | wall time | "
      "PyTorch, same images | book | full recipe |")
print("|---|---|---|---|---:|---:|---:|---:|---:|---|")
for name, (book, recipe) in BOOK.items():
    runs = [(r, p) for r, p in ((r, os.path.join(r, name, "metrics.json")) for r in roots) if os.path.exists(p)]
    if not runs:
        print(f"| {name} | | not run | | | | | | {book} | `striate train {name} --dataset fashion-mnist {recipe} --no-normalize` |")
    for root, path in runs:
        print(row(name, book, recipe, root, path))
