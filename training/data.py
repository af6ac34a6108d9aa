"""Reading the photo layouts users have, always onto the fixed Food-11 label order.

Supported layouts (detected per split folder):

* **EPFL Food-11**: ``<root>/{training,validation,evaluation}/<labelindex>_<n>.jpg``
  (the label is the number before the underscore, 0..10 in Food-11 order).
* **Class folders** (Kaggle/course copies of Food-11, and ``../shared/data/food``):
  ``<root>/<split>/<ClassName>/*.jpg``; folder names are matched to labels ignoring
  case, spaces, ``-``, ``_`` and ``/`` (``Noodles-Pasta`` is ``Noodles/Pasta``),
  exactly as the engine's ``food-classifier eval`` matches them.
"""

from __future__ import annotations

import hashlib
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

LABELS: list[str] = [
    "Bread",
    "Dairy product",
    "Dessert",
    "Egg",
    "Fried food",
    "Meat",
    "Noodles/Pasta",
    "Rice",
    "Seafood",
    "Soup",
    "Vegetable/Fruit",
]

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"}
EPFL_NAME = re.compile(r"^(\d+)_\d+$")

# Split folder names, most preferred first.
TRAIN_SPLITS = ("train", "training")
TEST_SPLITS = ("test", "evaluation", "eval")
VAL_SPLITS = ("validation", "val", "valid")


def normalise(name: str) -> str:
    """Folder/label key: lower case without spaces, '-', '_', '/' (same rule as the engine)."""
    return "".join(c for c in name if c not in " -_/").lower()


_LABEL_BY_KEY = {normalise(label): i for i, label in enumerate(LABELS)}


def label_index(folder_name: str) -> int | None:
    """Index of the label a class folder names, or None when it names no Food-11 class."""
    return _LABEL_BY_KEY.get(normalise(folder_name))


def folder_name(label: str) -> str:
    """A file-system-safe folder name for a label (``Noodles/Pasta`` -> ``Noodles-Pasta``)."""
    return label.replace("/", "-")


