"""The network the product ships: MobileNetV2 with batch norm folded into the convolutions, a food
head (11 logits) and a not-food head (one logit) on the same pooled features.

Folding batch norm makes the trained graph the one the engine runs (Conv with bias, no BN), lets a
run warm-start from an exported ONNX model exactly, and keeps small-batch CPU training free of
noisy batch statistics.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from torchvision import models

from training.data import LABELS

FEATURES = 1280  # MobileNetV2 1.0's pooled feature width


class FoodNet(nn.Module):
    """``features`` (19 MobileNetV2 blocks, BN folded) -> global average pool -> two linear heads."""

    def __init__(self, features: nn.Sequential, food: nn.Linear, dropout: float):
        super().__init__()
        self.features = features
        self.dropout = nn.Dropout(dropout)
        self.food = food
        self.not_food = nn.Linear(FEATURES, 1)
        nn.init.zeros_(self.not_food.weight)
        nn.init.zeros_(self.not_food.bias)

    def heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = torch.flatten(nn.functional.adaptive_avg_pool2d(x, (1, 1)), 1)
        pooled = self.dropout(pooled)
        return self.food(pooled), self.not_food(pooled)

    def forward_from(self, x: torch.Tensor, start: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Runs blocks ``start..`` on activations of block ``start - 1`` (a cached frozen stem)."""
        return self.heads(self.features[start:](x))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.heads(self.features(x))


def fold_batch_norm(module: nn.Module) -> nn.Module:
    """Folds every Conv2d -> BatchNorm2d pair (in eval-mode statistics) into one Conv2d with bias."""
    for child in module.children():
        fold_batch_norm(child)
    if isinstance(module, nn.Sequential):
        items = list(module)
        for i in range(len(items) - 1):
            conv, bn = items[i], items[i + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
                bias = bn.bias.detach() - bn.running_mean * scale
                if conv.bias is not None:
                    bias = bias + conv.bias.detach() * scale
                conv.weight = nn.Parameter(conv.weight.detach() * scale.reshape(-1, 1, 1, 1))
                conv.bias = nn.Parameter(bias)
                module[i + 1] = nn.Identity()
    return module


def from_imagenet(weights_path: Path, dropout: float) -> FoodNet:
    """torchvision's ImageNet MobileNetV2, BN folded, with fresh heads."""
    base = models.mobilenet_v2(weights=None)
    base.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
    base.eval()
    features = fold_batch_norm(base.features)
    return FoodNet(features, nn.Linear(base.last_channel, len(LABELS)), dropout)


def from_onnx(onnx_path: Path, dropout: float) -> FoodNet:
    """Warm start from an exported food model (Conv+bias graph, Gemm head): exact weights copy
    (of the weights as the engine computes them, for a model with compressed weights).

    The not-food head starts at zero when the ONNX has none.
    """
    import onnx

    from training.compress import constant_values

    graph = onnx.load(str(onnx_path)).graph
    init = constant_values(graph)  # float32 even when the file stores its weights as int8 or float16
    convs = [n for n in graph.node if n.op_type == "Conv"]
    gemms = [n for n in graph.node if n.op_type == "Gemm"]

    base = models.mobilenet_v2(weights=None).eval()
    features = fold_batch_norm(base.features)
    targets = [m for m in features.modules() if isinstance(m, nn.Conv2d)]
    if len(targets) != len(convs):
        raise ValueError(f"{onnx_path}: {len(convs)} Conv nodes, MobileNetV2 has {len(targets)}")
    with torch.no_grad():
        for conv, node in zip(targets, convs):
            w = init[node.input[1]]
            if tuple(w.shape) != tuple(conv.weight.shape):
                raise ValueError(f"{onnx_path}: Conv {node.name} is {w.shape}, expected {tuple(conv.weight.shape)}")
            conv.weight.copy_(torch.from_numpy(w.copy()))
            b = init[node.input[2]] if len(node.input) > 2 else np.zeros(w.shape[0], np.float32)
            conv.bias.copy_(torch.from_numpy(b.copy()))
    net = FoodNet(features, nn.Linear(base.last_channel, len(LABELS)), dropout)
    heads = {"logits": net.food, "not_food": net.not_food}
    for node in gemms:
        target = heads.get(node.output[0])
        if target is None:
            raise ValueError(f"{onnx_path}: Gemm {node.name} feeds no known output ({node.output[0]})")
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        w = init[node.input[1]]
        w = w if trans_b else w.T
        with torch.no_grad():
            target.weight.copy_(torch.from_numpy(np.array(w, dtype=np.float32, copy=True)))
            target.bias.copy_(torch.from_numpy(init[node.input[2]].copy()))
    return net


@torch.no_grad()
def average_weights(nets: list[FoodNet]) -> FoodNet:
    """A uniform weight soup: the first network with every parameter and buffer set to the mean over
    ``nets``. Runs fine-tuned from one start with different seeds stay close enough in weight space
    for their average to beat each of them, at one network's inference cost."""
    soup = nets[0]
    states = [n.state_dict() for n in nets]
    for name, value in soup.state_dict().items():
        if value.is_floating_point():
            value.copy_(torch.stack([state[name].to(value.device) for state in states]).mean(0))
    return soup
