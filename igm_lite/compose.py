"""The composed denoiser: the one place where per-concept predictions are combined.

A scene with concepts c^1..c^K is modelled as a product of experts, p(x | c^1..c^K) ∝ prod_k p(x | c^k),
i.e. a sum of energies. Since a diffusion model's noise prediction is a scaled score,
eps_theta(x_t, t | c) ≈ -sigma_t grad_x log p_t(x | c), the product's prediction is a combination of the
per-concept predictions. Every combination used in the paper and its peers is linear:

    eps(x_t, t | c^1..c^K) = a_u(K) eps(x_t, t | ∅) + a(K) sum_k eps(x_t, t | c^k)          (composition)

with (a_u, a) given by ``coefficients``:

    mode        a_u          a        where it is used
    "mean"      0            1/K      the paper's CelebA and zero-shot form; also its CLEVR form, since
                                      eps_u + sum_k (1/K)(eps_k - eps_u) = (1/K) sum_k eps_k
    "sum"       0            1        the plain product of experts (sum of scores)
    "weighted"  1 - w K      w        eps_u + w sum_k (eps_k - eps_u) (Composable Diffusion; w = 1 is
                                      the sum of differences from the unconditional prediction)

The cached inference engine relies on this linearity: a set's error then expands into inner products.
"""
from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from .backbones import build_backbone
from .checks import check_float, check_int, check_sample
from .concepts import ConceptEncoder, check_concepts
from .io import CONFIG_NAME, WEIGHTS_NAME, ModelFolder  # noqa: F401  (re-exported)

MODES = ("mean", "sum", "weighted")


def check_mode(mode: str) -> str:
    """``mode`` if it names a composition (``MODES``), else a ``ValueError`` that lists them."""
    if mode not in MODES:
        raise ValueError(f"unknown composition mode {mode!r}; expected one of {MODES}")
    return mode


def coefficients(mode: str, n_active: torch.Tensor, weight: float = 1.0):
    """Coefficients (a_u, a) of the composition for scenes with ``n_active`` concepts (each (B,))."""
    n = n_active.to(torch.get_default_dtype())
    if check_mode(mode) == "mean":
        return torch.zeros_like(n), 1.0 / n
    if mode == "sum":
        return torch.zeros_like(n), torch.ones_like(n)
    return 1.0 - weight * n, torch.full_like(n, weight)  # weighted


def needs_uncond(mode: str) -> bool:
    """Whether the composition uses the unconditional prediction eps(x_t, t | ∅)."""
    return mode == "weighted"


def combine(eps_k: torch.Tensor, mask: torch.Tensor, eps_u: torch.Tensor | None, mode: str, weight: float = 1.0):
    """Combine per-concept predictions: eps_k (B, K, ...), mask (B, K), eps_u (B, ...) -> (B, ...)."""
    B, K = mask.shape
    a_u, a = coefficients(mode, mask.sum(1), weight)
    view = (B,) + (1,) * (eps_k.dim() - 2)
    out = a.to(eps_k.dtype).view(view) * (eps_k * mask.view(B, K, *view[1:]).to(eps_k.dtype)).sum(1)
    if needs_uncond(mode):
        out = out + a_u.to(eps_k.dtype).view(view) * eps_u
    return out


