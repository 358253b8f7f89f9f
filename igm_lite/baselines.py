"""Discriminative baselines, trained in the same loop (``igm_lite.train``) on the same data and budget.

``AttributeClassifier`` is the paper's CelebA baseline: a ResNet (transformers' ``ResNetModel``, no
torchvision) with one logit per binary attribute, trained with binary cross-entropy,

    L(phi) = E_{x, y} sum_a BCE(f_phi(x)_a, y_a),                                        (classifier loss)

and read out by thresholding each logit at 0. It is the model IGM is compared against out of
distribution: right on the group it was trained on, and unguarded against the group it never saw.
"""
from __future__ import annotations

import torch
from torch import nn
from transformers import ResNetConfig, ResNetModel

from .data.base import Batch
from .io import ModelFolder


class AttributeClassifier(ModelFolder, nn.Module):
    """A ResNet with a linear head: images (B, C, H, W) -> logits (B, num_attributes).

    Args:
        num_attributes: binary attributes predicted.
        in_channels: image channels.
        embedding_size, hidden_sizes, depths, layer_type: ``transformers.ResNetConfig`` (the defaults
            make a small ResNet for 32-64 px images; ResNet-50 is ``hidden_sizes=(256, 512, 1024, 2048)``,
            ``depths=(3, 4, 6, 3)``, ``layer_type="bottleneck"``, ``embedding_size=64``).
    """

    def __init__(self, num_attributes: int = 3, in_channels: int = 3, embedding_size: int = 32,
                 hidden_sizes=(32, 64, 128), depths=(1, 1, 1), layer_type: str = "basic"):
        super().__init__()
        if len(hidden_sizes) != len(depths):
            raise ValueError(f"hidden_sizes and depths need one entry per stage, got {hidden_sizes} and {depths}")
        self.config = dict(num_attributes=num_attributes, in_channels=in_channels, embedding_size=embedding_size,
                           hidden_sizes=list(hidden_sizes), depths=list(depths), layer_type=layer_type)
        self.resnet = ResNetModel(ResNetConfig(num_channels=in_channels, embedding_size=embedding_size,
                                               hidden_sizes=list(hidden_sizes), depths=list(depths), layer_type=layer_type))
        self.head = nn.Linear(hidden_sizes[-1], num_attributes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.config["in_channels"]:
            raise ValueError(f"expected images (B, {self.config['in_channels']}, H, W), got {tuple(x.shape)}")
        return self.head(self.resnet(x).pooler_output.flatten(1))

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Attributes (B, num_attributes) in {0, 1}."""
        return (self(x) > 0).long()


class ClassifierLoss:
    """(classifier loss) on a ``Batch`` whose ``meta["attrs"]`` holds the labels (B, A) in {0, 1}."""

    def __call__(self, model, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        logits = model(batch.x)
        return nn.functional.binary_cross_entropy_with_logits(logits.float(), batch.meta["attrs"].to(logits.device).float())
