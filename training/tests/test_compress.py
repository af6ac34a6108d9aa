"""Weight compression: the stored weights come back within their rounding step, and a tiny graph
computes what it computed in float32 (onnx's reference evaluator; no torch needed)."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from training.compress import (compress, compress_file, constant_values, dequantize, main, quantize_per_channel,
                               weight_axes)


def tiny_model(seed: int = 0) -> onnx.ModelProto:
    """image 1x3x8x8 -> Conv 4x3x3x3 (+bias) -> depthwise Conv 4x1x3x3 -> Flatten -> Gemm (5x256, transB)
    and a second Gemm (256x2, not transposed): the weight layouts the shipped model has, plus one."""
    rng = np.random.default_rng(seed)
    conv = rng.normal(0, 0.5, (4, 3, 3, 3)).astype(np.float32)
    conv[2] *= 1e-3  # a channel far smaller than the others: per-channel scales must keep it
    dw = rng.normal(0, 0.5, (4, 1, 3, 3)).astype(np.float32)
    dw[3] = 0.0  # an all-zero channel
    inits = [
        numpy_helper.from_array(conv, "conv.weight"),
        numpy_helper.from_array(rng.normal(0, 0.1, 4).astype(np.float32), "conv.bias"),
        numpy_helper.from_array(dw, "dw.weight"),
        numpy_helper.from_array(rng.normal(0, 0.1, (5, 256)).astype(np.float32), "head.weight"),
        numpy_helper.from_array(rng.normal(0, 0.1, 5).astype(np.float32), "head.bias"),
        numpy_helper.from_array(rng.normal(0, 0.1, (256, 2)).astype(np.float32), "side.weight"),
        numpy_helper.from_array(rng.normal(0, 0.1, 2).astype(np.float32), "side.bias"),
    ]
    nodes = [
        helper.make_node("Conv", ["image", "conv.weight", "conv.bias"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "dw.weight"], ["c2"], pads=[1, 1, 1, 1], group=4),
        helper.make_node("Flatten", ["c2"], ["f"]),
        helper.make_node("Gemm", ["f", "head.weight", "head.bias"], ["logits"], transB=1),
        helper.make_node("Gemm", ["f", "side.weight", "side.bias"], ["side"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 5]),
         helper.make_tensor_value_info("side", TensorProto.FLOAT, [1, 2])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    return model


def originals(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def with_weights(model: onnx.ModelProto, values: dict[str, np.ndarray]) -> onnx.ModelProto:
    """model with some float32 initializers replaced by other values."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    for t in out.graph.initializer:
        if t.name in values:
            t.CopyFrom(numpy_helper.from_array(values[t.name].astype(np.float32), t.name))
    return out


def evaluated(model: onnx.ModelProto, names: list[str], image: np.ndarray) -> list[np.ndarray]:
    """Values of named results (graph outputs or the rebuilt weights) under the reference evaluator."""
    return ReferenceEvaluator(model).run(names, {"image": image})


def test_weight_axes_are_the_output_channels():
    assert weight_axes(tiny_model().graph) == {"conv.weight": 0, "dw.weight": 0, "head.weight": 0, "side.weight": 1}


def test_quantize_per_channel_is_within_half_a_step():
    w = np.random.default_rng(1).normal(0, 1, (6, 3, 3, 3)).astype(np.float32) * np.array([1, 10, 1e-3, 1, 0, 5], np.float32)[:, None, None, None]
    q, scale = quantize_per_channel(w, 0)
    assert q.dtype == np.int8 and scale.dtype == np.float32 and scale.shape == (6,)
    assert np.abs(q).max() <= 127
    back = dequantize(q, scale, 0)
    step = scale[:, None, None, None]
    assert np.all(np.abs(back - w) <= step / 2 * (1 + 1e-5))
    assert np.all(back[4] == 0)  # all-zero channel, no NaN
    # each channel uses its full range, whatever its magnitude
    assert all(np.abs(q[c]).max() == 127 for c in (0, 1, 2, 3, 5))


