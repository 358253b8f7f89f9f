"""Shipped checkpoints and the recorded recipes that make them.

Every checkpoint in ``igm_lite/checkpoints/`` is produced by one command,

    python -m igm_lite.pretrained make NAME [--out DIR] [--steps N]

(``make all`` remakes every one), and carries ``recipe.json``: the recipe, the command and the final
training loss. The book loads them with ``load_pretrained(NAME)`` and never retrains from scratch.
"""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .baselines import AttributeClassifier, ClassifierLoss, SetLoss, SetPredictor
from .compose import ComposedDenoiser
from .data.celeba import CelebAWorld
from .data.clevr import ClevrWorld
from .data.digits import DigitWorld
from .data.faces import FACE_WORLDS, EveryFaceWorld, FaceWorld
from .data.toy2d import StripeWorld
from .infer.base import default_device
from .io import CHECKPOINTS, CONFIG_NAME, INFERENCE_NAME, atomic_dir, read_config
from .latent import Autoencoder, AutoencoderLoss, encode, load_autoencoder, small_vae
from .sd import DEFAULT_MODEL_ID
from .train import TrainConfig, choose_precision, train


@dataclass
class Recipe:
    """How one shipped model is made: the model, the data, the training run."""

    model: dict  # the model class's keyword arguments
    world: str  # the data world (a key of WORLDS)
    data: dict  # keyword arguments of the world's ``batch``
    train: dict = field(default_factory=dict)  # TrainConfig overrides
    about: str = ""  # one line for the book
    kind: str = "composed"  # a key of MODELS: what is trained, and on which loss
    shipped: bool = True  # a checkpoint ships with the package (False: GPU-scale recipes, run by users)
    world_args: dict = field(default_factory=dict)  # keyword arguments of the world's class (e.g. a face world's switches)
    # the inference settings chosen for the model on validation data, written beside it as inference.json:
    # {"settings": {engine config fields}, "chosen_on": "what data, how", "command": "the validation command"}
    inference: dict | None = None


WORLDS = {"stripes": StripeWorld, "faces": FaceWorld, "faces-every": EveryFaceWorld, "celeba": CelebAWorld, "digits": DigitWorld,
          "clevr": ClevrWorld}
MODELS = {"composed": (ComposedDenoiser, None), "classifier": (AttributeClassifier, ClassifierLoss), "set": (SetPredictor, SetLoss),
          "autoencoder": (Autoencoder, AutoencoderLoss)}  # kind -> (class, loss)
_TOY_BACKBONE = {"kind": "mlp", "data_dim": 2, "hidden": 128, "depth": 3, "embed_dim": 64}
_TOY_TRAIN = dict(steps=4000, batch_size=256, lr=2e-3, warmup=100, p_uncond=0.1, seed=0)

RECIPES = {
    f"toy2d-{how}-{mode}": Recipe(
        model=dict(backbone=_TOY_BACKBONE, concept_dim=6, mode=mode),
        world="stripes",
        data=dict(ks=ks),
        train=dict(_TOY_TRAIN, p_uncond=0.1 if mode == "weighted" else 0.0),
        about=f"2-D stripe experts, '{mode}' composition, trained {'on single concepts (independent experts)' if ks == (1,) else 'on the composition of 1 and 2 concepts (joint)'}",
    )
    for how, ks in (("independent", (1,)), ("joint", (1, 2)))
    for mode in ("sum", "weighted")
}

