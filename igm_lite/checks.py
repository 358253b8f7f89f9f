"""The checks at the library's front doors: every public entry point validates what it is given here, so that
bad input fails at once with an error that names the argument, what was given and what was expected, instead
of deep inside torch or diffusers, or not at all (a silent wrong answer).

A model describes the samples it takes by three attributes (``ComposedDenoiser`` and the baselines have them):
``sample_shape`` (one sample's shape; ``None`` for an axis of any size, a leading ``...`` for any leading axes,
or ``None`` altogether for no constraint), ``data_range`` ((lo, hi) of clean data, or ``None`` where data are
unbounded, as latents and 2-D points are) and ``input_dtype``.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping

import torch


# Clean data may overshoot its range by this share of the range's width (resampling, rounding) before it is refused.
RANGE_SLACK = 0.05


def check_int(value, name: str, lo: int | None = 1, hi: int | None = None) -> int:
    """``value`` as an int, or ``TypeError`` (not a whole number) / ``ValueError`` (outside [lo, hi])."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise TypeError(f"{name} must be a whole number, got {value!r} ({type(value).__name__})")
    value = int(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        want = f">= {lo}" if hi is None else (f"<= {hi}" if lo is None else f"in [{lo}, {hi}]")
        raise ValueError(f"{name} must be {want}, got {value}")
    return value


def check_float(value, name: str, lo: float | None = None, hi: float | None = None, lo_open: bool = False) -> float:
    """``value`` as a finite float within [lo, hi] ((lo, hi] with ``lo_open``), or ``TypeError`` / ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    below = lo is not None and (value <= lo if lo_open else value < lo)
    if below or (hi is not None and value > hi):
        left = "(" if lo_open else "["
        raise ValueError(f"{name} must lie in {left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}], got {value}")
    return value


def num_timesteps(scheduler) -> int:
    """T, the number of timesteps of a diffusers scheduler (1000 for the paper's)."""
    return int(scheduler.config.num_train_timesteps)


def check_t_range(t_range, scheduler=None, name: str = "t_range") -> tuple[int, int]:
    """(lo, hi) whole numbers with 0 <= lo < hi <= T (timesteps are drawn from [lo, hi)); T from ``scheduler``."""
    try:
        lo, hi = t_range
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a pair (lo, hi) of timesteps, got {t_range!r}") from None
    lo, hi = check_int(lo, f"{name}[0]", lo=0), check_int(hi, f"{name}[1]", lo=1)
    T = num_timesteps(scheduler) if scheduler is not None else None
    if lo >= hi or (T is not None and hi > T):
        within = f"0 <= lo < hi <= T = {T}" if T is not None else "0 <= lo < hi"
        raise ValueError(f"{name} must satisfy {within} (timesteps are drawn from [lo, hi)), got {tuple(t_range)}")
    return lo, hi


def check_timesteps(t: torch.Tensor, scheduler, name: str = "t") -> None:
    """Integer timesteps within the schedule's [0, T)."""
    if t.is_floating_point():
        raise TypeError(f"{name} must hold integer timesteps, got dtype {t.dtype}")
    T = num_timesteps(scheduler)
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= T):
        raise ValueError(f"{name} must lie in the schedule's [0, T = {T}), got values in [{int(t.min())}, {int(t.max())}]")


def _shape_matches(shape: tuple, spec: tuple) -> bool:
    if spec and spec[0] is Ellipsis:
        tail = spec[1:]
        return len(shape) >= len(tail) and all(s is None or a == s for a, s in zip(shape[len(shape) - len(tail):], tail))
    return len(shape) == len(spec) and all(s is None or a == s for a, s in zip(shape, spec))


def _describe(spec: tuple, batched: bool) -> str:
    return "(" + ", ".join((["B"] if batched else []) + ["..." if s is Ellipsis else ("any" if s is None else str(s)) for s in spec]) + ")"


def check_sample(x, model, name: str = "x0", batched: bool = False, values: bool = True) -> torch.Tensor:
    """Check data for ``model``: one sample (``batched=False``) or a batch (B, *sample) of them. Checks the type, the
    dtype (the model's ``input_dtype``), the shape (its ``sample_shape``) and, with ``values``, that every value is
    finite and lies in the model's ``data_range`` (give clean data here, not noised: noised data leave the range)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    want = getattr(model, "input_dtype", None)
    if not x.is_floating_point() or (want is not None and x.dtype != want):
        hint = " (images: convert with x.float() / 127.5 - 1)" if not x.is_floating_point() else f" (convert with {name}.to({want}))"
        raise TypeError(f"{name} must be a {want or 'floating-point'} tensor, got dtype {x.dtype}{hint}")
    spec = getattr(model, "sample_shape", None)
    shape = tuple(x.shape)
    if batched:
        if x.dim() < 1 or x.shape[0] < 1:
            raise ValueError(f"{name} must be a non-empty batch (B, *sample), got shape {shape}")
        shape = shape[1:]
    if spec is not None and not _shape_matches(shape, tuple(spec)):
        what = "a batch" if batched else "one sample (no batch axis)"
        cfg = getattr(model, "config", None)
        ae = cfg.get("autoencoder") if isinstance(cfg, Mapping) else None
        hint = f" (this model denoises latents of the autoencoder {ae!r}: encode images once with igm_lite.latent.encode)" if ae else ""
        raise ValueError(f"{name} must be {what} of shape {_describe(tuple(spec), batched)} for this model, got shape {tuple(x.shape)}{hint}")
    if values:
        if not torch.isfinite(x).all():
            raise ValueError(f"{name} contains NaN or infinite values")
        rng = getattr(model, "data_range", None)
        if rng is not None and x.numel():
            lo, hi = rng
            slack = RANGE_SLACK * (hi - lo)
            x_lo, x_hi = float(x.min()), float(x.max())
            if x_lo < lo - slack or x_hi > hi + slack:
                raise ValueError(f"{name} has values in [{x_lo:.3g}, {x_hi:.3g}]; this model was trained on data in [{lo:g}, {hi:g}]"
                                 + (" (images in 0..255 map there by x / 127.5 - 1)" if (lo, hi) == (-1.0, 1.0) else ""))
    return x


def check_pool(pool, model, name: str = "pool") -> torch.Tensor:
    """A candidate pool (M, D): M >= 1 finite concepts of the model's concept size D."""
    D = model.config["concept_dim"]
    if not isinstance(pool, torch.Tensor) or not pool.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor (M, D = {D}), got "
                        f"{pool.dtype if isinstance(pool, torch.Tensor) else type(pool).__name__}")
    if pool.dim() != 2 or pool.shape[1] != D or pool.shape[0] < 1:
        raise ValueError(f"{name} must have shape (M, D) with M >= 1 candidates and D = {D}, got {tuple(pool.shape)}")
    if not torch.isfinite(pool).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return pool


