#!/usr/bin/python3
"""Reference outputs of torchvision 0.14's functional transforms for TorchvisionTransformTests.

Run from this folder with Debian's python3 (python3-torch 1.13, python3-torchvision 0.14): /usr/bin/python3 make_transforms.py
Writes transforms.safetensors: the inputs and each transform's output (F32), resizes with antialias=True (what
torchvision does to PIL images, the usual ImageFolder pipeline).
"""
import json, struct
import torch
import torchvision
import torchvision.transforms.functional as F

torch.manual_seed(10)
wide = torch.rand(3, 37, 50)
tall = torch.rand(3, 50, 37)
cases = {
    "wide": wide,
    "tall": tall,
    "resize_20_wide": F.resize(wide, 20, antialias=True),          # shorter side 20: 20×27
    "resize_20_tall": F.resize(tall, 20, antialias=True),          # 27×20
    "resize_64_wide": F.resize(wide, 64, antialias=True),          # upscaling: 64×86
    "resize_9x31_wide": F.resize(wide, [9, 31], antialias=True),   # both sides given, shrinking unevenly
    "center_crop_24_wide": F.center_crop(wide, [24, 24]),
    "center_crop_41x30_wide": F.center_crop(wide, [41, 30]),       # taller than the image: zero padding
    "resized_crop_5_7_20_30_to_16_wide": F.resized_crop(wide, 5, 7, 20, 30, [16, 16], antialias=True),
    "resized_crop_3_4_10_12_to_24_wide": F.resized_crop(wide, 3, 4, 10, 12, [24, 24], antialias=True),
}
header, blobs, offset = {}, [], 0
for name, t in cases.items():
    b = t.contiguous().numpy().astype("<f4").tobytes()
    header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
    blobs.append(b)
    offset += len(b)
header["__metadata__"] = {"generator": "make_transforms.py", "torch": torch.__version__, "torchvision": torchvision.__version__}
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
with open("transforms.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
print({k: list(v.shape) for k, v in cases.items()})
