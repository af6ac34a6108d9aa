"""A smaller model file with the same answers: store the weights as float16 or per-channel int8.

    python -m training.compress models/food11-mobilenetv2.onnx /tmp/f16/food11-mobilenetv2.onnx --weights f16
    python -m training.compress models/food11-mobilenetv2.onnx /tmp/i8/food11-mobilenetv2.onnx --weights int8

Only the file changes: the graph still computes in float32. Each weight tensor (the weight input
of a Conv, ConvTranspose, Gemm or MatMul) is stored small and turned back into float32 by a node
in front of its consumers. Every input of those nodes is a constant, so an engine that folds
constants (tract does, in `into_optimized`) computes the float32 weights once at load and then
runs exactly the network it ran before; only the weights' values differ, by the rounding below.
Biases and every other tensor stay float32 (they are a fraction of a percent of the bytes).

- ``f16``: FLOAT16 initializer -> ``Cast(to=FLOAT)``. Relative error <= 2^-11 per weight.
- ``int8``: symmetric per-output-channel int8: ``scale[c] = max|w[c]| / 127``,
  ``q = round(w / scale)``, so every weight is within ``scale[c] / 2`` of the original.
  Two spellings of the same arithmetic (``--int8-form``):
    - ``cast-mul`` (default): INT8 initializer, stored flattened around the channel axis
      (``[C, K]`` for a Conv weight) -> ``Cast(to=FLOAT)`` -> ``Mul`` by a float32 ``[C, 1]``
      scale -> ``Reshape`` to the weight's shape. Only core ops, so every engine reads it the
      same way, and the flat layout keeps tract's constant folding fast (see the note below).
    - ``dequantize``: ``DequantizeLinear(q, scale[C], zero_point[C], axis=channel)``, the ONNX
      spelling of per-axis dequantization (opset >= 13). tract-onnx 0.23.9 (this project's pin)
      reads per-axis scales (it wires the same Cast, Sub, Mul itself), but tract-onnx 0.23.5 and
      earlier read only ``scale[0]`` and ignore ``axis`` (``onnx/src/ops/quant.rs``), which gives
      every channel the first channel's scale: wrong answers, no error. Hence ``cast-mul`` by
      default; ``dequantize`` is for engines that want the standard op.

Load time: tract folds a broadcasting Mul with ndarray's generic loop, which is slow when the
innermost axis is short; multiplying ``[C, I, 1, 1]`` by ``[C, 1, 1, 1]`` for every weight of
MobileNetV2 added ~110 ms to the native load (~230 ms with ``dequantize``, which tract expands to
Cast, Sub and Mul on the 4-D weight). Flattened to ``[C, K]`` the same Mul folds in a few ms.

Tensors with fewer than ``--keep-below`` elements stay float32 (the stem convolution and the
first depthwise convolutions are a few hundred weights each). A weight that is also a graph input,
or that feeds nodes wanting different channel axes, is left alone.

Size: the file shrinks to ~1/2 (f16) or ~1/4 (int8) of the float32 weights' bytes.
``--report`` prints raw and brotli sizes (brotli only when the ``brotli`` package is installed).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

WEIGHT_FORMATS = ("f16", "int8")
INT8_FORMS = ("cast-mul", "dequantize")
INT8_MAX = 127  # symmetric range [-127, 127]: -128 unused so that the grid is symmetric about 0
F16_MAX = float(np.finfo(np.float16).max)


def weight_axes(graph: onnx.GraphProto) -> dict[str, int]:
    """Float32 initializers that are the weight input of a Conv/ConvTranspose/Gemm/MatMul, each
    with the axis of its output channels (the axis per-channel scales run along)."""
    floats = {t.name: t for t in graph.initializer if t.data_type == TensorProto.FLOAT}
    graph_inputs = {i.name for i in graph.input}
    axes: dict[str, set[int]] = {}
    for node in graph.node:
        if node.op_type not in ("Conv", "ConvTranspose", "Gemm", "MatMul") or len(node.input) < 2:
            continue
        name = node.input[1]
        if name not in floats or name in graph_inputs:
            continue
        rank = len(floats[name].dims)
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Conv":
            axis = 0  # [C_out, C_in / group, kH, kW]
        elif node.op_type == "ConvTranspose":
            if attrs.get("group", 1) != 1:
                continue  # output channels are split across groups on axis 1: not one axis
            axis = 1  # [C_in, C_out, kH, kW]
        elif node.op_type == "Gemm":
            axis = 0 if attrs.get("transB", 0) else 1  # B is [N, K] when transposed, else [K, N]
        else:
            if rank < 2:
                continue
            axis = rank - 1  # MatMul's B is [..., K, N]
        axes.setdefault(name, set()).add(axis)
    # a weight that other (non-weight) inputs also read is fine: they all see the same float32 values
    return {name: a.pop() for name, a in axes.items() if len(a) == 1}


def quantize_per_channel(w: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """(int8 values, float32 scale per channel along axis), symmetric: w ~= q * scale."""
    w = np.asarray(w, dtype=np.float32)
    other = tuple(i for i in range(w.ndim) if i != axis)
    peak = np.abs(w).max(axis=other) if other else np.abs(w)
    scale = (peak / INT8_MAX).astype(np.float32)
    scale[scale == 0] = 1.0  # an all-zero channel: any scale gives zeros back
    q = np.clip(np.rint(w / broadcast(scale, w.ndim, axis)), -INT8_MAX, INT8_MAX).astype(np.int8)
    return q, scale


def dequantize(q: np.ndarray, scale: np.ndarray, axis: int) -> np.ndarray:
    """What the graph computes back from quantize_per_channel's output (float32)."""
    return q.astype(np.float32) * broadcast(scale, q.ndim, axis)


