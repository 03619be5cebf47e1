#!/usr/bin/python3
"""Expected torchvision 0.14 state_dict layouts for Striate's Torchvision model tests.

Run: /usr/bin/python3 tests/Striate.Tests/Models/expected/generate.py

Writes <model>.txt next to this script: a header line "# model parameters minimum_size", then one line per
state_dict entry, "name dtype d0,d1,..." (dtype f32 or i64; a scalar has an empty shape), in state_dict order.
minimum_size is the smallest H=W for which the model's eval-mode forward succeeds on a [1, 3, H, W] input.
"""
import os
import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))

MODELS = {
    "alexnet": lambda: torchvision.models.alexnet(),
    "vgg11": lambda: torchvision.models.vgg11(),
    "vgg16": lambda: torchvision.models.vgg16(),
    "googlenet": lambda: torchvision.models.googlenet(aux_logits=False, transform_input=False, init_weights=False),
    "resnet18": lambda: torchvision.models.resnet18(),
    "resnet34": lambda: torchvision.models.resnet34(),
    "resnet50": lambda: torchvision.models.resnet50(),
    "densenet121": lambda: torchvision.models.densenet121(),
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(),
}


def works(model, size):
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, size, size))
        return True
    except RuntimeError:
        return False


def minimum_size(model):
    size = 1
    while not works(model, size):
        size += 1
    # Later sizes must work too (no gaps), at least up to a margin.
    for s in range(size, size + 8):
        assert works(model, s), f"size {s} fails after minimum {size}"
    return size


def main():
    torch.manual_seed(0)
    for name, make in MODELS.items():
        model = make().eval()
        params = sum(p.numel() for p in model.parameters())
        lines = [f"# {name} {params} {minimum_size(model)}"]
        for key, t in model.state_dict().items():
            dtype = "i64" if t.dtype == torch.int64 else "f32"
            lines.append(f"{key} {dtype} {','.join(str(d) for d in t.shape)}")
        with open(os.path.join(HERE, name + ".txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        print(lines[0], len(lines) - 1, "entries")


if __name__ == "__main__":
    main()
