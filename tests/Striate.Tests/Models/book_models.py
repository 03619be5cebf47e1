"""The d2l book's CNN variants in PyTorch, to pin Striate's parameter counts, state_dict names and minimum sizes.

Definitions follow the PyTorch edition of "Dive into Deep Learning" (chapter 7/8, modern CNNs) in the form whose
training recipes Striate uses (d2l 0.17: plain nn.Sequential with explicit channel counts, so state_dict keys are
indices such as "0.weight", "1.net.0.0.weight"). d2l 1.0 writes the same layers with Lazy modules inside
Classifier.net (keys prefixed "net."; ResNet/DenseNet name their stages b2.., dense_blk1.., last); the counts agree,
which `lazy_check` below confirms for AlexNet by materializing the Lazy layers with a dummy forward.

Run: python3 tests/Striate.Tests/Models/book_models.py   (prints counts, a few keys, minimum input sizes)
     python3 tests/Striate.Tests/Models/book_models.py --write-fixtures tests/Striate.Tests/Models/testdata
         (writes book_state_keys.txt: model, key, shape per line; book_blocks.safetensors: block weights, input, output)
"""
import torch
from torch import nn
from torch.nn import functional as F


def alexnet(in_ch=1, num_classes=10):
    return nn.Sequential(
        nn.Conv2d(in_ch, 96, kernel_size=11, stride=4, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(96, 256, kernel_size=5, padding=2), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(256, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Flatten(),
        nn.Linear(6400, 4096), nn.ReLU(), nn.Dropout(p=0.5),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(p=0.5),
        nn.Linear(4096, num_classes))


def vgg_block(num_convs, in_channels, out_channels):
    layers = []
    for _ in range(num_convs):
        layers.append(nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1))
        layers.append(nn.ReLU())
        in_channels = out_channels
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def vgg(conv_arch, in_ch=1, num_classes=10):
    blks = []
    in_channels = in_ch
    for num_convs, out_channels in conv_arch:
        blks.append(vgg_block(num_convs, in_channels, out_channels))
        in_channels = out_channels
    return nn.Sequential(
        *blks, nn.Flatten(),
        nn.Linear(out_channels * 7 * 7, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, num_classes))


conv_arch = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))
ratio = 4
small_conv_arch = [(pair[0], pair[1] // ratio) for pair in conv_arch]


def nin_block(in_channels, out_channels, kernel_size, strides, padding):
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, strides, padding), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU())


def nin(in_ch=1, num_classes=10):
    return nn.Sequential(
        nin_block(in_ch, 96, kernel_size=11, strides=4, padding=0),
        nn.MaxPool2d(3, stride=2),
        nin_block(96, 256, kernel_size=5, strides=1, padding=2),
        nn.MaxPool2d(3, stride=2),
        nin_block(256, 384, kernel_size=3, strides=1, padding=1),
        nn.MaxPool2d(3, stride=2),
        nn.Dropout(0.5),
        nin_block(384, num_classes, kernel_size=3, strides=1, padding=1),
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten())


class Inception(nn.Module):
    def __init__(self, in_channels, c1, c2, c3, c4):
        super().__init__()
        self.p1_1 = nn.Conv2d(in_channels, c1, kernel_size=1)
        self.p2_1 = nn.Conv2d(in_channels, c2[0], kernel_size=1)
        self.p2_2 = nn.Conv2d(c2[0], c2[1], kernel_size=3, padding=1)
        self.p3_1 = nn.Conv2d(in_channels, c3[0], kernel_size=1)
        self.p3_2 = nn.Conv2d(c3[0], c3[1], kernel_size=5, padding=2)
        self.p4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
        self.p4_2 = nn.Conv2d(in_channels, c4, kernel_size=1)

    def forward(self, x):
        p1 = F.relu(self.p1_1(x))
        p2 = F.relu(self.p2_2(F.relu(self.p2_1(x))))
        p3 = F.relu(self.p3_2(F.relu(self.p3_1(x))))
        p4 = F.relu(self.p4_2(self.p4_1(x)))
        return torch.cat((p1, p2, p3, p4), dim=1)