def check_sets(sets, M: int, name: str = "sets") -> torch.Tensor:
    """Candidate sets as a padded (S, K_max) long tensor: a list of index lists, or such a tensor with -1 as padding.
    Every index lies in [0, M), padding only after a set's members, and every set holds at least one member."""
    if isinstance(sets, torch.Tensor):
        if sets.is_floating_point() or sets.dtype == torch.bool or sets.dim() != 2:
            raise TypeError(f"{name} must be a list of index lists or an integer tensor (S, K), got {sets.dtype} of shape {tuple(sets.shape)}")
        out = sets.long().cpu()
    else:
        try:
            rows = [[check_int(i, f"{name}[{s}] entry", lo=None) for i in row] for s, row in enumerate(sets)]
        except TypeError as e:
            raise TypeError(f"{name} must be a list of index lists or an integer tensor (S, K): {e}") from None
        k = max((len(r) for r in rows), default=0)
        out = torch.tensor([r + [-1] * (k - len(r)) for r in rows], dtype=torch.long).view(len(rows), k)
    if out.shape[0] == 0 or out.shape[1] == 0:
        raise ValueError(f"{name} is empty: give at least one candidate set of at least one index")
    bad = (out < -1) | (out >= M)
    if bad.any():
        s = int(bad.any(1).nonzero()[0])
        raise ValueError(f"{name}[{s}] = {out[s].tolist()} holds an index outside [0, M = {M}) (-1 pads shorter sets)")
    member = out >= 0
    if not member.any(1).all():
        raise ValueError(f"{name}[{int((~member.any(1)).nonzero()[0])}] has no member: every set needs at least one concept")
    if (member[:, 1:] & ~member[:, :-1]).any():
        raise ValueError(f"{name}: -1 may only pad the end of a set")
    return out


