"""Per-concept denoisers eps_theta(x_t, t | c): the network that every composition calls.

A backbone takes a noisy sample, its timestep and an *already encoded* concept (an embedding the size
of the time embedding) and predicts the noise. Two are provided:

- ``MLPBackbone`` for 2-D toy data (chapter 1): x has shape (N, ..., d); the MLP acts on the last axis,
  so a cloud of P points (N, P, d) is one sample.
- ``UNetBackbone`` for images: diffusers' ``UNet2DModel`` with ``class_embed_type="identity"``, so the
  concept embedding is added to the timestep embedding (Composable Diffusion's conditioning).

Both are built from JSON-serialisable keyword arguments so a checkpoint's ``config.json`` rebuilds them.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import UNet2DModel
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from diffusers.models.upsampling import Upsample2D
from torch import nn


class MLPBackbone(nn.Module):
    """A residual MLP denoiser for low-dimensional data.

    Args:
        data_dim: size of the last axis of x (2 for the plane).
        hidden: width of the hidden layers.
        depth: number of residual blocks.
        embed_dim: size of the time (and concept) embedding.
    """

    def __init__(self, data_dim: int = 2, hidden: int = 128, depth: int = 3, embed_dim: int = 64):
        super().__init__()
        self.embed_dim = embed_dim
        self.time_proj = Timesteps(embed_dim, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embed = TimestepEmbedding(embed_dim, embed_dim)
        self.inp = nn.Linear(data_dim, hidden)
        self.cond = nn.Linear(embed_dim, hidden)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
            for _ in range(depth)
        )
        self.out = nn.Sequential(nn.LayerNorm(hidden), nn.SiLU(), nn.Linear(hidden, data_dim))
        self.sample_shape = (..., data_dim)  # any leading axes (a cloud of points is one sample), then the point

    def forward(self, x: torch.Tensor, t: torch.Tensor, c_emb: torch.Tensor) -> torch.Tensor:
        """x (N, ..., d), t (N,), c_emb (N, E) -> eps (N, ..., d)."""
        emb = self.time_embed(self.time_proj(t).to(x.dtype)) + c_emb  # (N, E)
        emb = self.cond(emb).view(emb.shape[0], *([1] * (x.dim() - 2)), -1)  # broadcast over points
        h = self.inp(x) + emb
        for block in self.blocks:
            h = h + block(h + emb)
        return self.out(h)


class UNetBackbone(nn.Module):
    """diffusers ``UNet2DModel`` conditioned by adding the concept embedding to the time embedding.

    Keyword arguments go to ``UNet2DModel`` (``sample_size``, ``in_channels``, ``block_out_channels``,
    ``down_block_types``, ...); ``class_embed_type`` is fixed to ``"identity"``.

    ``position_maps=sigma`` (> 0) conditions on object positions in the image as well: a concept is
    (x, y, on) with (x, y) in [0, 1], and three channels join the input: a Gaussian bump of width sigma
    (image fraction) at (x, y), scaled by ``on`` (so the null concept (0, 0, 0) draws none), and the two
    pixel-coordinate channels (CoordConv). The bump is differentiable in (x, y), so positions can be
    refined by gradient descent on the denoising error.
    """

    def __init__(self, position_maps: float = 0.0, **unet_kwargs):
        super().__init__()
        self.position_maps = float(position_maps)
        self.takes_concept = self.position_maps > 0
        unet_kwargs.setdefault("out_channels", unet_kwargs.get("in_channels", 3))
        if self.takes_concept:
            unet_kwargs["in_channels"] = unet_kwargs.get("in_channels", 3) + 3
        self.unet = UNet2DModel(class_embed_type="identity", **unet_kwargs)
        NearestUpsample2D.adopt(self.unet)
        self.set_memory_format(torch.channels_last)
        self.embed_dim = self.unet.config.block_out_channels[0] * 4  # diffusers' time_embed_dim
        size = self.unet.config.sample_size
        size = tuple(size) if isinstance(size, (list, tuple)) else (size, size)
        self.sample_shape = (self.unet.config.out_channels, *size)  # the size it was trained at

    def set_memory_format(self, fmt: torch.memory_format) -> None:
        """Lay the UNet's weights and inputs out as ``fmt``. The default, channels-last (NHWC), makes oneDNN's CPU
        convolutions faster (measured by ``python -m igm_lite.bench layout``); model folders store contiguous
        tensors either way (``igm_lite.io``)."""
        self.memory_format = fmt
        self.unet.to(memory_format=fmt)

    def maps(self, c: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """The position channels (N, 3, h, w) of concepts c (N, 3) = (x, y, on)."""
        if c.shape[-1] != 3:
            raise ValueError(f"position_maps needs concepts (x, y, on) of size 3, got size {c.shape[-1]}")
        gy = ((torch.arange(h, device=c.device, dtype=c.dtype) + 0.5) / h).view(1, h, 1)
        gx = ((torch.arange(w, device=c.device, dtype=c.dtype) + 0.5) / w).view(1, 1, w)
        x, y, on = (c[:, i].view(-1, 1, 1) for i in range(3))
        bump = on * torch.exp(-((gx - x) ** 2 + (gy - y) ** 2) / (2 * self.position_maps**2))
        return torch.stack([bump, (gx - 0.5).expand_as(bump), (gy - 0.5).expand_as(bump)], 1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, c_emb: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """x (N, C, H, W), t (N,), c_emb (N, E) (and the raw concepts c (N, 3) with position maps) -> eps (N, C, H, W)."""
        if self.takes_concept:
            x = torch.cat([x, self.maps(c.to(x.dtype), *x.shape[-2:])], 1)
        x = x.contiguous(memory_format=self.memory_format)
        return self.unet(x, t, class_labels=c_emb).sample.contiguous()


class NearestUpsample2D(Upsample2D):
    """diffusers' ``Upsample2D`` (nearest x2, then a conv) without, on CPU, its ``.contiguous()`` for batches of 64
    or more: a workaround for a CUDA NHWC kernel (diffusers issue 984) that on CPU turns channels-last activations
    back to NCHW, a copy that took 13% of the clevr32 UNet's forward time at 145 rows (torch profiler); ``python -m
    igm_lite.bench layout`` times the UNets with and without it (``enabled = False``: diffusers' own forward)."""

    enabled = True

    def forward(self, hidden_states: torch.Tensor, output_size=None, *args, **kwargs) -> torch.Tensor:
        if hidden_states.device.type != "cpu" or not self.enabled:
            return super().forward(hidden_states, output_size, *args, **kwargs)
        size = dict(scale_factor=2.0) if output_size is None else dict(size=output_size)
        return self.conv(F.interpolate(hidden_states, mode="nearest", **size))

    @classmethod
    def adopt(cls, module: nn.Module) -> int:
        """Switch every plain ``Upsample2D`` (interpolate + conv, no norm) in ``module`` to this class, in place (same
        weights, same outputs). Returns how many were switched."""
        n = 0
        for m in module.modules():
            if type(m) is Upsample2D and m.interpolate and m.use_conv and not m.use_conv_transpose and m.norm is None \
                    and m.name == "conv":
                m.__class__, n = cls, n + 1
        return n


BACKBONES = {"mlp": MLPBackbone, "unet": UNetBackbone}


def build_backbone(kind: str, **kwargs) -> nn.Module:
    if kind not in BACKBONES:
        raise ValueError(f"unknown backbone {kind!r}; expected one of {sorted(BACKBONES)}")
    return BACKBONES[kind](**kwargs)