@pytest.mark.parametrize("form", ["cast-mul", "dequantize"])
def test_int8_weights_round_trip_through_the_graph(form):
    model = tiny_model()
    small = compress(model, "int8", int8_form=form)
    types = {t.name: t.data_type for t in small.graph.initializer}
    assert types["conv.bias"] == TensorProto.FLOAT and types["head.bias"] == TensorProto.FLOAT  # biases stay f32
    assert "conv.weight" not in types and types["conv.weight_int8"] == TensorProto.INT8
    if form == "dequantize":
        # onnx's reference evaluator implements DequantizeLinear from opset 19 only; per-axis int8
        # means the same in 13 and 19, and every other op here is unchanged between them
        small.opset_import[0].version = 19
    image = np.random.default_rng(1).normal(0, 1, (1, 3, 8, 8)).astype(np.float32)
    want = originals(model)
    weights = ["conv.weight", "dw.weight", "head.weight", "side.weight"]
    got = evaluated(small, weights, image)
    for name, axis, value in zip(weights, (0, 0, 0, 1), got):
        assert value.dtype == np.float32 and value.shape == want[name].shape
        _, scale = quantize_per_channel(want[name], axis)
        shape = [1] * value.ndim
        shape[axis] = -1
        assert np.all(np.abs(value - want[name]) <= scale.reshape(shape) / 2 * (1 + 1e-5)), name
    # the tiny channel is kept to its own precision, not the largest channel's
    assert np.abs(got[0][2] - want["conv.weight"][2]).max() < 1e-5
    # the graph computes exactly the float32 network with the rounded weights...
    rounded = {n: dequantize(*quantize_per_channel(want[n], a), a) for n, a in zip(weights, (0, 0, 0, 1))}
    expected = evaluated(with_weights(model, rounded), ["logits", "side"], image)
    out = evaluated(small, ["logits", "side"], image)
    for a, b in zip(expected, out):
        assert np.allclose(a, b, atol=1e-5, rtol=1e-5)
    # ...which is close to the original one (int8 noise through 256 random inputs: a few percent)
    for a, b in zip(evaluated(model, ["logits", "side"], image), out):
        assert np.abs(a - b).max() <= 0.05 * np.abs(a).max()


def test_f16_weights_round_trip_through_the_graph():
    model = tiny_model()
    small = compress(model, "f16")
    types = {t.name: t.data_type for t in small.graph.initializer}
    assert types["head.weight_f16"] == TensorProto.FLOAT16 and types["head.bias"] == TensorProto.FLOAT
    image = np.random.default_rng(1).normal(0, 1, (1, 3, 8, 8)).astype(np.float32)
    want = originals(model)
    for name, value in zip(["conv.weight", "head.weight"], evaluated(small, ["conv.weight", "head.weight"], image)):
        assert value.dtype == np.float32
        assert np.array_equal(value, want[name].astype(np.float16).astype(np.float32))
    for a, b in zip(evaluated(model, ["logits", "side"], image), evaluated(small, ["logits", "side"], image)):
        assert np.allclose(a, b, atol=1e-3, rtol=1e-3)


@pytest.mark.parametrize("weights,form", [("int8", "cast-mul"), ("int8", "dequantize"), ("f16", "cast-mul")])
def test_constant_values_gives_back_the_weights_the_graph_computes(weights, form):
    """What a warm start reads from a compressed model: the float32 weights, by their old names."""
    model = tiny_model()
    small = compress(model, weights, int8_form=form)
    values = constant_values(small.graph)
    evaluator_model = onnx.ModelProto()
    evaluator_model.CopyFrom(small)
    if form == "dequantize":
        evaluator_model.opset_import[0].version = 19  # see the round-trip test above
    names = ["conv.weight", "dw.weight", "head.weight", "side.weight"]
    image = np.zeros((1, 3, 8, 8), np.float32)
    for name, want in zip(names, evaluated(evaluator_model, names, image)):
        assert values[name].dtype == np.float32 and values[name].shape == want.shape
        assert np.allclose(values[name], want, atol=1e-7), name
    assert np.array_equal(values["conv.bias"], originals(model)["conv.bias"])
    # an uncompressed model: just its initializers
    assert set(constant_values(model.graph)) == set(originals(model))


def test_keep_below_leaves_small_tensors_float32():
    small = compress(tiny_model(), "int8", keep_below=100)  # conv 108 and the Gemms converted; dw (36) kept
    types = {t.name: t.data_type for t in small.graph.initializer}
    assert types["dw.weight"] == TensorProto.FLOAT and types["conv.weight_int8"] == TensorProto.INT8


def test_cli_writes_a_smaller_valid_model(tmp_path):
    src = tmp_path / "m.onnx"
    onnx.save(tiny_model(), str(src))
    sizes = {}
    for weights in ("f16", "int8"):
        dst = tmp_path / weights / "m.onnx"
        assert main([str(src), str(dst), "--weights", weights]) == 0
        onnx.checker.check_model(onnx.load(str(dst)))
        sizes[weights] = dst.stat().st_size
    assert sizes["int8"] < sizes["f16"] < src.stat().st_size
    with pytest.raises(SystemExit):
        main([str(src), str(src), "--weights", "f16"])


def test_unknown_format_is_refused(tmp_path):
    with pytest.raises(ValueError):
        compress(tiny_model(), "int4")
    with pytest.raises(ValueError):
        compress_file(tmp_path / "missing.onnx", tmp_path / "out.onnx", "bf16")
