from pathlib import Path

import numpy as np
import torch

from training.stem_store import entry_key, load_or_compute


def draw_views():
    return "views"


def draw_other_views():
    return "other views"


def photos(tmp_path: Path, n: int = 3) -> list[Path]:
    paths = []
    for i in range(n):
        path = tmp_path / f"photo{i}.jpg"
        path.write_bytes(b"x" * (10 + i))
        paths.append(path)
    return paths


def test_the_key_names_settings_photos_counts_and_code(tmp_path):
    paths = photos(tmp_path)
    counts = np.array([4, 4, 8])
    settings = {"seed": 0, "crop_scale_min": 0.3}
    key = entry_key(settings, paths, counts, [draw_views])
    assert key == entry_key(dict(settings), list(paths), counts.copy(), [draw_views])
    assert key != entry_key({**settings, "seed": 1}, paths, counts, [draw_views])
    assert key != entry_key(settings, paths, np.array([4, 4, 9]), [draw_views])
    assert key != entry_key(settings, paths[:2] + [tmp_path / "photo0.jpg"], counts, [draw_views])
    assert key != entry_key(settings, paths, counts, [draw_other_views])
    paths[1].write_bytes(b"a different photo")
    assert key != entry_key(settings, paths, counts, [draw_views])


def counting(make_entry):
    """A ``compute`` that makes an entry with ``make_entry``, and the list its calls are counted in."""
    calls = []

    def compute():
        calls.append(1)
        return make_entry()

    return compute, calls


def test_an_entry_is_computed_once_then_read_back(tmp_path):
    compute, calls = counting(lambda: (torch.randn(5, 2, 3, 3).half(), torch.randn(5, 11)))

    first = load_or_compute(tmp_path / "store", "k1", compute, "cpu", print, rows=5)
    again = load_or_compute(tmp_path / "store", "k1", compute, "cpu", print, rows=5)
    assert len(calls) == 1
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert [p.name for p in (tmp_path / "store").iterdir()] == ["stem-k1.pt"]
    load_or_compute(tmp_path / "store", "k2", compute, "cpu", print, rows=5)
    assert len(calls) == 2


def test_an_entry_without_teacher_logits_and_no_folder(tmp_path):
    compute, calls = counting(lambda: (torch.ones(2, 1, 1, 1).half(), None))

    cache, taught = load_or_compute(tmp_path, "k", compute, "cpu", print, rows=2)
    cache2, taught2 = load_or_compute(tmp_path, "k", compute, "cpu", print, rows=2)
    assert taught is None and taught2 is None and torch.equal(cache, cache2) and len(calls) == 1
    load_or_compute(None, "k", compute, "cpu", print, rows=2)
    load_or_compute(None, "k", compute, "cpu", print, rows=2)
    assert len(calls) == 3


def test_a_damaged_or_mismatched_entry_is_computed_again(tmp_path):
    compute, calls = counting(lambda: (torch.zeros(3, 1, 2, 2).half(), None))

    (tmp_path / "stem-k.pt").write_bytes(b"not a tensor file")
    cache, _ = load_or_compute(tmp_path, "k", compute, "cpu", print, rows=3)
    assert len(calls) == 1 and cache.shape == (3, 1, 2, 2)
    load_or_compute(tmp_path, "k", compute, "cpu", print, rows=3)
    assert len(calls) == 1
    load_or_compute(tmp_path, "k", compute, "cpu", print, rows=4)
    assert len(calls) == 2
