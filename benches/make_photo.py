"""Makes the benchmark's 12-megapixel "phone photo": a real sample photo, upscaled.

The result is an upscaled real photo (not a camera original): cropped to 4:3 and Lanczos-upscaled to 4032x3024, plus
slight Gaussian noise so the JPEG encoder sees sensor-like detail, saved at quality 90.
Seeded, so every run benchmarks the same bytes.

usage: python3 benches/make_photo.py SOURCE.jpg OUT.jpg
"""

import sys

import numpy as np
from PIL import Image, ImageOps

WIDTH, HEIGHT = 4032, 3024


def main(source: str, out: str) -> None:
    photo = Image.open(source).convert("RGB")
    big = np.asarray(ImageOps.fit(photo, (WIDTH, HEIGHT), Image.LANCZOS), dtype=np.int16)
    noise = np.random.default_rng(12).normal(0.0, 3.0, big.shape).round().astype(np.int16)
    pixels = np.clip(big + noise, 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(out, "JPEG", quality=90)


if __name__ == "__main__":
    main(*sys.argv[1:3])
