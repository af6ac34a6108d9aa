"""The shipped network: batch-norm folding is exact, and an exported model warm-starts exactly."""

import argparse

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torchvision import models  # noqa: E402

from training.network import FoodNet, average_weights, fold_batch_norm, from_onnx  # noqa: E402
from training.data import LABELS  # noqa: E402
from training.train import (  # noqa: E402
    class_factor,
    class_share,
    export_onnx,
    food_metrics,
    food_objective,
    parse_args,
    pick_eval_resize,
    pick_threshold,
    sampling_weights,
    shares_stem,
)


def random_mobilenet() -> torch.nn.Module:
    torch.manual_seed(0)
    base = models.mobilenet_v2(weights=None)
    with torch.no_grad():
        for m in base.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return base.eval()


def test_folding_batch_norm_keeps_the_function():
    base = random_mobilenet()
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        want = base.features(x)
        folded = fold_batch_norm(base.features)
        assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
        assert torch.allclose(folded(x), want, atol=1e-4, rtol=1e-4)


def test_exported_model_warm_starts_exactly(tmp_path):
    base = random_mobilenet()
    net = FoodNet(fold_batch_norm(base.features), torch.nn.Linear(1280, 11), 0.2).eval()
    with torch.no_grad():
        net.not_food.weight.normal_()
        net.not_food.bias.fill_(0.3)
    path = tmp_path / "m.onnx"
    export_onnx(net, path)
    again = from_onnx(path, 0.2).eval()
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        for a, b in zip(net(x), again(x)):
            assert torch.allclose(a, b, atol=1e-4)


def test_a_model_with_int8_weights_warm_starts_from_the_weights_it_computes(tmp_path):
    """The shipped file stores int8 weights: a warm start must read the float32 values the graph
    computes from them (not fail, and not start from the raw int8 codes)."""
    import onnx

    from training.compress import compress_file, constant_values

    base = random_mobilenet()
    net = FoodNet(fold_batch_norm(base.features), torch.nn.Linear(1280, 11), 0.2).eval()
    path, small = tmp_path / "m.float32.onnx", tmp_path / "m.onnx"
    export_onnx(net, path)
    compress_file(path, small, "int8")
    again = from_onnx(small, 0.2).eval()
    graph = onnx.load(str(small)).graph
    values = constant_values(graph)
    first = next(n for n in graph.node if n.op_type == "Conv")
    assert first.input[1] not in {t.name for t in graph.initializer}  # really computed, not stored
    want = values[first.input[1]]
    conv = next(m for m in again.features.modules() if isinstance(m, torch.nn.Conv2d))
    assert np.array_equal(conv.weight.detach().numpy(), want)
    # and the network is the float32 one up to int8 rounding
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        a, b = net(x)[0], again(x)[0]
    assert torch.allclose(a, b, atol=0.05 * float(a.abs().max()))


def test_forward_from_a_cached_stem_equals_the_whole_network():
    net = FoodNet(fold_batch_norm(random_mobilenet().features), torch.nn.Linear(1280, 11), 0.0).eval()
    x = torch.randn(1, 3, 160, 160)
    with torch.no_grad():
        whole = net(x)
        part = net.forward_from(net.features[:7](x), 7)
    for a, b in zip(whole, part):
        assert torch.allclose(a, b, atol=1e-5)


def test_sampling_balances_classes_sources_and_negatives():
    labels = np.array([0] * 10 + [0] * 30 + [1] * 5 + [-1] * 20)
    sources = np.array([0] * 10 + [1] * 30 + [0] * 5 + [-1] * 20)
    w = sampling_weights(labels, sources, extra_share=0.4, not_food_share=0.1)
    assert w.sum() == pytest.approx(1.0)
    assert w[labels == -1].sum() == pytest.approx(0.1)
    assert w[labels == 0].sum() == pytest.approx(w[labels == 1].sum())
    class0 = w[labels == 0].sum()
    assert w[(labels == 0) & (sources == 1)].sum() == pytest.approx(0.4 * class0)


def test_one_class_can_have_its_own_extra_share():
    labels = np.array([0] * 10 + [0] * 30 + [1] * 10 + [1] * 30)
    sources = np.array([0] * 10 + [1] * 30 + [0] * 10 + [1] * 30)
    w = sampling_weights(labels, sources, extra_share=0.4, not_food_share=0.0, class_extra_share={1: 0.1})
    assert w[(labels == 0) & (sources == 1)].sum() == pytest.approx(0.4 * 0.5)
    assert w[(labels == 1) & (sources == 1)].sum() == pytest.approx(0.1 * 0.5)