# Chapter 3: attribute denoisers composed by the mean (the paper's CelebA form), trained jointly on
# group-A faces only, and the ResNet baseline on the same faces, steps and batch size.
_FACE_TRAIN = dict(steps=5000, batch_size=16, lr=2e-3, warmup=200, seed=0)
RECIPES["faces32-mean"] = Recipe(
    model=dict(backbone={"kind": "unet", "sample_size": 32, "in_channels": 3, "block_out_channels": [16, 32, 32],
                         "down_block_types": ["DownBlock2D"] * 3, "up_block_types": ["UpBlock2D"] * 3,
                         "layers_per_block": 1, "norm_num_groups": 8},
               concept_dim=6, mode="mean"),
    world="faces", data=dict(group="A"), train=_FACE_TRAIN,
    about="32 px faces: 3 attribute denoisers (6 one-hot slots), mean composition, trained jointly on group A",
    inference=dict(
        settings=dict(n_samples=16, t_range=[0, 1000], spacing="random", schedule=[[4, 2], [7, 1]]),
        chosen_on="200 validation faces per split (seed 1; the test faces are seed 0): t over the whole schedule (the paper's); "
                  "the elimination schedule the cheapest of five of 32-40 rows that came within 1 point of naive on both splits",
        command="python -m igm_lite.bench celeba --split {id,ood} --n 200 --seed 1 --noise 16 --method naive eliminate --schedule S"),
)
RECIPES["faces32-resnet"] = Recipe(
    model=dict(num_attributes=3, embedding_size=32, hidden_sizes=[32, 64, 128], depths=[1, 1, 1], size=32),
    world="faces", data=dict(group="A"), train=_FACE_TRAIN, kind="classifier",
    about="32 px faces: the ResNet attribute classifier, same group-A faces, steps and batch size",
)
# Chapter 3 in latent space (the paper's models denoise Stable Diffusion VAE latents): a small AutoencoderKL (32 px ->
# 8 x 8 x 4) trained without labels on faces of both groups, as the SD VAE saw faces of every kind; the control, one
# trained on group A only; and on each, the same composed attribute denoisers (6 one-hot slots, mean composition)
# trained jointly on the latents of group-A faces. A latent model's folder names its autoencoder.
_VAE_TRAIN = dict(steps=1500, batch_size=32, lr=1e-3, warmup=100, seed=0)
_LATENT_TRAIN = dict(steps=3000, batch_size=32, lr=2e-3, warmup=200, seed=0)
_LATENT_INFERENCE = dict(
    settings=dict(n_samples=32, t_range=[0, 1000], spacing="random", schedule=[[4, 2], [10, 1]]),
    chosen_on="200 group-A validation faces (seed 1; the test faces are seed 0), 32 samples, cached: four t ranges all read "
              "100% with faces32-latent, the tie to the paper's whole schedule; five elimination schedules all read 100%, "
              "of the two cheapest (48 rows) the one that decides on more samples",
    command="python -m igm_lite.bench celeba --split id --seed 1 --n 200 --model faces32-latent --noise 32 --t-range LO HI "
            "--method cached (then --method eliminate --schedule S)")
for _suffix, _group, _seen in (("", "AB", "faces of both groups"), ("-a", "A", "group-A faces only")):
    RECIPES[f"faces32-vae{_suffix}"] = Recipe(
        model=dict(vae=small_vae(32)), world="faces", data=dict(group=_group), train=_VAE_TRAIN, kind="autoencoder",
        about=f"32 px faces -> 8x8x4 latents: an AutoencoderKL trained without labels on {_seen}",
    )
    RECIPES[f"faces32-latent{_suffix}"] = Recipe(
        model=dict(backbone={"kind": "unet", "sample_size": 8, "in_channels": 4, "block_out_channels": [32, 64],
                             "down_block_types": ["DownBlock2D"] * 2, "up_block_types": ["UpBlock2D"] * 2,
                             "layers_per_block": 1, "norm_num_groups": 8},
                   concept_dim=6, mode="mean", data_range="none", autoencoder=f"faces32-vae{_suffix}"),
        world="faces", data=dict(group="A"), train=_LATENT_TRAIN,
        about=f"8x8x4 latents of faces32-vae{_suffix}: 3 attribute denoisers, mean composition, trained jointly on group A",
        inference=_LATENT_INFERENCE,
    )
