"""Layout readers on tiny temporary trees (no torch needed)."""

import os
from pathlib import Path

import pytest

from training.data import (
    LABELS,
    Split,
    class_folder_view,
    folder_name,
    holdout_split,
    label_index,
    load_dataset,
    normalise,
    read_photos,
    read_split,
    split_off,
    subsample,
)


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8not-really-a-jpeg")
    return path


def quiet(*args, **kwargs):
    pass


def test_label_order_is_food11():
    assert LABELS == ["Bread", "Dairy product", "Dessert", "Egg", "Fried food", "Meat",
                      "Noodles/Pasta", "Rice", "Seafood", "Soup", "Vegetable/Fruit"]


@pytest.mark.parametrize("name,index", [
    ("Bread", 0), ("dairy_product", 1), ("Dairy product", 1), ("DAIRY-PRODUCT", 1),
    ("Noodles-Pasta", 6), ("noodles_pasta", 6), ("Noodles/Pasta", 6), ("noodlespasta", 6),
    ("Vegetable-Fruit", 10), ("vegetable fruit", 10), ("Fried food", 4), ("fried_food", 4),
    ("Pizza", None), ("", None),
])
def test_folder_names_match_labels(name, index):
    assert label_index(name) == index


def test_normalise_matches_engine_rule():
    assert normalise("Noodles/Pasta") == normalise(" noodles - PASTA_") == "noodlespasta"
    assert folder_name("Vegetable/Fruit") == "Vegetable-Fruit"


def test_epfl_layout(tmp_path):
    for split, files in {"training": ["0_0.jpg", "0_1.jpg", "10_5.jpg", "6_2.JPG"],
                         "validation": ["3_0.jpg"],
                         "evaluation": ["8_0.jpg", "1_7.jpg"]}.items():
        for f in files:
            touch(tmp_path / split / f)
    touch(tmp_path / "training" / "notes.txt")
    train, test = load_dataset(tmp_path, warn=quiet)
    assert train.layout == "epfl" and test.layout == "epfl"
    assert train.name == "training" and test.name == "evaluation"
    assert [(p.name, y) for p, y in train.samples] == [("0_0.jpg", 0), ("0_1.jpg", 0), ("10_5.jpg", 10), ("6_2.JPG", 6)]
    assert train.per_class()["Noodles/Pasta"] == 1 and train.per_class()["Vegetable/Fruit"] == 1
    assert sorted(y for _, y in test.samples) == [1, 8]
    # training + validation joined
    both, _ = load_dataset(tmp_path, train="training,validation", warn=quiet)
    assert len(both.samples) == 5 and both.name == "training+validation"


def test_epfl_label_out_of_range(tmp_path):
    touch(tmp_path / "training" / "11_0.jpg")
    with pytest.raises(ValueError, match="outside"):
        read_split(tmp_path / "training", warn=quiet)


def test_kaggle_class_folders(tmp_path):
    names = ["Bread", "Dairy product", "Dessert", "Egg", "Fried food", "Meat", "Noodles-Pasta",
             "Rice", "Seafood", "Soup", "Vegetable-Fruit"]
    for split in ("training", "validation", "evaluation"):
        for i, name in enumerate(names):
            touch(tmp_path / split / name / f"{i}_0.jpg")
    touch(tmp_path / "training" / "Pizza" / "a.jpg")  # not a Food-11 class: skipped
    warnings = []
    train, test = load_dataset(tmp_path, warn=lambda *a, **k: warnings.append(a[0]))
    assert train.layout == "class-folders"
    assert [y for _, y in train.samples] == list(range(11))
    assert test.name == "evaluation" and len(test.samples) == 11
    assert any("Pizza" in w for w in warnings)


def test_shared_layout_with_odd_case_and_order(tmp_path):
    # ../shared/data/food: train/ and test/, label order fixed whatever the folder order/case
    touch(tmp_path / "train" / "vegetable_fruit" / "x.jpg")
    touch(tmp_path / "train" / "BREAD" / "y.jpeg")
    touch(tmp_path / "train" / "BREAD" / ".hidden.jpg")
    touch(tmp_path / "test" / "Noodles-Pasta" / "z.png")
    touch(tmp_path / "test" / "Seafood" / "w.jpg")
    train, test = load_dataset(tmp_path, warn=quiet)
    assert sorted(y for _, y in train.samples) == [0, 10]
    assert sorted(y for _, y in test.samples) == [6, 8]


def test_test_falls_back_to_validation(tmp_path):
    touch(tmp_path / "train" / "Egg" / "a.jpg")
    touch(tmp_path / "val" / "Egg" / "b.jpg")
    train, test = load_dataset(tmp_path, warn=quiet)
    assert test.name == "val"


def test_missing_splits_and_empty(tmp_path):
    touch(tmp_path / "train" / "Egg" / "a.jpg")
    with pytest.raises(ValueError, match="no test split"):
        load_dataset(tmp_path, warn=quiet)
    (tmp_path / "test").mkdir()
    with pytest.raises(ValueError, match="no labelled photos"):
        load_dataset(tmp_path, warn=quiet)
    with pytest.raises(ValueError, match="not found"):
        load_dataset(tmp_path, test="evaluation", warn=quiet)


def test_subsample_is_capped_and_reproducible(tmp_path):
    for i in range(10):
        touch(tmp_path / "train" / "Rice" / f"{i}.jpg")
    for i in range(3):
        touch(tmp_path / "train" / "Soup" / f"{i}.jpg")
    split = read_split(tmp_path / "train", warn=quiet)
    a = subsample(split, 4, seed=1)
    assert a.per_class()["Rice"] == 4 and a.per_class()["Soup"] == 3
    assert a.samples == subsample(split, 4, seed=1).samples


def test_class_folder_view_links_every_photo(tmp_path):
    touch(tmp_path / "evaluation" / "6_0.jpg")
    touch(tmp_path / "evaluation" / "6_1.jpg")
    touch(tmp_path / "evaluation" / "10_0.jpg")
    split = read_split(tmp_path / "evaluation", warn=quiet)
    view = class_folder_view(split, tmp_path / "view")
    assert sorted(os.listdir(view)) == ["Noodles-Pasta", "Vegetable-Fruit"]
    assert len(os.listdir(view / "Noodles-Pasta")) == 2
    assert all(p.is_file() for p in (view / "Noodles-Pasta").iterdir())


def test_holdout_and_validation_splits_are_stable_and_disjoint(tmp_path):
    photos = [touch(tmp_path / "nf" / f"n{i:08d}_thing.jpg") for i in range(200)]
    kept, held = holdout_split(photos, 0.3)
    assert sorted(kept + held) == sorted(photos) and not set(kept) & set(held)
    assert 40 <= len(held) <= 80
    assert holdout_split(list(reversed(photos)), 0.3)[1] == list(reversed(held))
    assert read_photos(tmp_path / "nf") == sorted(photos)
    split = Split("train", "class-folders", [(p, i % 11) for i, p in enumerate(photos)])
    rest, val = split_off(split, 0.1, "validation")
    assert len(rest.samples) + len(val.samples) == 200 and 5 <= len(val.samples) <= 40
    with pytest.raises(ValueError):
        read_photos(tmp_path / "missing")