def _nested(cls) -> dict:
    """The fields of ``cls`` that are configurations themselves (``noise``), with their own field names."""
    return {f.name: {g.name for g in dataclasses.fields(f.default)} for f in dataclasses.fields(cls) if dataclasses.is_dataclass(f.default)}


def _replace(config, settings: dict):
    """``config`` with ``settings`` applied; a setting that is a field of a nested configuration (``n_samples`` of
    ``noise``) is applied there."""
    settings, inner = dict(settings), {}
    for name, fields in _nested(type(config)).items():
        part = {k: settings.pop(k) for k in list(settings) if k in fields}
        if part:
            inner[name] = dataclasses.replace(settings.pop(name, getattr(config, name)), **part)
    return dataclasses.replace(config, **settings, **inner)


def _typed(name: str, value):
    """A setting as JSON records it, as the configuration takes it: a schedule as pairs, any other list as a tuple."""
    if name == "schedule":
        return tuple(map(tuple, value))
    return tuple(value) if isinstance(value, list) else value


def configure(cls, config, overrides: dict, recorded: Mapping | None = None, source: str = "the recorded settings"):
    """An engine's settings, by one rule: ``config`` (an instance of the dataclass ``cls``) if given, else the
    dataclass's defaults updated by ``recorded`` (the block a model's ``inference.json`` holds for this kind of engine);
    then the keyword ``overrides``, last. So an explicit setting wins, then the model's validated settings, then the
    defaults written once in the dataclass. The fields of a nested configuration (the noise settings ``n_samples``,
    ``t_range``, ``spacing``, ``seed``) are given by their own names.

    A recorded block may hold, under the name of a method (a value of ``cls``'s ``method`` field), the settings chosen
    for that method alone, e.g. ``"eliminate": {"n_samples": 32, "schedule": [[4, 2], [10, 1]]}``: they apply when that
    method runs, and were chosen together, so overriding some of them and not the others is refused (a schedule chosen
    on 32 samples does not silently run on 16). ``source`` names the record in errors (the model folder's file)."""
    if config is not None and not isinstance(config, cls):
        raise TypeError(f"config must be a {cls.__name__}, got {type(config).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}.union(*_nested(cls).values())
    unknown = set(overrides) - names
    if unknown:
        raise TypeError(f"unknown setting(s) {sorted(unknown)}; {cls.__name__} has {sorted(names)}")
    if config is not None:
        return _replace(config, overrides)
    record = dict(recorded or {})
    methods = getattr(cls, "METHODS", ())
    blocks = {k: record.pop(k) for k in list(record) if k in methods}
    if not all(isinstance(b, Mapping) for b in blocks.values()):
        raise ValueError(f"{source}: a method's block must be an object of settings, got {blocks!r:.80}")
    bad = sorted(set(record) - names) + sorted(f"{m}.{k}" for m, b in blocks.items() for k in b if k not in names)
    if bad:
        raise ValueError(f"{source} hold(s) unknown setting(s) {bad}: {cls.__name__} has {sorted(names)}"
                         + (f" and method blocks {list(methods)}" if methods else ""))
    config = _replace(cls(), {k: _typed(k, v) for k, v in record.items()})
    method = overrides.get("method", getattr(config, "method", None))
    block = blocks.get(method) or {}
    given = sorted(set(block) & set(overrides))
    if given and len(given) < len(block):
        raise ValueError(f"{source} for method {method!r} ({', '.join(f'{k}={v}' for k, v in block.items())}) were chosen together: "
                         f"give all of {sorted(block)} or none of them, not only {given}")
    return _replace(config, {**({k: _typed(k, v) for k, v in block.items()} if not given else {}), **overrides})


def flat_settings(config) -> dict:
    """A configuration as one flat dict (a nested configuration's fields by their own names): what
    ``inference.json`` and the results rows record, and what ``configure`` takes back."""
    out = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        out.update(flat_settings(value) if dataclasses.is_dataclass(value) else {f.name: value})
    return out
