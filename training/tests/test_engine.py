"""The compressed-weights gate: a shipped file may lose at most 0.3 points against its float32
export, or one photo on a test set too small for that to mean anything."""

import pytest

from training.engine import compression_check, float32_export


def report(accuracy: float, images: int) -> dict:
    return {"accuracy": accuracy, "images": images}


def test_a_small_loss_or_a_gain_passes():
    assert compression_check({"float32_accuracy": 0.8961}, report(0.8988, 2588)) == {"accuracy": 0.8988, "loss_points": -0.27}
    assert compression_check({"float32_accuracy": 0.9748}, report(0.9720, 1071))["loss_points"] == pytest.approx(0.28)


def test_a_loss_beyond_the_limit_fails():
    with pytest.raises(SystemExit, match="lose 0.50 points"):
        compression_check({"float32_accuracy": 0.9000}, report(0.8950, 2588))


def test_one_photo_is_allowed_on_a_tiny_test_set():
    # 44 photos (the quick run): one photo is 2.27 points
    compression_check({"float32_accuracy": 40 / 44}, report(39 / 44, 44))
    with pytest.raises(SystemExit):
        compression_check({"float32_accuracy": 40 / 44}, report(38 / 44, 44))


def test_the_float32_export_sits_beside_the_shipped_file(tmp_path):
    assert float32_export(tmp_path / "m.onnx") == tmp_path / "m.float32.onnx"