def test_one_class_can_be_drawn_more_often():
    labels = np.array([0] * 10 + [1] * 40 + [2] * 5 + [-1] * 20)
    sources = np.array([0] * 75)
    w = sampling_weights(labels, sources, extra_share=0.4, not_food_share=0.1, class_draws={2: 1.5})
    assert w.sum() == pytest.approx(1.0)
    assert w[labels == -1].sum() == pytest.approx(0.1)
    assert w[labels == 0].sum() == pytest.approx(w[labels == 1].sum())
    assert w[labels == 2].sum() == pytest.approx(1.5 * w[labels == 0].sum())


def test_a_class_factor_is_positive_and_bounded():
    assert class_factor("Seafood=1.5") == (LABELS.index("Seafood"), 1.5)
    for bad in ("Seafood=0", "Seafood=x", "Seafood=11", "Fish=2"):
        with pytest.raises(argparse.ArgumentTypeError):
            class_factor(bad)


def test_a_class_share_names_a_known_label_and_a_share_in_range():
    assert class_share("Seafood=0.1") == (LABELS.index("Seafood"), 0.1)
    assert class_share("Vegetable/Fruit=0.3") == (LABELS.index("Vegetable/Fruit"), 0.3)
    for bad in ("Fish=0.1", "Seafood", "Seafood=1.5"):
        with pytest.raises(argparse.ArgumentTypeError):
            class_share(bad)


def test_threshold_flags_at_most_the_asked_share_and_never_below_half():
    scores = np.linspace(0, 1, 1001)
    t = pick_threshold(scores, 0.02)
    assert (scores >= t).mean() <= 0.021
    assert pick_threshold(np.zeros(100), 0.02) == 0.5


def test_the_evaluation_resize_is_the_best_on_validation_and_a_tie_goes_to_the_lower_loss():
    assert pick_eval_resize({224: 0.97, 240: 0.98, 256: 0.96}) == 240
    assert pick_eval_resize({256: 0.98, 224: 0.97, 240: 0.98}) == 240
    assert pick_eval_resize({224: 0.5}) == 224
    ties = {224: 0.98, 240: 0.98, 256: 0.98}
    assert pick_eval_resize(ties, {224: 0.20, 240: 0.17, 256: 0.16}) == 256
    assert pick_eval_resize(ties, {224: 0.20, 240: 0.15, 256: 0.16}) == 240


def test_evaluation_resizes_are_parsed_and_none_may_be_smaller_than_the_crop():
    args = parse_args(["--data", "d", "--out", "o", "--eval-resize", "256, 224,256"])
    assert args.eval_resize == [224, 256]
    for bad in ("200,256", "big", ""):
        with pytest.raises(SystemExit):
            parse_args(["--data", "d", "--out", "o", "--eval-resize", bad])


def test_flagged_photos_count_as_wrong():
    labels = np.array([0, 1, 1])
    probs = np.array([[0.9, 0.1] + [0] * 9, [0.2, 0.8] + [0] * 9, [0.1, 0.9] + [0] * 9])
    m = food_metrics(labels, probs, np.array([0.1, 0.9, 0.2]), 0.5)
    assert m["argmax_accuracy"] == 1.0
    assert m["test_accuracy"] == pytest.approx(2 / 3)
    assert m["not_food"] == 1
    assert m["per_class_accuracy"]["Dairy product"] == 0.5


def test_distillation_pulls_only_the_teachers_photos_towards_the_teacher():
    torch.manual_seed(0)
    logits = torch.randn(4, 11, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 3])
    teacher = torch.randn(4, 11)
    none = torch.zeros(4, dtype=torch.bool)
    plain = torch.nn.functional.cross_entropy(logits, labels, label_smoothing=0.1)
    # Without a teacher, or with no photo of its domain, the loss is the plain cross-entropy.
    assert torch.allclose(food_objective(logits, labels, None, none, 0.5, 2.0, 0.1), plain)
    assert torch.allclose(food_objective(logits, labels, teacher, none, 0.5, 2.0, 0.1), plain)
    # A student that already answers like the teacher pays only the label half.
    everyone = torch.ones(4, dtype=torch.bool)
    same = food_objective(teacher, labels, teacher, everyone, 0.5, 2.0, 0.1)
    assert torch.allclose(same, 0.5 * torch.nn.functional.cross_entropy(teacher, labels, label_smoothing=0.1))
    # The teacher changes the pull on the distilled photos only.
    first = torch.tensor([True, False, False, False])
    taught = torch.autograd.grad(food_objective(logits, labels, teacher, first, 1.0, 2.0, 0.1), logits)[0]
    labelled = torch.autograd.grad(food_objective(logits, labels, None, first, 1.0, 2.0, 0.1), logits)[0]
    assert not torch.allclose(taught[0], labelled[0])
    assert torch.allclose(taught[1:], labelled[1:])


