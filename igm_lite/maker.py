"""The maker of the shipped checkpoints: ``make`` runs a recorded recipe (``igm_lite.recipes``) and writes the model
folder with its ``recipe.json``, as one command:

    python -m igm_lite.pretrained make NAME [--out DIR] [--steps N]

(``make all`` remakes every shipped one). The book loads the results and never retrains from scratch.
"""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import sys
import time
from pathlib import Path

import torch

from .data.celeba import CelebAWorld
from .data.clevr import ClevrWorld
from .data.digits import DigitWorld
from .data.faces import EveryFaceWorld, FaceWorld
from .data.toy2d import StripeWorld
from .infer.base import default_device
from .io import CHECKPOINTS, INFERENCE_NAME, atomic_dir
from .latent import encode, load_autoencoder
from .recipes import MODELS, RECIPES, Recipe, shipped
from .train import TrainConfig, choose_precision, train

WORLDS = {"stripes": StripeWorld, "faces": FaceWorld, "faces-every": EveryFaceWorld, "celeba": CelebAWorld, "digits": DigitWorld,
          "clevr": ClevrWorld}


def adapted(name: str, data: dict | None = None, autoencoder: str | None = None) -> Recipe:
    """Recipe ``name`` with a reader's overrides: ``data`` (its world's batch arguments, e.g. ``{"root": celeba_dir,
    "size": 128}``: the model is then built for that image size) and a latent recipe's ``autoencoder``."""
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
    return r


def write_model(out: Path, result, r: Recipe, cfg: TrainConfig, record: dict) -> None:
    """Write a trained model's folder atomically: its weights and config, the recipe's ``inference.json`` and
    ``recipe.json`` (``record`` (name, command, seconds, ...) with the recipe, the training configuration and the loss)."""
    with atomic_dir(out) as tmp:
        result.model.write_to(tmp)
        tail = result.losses[-min(200, len(result.losses)):]
        if r.inference:
            (tmp / INFERENCE_NAME).write_text(json.dumps(r.inference, indent=2))
        (tmp / "recipe.json").write_text(json.dumps({
            "name": record["name"], "recipe": dataclasses.asdict(r), "train_config": dataclasses.asdict(cfg), **record,
            "final_loss_mean_last_200": sum(tail) / len(tail), "precision": choose_precision(cfg.mixed_precision),
            "torch": torch.__version__,
        }, indent=2))


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
    r = adapted(name, data, autoencoder)
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
    command = (f"python -m igm_lite.pretrained make {name}" + (f" --steps {steps}" if steps else "")
               + "".join(f" --data {k}={v}" for k, v in (data or {}).items()) + (f" --autoencoder {autoencoder}" if autoencoder else "")
               + (f" --seed {seed}" if seed is not None else ""))
    write_model(out, result, r, cfg, {"name": name, "command": command, **extra, "seconds": round(time.perf_counter() - start, 1)})
    return out


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m igm_lite.pretrained", description="Shipped checkpoints and the recorded recipes that make them.")
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
