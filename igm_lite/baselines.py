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

from .checks import check_int, check_sample
from .data.base import Batch
from .io import ModelFolder


class ImageInput:
    """What a baseline takes (``igm_lite.checks``): images (C, size, size) in [-1, 1], float32."""

    data_range = (-1.0, 1.0)

    @property
    def sample_shape(self) -> tuple:
        size = self.config.get("size")
        return (self.config["in_channels"], size, size)

    @property
    def input_dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype


class AttributeClassifier(ImageInput, ModelFolder, nn.Module):
    """A ResNet with a linear head: images (B, C, H, W) -> logits (B, num_attributes).

    Args:
        num_attributes: binary attributes predicted.
        in_channels: image channels.
        embedding_size, hidden_sizes, depths, layer_type: ``transformers.ResNetConfig`` (the defaults
            make a small ResNet for 32-64 px images; ResNet-50 is ``hidden_sizes=(256, 512, 1024, 2048)``,
            ``depths=(3, 4, 6, 3)``, ``layer_type="bottleneck"``, ``embedding_size=64``).
        size: the image side it is trained and used at (None: any; checked at ``forward``).
    """

    def __init__(self, num_attributes: int = 3, in_channels: int = 3, embedding_size: int = 32,
                 hidden_sizes=(32, 64, 128), depths=(1, 1, 1), layer_type: str = "basic", size: int | None = None):
        super().__init__()
        if len(hidden_sizes) != len(depths):
            raise ValueError(f"hidden_sizes and depths need one entry per stage, got {hidden_sizes} and {depths}")
        self.config = dict(num_attributes=num_attributes, in_channels=in_channels, embedding_size=embedding_size,
                           hidden_sizes=list(hidden_sizes), depths=list(depths), layer_type=layer_type,
                           # size stays out of config.json when not given, so older folders load unchanged
                           **({} if size is None else {"size": check_int(size, "size")}))
        self.resnet = ResNetModel(ResNetConfig(num_channels=in_channels, embedding_size=embedding_size,
                                               hidden_sizes=list(hidden_sizes), depths=list(depths), layer_type=layer_type))
        self.head = nn.Linear(hidden_sizes[-1], num_attributes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_sample(x, self, "x", batched=True, values=False)
        return self.head(self.resnet(x).pooler_output.flatten(1))

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Attributes (B, num_attributes) in {0, 1} of images x (B, C, H, W) in [-1, 1]."""
        return (self(check_sample(x, self, "x", batched=True)) > 0).long()


class ClassifierLoss:
    """(classifier loss) on a ``Batch`` whose ``meta["attrs"]`` holds the labels (B, A) in {0, 1}."""

    def __call__(self, model, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        logits = model(batch.x)
        return nn.functional.binary_cross_entropy_with_logits(logits.float(), batch.meta["attrs"].to(logits.device).float())


class SetPredictor(ImageInput, ModelFolder, nn.Module):
    """The object-discovery baselines: images (B, C, H, W) -> ``slots`` predictions (x, y, presence logit).

    ``arch="resnet"``: a ResNet (transformers) whose pooled features a linear layer maps to every slot.
    ``arch="slot"``: Slot Attention (the ``slot-attention`` package's module, Locatello et al. 2020) over
    the features of a small CNN with a learned position embedding, and an MLP per slot: the paper's
    SlotAttn row. Both train with the Hungarian set loss (``SetLoss``) and read out the slots whose
    presence probability exceeds 1/2. Slot Attention draws its initial slots at random: ``predict`` draws them
    for each image from its own generator seeded by ``seed``, so an image's answer does not depend on its batch.
    """

    def __init__(self, arch: str = "resnet", slots: int = 10, in_channels: int = 3, width: int = 32, size: int = 32):
        super().__init__()
        if arch not in ("resnet", "slot"):
            raise ValueError(f"arch must be 'resnet' or 'slot', got {arch!r}")
        self.config = dict(arch=arch, slots=slots, in_channels=in_channels, width=width, size=size)
        if arch == "resnet":
            self.resnet = ResNetModel(ResNetConfig(num_channels=in_channels, embedding_size=width // 2,
                                                   hidden_sizes=[width // 2, width, 2 * width], depths=[1, 1, 1]))
            self.head = nn.Linear(2 * width, slots * 3)
        else:
            from slot_attention import SlotAttention

            conv = lambda i, o: [nn.Conv2d(i, o, 5, padding=2), nn.ReLU()]  # noqa: E731
            self.cnn = nn.Sequential(*conv(in_channels, width), *conv(width, width), *conv(width, width))
            self.pos_embed = nn.Linear(4, width)  # Slot Attention's soft position embedding (x, y, 1-x, 1-y)
            self.mlp = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))
            self.slot_attention = SlotAttention(num_slots=slots, dim=width, iters=3, hidden_dim=2 * width)
            self.head = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 3))

    def forward(self, x: torch.Tensor, seed: int | None = None) -> torch.Tensor:
        """Raw predictions (B, slots, 3): x and y squashed to [0, 1], and a presence logit. ``seed``: see ``slots``."""
        c = self.config
        check_sample(x, self, "x", batched=True, values=False)
        if c["arch"] == "resnet":
            out = self.head(self.resnet(x).pooler_output.flatten(1)).view(-1, c["slots"], 3)
        else:
            out = self.head(self.slots(x, seed))
        return torch.cat([torch.sigmoid(out[..., :2]), out[..., 2:]], -1)

    def slots(self, x: torch.Tensor, seed: int | None = None) -> torch.Tensor:
        """Slot Attention's slots (B, slots, width) for images x. ``seed``: each image's initial slots are drawn
        from the global generator reset to ``seed`` (one image at a time); None: one draw for the batch (training)."""
        h = self.cnn(x)
        B, W, H, Wd = h.shape
        gy, gx = torch.meshgrid(torch.linspace(0, 1, H, device=x.device), torch.linspace(0, 1, Wd, device=x.device), indexing="ij")
        grid = torch.stack([gx, gy, 1 - gx, 1 - gy], -1).view(1, H * Wd, 4)
        tokens = self.mlp(h.flatten(2).transpose(1, 2) + self.pos_embed(grid))
        if seed is None:
            return self.slot_attention(tokens)
        out = []
        for row in tokens.split(1):  # the package draws the initial slots from torch's global generator
            with torch.random.fork_rng(devices=[x.device] if x.device.type == "cuda" else []):
                torch.manual_seed(seed)
                out.append(self.slot_attention(row))
        return torch.cat(out)

    @torch.no_grad()
    def predict(self, x: torch.Tensor, seed: int = 0) -> list[torch.Tensor]:
        """Per image of x (B, C, H, W) in [-1, 1], the positions (K_i, 2) of the slots predicted present; Slot
        Attention's initial slots are drawn per image from ``seed`` (the same answer alone or in any batch)."""
        out = self(check_sample(x, self, "x", batched=True), seed)
        return [o[o[:, 2] > 0, :2] for o in out]


class SetLoss:
    """The Hungarian set loss on a ``Batch`` of positions (concepts (x, y, 1), mask):

        L = sum_{matched (s, k)} ||p_s - c_k||^2 + BCE(presence_s, 1[s matched])                (set loss)

    each scene's slots matched to its objects by scipy's Hungarian algorithm on the squared distance."""

    def __call__(self, model, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        from scipy.optimize import linear_sum_assignment

        out = model(batch.x).float()
        target = torch.zeros(out.shape[:2], device=out.device)
        coord = out.new_zeros(())
        for b in range(out.shape[0]):
            truth = batch.concepts[b, batch.mask[b], :2].to(out)
            cost = (out[b, :, None, :2] - truth[None]).pow(2).sum(-1)
            rows, cols = linear_sum_assignment(cost.detach().cpu().numpy())
            coord = coord + cost[rows, cols].sum()
            target[b, torch.as_tensor(rows, device=out.device)] = 1.0
        bce = nn.functional.binary_cross_entropy_with_logits(out[..., 2], target)
        return coord / out.shape[0] + bce
