#!/usr/bin/python3
"""Regenerates the small image files used by tests/Striate.Tests/Data (run from this folder with /usr/bin/python3).

PNGs are written by Pillow (gray, RGB, RGBA, gray+alpha, palette 8/4/1-bit, palette+tRNS, 1-bit gray, 16-bit gray)
and by the hand-written encoder below (every filter type 0-4 in turn, and Adam7 interlacing, which Pillow cannot
write). PGM/PPM files are binary P5/P6 written by Pillow plus hand-written ASCII P2/P3 with comments and 16-bit P5.
expected.txt holds, for every file, the 8-bit pixels that Pillow decodes from it, converted the way Striate reports
them: one line "name width height channels hex-of-HWC-bytes".
  gray (L, 1) -> 1 channel; RGB -> 3; RGBA -> 4; LA -> RGBA (gray copied into R,G,B);
  P -> RGB, or RGBA when the file has tRNS; 16-bit samples -> high byte (v >> 8);
  PGM/PPM with maxval != 255 -> round(v * 255 / maxval) of the raw values Pillow reports.
"""
import struct, zlib
import numpy as np
from PIL import Image

rng = np.random.default_rng(20240607)
expected = []


def record(name, arr):
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    h, w, c = arr.shape
    expected.append(f"{name} {w} {h} {c} {arr.tobytes().hex()}")


def smooth(h, w, c):
    # gradients plus noise: makes Sub/Up/Average/Paeth all worth choosing for Pillow's adaptive filter
    y, x = np.mgrid[0:h, 0:w]
    base = (x * 23 + y * 17)[:, :, None] + np.arange(c)[None, None, :] * 40
    return ((base + rng.integers(0, 12, (h, w, c))) % 256).astype(np.uint8)


# --- Pillow-written PNGs -------------------------------------------------------------
Image.fromarray(smooth(5, 7, 1)[:, :, 0], "L").save("gray8.png")
Image.fromarray(smooth(6, 9, 3), "RGB").save("rgb8.png")
Image.fromarray(smooth(4, 6, 4), "RGBA").save("rgba8.png")
Image.fromarray(smooth(3, 5, 2), "LA").save("gray_alpha8.png")

pal_img = Image.fromarray(rng.integers(0, 6, (5, 8)).astype(np.uint8), "P")
pal_img.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 0, 10, 20, 30, 200, 100, 50])
pal_img.save("palette8.png", bits=8)
pal_img.save("palette4.png", bits=4)
pal2 = Image.fromarray(rng.integers(0, 2, (4, 11)).astype(np.uint8), "P")
pal2.putpalette([12, 34, 56, 250, 240, 230])
pal2.save("palette1.png", bits=1)
pal3 = Image.fromarray(rng.integers(0, 4, (3, 7)).astype(np.uint8), "P")
pal3.putpalette([1, 2, 3, 40, 50, 60, 70, 80, 90, 200, 210, 220])
pal3.save("palette2.png", bits=2)
pal_t = pal_img.copy()
pal_t.save("palette_trns.png", transparency=bytes([0, 128, 255, 64]))

Image.fromarray(rng.integers(0, 2, (5, 13)).astype(bool)).save("gray1.png")  # mode "1": 1-bit gray

g16 = (rng.integers(0, 65536, (4, 5))).astype(np.uint16)
Image.fromarray(g16, "I;16").save("gray16.png")

for name in ["gray8.png", "rgb8.png", "rgba8.png"]:
    record(name, np.asarray(Image.open(name)))
record("gray_alpha8.png", np.asarray(Image.open("gray_alpha8.png").convert("RGBA")))
for name in ["palette8.png", "palette4.png", "palette2.png", "palette1.png"]:
    im = Image.open(name); assert im.mode == "P", name
    record(name, np.asarray(im.convert("RGB")))
record("palette_trns.png", np.asarray(Image.open("palette_trns.png").convert("RGBA")))
record("gray1.png", np.asarray(Image.open("gray1.png").convert("L")))
im16 = Image.open("gray16.png")
record("gray16.png", (np.asarray(im16).astype(np.uint32) >> 8).astype(np.uint8))