def googlenet(in_ch=1, num_classes=10):
    b1 = nn.Sequential(nn.Conv2d(in_ch, 64, kernel_size=7, stride=2, padding=3), nn.ReLU(),
                       nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b2 = nn.Sequential(nn.Conv2d(64, 64, kernel_size=1), nn.ReLU(),
                       nn.Conv2d(64, 192, kernel_size=3, padding=1), nn.ReLU(),
                       nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b3 = nn.Sequential(Inception(192, 64, (96, 128), (16, 32), 32),
                       Inception(256, 128, (128, 192), (32, 96), 64),
                       nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b4 = nn.Sequential(Inception(480, 192, (96, 208), (16, 48), 64),
                       Inception(512, 160, (112, 224), (24, 64), 64),
                       Inception(512, 128, (128, 256), (24, 64), 64),
                       Inception(512, 112, (144, 288), (32, 64), 64),
                       Inception(528, 256, (160, 320), (32, 128), 128),
                       nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    b5 = nn.Sequential(Inception(832, 256, (160, 320), (32, 128), 128),
                       Inception(832, 384, (192, 384), (48, 128), 128),
                       nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())
    return nn.Sequential(b1, b2, b3, b4, b5, nn.Linear(1024, num_classes))


class Residual(nn.Module):
    def __init__(self, input_channels, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1, stride=strides)
        self.conv2 = nn.Conv2d(num_channels, num_channels, kernel_size=3, padding=1)
        if use_1x1conv:
            self.conv3 = nn.Conv2d(input_channels, num_channels, kernel_size=1, stride=strides)
        else:
            self.conv3 = None
        self.bn1 = nn.BatchNorm2d(num_channels)
        self.bn2 = nn.BatchNorm2d(num_channels)

    def forward(self, X):
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3:
            X = self.conv3(X)
        Y += X
        return F.relu(Y)


def resnet_block(input_channels, num_channels, num_residuals, first_block=False):
    blk = []
    for i in range(num_residuals):
        if i == 0 and not first_block:
            blk.append(Residual(input_channels, num_channels, use_1x1conv=True, strides=2))
        else:
            blk.append(Residual(num_channels, num_channels))
    return blk


def stem(in_ch):
    return nn.Sequential(nn.Conv2d(in_ch, 64, kernel_size=7, stride=2, padding=3),
                         nn.BatchNorm2d(64), nn.ReLU(),
                         nn.MaxPool2d(kernel_size=3, stride=2, padding=1))


def resnet18(in_ch=1, num_classes=10):
    b2 = nn.Sequential(*resnet_block(64, 64, 2, first_block=True))
    b3 = nn.Sequential(*resnet_block(64, 128, 2))
    b4 = nn.Sequential(*resnet_block(128, 256, 2))
    b5 = nn.Sequential(*resnet_block(256, 512, 2))
    return nn.Sequential(stem(in_ch), b2, b3, b4, b5,
                         nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(512, num_classes))


def conv_block(input_channels, num_channels):
    return nn.Sequential(nn.BatchNorm2d(input_channels), nn.ReLU(),
                         nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1))


class DenseBlock(nn.Module):
    def __init__(self, num_convs, input_channels, num_channels):
        super().__init__()
        layer = []
        for i in range(num_convs):
            layer.append(conv_block(num_channels * i + input_channels, num_channels))
        self.net = nn.Sequential(*layer)

    def forward(self, X):
        for blk in self.net:
            Y = blk(X)
            X = torch.cat((X, Y), dim=1)
        return X


def transition_block(input_channels, num_channels):
    return nn.Sequential(nn.BatchNorm2d(input_channels), nn.ReLU(),
                         nn.Conv2d(input_channels, num_channels, kernel_size=1),
                         nn.AvgPool2d(kernel_size=2, stride=2))


def densenet(in_ch=1, num_classes=10):
    num_channels, growth_rate = 64, 32
    num_convs_in_dense_blocks = [4, 4, 4, 4]
    blks = []
    for i, num_convs in enumerate(num_convs_in_dense_blocks):
        blks.append(DenseBlock(num_convs, num_channels, growth_rate))
        num_channels += num_convs * growth_rate
        if i != len(num_convs_in_dense_blocks) - 1:
            blks.append(transition_block(num_channels, num_channels // 2))
            num_channels = num_channels // 2
    return nn.Sequential(stem(in_ch), *blks,
                         nn.BatchNorm2d(num_channels), nn.ReLU(),
                         nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
                         nn.Linear(num_channels, num_classes))


def lazy_check():
    """d2l 1.0's AlexNet with Lazy layers: same count once a dummy forward materializes them."""
    net = nn.Sequential(
        nn.LazyConv2d(96, kernel_size=11, stride=4, padding=1), nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2),
        nn.LazyConv2d(256, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2),
        nn.LazyConv2d(384, kernel_size=3, padding=1), nn.ReLU(),
        nn.LazyConv2d(384, kernel_size=3, padding=1), nn.ReLU(),
        nn.LazyConv2d(256, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2), nn.Flatten(),
        nn.LazyLinear(4096), nn.ReLU(), nn.Dropout(p=0.5),
        nn.LazyLinear(4096), nn.ReLU(), nn.Dropout(p=0.5),
        nn.LazyLinear(10))
    net(torch.zeros(1, 1, 224, 224))
    return sum(p.numel() for p in net.parameters())


def min_size(make, hi):
    net = make().eval()
    ok = None
    for s in range(hi, 0, -1):
        try:
            with torch.no_grad():
                net(torch.zeros(2, 1, s, s))
            ok = s
        except Exception:
            if ok is not None:
                break
    return ok


MODELS = [
    ("d2l-alexnet", alexnet, 224),
    ("d2l-vgg11", lambda: vgg(conv_arch), 224),
    ("d2l-vgg11 width 0.25", lambda: vgg(small_conv_arch), 224),
    ("nin", nin, 224),
    ("d2l-googlenet", googlenet, 96),
    ("d2l-resnet18", resnet18, 96),
    ("d2l-densenet", densenet, 96),
]

def write_safetensors(path, tensors):
    """Minimal safetensors writer (float32 only), so the script needs nothing beyond torch."""
    import json, struct
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def randomize(module, g):
    """Random weights and running statistics, so batch norm in eval mode is not the identity."""
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            else:
                t.copy_(torch.randn(t.shape, generator=g) * 0.3)


def write_fixtures(folder):
    """Key/shape lists of every model and one PyTorch forward per custom block (eval mode)."""
    import os
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "book_state_keys.txt"), "w") as f:
        for name, make, _ in MODELS:
            for key, t in make().state_dict().items():
                f.write(f"{name}\t{key}\t{'x'.join(map(str, t.shape))}\n")
    g = torch.Generator().manual_seed(7)
    blocks = {
        "residual": (Residual(3, 8, use_1x1conv=True, strides=2), (2, 3, 9, 9)),
        "residual_identity": (Residual(8, 8), (2, 8, 6, 6)),
        "inception": (Inception(6, 4, (3, 5), (2, 3), 2), (2, 6, 7, 7)),
        "dense": (DenseBlock(3, 5, 4), (2, 5, 6, 6)),
        "transition": (transition_block(9, 4), (2, 9, 6, 6)),
    }
    tensors = {}
    for prefix, (block, shape) in blocks.items():
        randomize(block, g)
        block.eval()
        x = torch.randn(shape, generator=g)
        with torch.no_grad():
            y = block(x)
        for key, t in block.state_dict().items():
            if not key.endswith("num_batches_tracked"):
                tensors[f"{prefix}.{key}"] = t
        tensors[f"{prefix}.input"] = x
        tensors[f"{prefix}.output"] = y
    write_safetensors(os.path.join(folder, "book_blocks.safetensors"), tensors)


if __name__ == "__main__":
    import sys
    if "--write-fixtures" in sys.argv:
        write_fixtures(sys.argv[sys.argv.index("--write-fixtures") + 1])
        sys.exit(0)
    print("lazy AlexNet (d2l 1.0):", lazy_check())
    for name, make, size in MODELS:
        net = make().eval()
        count = sum(p.numel() for p in net.parameters())
        with torch.no_grad():
            out = net(torch.zeros(1, 1, size, size))
        keys = list(net.state_dict().keys())
        print(f"{name}: {count:,} parameters at {size}, output {tuple(out.shape)}, {len(keys)} state keys")
        print("   first:", keys[:4], "last:", keys[-3:])
        print("   smallest input:", min_size(make, size))
