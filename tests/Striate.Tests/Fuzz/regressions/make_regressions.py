#!/usr/bin/env python3
"""Writes the minimized hostile inputs of issue 14, one file per defect, beside this script.

Each file is the smallest input found that reproduced a defect; the regression tests and the fuzz suite's
regression pass read them. Run from anywhere: python3 make_regressions.py
"""
import gzip, os, struct, zlib

here = os.path.dirname(os.path.abspath(__file__))


def write(name, data):
    path = os.path.join(here, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    print(f"{name}: {len(data)} bytes")


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width, height, depth, colour, idat):
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# Defect 2: IDX gzip whose header claims 1 GiB (one dimension of 2^30) and holds nothing.
write("idx/claims-1gib.gz", gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", 1 << 30), mtime=0))
# Defect 2: PNG headers claiming 20000×20000 gray (400 MB) and 10000×10000 RGBA16 (800 MB filtered), tiny IDAT.
write("png/claims-20000x20000.png", png(20000, 20000, 8, 0, zlib.compress(b"\0")))
write("png/claims-10000x10000-rgba16.png", png(10000, 10000, 16, 6, zlib.compress(b"\0")))
# Defect 2: ASCII PGM header claiming 20000×20000 samples with none present.
write("pnm/ascii-claims-20000x20000.pgm", b"P2 20000 20000 255\n")
# Defect 3: lone UTF-16 surrogates escaped in a safetensors header (a tensor name, a dtype, a metadata value).
for name, header in [
    ("lone-surrogate-name", b'{"\\ud800":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}'),
    ("lone-surrogate-dtype", b'{"t":{"dtype":"\\udfff","shape":[],"data_offsets":[0,4]}}'),
    ("lone-surrogate-metadata", b'{"__metadata__":{"format":"\\udc00"}}'),
]:
    write(f"safetensors/{name}.safetensors", struct.pack("<Q", len(header)) + header + bytes(4 if b"data_offsets" in header else 0))


def safetensors_metadata(metadata):
    import json
    header = json.dumps({"__metadata__": metadata}, separators=(",", ":")).encode()
    return struct.pack("<Q", len(header)) + header


# Defect 1: metadata that sizes a model the file holds no tensors for: a plain weights file naming VGG-11
# (128,806,154 parameters built before anything was compared), and a checkpoint asking for MobileNetV2 at width 64.
write("checkpoint/names-vgg11-no-tensors.safetensors", safetensors_metadata({"model": "d2l-vgg11"}))
write("checkpoint/mobilenet-width-64.safetensors", safetensors_metadata({
    "format": "striate-checkpoint-1", "model": "mobilenet_v2", "epoch": "1",
    "config": '{"model":"mobilenet_v2","dataset":"x","width":64}'}))
# Defect 4: a checkpoint without 'epoch', and one whose 'config' is not a run configuration.
write("checkpoint/no-epoch.safetensors", safetensors_metadata({"format": "striate-checkpoint-1", "model": "lenet"}))
write("checkpoint/config-not-a-run-configuration.safetensors", safetensors_metadata({
    "format": "striate-checkpoint-1", "model": "lenet", "epoch": "1", "config": '{"model":"lenet","dataset":"x","width":"wide"}'}))
# Defect 4 (found again by the fuzz suite's file-name check): a model name the registry does not know was reported
# without the file or the field.
write("checkpoint/unknown-model-name.safetensors", safetensors_metadata({"format": "striate-checkpoint-1", "model": "lenet-redu", "epoch": "1"}))
# ImageSharp 2.1.13's JpegDecoderCore.Identify throws NullReferenceException on these (found by the fuzz suite's image
# target, minimized by its runner): the decoder wrapper must turn them into the reader's own InvalidDataException.
write("image/jpeg-identify-nullreference-21b.jpg", bytes.fromhex("ffd8ffe0001000000100010014141400110816fbd9"))
write("image/jpeg-identify-nullreference-18b.jpg", bytes.fromhex("ffd8ffee000ee13cab46590918c024727bfe"))