def flat_shape(shape: tuple[int, ...], axis: int) -> tuple[int, ...]:
    """shape collapsed around axis: (C, rest) for axis 0, (rest, C) for the last axis, else
    (before, C, after)."""
    before, after = int(np.prod(shape[:axis])), int(np.prod(shape[axis + 1:]))
    return tuple(d for d, keep in ((before, axis > 0), (shape[axis], True), (after, axis < len(shape) - 1)) if keep)


def broadcast(scale: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    """scale[C] reshaped to broadcast along axis of a rank-ndim tensor ([C,1,1,1] for axis 0 of 4)."""
    shape = [1] * ndim
    shape[axis] = scale.size
    return scale.reshape(shape)


def compress(model: onnx.ModelProto, weights: str, keep_below: int = 0,
             int8_form: str = "cast-mul") -> onnx.ModelProto:
    """A copy of model with its weight tensors stored as `weights` ("f16" or "int8")."""
    if weights not in WEIGHT_FORMATS:
        raise ValueError(f"weights must be one of {WEIGHT_FORMATS}, not {weights!r}")
    if int8_form not in INT8_FORMS:
        raise ValueError(f"int8_form must be one of {INT8_FORMS}, not {int8_form!r}")
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    if weights == "int8" and int8_form == "dequantize" and opset(out) < 13:
        raise ValueError("per-axis DequantizeLinear needs opset >= 13")

    taken = {t.name for t in graph.initializer} | {n for node in graph.node for n in node.output} \
        | {i.name for i in graph.input} | {node.name for node in graph.node}

    def fresh(base: str) -> str:
        name, k = base, 1
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        taken.add(name)
        return name

    axes = weight_axes(graph)
    kept, new_nodes, converted = [], [], 0
    for tensor in graph.initializer:
        axis = axes.get(tensor.name)
        w = numpy_helper.to_array(tensor) if axis is not None else None
        if w is None or w.size < keep_below:
            kept.append(tensor)
            continue
        name = tensor.name
        converted += 1
        if weights == "f16":
            if np.abs(w).max(initial=0.0) > F16_MAX:
                raise ValueError(f"{name}: a weight is beyond float16's range")
            stored = numpy_helper.from_array(w.astype(np.float16), fresh(f"{name}_f16"))
            kept.append(stored)
            new_nodes.append(helper.make_node("Cast", [stored.name], [name], name=fresh(f"{name}_cast"),
                                              to=TensorProto.FLOAT))
            continue
        q, scale = quantize_per_channel(w, axis)
        if int8_form == "dequantize":
            stored = numpy_helper.from_array(q, fresh(f"{name}_int8"))
            s = numpy_helper.from_array(scale, fresh(f"{name}_scale"))
            zp = numpy_helper.from_array(np.zeros(scale.shape, np.int8), fresh(f"{name}_zero_point"))
            kept += [stored, s, zp]
            new_nodes.append(helper.make_node("DequantizeLinear", [stored.name, s.name, zp.name], [name],
                                              name=fresh(f"{name}_dequantize"), axis=axis))
            continue
        # stored flattened around the channel axis ([C, K] for a Conv weight) so that the Mul's
        # broadcast runs along a long contiguous axis: tract folds a Mul whose innermost axis is
        # short (a 1x1 Conv weight is [C, K, 1, 1]) element by element, ~100 ms at load
        flat = flat_shape(w.shape, axis)
        stored = numpy_helper.from_array(q.reshape(flat), fresh(f"{name}_int8"))
        s = numpy_helper.from_array(broadcast(scale, len(flat), 0 if axis == 0 else 1), fresh(f"{name}_scale"))
        kept += [stored, s]
        as_float = fresh(f"{name}_int8_as_float")
        scaled = fresh(f"{name}_scaled") if flat != w.shape else name
        new_nodes.append(helper.make_node("Cast", [stored.name], [as_float], name=fresh(f"{name}_cast"),
                                          to=TensorProto.FLOAT))
        new_nodes.append(helper.make_node("Mul", [as_float, s.name], [scaled], name=fresh(f"{name}_scale_mul")))
        if scaled != name:
            shape = numpy_helper.from_array(np.array(w.shape, np.int64), fresh(f"{name}_shape"))
            kept.append(shape)
            new_nodes.append(helper.make_node("Reshape", [scaled, shape.name], [name], name=fresh(f"{name}_reshape")))

    # the new nodes read only initializers: put them first, the graph stays topologically sorted
    nodes = new_nodes + list(graph.node)
    del graph.initializer[:]
    graph.initializer.extend(kept)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.helper.set_model_props(out, {**{p.key: p.value for p in out.metadata_props},
                                      "weights": describe(weights, int8_form, keep_below),
                                      "weights_converted": str(converted)})
    onnx.checker.check_model(out)
    return out


def constant_values(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """Every initializer, plus the float32 weights the graph computes from stored ones: the values
    a warm start needs, whether the model was compressed by this module or not. Only the ops
    ``compress`` writes are evaluated (Cast, Mul, Reshape, DequantizeLinear on constants)."""
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if not node.input or not all(name in values for name in node.input):
            continue
        args = [values[name] for name in node.input]
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Cast" and attrs.get("to") == TensorProto.FLOAT:
            value = args[0].astype(np.float32)
        elif node.op_type == "Mul":
            value = (args[0] * args[1]).astype(np.float32)
        elif node.op_type == "Reshape":
            value = args[0].reshape(args[1])
        elif node.op_type == "DequantizeLinear":
            axis = attrs.get("axis", 1)
            zero = args[2] if len(args) > 2 else np.zeros_like(args[1])
            shift = broadcast(zero.astype(np.float32), args[0].ndim, axis) if zero.ndim else zero
            scale = broadcast(args[1], args[0].ndim, axis) if args[1].ndim else args[1]
            value = ((args[0].astype(np.float32) - shift) * scale).astype(np.float32)
        else:
            continue
        values[node.output[0]] = value
    return values


def describe(weights: str, int8_form: str, keep_below: int) -> str:
    what = "float16 + Cast" if weights == "f16" else (
        "int8 symmetric per output channel + " + ("Cast*Mul" if int8_form == "cast-mul" else "DequantizeLinear"))
    return what + (f"; tensors under {keep_below} elements kept float32" if keep_below else "")


def opset(model: onnx.ModelProto) -> int:
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)


def sizes(path: Path) -> dict:
    """Raw bytes, and brotli (quality 11) bytes when the brotli package is installed."""
    data = path.read_bytes()
    out = {"raw": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    try:
        import brotli
    except ImportError:
        return out
    out["brotli"] = len(brotli.compress(data, quality=11))
    return out


def compress_file(src: Path, dst: Path, weights: str, keep_below: int = 0, int8_form: str = "cast-mul") -> None:
    if weights not in WEIGHT_FORMATS:
        raise ValueError(f"weights must be one of {WEIGHT_FORMATS}, not {weights!r}")
    model = onnx.load(str(src))
    dst.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(compress(model, weights, keep_below, int8_form), str(dst))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.compress", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", type=Path, help="float32 ONNX model")
    p.add_argument("output", type=Path, help="where to write the compressed ONNX model")
    p.add_argument("--weights", required=True, choices=WEIGHT_FORMATS, help="how to store the weight tensors")
    p.add_argument("--int8-form", default="cast-mul", choices=INT8_FORMS,
                   help="int8 only: Cast+Mul (default; core ops only) or per-axis DequantizeLinear")
    p.add_argument("--keep-below", type=int, default=0, metavar="N",
                   help="keep weight tensors with fewer than N elements float32 (default 0: none kept)")
    p.add_argument("--report", action="store_true", help="print raw and brotli sizes of input and output")
    args = p.parse_args(argv)
    if args.input.resolve() == args.output.resolve():
        raise SystemExit("refusing to overwrite the input model")
    compress_file(args.input, args.output, args.weights, args.keep_below, args.int8_form)
    if args.report:
        for label, path in (("input", args.input), ("output", args.output)):
            s = sizes(path)
            br = f", brotli-11 {s['brotli'] / 1e6:.3f} MB" if "brotli" in s else ""
            print(f"{label}: {path} {s['raw'] / 1e6:.3f} MB{br}, sha256 {s['sha256'][:16]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
