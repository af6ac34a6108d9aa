"""Experiment: linear probe (head only) on frozen ImageNet MobileNetV2 features, CPU-friendly.

    python -m training.probe --data ../shared/data/food --train-per-class 60 --test-per-class 30

Extracts 1280-d pooled features once (engine preprocessing, no augmentation), then trains only
the 11-way linear head. A cheap lower bound for what fine-tuning the whole network adds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

from training.data import LABELS, load_dataset, subsample
from training.train import Photos, build_model, eval_transform, metrics_from_confusion
from training.weights import verified_weights


@torch.no_grad()
def features(model, split, batch_size):
    model.eval()
    xs, ys = [], []
    for x, y in DataLoader(Photos(split, eval_transform()), batch_size=batch_size):
        f = model.features(x)
        xs.append(nn.functional.adaptive_avg_pool2d(f, 1).flatten(1))
        ys.append(y)
    return torch.cat(xs), torch.cat(ys)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--train-per-class", type=int, default=60)
    p.add_argument("--test-per-class", type=int, default=30)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    t0 = time.time()
    train, test = load_dataset(args.data.resolve())
    if args.train_per_class:
        train = subsample(train, args.train_per_class, args.seed)
    if args.test_per_class:
        test = subsample(test, args.test_per_class, args.seed)
    model = build_model(verified_weights()[0], 0.0)
    xtr, ytr = features(model, train, 32)
    xte, yte = features(model, test, 32)
    t_feat = time.time() - t0
    head = nn.Linear(xtr.shape[1], len(LABELS))
    opt = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=0.01)
    counts = torch.bincount(ytr, minlength=len(LABELS)).float()
    loss_fn = nn.CrossEntropyLoss(weight=counts.sum() / (len(LABELS) * counts), label_smoothing=0.1)
    for _ in range(args.steps):
        opt.zero_grad()
        loss_fn(head(xtr), ytr).backward()
        opt.step()
    pred = head(xte).argmax(1)
    conf = np.zeros((len(LABELS), len(LABELS)), dtype=np.int64)
    for t, q in zip(yte.tolist(), pred.tolist()):
        conf[t, q] += 1
    m = metrics_from_confusion(conf)
    print(json.dumps({
        "experiment": "linear probe on frozen ImageNet MobileNetV2 features",
        "train_images": len(train.samples), "test_images": m["test_images"],
        "test_accuracy": m["test_accuracy"],
        "per_class_accuracy": {k: round(v, 3) for k, v in m["per_class_accuracy"].items()},
        "steps": args.steps, "lr": args.lr,
        "feature_seconds": round(t_feat, 1), "total_seconds": round(time.time() - t0, 1),
    }, indent=1))


if __name__ == "__main__":
    main()