# --- hand-written PNGs: explicit filters and Adam7 ----------------------------------------
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def filter_rows(rows, bpp, first_filter):
    out = bytearray()
    prev = bytes(len(rows[0])) if rows else b""
    for i, row in enumerate(rows):
        f = (first_filter + i) % 5
        out.append(f)
        for j, v in enumerate(row):
            a = row[j - bpp] if j >= bpp else 0
            b = prev[j]
            c = prev[j - bpp] if j >= bpp else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][f]
            out.append((v - pred) & 0xFF)
        prev = row
    return out


def write_png(name, arr, color_type, interlace):
    h, w, c = arr.shape
    raw = bytearray()
    if interlace == 0:
        raw += filter_rows([arr[y].tobytes() for y in range(h)], c, 0)
    else:
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        for k, (x0, y0, dx, dy) in enumerate(passes):
            sub = arr[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += filter_rows([sub[y].tobytes() for y in range(sub.shape[0])], c, k)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, interlace)
    idat = zlib.compress(bytes(raw), 9)
    # split IDAT into three chunks to exercise concatenation
    parts = [idat[: len(idat) // 3], idat[len(idat) // 3: 2 * len(idat) // 3], idat[2 * len(idat) // 3:]]
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + b"".join(chunk(b"IDAT", p) for p in parts) + chunk(b"IEND", b"")
    open(name, "wb").write(data)


write_png("filters_rgb.png", smooth(10, 7, 3), 2, 0)
write_png("adam7_rgb.png", smooth(11, 13, 3), 2, 1)
write_png("adam7_gray_small.png", smooth(3, 2, 1), 0, 1)   # smaller than one Adam7 block: empty passes
for name in ["filters_rgb.png", "adam7_rgb.png", "adam7_gray_small.png"]:
    im = Image.open(name)
    im.load()
    record(name, np.asarray(im))

# --- PGM / PPM ---------------------------------------------------------------------
Image.fromarray(smooth(4, 6, 1)[:, :, 0], "L").save("gray.pgm")   # P5
Image.fromarray(smooth(3, 5, 3), "RGB").save("color.ppm")         # P6
record("gray.pgm", np.asarray(Image.open("gray.pgm")))
record("color.ppm", np.asarray(Image.open("color.ppm")))

a2 = rng.integers(0, 101, (3, 4))
with open("ascii_gray.pgm", "w") as f:   # P2 with comments and maxval 100
    f.write("P2\n# made by make_testdata.py\n4 3 # width height\n100\n")
    for row in a2:
        f.write(" ".join(str(v) for v in row) + "\n")
a3 = rng.integers(0, 256, (2, 3, 3))
with open("ascii_color.ppm", "w") as f:  # P3, maxval 255
    f.write("P3\n3 2\n# comment between fields\n255\n")
    f.write(" ".join(str(v) for v in a3.reshape(-1)) + "\n")
a16 = rng.integers(0, 1001, (2, 5)).astype(">u2")
with open("gray16.pgm", "wb") as f:      # binary P5, maxval 1000 -> 2 bytes per sample
    f.write(b"P5\n5 2\n1000\n" + a16.tobytes())

# Pillow already rescales maxval 100 to 0-255 (rounding), so its L values are the reference.
record("ascii_gray.pgm", np.asarray(Image.open("ascii_gray.pgm")))
assert np.array_equal(np.asarray(Image.open("ascii_gray.pgm")), (a2 * 255 + 50) // 100)
record("ascii_color.ppm", np.asarray(Image.open("ascii_color.ppm")))
assert np.array_equal(np.asarray(Image.open("ascii_color.ppm")), a3)
# Pillow reads maxval 1000 as mode I rescaled to 0-65535; Striate reports round(v*255/1000). Check they agree to 1 LSB.
pil16 = np.asarray(Image.open("gray16.pgm")).astype(np.int64)
ours = (a16.astype(np.int64) * 255 + 500) // 1000
assert np.all(np.abs(pil16 / 65535 * 255 - ours) <= 0.5 + 1e-9)
record("gray16.pgm", ours)

with open("expected.txt", "w") as f:
    f.write("\n".join(expected) + "\n")
