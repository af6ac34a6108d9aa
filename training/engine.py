"""The Rust engine's view of a trained model: it must compute what PyTorch computes, and the
figures the product ships (model.json `metrics`, the model card) are the engine's own.

    python -m training.engine --run runs/full --data ../shared/data/food --data ../shared/data/food-extra \\
        --not-food ../shared/data/notfood          # re-measure a finished run with the engine
    python -m training.engine --model models/food11-mobilenetv2.onnx --float32 runs/full/food11-mobilenetv2.float32.onnx \\
        --data ../shared/data/food --data ../shared/data/food-extra --not-food ../shared/data/notfood
                                                   # a model compressed afterwards: its own figures

The command form repeats the check and the measurement for a run that was trained with
``--no-engine-check`` (for example while the engine was being rebuilt), from the PyTorch outputs
the run saved, and rewrites the run's model.json with the engine's figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from training.data import LABELS, Split, class_folder_view, holdout_split, load_dataset, read_photos

REPO_ROOT = Path(__file__).resolve().parents[1]
MAX_ENGINE_GAP = 0.005  # engine and PyTorch accuracy must agree within 0.5 points
MAX_COMPRESSION_LOSS = 0.003  # compressed weights may cost at most 0.3 points of test accuracy
PER_PHOTO_CHECK = 256  # photos compared one by one (all probabilities) between PyTorch and the engine
MAX_PROBABILITY_DIFF = 0.1  # beyond this the engine is not computing what PyTorch computes
NEAR_TIE = 0.05  # a top-1 flip counts as a near-tie when PyTorch's top-2 probabilities are closer than this
CLASSIFY_BATCH = 256  # photos per `classify` call (keeps command lines short)


def log(*args):
    print(*args, flush=True)


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


def engine_outputs(engine: Path, onnx_path: Path, photos: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """(softmax over the 11 classes, not-food scores) per photo from `classify --top 11 --json`."""
    cmd = [str(engine), "--model", str(onnx_path), "classify", "--top", str(len(LABELS)), "--json"]
    rows, scores = [], []
    for start in range(0, len(photos), CLASSIFY_BATCH):
        chunk = photos[start:start + CLASSIFY_BATCH]
        out = subprocess.run(cmd + [str(p) for p in chunk], capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"engine classify failed ({out.returncode}): {out.stderr.strip()[:2000]}")
        for line in out.stdout.splitlines():
            result = json.loads(line)
            probs = {p["label"]: p["probability"] for p in result["predictions"]}
            rows.append([probs[label] for label in LABELS])
            scores.append(result.get("not_food_score"))
    if len(rows) != len(photos):
        raise SystemExit(f"engine classify returned {len(rows)} results for {len(photos)} photos")
    if any(s is None for s in scores):
        raise SystemExit("engine classify gave no not_food_score: it did not read the not-food head")
    return np.array(rows), np.array(scores, dtype=np.float32)


def engine_check(engine: Path, onnx_path: Path, test: Split, probs: np.ndarray, scores: np.ndarray,
                 torch_accuracy: float, workdir: Path) -> tuple[dict, dict]:
    """The engine's eval report on the primary test split and how far it is from PyTorch's
    outputs on the same photos. Raises SystemExit on a disagreement."""
    report = eval_split(engine, onnx_path, test, workdir)
    failures = []
    if report["failed"]:
        failures.append(f"the engine could not read {len(report['failed'])} photos: {report['failed'][:5]}")
    gap = abs(report["accuracy"] - torch_accuracy)
    log(f"engine test_acc {report['accuracy']:.4f} on {report['images']} photos (not food {report.get('not_food')}); "
        f"pytorch {torch_accuracy:.4f}; gap {gap * 100:.2f} points (limit {MAX_ENGINE_GAP * 100:.1f})")

    idx = np.unique(np.linspace(0, len(test.samples) - 1, min(PER_PHOTO_CHECK, len(test.samples))).round().astype(int))
    eng, eng_scores = engine_outputs(engine, onnx_path, [test.samples[i][0] for i in idx])
    ref = probs[idx]
    max_diff = float(np.abs(eng - ref).max())
    max_score_diff = float(np.abs(eng_scores - scores[idx]).max())
    flips = [int(i) for i, e, r in zip(idx, eng, ref) if e.argmax() != r.argmax()]
    top2 = np.sort(probs, axis=1)[:, -2:]
    margins = {i: float(top2[i, 1] - top2[i, 0]) for i in flips}
    ties = all(m < NEAR_TIE for m in margins.values())
    log(f"engine classify on {len(idx)} photos: max |probability diff| {max_diff:.2e}, max |not-food score diff| "
        f"{max_score_diff:.2e}; top-1 flips {len(flips)} (pytorch top-2 margins {[round(m, 4) for m in margins.values()]})")
    all_compared = len(idx) == len(test.samples)
    if report["images"] != len(test.samples):
        failures.append("the engine read a different number of photos")
    elif gap > MAX_ENGINE_GAP and not (all_compared and ties):
        failures.append("the engine's accuracy disagrees with PyTorch's")
    elif gap > MAX_ENGINE_GAP:
        log(f"accuracy gap is {len(flips)} photo(s) of {len(test.samples)}, all near-ties "
            f"(margin < {NEAR_TIE}): accepted on this small test set")
    if max(max_diff, max_score_diff) > MAX_PROBABILITY_DIFF:
        failures.append(f"engine and PyTorch outputs differ by up to {max(max_diff, max_score_diff):.3f} "
                        "(preprocessing mismatch?)")
    if not ties:
        failures.append("the engine changes the top class of photos PyTorch is sure of: "
                        f"{[(str(test.samples[i][0]), round(m, 3)) for i, m in margins.items() if m >= NEAR_TIE][:5]}")
    if failures:
        raise SystemExit("FAIL: " + "; ".join(failures))
    check = {"float32_accuracy": report["accuracy"], "gap_points": round(gap * 100, 3),
             "photos_compared": len(idx), "max_probability_diff": max_diff,
             "max_not_food_score_diff": max_score_diff, "top1_flips": len(flips)}
    return report, check


def eval_split(engine: Path, onnx_path: Path, split: Split, workdir: Path) -> dict:
    """`food-classifier eval --json` on exactly the photos of split (any layout, via symlinks)."""
    view = Path(tempfile.mkdtemp(prefix="test-view-", dir=workdir))
    try:
        class_folder_view(split, view)
        return engine_eval(engine, onnx_path, view)
    finally:
        shutil.rmtree(view, ignore_errors=True)


def measure(engine: Path, float32_path: Path, shipped_path: Path, tests: dict[str, Split], primary: str,
            pytorch: tuple[np.ndarray, np.ndarray, float] | None, not_food_held: list[Path],
            workdir: Path) -> tuple[dict, dict]:
    """(metrics, engine check): the engine must compute what PyTorch computes on the float32 export
    (given PyTorch's probabilities, not-food scores and accuracy on the primary split); the figures
    the product ships are then the engine's on the shipped file (every test split, the held-out
    not-food photos), which is the float32 one or a copy with compressed weights that may lose at
    most MAX_COMPRESSION_LOSS of accuracy."""
    if pytorch is None:  # only the float32 file's own figures to compare the compressed one with
        report = eval_split(engine, float32_path, tests[primary], workdir)
        check = {"float32_accuracy": report["accuracy"]}
    else:
        report, check = engine_check(engine, float32_path, tests[primary], *pytorch, workdir)
    if shipped_path != float32_path:
        report = eval_split(engine, shipped_path, tests[primary], workdir)
        check["compressed_weights"] = compression_check(check, report)
    metrics = {
        "test_accuracy": report["accuracy"],
        "test_images": report["images"],
        "not_food": report.get("not_food"),
        "per_class_accuracy": report["per_class"],
        "confusion": report["confusion"],
        "measured_by": "food-classifier eval (tract)",
        "other_tests": {},
    }
    for name, split in tests.items():
        if name == primary:
            continue
        other = eval_split(engine, shipped_path, split, workdir)
        metrics["other_tests"][name] = {k: other.get(k) for k in ("accuracy", "images", "not_food", "per_class", "confusion")}
        log(f"engine {name}: accuracy {other['accuracy']:.4f} on {other['images']} photos, not food {other.get('not_food')}")
    if not_food_held:
        _, held_scores = engine_outputs(engine, shipped_path, not_food_held)
        flagged = [p.name for p, s in zip(not_food_held, held_scores) if s >= threshold_of(shipped_path)]
        metrics["held_out_not_food"] = {"photos": len(not_food_held), "flagged": len(flagged),
                                        "flagged_share": round(len(flagged) / len(not_food_held), 4),
                                        "missed": sorted(set(p.name for p in not_food_held) - set(flagged))}
        log(f"engine held-out not food: {len(flagged)} of {len(not_food_held)} flagged")
    return metrics, check


def compression_check(check: dict, report: dict) -> dict:
    """The compressed file against the float32 one on the primary test split. On a small test set
    (the quick run's) one photo is worth more than the limit, so one photo is always allowed."""
    loss = check["float32_accuracy"] - report["accuracy"]
    allowed = max(MAX_COMPRESSION_LOSS, 1 / max(1, report["images"]))
    log(f"engine, compressed weights: test_acc {report['accuracy']:.4f} vs float32 {check['float32_accuracy']:.4f}; "
        f"loss {loss * 100:.2f} points (limit {allowed * 100:.2f})")
    if loss > allowed + 1e-12:
        raise SystemExit(f"FAIL: the compressed weights lose {loss * 100:.2f} points of accuracy "
                         f"(limit {allowed * 100:.2f}); ship float32 (--stored-weights f32) or another format")
    return {"accuracy": report["accuracy"], "loss_points": round(loss * 100, 3)}


def float32_export(shipped_path: Path) -> Path:
    """Where a run keeps its float32 export beside a shipped file with compressed weights."""
    return shipped_path.with_name(shipped_path.stem + ".float32.onnx")


def threshold_of(onnx_path: Path) -> float:
    """The not-food threshold in the model.json beside the model."""
    meta = json.loads((onnx_path.parent / "model.json").read_text())
    return float(meta["not_food"]["threshold"])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.engine", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--run", type=Path, help="a training run's --out folder")
    what.add_argument("--model", type=Path,
                      help="a shipped .onnx with compressed weights (model.json beside it); needs --float32")
    p.add_argument("--float32", type=Path, help="with --model: the float32 export it was compressed from")
    p.add_argument("--data", required=True, type=Path, action="append", help="the run's data roots, in its order")
    p.add_argument("--not-food", type=Path, help="the run's not-food folder")
    p.add_argument("--engine", help="food-classifier binary (default: target/release/food-classifier)")
    args = p.parse_args(argv)
    if args.model and not args.float32:
        p.error("--model needs --float32")
    shipped_path = args.model or args.run / f"{json.loads((args.run / 'model.json').read_text())['name']}.onnx"
    meta_path = shipped_path.with_name("model.json")
    meta = json.loads(meta_path.read_text())
    float32_path = args.float32 or float32_export(shipped_path)
    if not float32_path.is_file():
        float32_path = shipped_path
    tests = {root.resolve().name: load_dataset(root.resolve())[1] for root in args.data}
    primary = args.data[0].resolve().name
    held = []
    if args.not_food:
        recorded = meta["data"]["not_food"]
        held = holdout_split(read_photos(args.not_food), recorded.get("held_out_fraction", 0.3))[1]
        if hashlib.sha256("\n".join(p.name for p in held).encode()).hexdigest() != recorded["held_out_sha256"]:
            raise SystemExit("the held-out not-food photos differ from the run's")
    pytorch = None
    if args.run:
        outputs = np.load(args.run / "pytorch-test-outputs.npz")
        pytorch = (outputs[f"{primary}_probs"], outputs[f"{primary}_scores"],
                   meta["training"]["pytorch_metrics"][primary]["test_accuracy"])
    workdir = Path(tempfile.mkdtemp(prefix="engine-"))
    try:
        metrics, check = measure(find_engine(args.engine), float32_path, shipped_path, tests, primary, pytorch,
                                 held, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    meta["metrics"] = metrics
    if pytorch is None:
        meta["training"].setdefault("engine_check", {})["compressed_weights"] = check["compressed_weights"]
    else:
        meta["training"]["engine_check"] = check
    # The file measured may have been compressed again after training: describe the one measured.
    meta["training"]["recipe"]["stored_weights"] = onnx_metadata(shipped_path).get("weights", "float32")
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")
    log(f"wrote {meta_path}")
    return 0


def onnx_metadata(path: Path) -> dict:
    import onnx

    return {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}


if __name__ == "__main__":
    sys.exit(main())