# Chapter 3's grid of worlds (``igm_lite.data.faces.FACE_WORLDS``: which kind of shift favours which reader): ONE
# autoencoder trained without labels on faces of every world and both groups (as Stable Diffusion's VAE saw faces of
# every kind); per world, the latent attribute denoisers on it and the ResNet on pixels, both trained on the world's
# group A with the same data, steps and batch size. The grid trains each for several seeds (``make(..., seed=S)``);
# the celeba-like world's seed-0 models ship, so that the chapter's CPU profile shows the grid's main row live.
RECIPES["faces32-vae-worlds"] = Recipe(
    model=dict(vae=small_vae(32)), world="faces-every", data=dict(group="AB"), train=_VAE_TRAIN, kind="autoencoder",
    about="32 px faces -> 8x8x4 latents: an AutoencoderKL trained without labels on faces of every world and both groups",
)
for _world, _args in FACE_WORLDS.items():
    _shipped = _world == "celeba-like"
    RECIPES[f"faces32-latent-{_world}"] = dataclasses.replace(
        RECIPES["faces32-latent"], model={**RECIPES["faces32-latent"].model, "autoencoder": "faces32-vae-worlds"},
        world_args=dict(_args), shipped=_shipped,
        about=f"8x8x4 latents of faces32-vae-worlds: 3 attribute denoisers, mean composition, trained jointly on group A of the {_world} world")
    RECIPES[f"faces32-resnet-{_world}"] = Recipe(
        model=RECIPES["faces32-resnet"].model, world="faces", data=dict(group="A"), train=_LATENT_TRAIN, kind="classifier",
        world_args=dict(_args), shipped=_shipped,
        about=f"32 px faces: the ResNet attribute classifier on group A of the {_world} world, the latent model's data, steps and batch size")
# the pixel model of the celeba-like world (the grid's reference row beside faces32-mean, which is the disjoint world's)
RECIPES["faces32-mean-celeba-like"] = dataclasses.replace(
    RECIPES["faces32-mean"], world_args=dict(FACE_WORLDS["celeba-like"]), shipped=False,
    about="32 px faces: 3 attribute denoisers, mean composition, trained jointly on group A of the celeba-like world")

# The GPU profile of chapter 3: the paper's scale on the real CelebA (train split, female faces), 128 px.
# Not shipped: run with --data root=CELEBA_DIR on a GPU.
# Mixed precision follows the GPU: bf16 where supported, fp16 with loss scaling on older GPUs (a T4), fp32 on a CPU.
_CELEBA_TRAIN = dict(steps=50000, batch_size=64, lr=1e-4, warmup=1000, seed=0, mixed_precision="auto", checkpoint_every=5000)
RECIPES["celeba128-mean"] = Recipe(
    model=dict(backbone={"kind": "unet", "sample_size": 128, "in_channels": 3, "block_out_channels": [64, 128, 256, 256],
                         "down_block_types": ["DownBlock2D", "DownBlock2D", "AttnDownBlock2D", "DownBlock2D"],
                         "up_block_types": ["UpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D"], "layers_per_block": 2},
               concept_dim=6, mode="mean"),
    world="celeba", data=dict(root=None, split="train", size=128), train=_CELEBA_TRAIN, shipped=False,
    about="GPU: 128 px CelebA, 3 attribute denoisers, mean composition, trained jointly on female faces",
)
# ... and the paper's own space: the same denoisers on 16 x 16 x 4 latents of Stable Diffusion's VAE (any AutoencoderKL:
# --autoencoder names a hub id or a folder), images encoded once per batch on the GPU.
RECIPES["celeba128-latent"] = Recipe(
    model=dict(backbone={"kind": "unet", "sample_size": 16, "in_channels": 4, "block_out_channels": [128, 256, 256],
                         "down_block_types": ["DownBlock2D", "AttnDownBlock2D", "DownBlock2D"],
                         "up_block_types": ["UpBlock2D", "AttnUpBlock2D", "UpBlock2D"], "layers_per_block": 2},
               concept_dim=6, mode="mean", data_range="none", autoencoder=DEFAULT_MODEL_ID),
    world="celeba", data=dict(root=None, split="train", size=128), train=_CELEBA_TRAIN, shipped=False,
    about="GPU: 128 px CelebA through Stable Diffusion's VAE (16x16x4 latents), 3 attribute denoisers, mean composition",
)
RECIPES["celeba128-resnet"] = Recipe(
    model=dict(num_attributes=3, embedding_size=64, hidden_sizes=[256, 512, 1024, 2048], depths=[3, 4, 6, 3], layer_type="bottleneck",
               size=128),
    world="celeba", data=dict(root=None, split="train", size=128), train=_CELEBA_TRAIN, kind="classifier", shipped=False,
    about="GPU: ResNet-50 attribute classifier on the same 128 px female faces, steps and batch size",
)

