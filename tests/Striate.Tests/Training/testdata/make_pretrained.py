"""Makes lenet_relu_digits0to4.pth: Striate's lenet-relu (LeNet-5 with ReLU and max pooling, the same nn.Sequential
names 0..11) trained by PyTorch on the MNIST training images of digits 0-4 only, five classes, raw [0, 1] pixels.
FineTuningCommandLineTests fine-tunes it on digits 5-9 (a related task it has never seen) with a frozen backbone.

Stored as float16 (torch.save zip format) so the fixture stays near 120 KB. Deterministic: seeded, one thread.
Run from the repository root with PyTorch 1.13:  python3 tests/Striate.Tests/Training/testdata/make_pretrained.py
"""
import gzip
import os
import struct

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
MNIST = os.path.join(HERE, "..", "..", "..", "..", "data", "mnist")


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def lenet_relu(classes):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, classes))


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    images = read_idx(os.path.join(MNIST, "train-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(MNIST, "train-labels-idx1-ubyte.gz"))
    keep = labels < 5
    x = torch.from_numpy(images[keep].astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(labels[keep].astype(np.int64))
    net = lenet_relu(5)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    for epoch in range(2):
        perm = torch.randperm(len(x))
        correct = 0
        for i in range(0, len(x), 64):
            idx = perm[i:i + 64]
            out = net(x[idx])
            loss = nn.functional.cross_entropy(out, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            correct += (out.argmax(1) == y[idx]).sum().item()
        print(f"epoch {epoch + 1}: train accuracy {correct / len(x):.4f} on {len(x)} images of digits 0-4")
    state = {k: v.detach().half() for k, v in net.state_dict().items()}
    path = os.path.join(HERE, "lenet_relu_digits0to4.pth")
    torch.save(state, path)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
