"""Chapter 2's figures: object positions and counts, IGM against the official algorithm and two baselines
(``python -m igm_lite.bench clevr``)."""
from __future__ import annotations

import dataclasses
import time

from ..checks import check_int, flat_settings
from ..data.clevr import clevr_test_set
from ..infer.continuous import OFFICIAL, DescentConfig, DescentEngine, PositionConfig, PositionEngine, grid_region
from ..metrics import bits, ci95, position_metrics, position_outcomes
from ..pretrained import load_model
from ..schedule import make_scheduler

CLEVR_METHODS = ("igm", "resnet", "slot", "reference", "multistart")


_P, _D = PositionConfig(), DescentConfig()


def clevr(split: str = "ood", n: int = 100, seed: int = 0, methods=("igm",), k_mode: str = "infer", root=None, size: int = 32,
          model: str = "clevr32", resnet: str = "clevr32-resnet", slot: str = "clevr32-slot", grid: int | None = None,
          n_samples: int | None = None, t_range=None, refine: int | None = None, inits: int = _D.inits,
          steps: int = _D.steps, k_range=_D.k_range, threshold: float = 0.002, batch_size: int = 8):
    """Yield one result dict per method on the same scenes (``igm_lite.bench``). ``igm`` is ``PositionEngine`` (grid,
    greedy, refine, prune) with ``grid``, ``n_samples`` samples from ``t_range`` and ``refine`` steps (each at None: the
    model's recorded setting, its ``inference.json``, else ``PositionConfig``'s), ``batch_size`` scenes refined
    together; ``reference`` is the official algorithm (``OFFICIAL``, K from the ground truth); ``multistart`` is
    ``inits`` random initialisations x ``steps`` steps, K given or scanned over ``k_range`` (least error). Both descents
    keep the best initialisation on ``n_samples`` fixed samples (None: 3, the grid engine's default; one initialisation
    compares nothing and reads none) and descend over
    ``DescentConfig``'s range of t: ``grid``, ``t_range`` and ``refine`` are the grid engine's alone, refused without it."""
    batch_size = check_int(batch_size, "batch_size")
    given = {name: v for name, v in (("grid", grid), ("t_range", t_range), ("refine", refine)) if v is not None}
    if given and "igm" not in methods:
        raise ValueError(f"{sorted(given)} set(s) the grid engine (method 'igm'), which is not among the methods {list(methods)}")
    batch = clevr_test_set(split, n, seed, root, size)
    truths = [batch.concepts[b, batch.mask[b], :2] for b in range(len(batch))]
    ks = [len(t) for t in truths]
    scheduler = make_scheduler()
    for method in methods:
        start, settings = time.perf_counter(), {}
        if method in ("resnet", "slot"):
            net = load_model(resnet if method == "resnet" else slot)
            preds, evals = net.predict(batch.x, seed=seed), 0.0  # Slot Attention draws its initial slots per image from seed
        else:
            net = load_model(model)
            if method == "igm":
                own = {k: v for k, v in (("grid", grid), ("n_samples", n_samples), ("t_range", t_range), ("refine_steps", refine)) if v is not None}
                eng = PositionEngine(net, scheduler, seed=seed, region=grid_region(root), **own)  # the rest: the model's recorded settings
                settings = {**flat_settings(eng.config), "batch": batch_size}
                res = [r for i in range(0, len(batch), batch_size)
                       for r in eng.infer_many(batch.x[i : i + batch_size], k=ks[i : i + batch_size] if k_mode == "given" else None)]
            else:
                cfg = OFFICIAL if method == "reference" else dataclasses.replace(_D, inits=inits, steps=steps, k_range=k_range)
                compare = {"n_samples": _P.noise.n_samples if n_samples is None else n_samples} if cfg.inits > 1 else {}  # one init: nothing compared
                eng = DescentEngine(net, scheduler, cfg, seed=seed, **compare)
                settings = flat_settings(eng.config)
                # every image with its own K, all in one batch; or scan K: the least error on the fixed samples over k_range
                res = eng.infer_many(batch.x, k=ks if method == "reference" or k_mode == "given" else None)
            preds, evals = [o.answer for o in res], sum(o.network_evals for o in res) / len(res)
        m, o = position_metrics(preds, truths, threshold), position_outcomes(preds, truths, threshold)
        yield {"bench": "clevr", "method": method, "split": split, "n": len(truths), "k": k_mode if method != "reference" else "given",
               **{key: round(v, 6) for key, v in m.items()},
               "perception_rate_ci95": ci95(m["perception_rate"], sum(ks)),  # over objects (those of one scene are not independent)
               "k_accuracy_ci95": ci95(m["k_accuracy"], len(truths)), "network_evals_per_image": evals,
               "found": bits(o["found"]), "k_right": bits(o["k_right"]),  # per object and per scene, for paired comparisons
               "k_too_few": sum(e < 0 for e in o["k_error"]), "k_too_many": sum(e > 0 for e in o["k_error"]),  # miscounted scenes
               "seconds_per_image": round((time.perf_counter() - start) / len(truths), 4),
               "settings": {"seed": seed, "data": str(root) if root else "procedural", "size": size, "threshold": threshold,
                            "model": str(resnet if method == "resnet" else slot if method == "slot" else model),
                            **{k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}}}