# Chapter 4 (CPU profile): a caption-conditioned digit model, "pretrained" on canvases of 1-3 digits
# whose captions name only some of them (web-style), then used zero-shot on compositions.
RECIPES["digits32"] = Recipe(
    model=dict(backbone={"kind": "unet", "sample_size": 32, "in_channels": 1, "block_out_channels": [32, 64, 64],
                         "down_block_types": ["DownBlock2D"] * 3, "up_block_types": ["UpBlock2D"] * 3,
                         "layers_per_block": 1, "norm_num_groups": 8},
               concept_dim=10, mode="mean", encoder="linear"),
    world="digits", data=dict(split="train", counts=(1, 2, 3), p_two=0.25),
    train=dict(steps=3000, batch_size=32, lr=1e-3, warmup=200, p_uncond=0.1, seed=0),
    about="32 px canvases of 1-3 real digits (train scans), captions naming one or two of them; 1.06M-param UNet",
    inference=dict(
        settings=dict(n_samples=32, t_range=[100, 700], spacing="random"),
        chosen_on="set by hand to the middle of the schedule, where digits differ most; not selected on validation canvases "
                  "(the validation canvases, seed 1, chose the composition form)",
        command="python -m igm_lite.bench zeroshot --k 2 --n 200 --seed 1 --method cached"),
)