class ComposedDenoiser(ModelFolder, nn.Module):
    """eps(x_t, t | c^1..c^K): a per-concept denoiser (backbone + concept encoder) and a composition mode.

    Args:
        backbone: ``{"kind": "mlp" | "unet", **kwargs}`` (see ``igm_lite.backbones``), or a built backbone module whose
            ``kind`` names it (a pretrained network, e.g. ``igm_lite.sd.TextUNet``; such a model is not written to a
            folder: its weights are the pretrained network's).
        concept_dim: D, the size of one concept vector.
        mode: how predictions combine: ``"mean"``, ``"sum"`` or ``"weighted"`` (module docstring).
        weight: w of the ``"weighted"`` mode.
        learned_null: learn the null concept instead of using the zero vector.
        encoder: the concept encoder, ``"mlp"`` or ``"linear"`` (``igm_lite.concepts.ConceptEncoder``), or a built one
            (with ``null`` and ``null_concepts``, e.g. ``igm_lite.sd.PromptEncoder``).
        data_range: (lo, hi) of the clean data, checked at the inference engines' entrances (``igm_lite.checks``);
            ``None``: images in [-1, 1] for a UNet, unbounded for the MLP. ``"none"``: unbounded (e.g. latents).
        autoencoder: for a latent model, the autoencoder whose latents it denoises (a shipped name, a folder or a hub
            id; ``igm_lite.latent``): images go through ``igm_lite.latent.encode(model, images)`` once, before the engines.

    Its one job is that composition: the per-concept predictions (``predict``, ``per_concept``) combined by the
    config's mode and weight (``forward``; another composition per call: ``mode=``, ``weight=``, or a view of the same
    model that composes otherwise: ``composed_as``). ``network_evals`` counts the rows that went through the backbone
    (one sample-sized input is 1). ``save_pretrained`` / ``from_pretrained`` (``igm_lite.io.ModelFolder``) write and
    read a model folder.
    """

    def __init__(self, backbone: dict | nn.Module, concept_dim: int, mode: str = "mean", weight: float = 1.0, learned_null: bool = False,
                 encoder: str | nn.Module = "mlp", data_range=None, autoencoder: str | None = None):
        super().__init__()
        built = isinstance(backbone, nn.Module)
        if built and not isinstance(getattr(backbone, "kind", None), str):
            raise TypeError(f"a built backbone must name its kind (a str attribute 'kind'), got {type(backbone).__name__}")
        if not built and (not isinstance(backbone, Mapping) or "kind" not in backbone):
            raise TypeError(f"backbone must be a dict with a 'kind' ('mlp' or 'unet') and its keyword arguments, or a built "
                            f"backbone module, got {backbone!r}")
        concept_dim = check_int(concept_dim, "concept_dim")
        config = dict(backbone={"kind": backbone.kind} if built else dict(backbone), concept_dim=concept_dim, mode=check_mode(mode),
                      weight=check_float(weight, "weight"), learned_null=learned_null)
        if isinstance(encoder, str) and encoder != "mlp":  # the defaults stay out of config.json, so older folders load unchanged
            config["encoder"] = encoder
        if data_range is not None:
            if data_range != "none":
                lo, hi = (check_float(v, "data_range") for v in data_range)
                if lo >= hi:
                    raise ValueError(f"data_range must be (lo, hi) with lo < hi, got {data_range}")
                data_range = [lo, hi]
            config["data_range"] = data_range
        if autoencoder is not None:
            if not isinstance(autoencoder, str) or not autoencoder:
                raise TypeError(f"autoencoder must name one (a shipped name, a folder or a hub id), got {autoencoder!r}")
            config["autoencoder"] = autoencoder
        if not built:
            kwargs = dict(backbone)
            backbone = build_backbone(kwargs.pop("kind"), **kwargs)
        if isinstance(encoder, str):
            encoder = ConceptEncoder(concept_dim, backbone.embed_dim, learned_null=learned_null, kind=encoder)
        self.config = config  # read-only from here on
        self.backbone, self.encoder, self.network_evals = backbone, encoder, 0
        self.built_from_parts = built  # a pretrained backbone: the folder could not rebuild it

    def save_pretrained(self, path) -> None:
        if self.built_from_parts:
            raise NotImplementedError(f"this model composes a pretrained {self.config['backbone']['kind']} backbone: its weights are "
                                      "that network's; save the pretrained network itself")
        super().save_pretrained(path)

    @property
    def sample_shape(self) -> tuple | None:
        """The shape of one sample this model denoises (``igm_lite.checks``); None: the backbone says nothing."""
        return getattr(self.backbone, "sample_shape", None)

    @property
    def data_range(self) -> tuple | None:
        """(lo, hi) of clean data: images in [-1, 1] for a UNet unless the config says otherwise; None: unbounded."""
        rng = self.config.get("data_range")
        if rng is None:
            return (-1.0, 1.0) if self.config["backbone"].get("kind") == "unet" else None
        return None if rng == "none" else tuple(rng)

    @property
    def input_dtype(self) -> torch.dtype:
        """The dtype of the samples and concepts it takes (its parameters' dtype; the encoder's null concept's)."""
        return self.encoder.null.dtype

    @property
    def mode(self) -> str:
        """The composition it was built (and trained) with: the config's."""
        return self.config["mode"]

    @property
    def weight(self) -> float:
        return self.config["weight"]

    def composed_as(self, mode: str, weight: float | None = None) -> "Recomposed":
        """A view of this model that composes by another ``mode`` (and ``weight``): the same per-concept denoisers, the
        same count of rows, another composition (e.g. a model trained on single captions, tested both ways). The model
        itself does not change; give the view to an engine."""
        return Recomposed(self, mode, self.weight if weight is None else weight)

    # -- per-concept predictions -------------------------------------------------------------
    def predict(self, x: torch.Tensor, t: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """One conditional prediction per row: x (N, ...), t (N,), c (N, D) -> eps (N, ...)."""
        self.network_evals += x.shape[0]
        if getattr(self.backbone, "takes_concept", False):  # spatial conditioning (position maps)
            return self.backbone(x, t, self.encoder(c), c)
        return self.backbone(x, t, self.encoder(c))

    def predict_null(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The unconditional prediction eps(x_t, t | ∅) per row."""
        return self.predict(x, t, self.encoder.null_concepts(x.shape[0]))

    def per_concept(self, x_t, t, concepts, mask, mode: str | None = None):
        """All active concepts of all scenes (and the null concept where the mode, default the model's, needs it) in ONE
        backbone call. Returns eps_k (B, K, ...) with zeros at masked slots, and eps_u (B, ...) or None."""
        mode = mode or self.mode
        B, K, _ = concepts.shape
        b_idx, k_idx = mask.nonzero(as_tuple=True)
        xs, ts, cs = x_t[b_idx], t[b_idx], concepts[b_idx, k_idx]
        if needs_uncond(mode):
            xs = torch.cat([xs, x_t])
            ts = torch.cat([ts, t])
            cs = torch.cat([cs, self.encoder.null_concepts(B).to(cs.dtype)])
        out = self.predict(xs, ts, cs)
        n = b_idx.shape[0]
        eps_k = out.new_zeros((B, K, *x_t.shape[1:]))
        eps_k[b_idx, k_idx] = out[:n]
        return eps_k, (out[n:] if needs_uncond(mode) else None)

    def forward(self, x_t: torch.Tensor, t, concepts: torch.Tensor, mask: torch.Tensor | None = None,
                uncond: torch.Tensor | None = None, *, mode: str | None = None, weight: float | None = None) -> torch.Tensor:
        """Composed prediction: x_t (B, ...), t (B,) or int, concepts (B, K, D), mask (B, K) -> (B, ...), composed by
        ``mode`` and ``weight`` (None: the model's).

        ``uncond`` (B,) bool marks scenes to predict unconditionally instead (classifier-free-guidance
        style training): their concepts are replaced by the null concept alone, which gives
        eps(x_t, t | ∅) in every mode.
        """
        x_t, t, concepts, mask = self.check_inputs(x_t, t, concepts, mask)
        if uncond is not None and uncond.any():
            null = torch.zeros_like(concepts[0])
            null[0] = self.encoder.null
            only_first = torch.zeros_like(mask[0])
            only_first[0] = True
            drop = uncond.view(-1, 1, 1)
            concepts = torch.where(drop, null.unsqueeze(0), concepts)
            mask = torch.where(drop[..., 0], only_first.unsqueeze(0), mask)
        mode = check_mode(mode) if mode is not None else self.mode
        eps_k, eps_u = self.per_concept(x_t, t, concepts, mask, mode)
        return combine(eps_k, mask, eps_u, mode, self.weight if weight is None else check_float(weight, "weight"))

    def check_inputs(self, x_t, t, concepts, mask):
        if not isinstance(x_t, torch.Tensor) or not x_t.is_floating_point():
            raise TypeError("x_t must be a floating-point tensor of shape (B, ...)")
        if x_t.dim() < 2:
            raise ValueError(f"x_t must have shape (B, ...) with at least 2 axes, got {tuple(x_t.shape)}")
        check_sample(x_t, self, "x_t", batched=True, values=False)
        concepts, mask = check_concepts(concepts, mask, self.config["concept_dim"])
        B = x_t.shape[0]
        if concepts.shape[0] != B:
            raise ValueError(f"x_t has batch size {B} but concepts has {concepts.shape[0]}")
        if not torch.isfinite(x_t).all():
            raise ValueError("x_t contains NaN or infinite values")
        t = torch.as_tensor(t, device=x_t.device)
        if t.is_floating_point():
            raise TypeError(f"t must hold integer timesteps, got dtype {t.dtype}")
        t = t.expand(B) if t.dim() == 0 else t
        if tuple(t.shape) != (B,):
            raise ValueError(f"t must be an int or have shape (B,) = ({B},), got {tuple(t.shape)}")
        return x_t, t, concepts.to(x_t.dtype), mask


class Recomposed:
    """A composed denoiser seen through another composition (``ComposedDenoiser.composed_as``): ``mode`` and ``weight``
    are its own; everything else (the per-concept predictions, their count of rows, the checks' attributes) is the
    model's, so an engine given the view spends and counts as with the model."""

    def __init__(self, model: ComposedDenoiser, mode: str, weight: float):
        self.model, self.mode, self.weight = model, check_mode(mode), check_float(weight, "weight")

    def __getattr__(self, name):
        return getattr(self.model, name)

    def per_concept(self, x_t, t, concepts, mask, mode: str | None = None):
        return self.model.per_concept(x_t, t, concepts, mask, mode or self.mode)

    def __call__(self, x_t, t, concepts, mask=None, uncond=None):
        return self.model(x_t, t, concepts, mask, uncond, mode=self.mode, weight=self.weight)