@dataclass(frozen=True)
class Split:
    name: str
    layout: str  # "epfl" or "class-folders"
    samples: list[tuple[Path, int]]  # (photo, label index), sorted by path

    def per_class(self) -> dict[str, int]:
        counts = [0] * len(LABELS)
        for _, y in self.samples:
            counts[y] += 1
        return {label: counts[i] for i, label in enumerate(LABELS)}


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def read_split(split_dir: Path, warn=print) -> Split:
    """Reads one split folder in either layout. Raises ValueError when it holds no labelled photo."""
    split_dir = Path(split_dir)
    subdirs = sorted(p for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    class_dirs = [(d, label_index(d.name)) for d in subdirs]
    samples: list[tuple[Path, int]] = []
    if any(y is not None for _, y in class_dirs):
        layout = "class-folders"
        for d, y in class_dirs:
            if y is None:
                warn(f"warning: skipping folder {d}: it names no Food-11 class", file=sys.stderr)
                continue
            samples.extend((p, y) for p in sorted(d.rglob("*")) if _is_image(p))
    else:
        layout = "epfl"
        for p in sorted(split_dir.iterdir()):
            if not _is_image(p):
                continue
            m = EPFL_NAME.match(p.stem)
            if not m:
                warn(f"warning: skipping {p}: not <label>_<n> and not in a class folder", file=sys.stderr)
                continue
            y = int(m.group(1))
            if not 0 <= y < len(LABELS):
                raise ValueError(f"{p}: label index {y} is outside 0..{len(LABELS) - 1}")
            samples.append((p, y))
    if not samples:
        raise ValueError(f"no labelled photos in {split_dir}")
    samples.sort()
    return Split(split_dir.name, layout, samples)


def find_splits(root: Path) -> dict[str, Path]:
    """Split folders under root, keyed by their lower-case name."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"data folder {root} does not exist")
    return {p.name.lower(): p for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith(".")}


def pick_split(splits: dict[str, Path], wanted: str | None, preferred: tuple[str, ...], role: str) -> list[str]:
    """Names of the split folders to use for a role: the explicit comma list, or the first preferred one present."""
    if wanted:
        names = [w.strip().lower() for w in wanted.split(",") if w.strip()]
        missing = [n for n in names if n not in splits]
        if missing:
            raise ValueError(f"{role} split(s) {missing} not found; have {sorted(splits)}")
        return names
    for name in preferred:
        if name in splits:
            return [name]
    raise ValueError(f"no {role} split found (looked for {list(preferred)}); have {sorted(splits)}")


def load_dataset(root: Path, train: str | None = None, test: str | None = None, warn=print):
    """Returns (train Split, test Split) for a data root in any supported layout.

    Defaults: train on ``train``/``training``; test on ``test``/``evaluation``/``eval``, falling back
    to ``validation``/``val`` when there is no test split. Several folders may be joined with commas
    (e.g. ``--train-split training,validation``).
    """
    splits = find_splits(root)
    train_names = pick_split(splits, train, TRAIN_SPLITS, "train")
    test_names = pick_split(splits, test, TEST_SPLITS + VAL_SPLITS, "test")
    if set(train_names) & set(test_names):
        raise ValueError(f"train and test splits overlap: {train_names} / {test_names}")
    return (
        _join([read_split(splits[n], warn) for n in train_names]),
        _join([read_split(splits[n], warn) for n in test_names]),
    )


def _join(parts: list[Split]) -> Split:
    if len(parts) == 1:
        return parts[0]
    layouts = sorted({p.layout for p in parts})
    samples = sorted(s for p in parts for s in p.samples)
    return Split("+".join(p.name for p in parts), "+".join(layouts), samples)


def subsample(split: Split, per_class: int, seed: int) -> Split:
    """At most per_class photos of each class, drawn reproducibly (for --quick)."""
    rng = random.Random(seed)
    by_class: dict[int, list[tuple[Path, int]]] = {}
    for s in split.samples:
        by_class.setdefault(s[1], []).append(s)
    chosen = []
    for y in sorted(by_class):
        items = by_class[y]
        chosen.extend(items if len(items) <= per_class else rng.sample(items, per_class))
    return Split(split.name, split.layout, sorted(chosen))


def class_folder_view(split: Split, dest: Path) -> Path:
    """Materialises split as ``dest/<Label>/<file>`` symlinks, so ``food-classifier eval`` can read
    any layout or subset. Returns dest."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for i, (path, y) in enumerate(split.samples):
        d = dest / folder_name(LABELS[y])
        d.mkdir(exist_ok=True)
        link = d / f"{i:06d}_{path.name}"
        if not link.exists():
            link.symlink_to(Path(path).resolve())
    return dest


def read_photos(folder: Path) -> list[Path]:
    """Every photo under folder (any depth), sorted; for the unlabelled not-food set."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"not-food folder {folder} does not exist")
    photos = sorted(p for p in folder.rglob("*") if _is_image(p))
    if not photos:
        raise ValueError(f"no photos in {folder}")
    return photos


def holdout_split(photos: list[Path], fraction: float) -> tuple[list[Path], list[Path]]:
    """(kept, held out): a stable split by a hash of each file name, so the held-out photos (each
    of its own ImageNet class in the shared set) are the same on every machine and run."""
    kept, held = [], []
    for p in photos:
        h = int(hashlib.sha256(p.name.encode()).hexdigest()[:8], 16) / 0x1_0000_0000
        (held if h < fraction else kept).append(p)
    return kept, held


def split_off(split: Split, fraction: float, name: str) -> tuple[Split, Split]:
    """(rest, validation): a stable per-file hash split of a labelled split, stratified by nature
    since every file draws independently."""
    rest, val = [], []
    for s in split.samples:
        h = int(hashlib.sha256(s[0].name.encode()).hexdigest()[:8], 16) / 0x1_0000_0000
        (val if h < fraction else rest).append(s)
    return Split(split.name, split.layout, rest), Split(name, split.layout, val)