# Chapter 2 (CPU profile): per-object position denoisers on 32 px CLEVR-like scenes of 3-5 objects,
# composed as eps_u + sum_k (eps_k - eps_u) (weighted, w = 1) with a learned null concept, trained jointly.
RECIPES["clevr32"] = Recipe(
    model=dict(backbone={"kind": "unet", "sample_size": 32, "in_channels": 3, "block_out_channels": [16, 32, 32],
                         "down_block_types": ["DownBlock2D"] * 3, "up_block_types": ["UpBlock2D"] * 3,
                         "layers_per_block": 1, "norm_num_groups": 8, "position_maps": 0.05},
               concept_dim=3, mode="weighted", weight=1.0, learned_null=True),
    world="clevr", data=dict(split="id"),
    train=dict(steps=3000, batch_size=16, lr=2e-3, warmup=200, p_uncond=0.1, seed=0),
    about="32 px CLEVR-like scenes of 3-5 objects: position denoisers (bump + coordinate channels), weighted composition",
    inference=dict(
        settings=dict(grid=12, n_samples=3, t_range=[50, 450], refine_steps=10),
        chosen_on="30-32 validation scenes per split (seed 1; the test scenes are seed 0): grid, separation, region and the "
                  "number of noise samples (3 against 4 and 6: within 0.4 points of perception, fewer rows)",
        command="python -m igm_lite.bench clevr --split {id,ood,shapes} --n 32 --seed 1 --method igm --grid G --noise N"),
)
# The two discriminative baselines of chapter 2: same scenes, steps and batch size, Hungarian set loss.
RECIPES["clevr32-resnet"] = Recipe(
    model=dict(arch="resnet", slots=10, width=64), world="clevr", data=dict(split="id"), kind="set",
    train=dict(steps=3000, batch_size=16, lr=1e-3, warmup=200, seed=0),
    about="32 px CLEVR-like scenes of 3-5 objects: ResNet regressing 10 slots (x, y, presence), Hungarian loss",
)
# The GPU profile of chapter 2: the real CLEVR (train split, 3-5 objects) at the paper's 64 px, a larger
# pixel-space UNet, and both baselines on the same scenes and budget. Not shipped: --data root=CLEVR_DIR.
_CLEVR64_TRAIN = dict(steps=100000, batch_size=64, lr=1e-4, warmup=1000, seed=0, mixed_precision="auto", checkpoint_every=5000)
RECIPES["clevr64"] = Recipe(
    model=dict(backbone={"kind": "unet", "sample_size": 64, "in_channels": 3, "block_out_channels": [64, 128, 256, 256],
                         "down_block_types": ["DownBlock2D", "DownBlock2D", "AttnDownBlock2D", "DownBlock2D"],
                         "up_block_types": ["UpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D"], "layers_per_block": 2,
                         "position_maps": 0.03},
               concept_dim=3, mode="weighted", weight=1.0, learned_null=True),
    world="clevr", data=dict(root=None, split="id", size=64), train=dict(_CLEVR64_TRAIN, p_uncond=0.1), shipped=False,
    about="GPU: real CLEVR 64 px, 3-5 objects, position denoisers, weighted composition (pixel space)",
)
for _arch, _width in (("resnet", 128), ("slot", 64)):
    RECIPES[f"clevr64-{_arch}"] = Recipe(
        model=dict(arch=_arch, slots=10, width=_width, size=64), world="clevr", data=dict(root=None, split="id", size=64), kind="set",
        train=dict(_CLEVR64_TRAIN, lr=4e-4), shipped=False,
        about=f"GPU: the {'ResNet' if _arch == 'resnet' else 'Slot Attention'} set predictor on the same real CLEVR scenes and budget",
    )
RECIPES["clevr32-slot"] = Recipe(
    model=dict(arch="slot", slots=10, width=32), world="clevr", data=dict(split="id"), kind="set",
    train=dict(steps=3000, batch_size=16, lr=4e-4, warmup=200, seed=0),
    about="32 px CLEVR-like scenes of 3-5 objects: Slot Attention (10 slots) with a position head, Hungarian loss",
)