def test_a_warm_start_shares_the_teachers_stem(tmp_path):
    base = random_mobilenet()
    net = FoodNet(fold_batch_norm(base.features), torch.nn.Linear(1280, 11), 0.2).eval()
    path = tmp_path / "m.onnx"
    export_onnx(net, path)
    student, teacher = from_onnx(path, 0.2), from_onnx(path, 0.0)
    assert shares_stem(student, teacher, 7)
    with torch.no_grad():
        teacher.features[3].conv[0][0].weight.add_(1.0)
    assert not shares_stem(student, teacher, 7)


def test_several_teachers_give_their_mean_logits(tmp_path):
    from types import SimpleNamespace

    from PIL import Image

    from training.train import cache_stem

    net = FoodNet(fold_batch_norm(random_mobilenet().features), torch.nn.Linear(1280, 11), 0.0).eval()
    shifted = FoodNet(fold_batch_norm(random_mobilenet().features), torch.nn.Linear(1280, 11), 0.0).eval()
    shifted.load_state_dict(net.state_dict())
    with torch.no_grad():
        shifted.food.bias.add_(torch.arange(11.0))
    paths = []
    for i, colour in enumerate(["red", "green"]):
        paths.append(tmp_path / f"{i}.png")
        Image.new("RGB", (80, 60), colour).save(paths[-1])
    args = SimpleNamespace(frozen_blocks=7, train_size=64, views=2, workers=0, crop_scale_min=0.3,
                           grayscale=0.05, erasing=0.25)
    counts = np.array([2, 3])
    taught = {}
    for name, teachers in {"one": [net], "two": [net, shifted]}.items():
        torch.manual_seed(1)  # the same augmented views for both calls
        cache, taught[name] = cache_stem(net, paths, counts, args, "cpu", teachers)
    assert cache.shape[0] == 5 and taught["one"].shape == (5, 11)
    assert torch.allclose(taught["two"], taught["one"] + torch.arange(11.0) / 2, atol=1e-4)
    torch.manual_seed(1)
    _, none = cache_stem(net, paths, counts, args, "cpu", [])
    assert none is None


