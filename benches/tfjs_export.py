"""The shipped ONNX model as a layer list and float32 weights that TensorFlow.js can run.

TF.js's wasm backend (XNNPACK) is the strongest CPU runtime in browsers; to time it on the same
network as ours, this reads the model file our engine loads, folds its stored-weight chains
(Cast, Mul, Reshape of constants) into float32 weights, lays them out the way TF.js wants them
(NHWC activations: conv filters [h, w, in, out], depthwise filters [h, w, channels, 1], dense
weights [in, out]) and fuses each Conv with the Clip(0, 6) after it. `tfjs-worker.js` builds the
network from the result with TF.js ops. Only the operators MobileNetV2 uses are known; anything
else is refused, so a changed model cannot be timed as a different network.

usage: python benches/tfjs_export.py MODEL.onnx OUT_DIR   (writes network.json and weights.bin)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper


def attrs(node: onnx.NodeProto) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def constants(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """Every tensor known without an input photo: initializers, Constant nodes and the Cast, Mul
    and Reshape nodes over them (how stored int8 weights become float32 at load)."""
    known = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            known[node.output[0]] = numpy_helper.to_array(attrs(node)["value"])
        elif node.op_type in ("Cast", "Mul", "Reshape") and all(i in known for i in node.input):
            a = known[node.input[0]]
            if node.op_type == "Cast":
                known[node.output[0]] = a.astype(onnx.helper.tensor_dtype_to_np_dtype(attrs(node)["to"]))
            elif node.op_type == "Mul":
                known[node.output[0]] = a * known[node.input[1]]
            else:
                known[node.output[0]] = a.reshape(known[node.input[1]])
    return known


def export(model_path: Path, out_dir: Path) -> None:
    graph = onnx.load(str(model_path)).graph
    known = constants(graph)
    blobs: list[np.ndarray] = []
    offset = 0

    def weight(array: np.ndarray) -> dict:
        nonlocal offset
        array = np.ascontiguousarray(array, dtype=np.float32)
        blobs.append(array)
        entry = {"offset": offset, "shape": list(array.shape)}
        offset += array.size
        return entry

    clipped = {}  # a Conv's output -> the Clip node that reads it
    for node in graph.node:
        if node.op_type == "Clip" and node.input[0] not in known:
            low, high = (float(known[i]) for i in node.input[1:3])
            if (low, high) != (0.0, 6.0):
                raise ValueError(f"Clip({low}, {high}) is not ReLU6")
            clipped[node.input[0]] = node
    layers = []
    for node in graph.node:
        if node.output[0] in known or node.op_type == "Clip":
            continue
        a = attrs(node)
        if node.op_type == "Conv":
            w = known[node.input[1]]  # [out, in / groups, h, w]
            groups = a.get("group", 1)
            pads = a.get("pads", [0, 0, 0, 0])
            if len(set(pads)) != 1 or len(set(a.get("strides", [1, 1]))) != 1 or a.get("dilations", [1, 1]) != [1, 1]:
                raise ValueError(f"{node.name}: only square strides and equal padding are exported")
            depthwise = groups > 1
            if depthwise and (groups != w.shape[0] or w.shape[1] != 1):
                raise ValueError(f"{node.name}: grouped convolutions other than depthwise are not exported")
            clip = clipped.get(node.output[0])
            layers.append({
                "op": "depthwise" if depthwise else "conv",
                "input": node.input[0],
                "output": clip.output[0] if clip else node.output[0],
                "filter": weight(w.transpose(2, 3, 0, 1) if depthwise else w.transpose(2, 3, 1, 0)),
                "bias": weight(known[node.input[2]]),
                "stride": a.get("strides", [1, 1])[0],
                "pad": pads[0],
                "relu6": clip is not None,
            })
        elif node.op_type == "Add":
            layers.append({"op": "add", "inputs": list(node.input), "output": node.output[0]})
        elif node.op_type == "GlobalAveragePool":
            layers.append({"op": "mean", "input": node.input[0], "output": node.output[0]})
        elif node.op_type == "Flatten":
            layers.append({"op": "flatten", "input": node.input[0], "output": node.output[0]})
        elif node.op_type == "Gemm":
            if a.get("transB", 0) != 1 or a.get("transA", 0) != 0 or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
                raise ValueError(f"{node.name}: only x @ W^T + b is exported")
            layers.append({
                "op": "dense",
                "input": node.input[0],
                "output": node.output[0],
                "weight": weight(known[node.input[1]].T),
                "bias": weight(known[node.input[2]]),
            })
        else:
            raise ValueError(f"{node.op_type} ({node.name}) is not an operator of this network")

    out_dir.mkdir(parents=True, exist_ok=True)
    np.concatenate([b.ravel() for b in blobs]).astype("<f4").tofile(out_dir / "weights.bin")
    network = {
        "source": model_path.name,
        "input": graph.input[0].name,
        "outputs": [o.name for o in graph.output],
        "layers": layers,
    }
    (out_dir / "network.json").write_text(json.dumps(network, indent=1) + "\n")
    print(f"{len(layers)} layers, {offset} weights -> {out_dir}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    export(Path(sys.argv[1]), Path(sys.argv[2]))