def make(name: str, out: str | Path | None = None, steps: int | None = None, progress: bool = True,
         data: dict | None = None, checkpoint_every: int | None = None, precision: str | None = None,
         autoencoder: str | None = None, seed: int | None = None) -> Path:
    """Run recipe ``name`` and write the model folder (atomically) to ``out`` (default: the package's).
    ``precision`` overrides the recipe's mixed precision (``TrainConfig.mixed_precision``, e.g. ``"auto"``).
    ``data`` overrides the recipe's data arguments (e.g. ``{"root": celeba_dir}``); ``autoencoder`` a latent recipe's
    autoencoder (a shipped name, a folder or a hub id), whose latents of each batch the model trains on; ``seed`` the
    training seed (initial weights and every batch: another training run of the same recipe). GPU recipes keep
    resumable checkpoints in ``OUT-checkpoints``; ``checkpoint_every`` does so for any recipe (the
    weights are the same: every step's randomness is a function of the seed and the step)."""
    if name not in RECIPES:
        raise KeyError(f"unknown recipe {name!r}; known: {sorted(RECIPES)}")
    r = RECIPES[name]
    if autoencoder is not None:
        if "autoencoder" not in r.model:
            raise ValueError(f"recipe {name!r} is not a latent model; the recipes with an autoencoder are "
                             f"{sorted(n for n, q in RECIPES.items() if 'autoencoder' in q.model)}")
        r = dataclasses.replace(r, model={**r.model, "autoencoder": str(autoencoder)})
    if data:
        accepted = set(inspect.signature(WORLDS[r.world].batch).parameters) - {"self", "n", "generator"}
        if set(data) - accepted:
            readers = sorted(n for n, q in RECIPES.items() if "root" in inspect.signature(WORLDS[q.world].batch).parameters)
            raise ValueError(f"recipe {name!r} trains on the {r.world!r} world, whose batches take {sorted(accepted)}, not "
                             f"{sorted(set(data) - accepted)}; the recipes that read a dataset folder (root=) are {readers}")
        r = dataclasses.replace(r, data={**r.data, **data})
        if "size" in data:  # the model is built for the image size it trains at (a latent model: its latents' size)
            model = dict(r.model)
            if "size" in model:
                model["size"] = data["size"]
            if "sample_size" in model.get("backbone", {}):
                side = data["size"] // load_autoencoder(model["autoencoder"]).factor if model.get("autoencoder") else data["size"]
                model["backbone"] = {**model["backbone"], "sample_size": side}
            if r.kind == "autoencoder":
                model["vae"] = {**model["vae"], "sample_size": data["size"]}
            r = dataclasses.replace(r, model=model)
    out = Path(out) if out is not None else CHECKPOINTS / name
    # shipped (CPU-sized) recipes train in one go; long GPU recipes checkpoint beside ``out`` and resume
    keep = not r.shipped or bool(checkpoint_every)
    ckpt_dir = out.with_name(out.name + "-checkpoints") if keep else None
    every = {"checkpoint_every": checkpoint_every} if checkpoint_every else ({} if keep else {"checkpoint_every": 0})
    cfg = TrainConfig(**{**r.train, **({"steps": steps} if steps else {}), **every, **({"mixed_precision": precision} if precision else {}),
                         **({"seed": seed} if seed is not None else {})})
    world = WORLDS[r.world](**r.world_args)
    torch.manual_seed(cfg.seed)
    cls, loss = MODELS[r.kind]
    model = cls(**r.model)
    start = time.perf_counter()
    device = default_device()

    def batch_fn(n, g):  # a latent model trains on each batch's latents, encoded on the GPU if there is one
        b = world.batch(n, generator=g, **r.data)
        return dataclasses.replace(b, x=encode(model, b.x.to(device)).cpu()) if r.model.get("autoencoder") else b

    result = train(model, batch_fn, cfg, ckpt_dir, progress=progress, loss_fn=loss() if loss else None)
    extra = {}
    if r.kind == "autoencoder":  # latents of unit variance, measured on 2,048 faces of the training distribution
        calib = world.batch(2048, generator=torch.Generator().manual_seed(cfg.seed + 1), **r.data).x
        extra["scaling_factor"] = result.model.calibrate(calib)
        with torch.no_grad():
            extra["reconstruction_l1"] = float((result.model(calib)[0] - calib).abs().mean())
    with atomic_dir(out) as tmp:
        result.model.write_to(tmp)
        tail = result.losses[-min(200, len(result.losses)):]
        if r.inference:
            (tmp / INFERENCE_NAME).write_text(json.dumps(r.inference, indent=2))
        (tmp / "recipe.json").write_text(json.dumps({
            "name": name, "recipe": dataclasses.asdict(r), "train_config": dataclasses.asdict(cfg),
            "command": f"python -m igm_lite.pretrained make {name}" + (f" --steps {steps}" if steps else "")
                       + "".join(f" --data {k}={v}" for k, v in (data or {}).items()) + (f" --autoencoder {autoencoder}" if autoencoder else "") + (f" --seed {seed}" if seed is not None else ""),
            **extra,
            "final_loss_mean_last_200": sum(tail) / len(tail), "seconds": round(time.perf_counter() - start, 1),
            "precision": choose_precision(cfg.mixed_precision),
            "torch": torch.__version__,
        }, indent=2))
    return out


