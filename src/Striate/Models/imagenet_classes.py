"""Writes imagenet_classes.txt: the 1,000 ImageNet-1k class names in label order, one per line, as torchvision
publishes them with its pretrained weights (the same list for every IMAGENET1K_V1 classification model).

    /usr/bin/python3 src/Striate/Models/imagenet_classes.py   # torchvision 0.14 (Debian's python3-torchvision)
"""
import pathlib

import torchvision.models as models

names = models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
for weights in (models.AlexNet_Weights, models.VGG11_Weights, models.GoogLeNet_Weights, models.DenseNet121_Weights,
                models.MobileNet_V2_Weights, models.ResNet50_Weights):
    assert weights.IMAGENET1K_V1.meta["categories"] == names, weights
assert len(names) == 1000 and len(set(names)) == 1000 and all("\n" not in n for n in names)
out = pathlib.Path(__file__).with_name("imagenet_classes.txt")
out.write_text("\n".join(names) + "\n", encoding="utf-8")
print(f"wrote {len(names)} names to {out}")
