"""Shipped checkpoints and the recorded recipes that make them.

Every checkpoint in ``igm_lite/checkpoints/`` is produced by one command,

    python -m igm_lite.pretrained make NAME [--out DIR] [--steps N]

(``make all`` remakes every one), and carries ``recipe.json``: the recipe, the command and the final
training loss. The book loads them with ``load_pretrained(NAME)`` and never retrains from scratch.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .compose import ComposedDenoiser
from .data.toy2d import StripeWorld
from .io import atomic_dir
from .train import TrainConfig, train

CHECKPOINTS = Path(__file__).parent / "checkpoints"


@dataclass
class Recipe:
    """How one shipped model is made: the model, the data, the training run."""

    model: dict  # ComposedDenoiser keyword arguments
    world: str  # the data world (a key of WORLDS)
    data: dict  # keyword arguments of the world's ``batch``
    train: dict = field(default_factory=dict)  # TrainConfig overrides
    about: str = ""  # one line for the book


WORLDS = {"stripes": StripeWorld}
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


def make(name: str, out: str | Path | None = None, steps: int | None = None, progress: bool = True) -> Path:
    """Run recipe ``name`` and write the model folder (atomically) to ``out`` (default: the package's)."""
    if name not in RECIPES:
        raise KeyError(f"unknown recipe {name!r}; known: {sorted(RECIPES)}")
    r = RECIPES[name]
    cfg = TrainConfig(**{**r.train, **({"steps": steps} if steps else {}), "checkpoint_every": 0})
    world = WORLDS[r.world]()
    torch.manual_seed(cfg.seed)
    model = ComposedDenoiser(**r.model)
    start = time.perf_counter()
    result = train(model, lambda n, g: world.batch(n, generator=g, **r.data), cfg, progress=progress)
    out = Path(out) if out is not None else CHECKPOINTS / name
    with atomic_dir(out) as tmp:
        result.model.write_to(tmp)
        tail = result.losses[-min(200, len(result.losses)):]
        (tmp / "recipe.json").write_text(json.dumps({
            "name": name, "recipe": dataclasses.asdict(r), "train_config": dataclasses.asdict(cfg),
            "command": f"python -m igm_lite.pretrained make {name}" + (f" --steps {steps}" if steps else ""),
            "final_loss_mean_last_200": sum(tail) / len(tail), "seconds": round(time.perf_counter() - start, 1),
            "torch": torch.__version__,
        }, indent=2))
    return out


def load_pretrained(name: str) -> ComposedDenoiser:
    """Load a shipped checkpoint by name (see ``RECIPES``), in eval mode."""
    path = CHECKPOINTS / name
    if not path.is_dir():
        raise FileNotFoundError(f"no shipped checkpoint {name!r} in {CHECKPOINTS}; make it with "
                                f"`python -m igm_lite.pretrained make {name}`")
    expect = RECIPES[name].model if name in RECIPES else {}
    return ComposedDenoiser.from_pretrained(path, **expect).eval()


def recipe_info(name: str) -> dict:
    """The ``recipe.json`` written beside a shipped checkpoint."""
    return json.loads((CHECKPOINTS / name / "recipe.json").read_text())


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m igm_lite.pretrained", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make", help="run a recipe")
    m.add_argument("name", help=f"'all' or one of {sorted(RECIPES)}")
    m.add_argument("--out", help="output folder (default: igm_lite/checkpoints/NAME)")
    m.add_argument("--steps", type=int, help="override the number of training steps")
    sub.add_parser("list", help="list the recipes")
    a = p.parse_args(argv)
    if a.cmd == "list":
        for n, r in RECIPES.items():
            print(f"{n:28s} {r.about}")
        return
    names = sorted(RECIPES) if a.name == "all" else [a.name]
    for n in names:
        out = make(n, Path(a.out) / n if (a.out and len(names) > 1) else a.out, a.steps, progress=sys.stderr.isatty())
        print(json.dumps({"made": n, "path": str(out), **{k: v for k, v in json.loads((out / "recipe.json").read_text()).items() if k in ("seconds", "final_loss_mean_last_200")}}))


if __name__ == "__main__":
    main()
