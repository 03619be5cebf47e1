#!/usr/bin/python3
"""Writes the JPEG/BMP/GIF fixtures of PhotoDecodingTests and the pixels Pillow decodes from each.

Run from this folder with Debian's python3 (python3-pil 9.4, libjpeg-turbo; python3-numpy) and libjpeg-turbo-progs
(jpegtran, for restart markers and arithmetic coding):  /usr/bin/python3 make_photos.py

Output: the image files, and expected.safetensors holding one U8 tensor [H, W, C] per file: what Pillow gives for
Image.open(f), EXIF orientation applied (ImageOps.exif_transpose), converted to RGB ('L' kept for gray JPEGs).
CMYK JPEGs: Pillow decodes them to CMYK (undoing Adobe's inversion); the expected RGB is the usual
R = (255 - C)(255 - K) / 255 (libjpeg-turbo's and browsers' conversion; Pillow's own convert('RGB') ignores K).
For chroma-subsampled JPEGs (4:2:2, 4:2:0) it also holds "NAME:box": libjpeg-turbo's pixels with box ("replicate")
chroma upsampling (djpeg -nosmooth), the method ImageSharp uses, where Pillow uses libjpeg-turbo's triangular filter.
"""
import io, json, os, struct, subprocess
import numpy as np
from PIL import Image, ImageOps, JpegImagePlugin

rng = np.random.default_rng(10)


def photo(w, h, seed=0):
    """A smooth, photo-like RGB image: gradients, blurred discs, a little noise (no single-pixel edges)."""
    r = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    img[..., 0] = 60 + 150 * x / w
    img[..., 1] = 40 + 160 * y / h
    img[..., 2] = 120 + 80 * np.sin(x / 5.0 + y / 7.0)
    for _ in range(3):
        cx, cy, rad = r.uniform(0, w), r.uniform(0, h), r.uniform(4, 12)
        colour = r.uniform(0, 255, 3)
        d = np.sqrt((x - cx) ** 2 + (y - cy) ** 2)
        a = 1 / (1 + np.exp((d - rad) / 1.5))  # soft edge, ~3 pixels wide
        img = img * (1 - a[..., None]) + colour * a[..., None]
    img += r.normal(0, 2, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).round().astype(np.uint8), "RGB")


def asymmetric(w, h):
    """For EXIF orientation: a photo with a bright block in its top-left corner, so any flip or turn shows."""
    a = np.array(photo(w, h, seed=7))
    a[2:10, 2:14] = [250, 250, 40]
    return Image.fromarray(a, "RGB")


files = {}


def save(name, image, **options):
    image.save(name, **options)
    files[name] = None


def jpegtran(source, name, *args):
    with open(name, "wb") as out:
        subprocess.run(["jpegtran", *args, source], stdout=out, check=True)
    files[name] = None


base = photo(64, 48)
save("baseline_444.jpg", base, quality=90, subsampling=0)
save("baseline_422.jpg", base, quality=90, subsampling=1)
save("baseline_420.jpg", base, quality=90, subsampling=2)
save("baseline_420_q50.jpg", base, quality=50, subsampling=2)
save("baseline_444_q100.jpg", base, quality=100, subsampling=0)
save("optimized_420.jpg", base, quality=85, subsampling=2, optimize=True)
save("progressive_420.jpg", base, quality=90, subsampling=2, progressive=True)
save("progressive_444.jpg", base, quality=90, subsampling=0, progressive=True)
odd = photo(37, 29, seed=3)  # not a whole number of 16×16 MCUs: edge blocks are padded
save("odd_size_420.jpg", odd, quality=90, subsampling=2)
save("odd_size_progressive_422.jpg", odd, quality=90, subsampling=1, progressive=True)
save("gray.jpg", base.convert("L"), quality=90)
save("gray_progressive.jpg", photo(32, 24, seed=5).convert("L"), quality=90, progressive=True)
save("cmyk_adobe.jpg", base.convert("CMYK"), quality=95)
jpegtran("baseline_420.jpg", "restart_rows_420.jpg", "-restart", "1")      # a marker every MCU row
jpegtran("baseline_444.jpg", "restart_blocks_444.jpg", "-restart", "3B")   # a marker every 3 MCUs
jpegtran("progressive_420.jpg", "restart_progressive_420.jpg", "-progressive", "-restart", "2B")
turned = asymmetric(48, 32)
for orientation in (2, 3, 5, 6, 8):
    exif = Image.Exif()
    exif[0x0112] = orientation
    save(f"exif_orientation_{orientation}.jpg", turned, quality=92, subsampling=0, exif=exif.tobytes())

# Lossless formats: the expected pixels are exact.
save("rgb24.bmp", photo(33, 21, seed=11))
save("palette8.bmp", photo(33, 21, seed=12).quantize(64).convert("RGB").quantize(64))
save("palette.gif", photo(40, 30, seed=13).quantize(128))
frames = [photo(40, 30, seed=s).quantize(64) for s in (14, 15)]
frames[0].save("animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
files["animated.gif"] = None


def expected(name):
    with Image.open(name) as im:
        im = ImageOps.exif_transpose(im)  # no-op without an orientation tag
        if im.mode == "CMYK":
            cmyk = np.asarray(im).astype(np.float64)
            k = 255 - cmyk[..., 3:4]
            return np.round((255 - cmyk[..., :3]) * k / 255).astype(np.uint8)
        if im.mode == "L":
            return np.asarray(im)[..., None]
        return np.asarray(im.convert("RGB"))


def box_upsampled(name):
    """libjpeg-turbo's RGB with replicated chroma, or None for a file without subsampled chroma."""
    with Image.open(name) as im:
        if im.format != "JPEG" or im.mode != "RGB" or JpegImagePlugin.get_sampling(im) in (-1, 0):
            return None
    ppm = subprocess.run(["djpeg", "-nosmooth", "-ppm", name], stdout=subprocess.PIPE, check=True).stdout
    with Image.open(io.BytesIO(ppm)) as im:
        return np.asarray(im.convert("RGB"))


header, blobs, offset = {}, [], 0
def add(key, a):
    global offset
    a = np.ascontiguousarray(a)
    header[key] = {"dtype": "U8", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
    blobs.append(a.tobytes())
    offset += a.nbytes
for name in sorted(files):
    add(name, expected(name))
    box = box_upsampled(name)
    if box is not None:
        add(name + ":box", box)
header["__metadata__"] = {"generator": "make_photos.py", "pillow": Image.__version__}
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
with open("expected.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
print(f"{len(files)} files, {sum(os.path.getsize(n) for n in files)} bytes of images, expected.safetensors {os.path.getsize('expected.safetensors')} bytes")
