"""Latent space: composed denoisers on an autoencoder's latents, as the paper's CelebA and CLEVR models are.

The paper's UNets do not denoise pixels. Each image x is encoded ONCE by Stable Diffusion's variational
autoencoder, and everything else (composition, joint training, inversion) happens on its latent:

    z0 = s (mu_E(x) - b)                                                                 (latent)

where mu_E(x) is the mean of the encoder's posterior, s the ``scaling_factor`` that gives latents unit
variance and b the ``shift_factor`` (0 unless the autoencoder's config names one). Inversion then
minimises the denoising error on z0 instead of x. Nothing in the core changes: a latent model is a
``ComposedDenoiser`` whose samples are (C, h, w) latents (``data_range="none"``) and whose config names
its autoencoder (``autoencoder``: a shipped checkpoint, a folder, or a hub id holding a ``vae/``); call
``encode(model, images)`` once per image, then give the engines the latents.

``Autoencoder`` wraps a diffusers ``AutoencoderKL`` so that it trains in the package's loop
(``AutoencoderLoss``: L1 reconstruction + a small KL term, as Stable Diffusion's autoencoder was trained,
without its perceptual and adversarial terms) and is saved as a model folder; ``load_autoencoder`` also
reads a diffusers ``AutoencoderKL`` folder, or the ``vae/`` of a Stable Diffusion pipeline (folder or hub id).
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from .checks import check_float, check_sample
from .data.base import Batch
from .io import CHECKPOINTS, CONFIG_NAME, ModelFolder, read_config

# An AutoencoderKL's constructor arguments that describe its architecture and latents (the rest of a diffusers
# config.json is bookkeeping such as _class_name and _diffusers_version).
_VAE_KEYS = ("in_channels", "out_channels", "down_block_types", "up_block_types", "block_out_channels", "layers_per_block",
             "act_fn", "latent_channels", "norm_num_groups", "sample_size", "scaling_factor", "shift_factor",
             "use_quant_conv", "use_post_quant_conv", "mid_block_add_attention")


def vae_latents(vae, images: torch.Tensor) -> torch.Tensor:
    """(latent) for a diffusers ``AutoencoderKL``: s (mu_E(x) - b), from its config's scaling and shift factors."""
    mu = vae.encode(images).latent_dist.mean
    return (mu - (vae.config.shift_factor or 0.0)) * vae.config.scaling_factor


def small_vae(sample_size: int = 32, block_out_channels=(32, 64, 64), latent_channels: int = 4, norm_num_groups: int = 8,
              layers_per_block: int = 1) -> dict:
    """The constructor arguments of a small ``AutoencoderKL``: 2 ** (blocks - 1) times smaller latents
    (32 px and 3 blocks: 8 x 8 x 4, Stable Diffusion's factor of 8)."""
    n = len(block_out_channels)
    return dict(in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * n, up_block_types=["UpDecoderBlock2D"] * n,
                block_out_channels=list(block_out_channels), layers_per_block=layers_per_block, latent_channels=latent_channels,
                norm_num_groups=norm_num_groups, sample_size=sample_size, scaling_factor=1.0)


class Autoencoder(ModelFolder, nn.Module):
    """A diffusers ``AutoencoderKL`` with the package's model-folder, input checks and (latent) encoding.

    Args:
        vae: the ``AutoencoderKL`` constructor arguments (``small_vae(...)``, or a diffusers config).
        kl_weight: the weight of the KL term in ``AutoencoderLoss``.
    """

    def __init__(self, vae: dict, kl_weight: float = 1e-6):
        super().__init__()
        from diffusers import AutoencoderKL

        if not isinstance(vae, Mapping):
            raise TypeError(f"vae must be a dict of AutoencoderKL arguments (see small_vae), got {type(vae).__name__}")
        vae = {k: list(v) if isinstance(v, tuple) else v for k, v in vae.items() if k in _VAE_KEYS}
        self.vae = AutoencoderKL(**vae)
        self.config = dict(vae=vae, kl_weight=check_float(kl_weight, "kl_weight", lo=0))

    @property
    def sample_shape(self) -> tuple:
        """Images of any size divisible by the downsampling factor (checked in ``encode``)."""
        return (self.vae.config.in_channels, None, None)

    data_range = (-1.0, 1.0)

    @property
    def input_dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    @property
    def factor(self) -> int:
        """How many times smaller each side of the latent is than the image's."""
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def scaling_factor(self) -> float:
        return float(self.vae.config.scaling_factor)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """Reconstruct x (B, C, H, W) through a posterior sample: (reconstruction, posterior)."""
        posterior = self.vae.encode(x).latent_dist
        return self.vae.decode(posterior.sample(generator=generator)).sample, posterior

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) in [-1, 1] -> latents (B, latent_channels, H / factor, W / factor): (latent)."""
        check_sample(images, self, "images", batched=True)
        if images.shape[-1] % self.factor or images.shape[-2] % self.factor:
            raise ValueError(f"images must have sides divisible by {self.factor} for this autoencoder, got {tuple(images.shape)}")
        return vae_latents(self.vae, images)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents (scaled as ``encode`` returns them) -> images in [-1, 1] (clamped)."""
        shift = self.vae.config.shift_factor or 0.0
        return self.vae.decode(latents / self.scaling_factor + shift).sample.clamp(-1, 1)

    @torch.no_grad()
    def calibrate(self, images: torch.Tensor) -> float:
        """Set ``scaling_factor`` to 1 / the standard deviation of the unscaled latents of ``images`` (as Stable
        Diffusion's 0.18215 was chosen), so that latents have unit variance like the noise. Returns it."""
        mu = self.vae.encode(images).latent_dist.mean
        s = float(1.0 / mu.std())
        self.vae.register_to_config(scaling_factor=s)
        self.register_to_config(vae={**self.config["vae"], "scaling_factor": s})
        return s


