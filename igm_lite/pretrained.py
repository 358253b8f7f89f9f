"""Shipped checkpoints: the loaders of the models that the recorded recipes (``igm_lite.recipes``) make.

Every checkpoint in ``igm_lite/checkpoints/`` is produced by one command,

    python -m igm_lite.pretrained make NAME [--out DIR] [--steps N]

(``igm_lite.maker``; ``make all`` remakes every one), and carries ``recipe.json``: the recipe, the command and the
final training loss. The book loads them with ``load_pretrained(NAME)`` or ``load_model(NAME or folder)`` and never
retrains from scratch.
"""
from __future__ import annotations

import json
from pathlib import Path

from .compose import ComposedDenoiser
from .io import CHECKPOINTS, CONFIG_NAME, INFERENCE_NAME, read_config
from .recipes import MODELS, RECIPES, shipped


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
    return _checked(cls.from_pretrained(path, **expect).eval(), path)


def _checked(model, folder: Path):
    """``model``, whose recorded inference settings (``inference.json``) configure their engines: an unknown or misspelt
    setting, or an impossible value, is refused at load, naming the file (``igm_lite.infer.base.check_recorded``)."""
    from .infer import check_recorded  # the package: every engine, so every kind's configuration, defined

    check_recorded(dict(getattr(model, "inference", None) or {}), str(folder / INFERENCE_NAME))
    return model


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
        return _checked(classes.get(name, ComposedDenoiser).from_pretrained(path).eval(), path)
    if str(name_or_path) not in RECIPES:
        raise FileNotFoundError(f"{name_or_path!r} is neither a model folder nor a shipped checkpoint ({shipped()})")
    return load_pretrained(str(name_or_path))


def recipe_info(name_or_path: str) -> dict:
    """The ``recipe.json`` written beside a checkpoint: a shipped one by name, or a model folder by path."""
    path = Path(name_or_path)
    return json.loads(((path if path.is_dir() else CHECKPOINTS / name_or_path) / "recipe.json").read_text())


if __name__ == "__main__":  # python -m igm_lite.pretrained make NAME: the maker's command line
    from .maker import main

    main()
