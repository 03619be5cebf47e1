#!/usr/bin/env python3
"""Turns runs/book/<model>/metrics.json (written by bench/book_results.sh) into the README's markdown table."""
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

root = sys.argv[1] if len(sys.argv) > 1 else "runs/book"
print("| model | input | epochs × training images | test images | test accuracy | images/s | wall time | book | full recipe |")
print("|---|---|---|---|---:|---:|---:|---:|---|")
for name, (book, recipe) in BOOK.items():
    path = os.path.join(root, name, "metrics.json")
    if not os.path.exists(path):
        print(f"| {name} | | not run | | | | | {book} | `striate train {name} --dataset fashion-mnist {recipe} --no-normalize` |")
        continue
    m = json.load(open(path))
    c, epochs = m["config"], m["epochs"]
    size = c.get("resize") or 28
    train = c.get("limit_train") or 60000
    test = c.get("limit_test") or 10000
    last = epochs[-1]
    seconds = sum(e["seconds"] for e in epochs)
    ips = sum(e["images_per_second"] for e in epochs) / len(epochs)
    print(f"| {name} | 1×{size}×{size} | {len(epochs)} × {train:,} | {test:,} | {last['test_accuracy']:.3f} | {ips:,.0f} | "
          f"{seconds / 60:.1f} min | {book} | `striate train {name} --dataset fashion-mnist {recipe} --no-normalize` |")
