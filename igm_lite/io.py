"""Atomic writes (a file or a folder appears whole or not at all) and model folders.

A model folder is ``config.json`` (the constructor's keyword arguments and the class name) beside
``diffusion_pytorch_model.safetensors`` (diffusers' file name), so the folder alone rebuilds the model. A folder may
also hold ``inference.json``: the inference settings chosen for the model on validation data and how they were
chosen (as a Hugging Face model ships ``generation_config.json``); a model loaded from the folder carries them as
``model.inference`` and the engines use them unless told otherwise (``recorded_settings``).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType

import torch
from safetensors.torch import load_file, save_file

CHECKPOINTS = Path(__file__).parent / "checkpoints"  # the shipped models, one folder each (igm_lite.pretrained makes them)
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"  # diffusers' file name
INFERENCE_NAME = "inference.json"  # {"settings": {engine kind: {...}}, "chosen_on": "...", "command": "..."}
# The kinds of engine whose settings inference.json records, one block each (``igm_lite.infer.base.Engine.kind``): the
# discrete engines (DiscreteEngine, AttributeEngine, ZeroShot), the grid engine (PositionEngine) and gradient descent.
ENGINE_KINDS = ("discrete", "positions", "descent")


@contextmanager
def atomic_dir(path: str | os.PathLike):
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` in one rename.

    If the body raises, the temporary folder is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        if path.exists():  # replace: move the old one aside first, then drop it
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def frozen(value):
    """A read-only copy of a configuration (as diffusers' ``FrozenDict``): every dict in it a read-only mapping, all
    the way down; it compares equal to the plain dicts it was made from."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: frozen(v) for k, v in value.items()})
    return [frozen(v) for v in value] if isinstance(value, list) else value


def thawed(value):
    """The plain dicts of a ``frozen`` configuration (what JSON and a constructor take)."""
    if isinstance(value, Mapping):
        return {k: thawed(v) for k, v in value.items()}
    return [thawed(v) for v in value] if isinstance(value, list) else value


class ModelFolder:
    """Mixin for an ``nn.Module`` whose ``config`` holds its constructor's keyword arguments, set once in the
    constructor and read-only after (``frozen``; a model built differently is a new model): ``save_pretrained`` /
    ``write_to`` write a model folder, ``from_pretrained`` rebuilds the model."""

    inference: dict = {}  # the settings of inference.json (an instance's own after from_pretrained; never mutated)

    @property
    def config(self) -> Mapping:
        return self.__dict__["_config"]

    @config.setter
    def config(self, value: Mapping) -> None:
        if "_config" in self.__dict__:
            raise AttributeError(f"a {type(self).__name__}'s config is fixed when it is built; build another model instead")
        self.__dict__["_config"] = frozen(value)

    def register_to_config(self, **changes) -> None:
        """Replace config entries as a whole, the one way a config changes after construction (as diffusers'
        ``register_to_config``): for a setting measured after training, e.g. an autoencoder's latent scale."""
        self.__dict__["_config"] = frozen({**thawed(self.config), **changes})

    def save_pretrained(self, path) -> None:
        """Write ``config.json`` and the weights to the folder ``path`` atomically."""
        with atomic_dir(path) as tmp:
            self.write_to(tmp)

    def write_to(self, folder) -> None:
        """Write config and weights into an existing folder (non-atomic; see ``save_pretrained``)."""
        folder = Path(folder)
        (folder / CONFIG_NAME).write_text(json.dumps({"class": type(self).__name__, **thawed(self.config)}, indent=2))
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        save_file(state, str(folder / WEIGHTS_NAME))

    @classmethod
    def from_pretrained(cls, path, **expect):
        """Rebuild a model from a folder written by ``save_pretrained``.

        Keyword arguments are config entries the caller expects (e.g. ``concept_dim=6``); a checkpoint
        whose config differs raises ``ValueError`` naming the entries.
        """
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a model folder (str or Path), got {type(path).__name__}")
        path = Path(path)
        cfg_file = path / CONFIG_NAME
        if not cfg_file.is_file() or not (path / WEIGHTS_NAME).is_file():
            raise FileNotFoundError(f"{path} is not a model folder: expected {CONFIG_NAME} and {WEIGHTS_NAME}")
        cfg = read_config(path)
        if cfg.pop("class", cls.__name__) != cls.__name__:
            raise ValueError(f"{cfg_file} does not describe a {cls.__name__}")
        wrong = {k: (cfg.get(k), v) for k, v in expect.items() if cfg.get(k) != v}
        if wrong:
            raise ValueError(
                f"checkpoint {path} does not match the expected config: "
                + ", ".join(f"{k}: checkpoint has {a!r}, expected {b!r}" for k, (a, b) in wrong.items())
            )
        try:
            model = cls(**cfg)
        except (TypeError, ValueError, KeyError) as e:
            raise ValueError(f"{cfg_file} does not describe a {cls.__name__}: {e}") from None
        weights = path / WEIGHTS_NAME
        try:
            state = load_file(str(weights))
        except Exception as e:  # safetensors' own error for a truncated or empty file
            raise ValueError(f"{weights} is not a readable safetensors file ({type(e).__name__}: {e})") from None
        bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
        if bad:
            raise ValueError(f"{weights} holds non-finite weights (NaN or inf) in {len(bad)} tensors, e.g. {bad[0]!r}: the file is damaged")
        try:
            model.load_state_dict(state)
        except RuntimeError as e:
            raise ValueError(f"weights in {path} do not fit the model its config.json describes: {e}") from None
        model.inference = read_inference(path).get("settings", {})
        return model


def read_config(folder) -> dict:
    """A model folder's ``config.json`` as a dict; ``ValueError`` naming the file when it is not one."""
    cfg_file = Path(folder) / CONFIG_NAME
    try:
        cfg = json.loads(cfg_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{cfg_file} is not valid JSON ({e})") from None
    if not isinstance(cfg, dict):
        raise ValueError(f"{cfg_file} must hold a JSON object of constructor arguments, got {type(cfg).__name__}")
    return cfg


def read_inference(folder) -> dict:
    """A model folder's ``inference.json`` (``{}`` when it has none): its ``settings`` hold one object per kind of engine
    (``ENGINE_KINDS``); ``ValueError`` naming the file and what is wrong. Each block's settings are checked against its
    engine's configuration by ``igm_lite.infer.base.check_recorded`` (``igm_lite.pretrained.load_model`` calls it)."""
    file = Path(folder) / INFERENCE_NAME
    if not file.is_file():
        return {}
    try:
        record = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{file} is not valid JSON ({e})") from None
    if not isinstance(record, dict) or not isinstance(record.get("settings"), dict):
        raise ValueError(f"{file} must hold a JSON object with a 'settings' object, got {record!r:.80}")
    bad = {k: v for k, v in record["settings"].items() if k not in ENGINE_KINDS or not isinstance(v, dict)}
    if bad:
        raise ValueError(f"{file}: settings must hold one object per kind of engine {list(ENGINE_KINDS)}, got {bad!r:.120}")
    return record


def recorded_settings(model, kind: str | None = None) -> dict:
    """The inference settings a model carries from its folder's ``inference.json`` (``{}``: none recorded): all of them,
    one block per kind of engine, or the block of ``kind`` alone."""
    record = dict(getattr(model, "inference", None) or {})
    return dict(record.get(kind) or {}) if kind is not None else record