def load_pretrained(name: str):
    """Load a shipped checkpoint by name (see ``RECIPES``), in eval mode."""
    if not isinstance(name, str):
        raise TypeError(f"name must be the name of a shipped checkpoint (a str), one of {shipped()}, got {name!r} "
                        "(load_model also takes a model folder)")
    path = CHECKPOINTS / name
    if not path.is_dir():
        raise FileNotFoundError(f"no shipped checkpoint {name!r} in {CHECKPOINTS}; make it with "
                                f"`python -m igm_lite.pretrained make {name}`")
    r = RECIPES.get(name)
    cls = MODELS[r.kind][0] if r else ComposedDenoiser
    expect = r.model if r and r.kind != "autoencoder" else {}  # an autoencoder's config gains its measured scaling_factor
    return cls.from_pretrained(path, **expect).eval()


def shipped() -> list[str]:
    """The names of the shipped checkpoints."""
    return sorted(n for n, r in RECIPES.items() if r.shipped)


def load_model(name_or_path):
    """A shipped checkpoint by name, or a model folder (a composed denoiser or a baseline, as its ``config.json``
    says), in eval mode."""
    if not isinstance(name_or_path, (str, Path)):
        raise TypeError(f"name_or_path must be a shipped checkpoint name or a model folder, got {type(name_or_path).__name__}")
    path = Path(name_or_path)
    if path.is_dir():
        classes = {c.__name__: c for c, _ in MODELS.values()}
        name = read_config(path).get("class", "ComposedDenoiser") if (path / CONFIG_NAME).is_file() else ""
        if name and name not in classes:
            raise ValueError(f"{path / CONFIG_NAME} names class {name!r}; expected one of {sorted(classes)}")
        return classes.get(name, ComposedDenoiser).from_pretrained(path).eval()
    if str(name_or_path) not in RECIPES:
        raise FileNotFoundError(f"{name_or_path!r} is neither a model folder nor a shipped checkpoint ({shipped()})")
    return load_pretrained(str(name_or_path))


def recipe_info(name_or_path: str) -> dict:
    """The ``recipe.json`` written beside a checkpoint: a shipped one by name, or a model folder by path."""
    path = Path(name_or_path)
    return json.loads(((path if path.is_dir() else CHECKPOINTS / name_or_path) / "recipe.json").read_text())


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m igm_lite.pretrained", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make", help="run a recipe")
    m.add_argument("name", help=f"'all' (every shipped recipe) or one of {sorted(RECIPES)}")
    m.add_argument("--out", help="output folder (default: igm_lite/checkpoints/NAME)")
    m.add_argument("--steps", type=int, help="override the number of training steps")
    m.add_argument("--checkpoint-every", type=int, help="keep resumable checkpoints in OUT-checkpoints every N steps")
    m.add_argument("--data", action="append", default=[], metavar="KEY=VALUE", help="override a data argument, e.g. root=CELEBA_DIR")
    m.add_argument("--seed", type=int, help="the training seed (default: the recipe's): another training run of the same recipe")
    m.add_argument("--autoencoder", help="a latent recipe's autoencoder: a shipped name, a folder or a hub id (e.g. a Stable Diffusion model)")
    sub.add_parser("list", help="list the recipes")
    a = p.parse_args(argv)
    if a.cmd == "list":
        for n, r in RECIPES.items():
            print(f"{n:28s} {'' if r.shipped else '(not shipped) '}{r.about}")
        return
    names = shipped() if a.name == "all" else [a.name]
    data = {}
    for item in a.data:
        key, sep, value = item.partition("=")
        if not sep:
            p.error(f"--data takes KEY=VALUE, got {item!r}")
        data[key] = int(value) if value.isdigit() else value
    for n in names:
        out = make(n, Path(a.out) / n if (a.out and len(names) > 1) else a.out, a.steps, progress=sys.stderr.isatty(), data=data,
                   checkpoint_every=a.checkpoint_every, autoencoder=a.autoencoder, seed=a.seed)
        print(json.dumps({"made": n, "path": str(out), **{k: v for k, v in json.loads((out / "recipe.json").read_text()).items() if k in ("seconds", "final_loss_mean_last_200")}}))


if __name__ == "__main__":
    main()