class AutoencoderLoss:
    """L1 reconstruction of a posterior sample + ``kl_weight`` x the KL divergence from N(0, I) (per latent value)."""

    def __call__(self, model, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        recon, posterior = model(batch.x, generator=generator)
        inner = getattr(model, "module", model)  # unwrapped from a distributed wrapper
        kl = posterior.kl().mean() / posterior.mean[0].numel()
        return (recon.float() - batch.x.float()).abs().mean() + inner.config["kl_weight"] * kl


def _from_diffusers(vae) -> Autoencoder:
    ae = Autoencoder(dict(vae.config))
    ae.vae.load_state_dict(vae.state_dict())
    return ae.to(vae.dtype)


@functools.lru_cache(maxsize=4)
def load_autoencoder(ref: str) -> Autoencoder:
    """An autoencoder by reference, in eval mode: a shipped checkpoint name (e.g. ``"faces32-vae"``), a model folder
    written by ``Autoencoder``, a diffusers ``AutoencoderKL`` folder, a Stable Diffusion pipeline folder (its ``vae/``)
    or a hub id of one (e.g. ``igm_lite.sd.DEFAULT_MODEL_ID``). Loaded once per process."""
    if not isinstance(ref, str) or not ref:
        raise TypeError(f"an autoencoder is named by a str (shipped name, folder or hub id), got {ref!r}")
    path = CHECKPOINTS / ref if (CHECKPOINTS / ref).is_dir() else Path(ref)
    if (path / CONFIG_NAME).is_file() and read_config(path).get("class") == "Autoencoder":
        return Autoencoder.from_pretrained(path).eval()
    from diffusers import AutoencoderKL

    sub = "vae" if (path / "vae").is_dir() or not path.is_dir() else None
    try:
        vae = AutoencoderKL.from_pretrained(str(path) if path.is_dir() else ref, subfolder=sub)
    except (OSError, ValueError) as e:
        raise OSError(f"could not load an autoencoder from {ref!r}: give a shipped name, a folder written by "
                      f"igm_lite.latent.Autoencoder, an AutoencoderKL folder, or a Stable Diffusion pipeline (folder or hub id) "
                      f"with a vae/ subfolder. Cause: {e}") from e
    return _from_diffusers(vae).eval()


def autoencoder_of(model) -> Autoencoder | None:
    """The autoencoder a model's config names (None for a pixel-space model)."""
    ref = getattr(model, "config", {}).get("autoencoder") if isinstance(getattr(model, "config", None), Mapping) else None
    return load_autoencoder(ref) if ref else None


@torch.no_grad()
def encode(model, images: torch.Tensor) -> torch.Tensor:
    """What ``model`` denoises for images (B, C, H, W): their latents (latent) if the model's config names an
    autoencoder, the images themselves otherwise. Call it once per image, before the engines; a batch that already
    has the model's sample shape (latents encoded before) is returned as it is."""
    ae = autoencoder_of(model)
    if ae is None or tuple(images.shape[1:]) == tuple(model.sample_shape):
        return images
    ae.to(images.device)
    return ae.encode(images.to(ae.input_dtype)).to(images.dtype)
