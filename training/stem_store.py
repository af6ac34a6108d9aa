"""Cached stem activations kept on disk between runs, so an experiment that changes only what
happens after the frozen blocks (learning rates, epochs, losses, mixing) skips the 15 minutes a
CPU spends computing them.

An entry is named by a digest of everything its contents depend on: the photos (paths and
sizes) and their view counts, the frozen weights and teachers (by file hash), the augmentation
settings, the seed, and the source of the code that draws and computes the views. Any change
to one of these names a different entry, so a stale entry is never read.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
import torch

Entry = tuple[torch.Tensor, "torch.Tensor | None"]


def entry_key(settings: dict, paths: list[Path], counts: np.ndarray, code: list[Callable]) -> str:
    """The digest naming an entry: ``settings`` (JSON-able), every photo's path and size with its
    view count, and the source of each function in ``code``."""
    h = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for path, count in zip(paths, counts.tolist(), strict=True):
        h.update(f"{path}\0{path.stat().st_size}\0{count}\n".encode())
    for fn in code:
        h.update(inspect.getsource(fn).encode())
    return h.hexdigest()[:24]


def load_or_compute(folder: Path | None, key: str, compute: Callable[[], Entry], device,
                    log: Callable[[str], None], rows: int) -> Entry:
    """The entry ``key`` from ``folder`` when it is there and holds ``rows`` views; otherwise
    ``compute()``, written to ``folder`` (atomically: an interrupted run leaves no entry) before it
    is returned. An entry that cannot be read is computed and written again. Without a folder,
    always computes."""
    if folder is None:
        return compute()
    path = folder / f"stem-{key}.pt"
    if path.exists():
        try:
            saved = torch.load(path, map_location=device, weights_only=True)
            cache, taught = saved["cache"], saved.get("taught")
            if len(cache) != rows or (taught is not None and len(taught) != rows):
                raise ValueError(f"it holds {len(cache)} views, not {rows}")
        except Exception as e:  # a damaged file of any kind: the entry is only ever a shortcut
            log(f"stem activations in {path} are unreadable ({e}); computing them again")
        else:
            log(f"stem activations read from {path} ({path.stat().st_size / 1e6:.0f} MB)")
            return cache, taught
    cache, taught = compute()
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".partial-{os.getpid()}")
    entry = {"cache": cache} if taught is None else {"cache": cache, "taught": taught}
    torch.save(entry, partial)
    os.replace(partial, path)
    log(f"stem activations kept in {path} for later runs")
    return cache, taught