def test_the_cache_holds_each_photos_views_after_the_previous_photos(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from PIL import Image
    from torchvision import transforms

    import training.train
    from training.train import cache_stem, first_views

    # Views without augmentation: every view of a photo is the same.
    monkeypatch.setattr(training.train, "train_transform",
                        lambda args: transforms.Compose([transforms.Resize((32, 32)), transforms.ToTensor()]))
    net = FoodNet(fold_batch_norm(random_mobilenet().features), torch.nn.Linear(1280, 11), 0.0).eval()
    paths = []
    noise = np.random.default_rng(0)
    for i in range(3):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(noise.integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(paths[-1])
    args = SimpleNamespace(frozen_blocks=3, train_size=32, views=1, workers=0)
    counts = np.array([1, 3, 2])
    cache, _ = cache_stem(net, paths, counts, args, "cpu", [])
    first = first_views(counts)
    assert first.tolist() == [0, 1, 4] and cache.shape[0] == 6
    with torch.no_grad():
        for i, path in enumerate(paths):
            alone = net.features[:3](training.train.train_transform(args)(Image.open(path))[None])
            views = cache[first[i]: first[i] + counts[i]].float()
            assert torch.allclose(views, alone.expand_as(views), atol=2e-3)
            assert not torch.allclose(views, alone.roll(1, dims=-1).expand_as(views), atol=2e-3)


def test_photos_drawn_more_often_get_more_cached_views():
    from training.train import views_per_photo

    weights = np.array([1.0, 1.0, 1.0, 2.0, 3.0, 10.0, 0.2, 0.0])
    assert views_per_photo(weights, 4, 4).tolist() == [4] * 8  # off
    assert views_per_photo(weights, 4, 10).tolist() == [4, 4, 4, 8, 10, 10, 4, 4]


def test_the_running_average_ramps_up_then_follows_slowly():
    from training.train import ema_update

    param = torch.zeros(3)
    average = [param.clone()]
    param += 1.0
    ema_update(average, [param], 0.99, 0)  # first step: keep 1/10 of the old value
    assert torch.allclose(average[0], torch.full((3,), 0.9))
    for step in range(1, 2000):
        ema_update(average, [param], 0.99, step)
    assert torch.allclose(average[0], param, atol=1e-4)
    param -= 1.0
    ema_update(average, [param], 0.99, 2000)  # late steps move it by 1 - decay only
    assert torch.allclose(average[0], torch.full((3,), 0.99), atol=1e-4)


def test_batch_loss_is_the_not_food_loss_plus_the_food_objective_on_food_rows():
    from types import SimpleNamespace

    from training.train import batch_loss

    torch.manual_seed(0)
    food, not_food = torch.randn(4, 11), torch.randn(4, 1)
    labels = torch.tensor([3, -1, 0, 7])
    teacher, distilled = torch.randn(4, 11), torch.tensor([True, False, False, True])
    args = SimpleNamespace(not_food_weight=2.0, distill_weight=0.5, distill_temperature=2.0, label_smoothing=0.1,
                           distill_only_right=False)
    expected = 2.0 * torch.nn.functional.binary_cross_entropy_with_logits(
        not_food.squeeze(1), torch.tensor([0.0, 1.0, 0.0, 0.0]))
    rows = labels >= 0
    expected = expected + food_objective(food[rows], labels[rows], teacher[rows], distilled[rows], 0.5, 2.0, 0.1)
    assert torch.allclose(batch_loss(food, not_food, labels, teacher, distilled, args), expected)


def test_distilling_only_where_the_teacher_is_right_leaves_its_wrong_views_to_their_labels():
    from types import SimpleNamespace

    from training.train import batch_loss

    torch.manual_seed(0)
    food, not_food = torch.randn(4, 11), torch.randn(4, 1)
    labels = torch.tensor([3, 5, 0, 8])
    teacher = torch.randn(4, 11)
    teacher[0, 3] = teacher[2, 0] = 10.0  # right on rows 0 and 2; rows 1 and 3 go elsewhere
    teacher[1, 8] = teacher[3, 5] = 10.0
    distilled = torch.tensor([True, True, False, True])
    args = SimpleNamespace(not_food_weight=1.0, distill_weight=0.5, distill_temperature=2.0, label_smoothing=0.1,
                           distill_only_right=True)
    plain = SimpleNamespace(**{**vars(args), "distill_only_right": False})
    right = torch.tensor([True, False, False, False])  # distilled and right
    expected = batch_loss(food, not_food, labels, teacher, right, plain)
    assert torch.allclose(batch_loss(food, not_food, labels, teacher, distilled, args), expected)
    assert not torch.allclose(batch_loss(food, not_food, labels, teacher, distilled, plain), expected)


def test_mixup_pairs_lead_with_the_own_photo_and_permute_the_batch():
    from training.train import mixup_pairs

    rng = np.random.default_rng(0)
    for _ in range(50):
        lam, partner = mixup_pairs(8, 0.2, rng, "cpu")
        assert 0.5 <= lam <= 1.0
        assert sorted(partner.tolist()) == list(range(8))


def test_average_weights_is_the_mean_of_every_weight_and_a_single_net_is_unchanged():
    def net(seed):
        torch.manual_seed(seed)
        return FoodNet(fold_batch_norm(models.mobilenet_v2(weights=None).features), torch.nn.Linear(1280, 11), 0.2)

    a, b = net(1), net(2)
    expected = {k: (v + b.state_dict()[k]) / 2 for k, v in a.state_dict().items()}
    before = {k: v.clone() for k, v in b.state_dict().items()}
    soup = average_weights([a, b])
    for name, value in soup.state_dict().items():
        torch.testing.assert_close(value, expected[name])
    for name, value in b.state_dict().items():
        torch.testing.assert_close(value, before[name])  # the other ingredients are left alone
    alone = net(3)
    kept = {k: v.clone() for k, v in alone.state_dict().items()}
    for name, value in average_weights([alone]).state_dict().items():
        torch.testing.assert_close(value, kept[name])


def test_soup_must_count_at_least_one_run():
    with pytest.raises(SystemExit):
        parse_args(["--data", "d", "--out", "o", "--soup", "0"])
    assert parse_args(["--data", "d", "--out", "o"]).soup == 1


def test_cutmix_box_stays_on_the_grid_and_its_weight_is_the_area_left():
    from training.train import cutmix_box
    rng = np.random.default_rng(0)
    for _ in range(200):
        lam, rows, cols = cutmix_box(14, 14, 1.0, rng)
        assert 0 <= rows.start <= rows.stop <= 14 and 0 <= cols.start <= cols.stop <= 14
        area = (rows.stop - rows.start) * (cols.stop - cols.start)
        assert lam == pytest.approx(1.0 - area / 196)
        assert 0.0 <= lam <= 1.0


def test_mixup_and_cutmix_are_not_both_taken():
    from training.train import parse_args
    with pytest.raises(SystemExit):
        parse_args(["--data", "d", "--out", "o", "--mixup", "0.2", "--cutmix", "1.0"])
