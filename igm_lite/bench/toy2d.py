"""Chapter 1's figures: joint versus independent composition on the 2-D stripe world (``python -m igm_lite.bench toy2d``)."""
from __future__ import annotations

import time

import torch

from ..concepts import one_hot_sets
from ..data.toy2d import StripeWorld
from ..infer.discrete import DiscreteConfig, DiscreteEngine
from ..metrics import bits, ci95, gaussian_kl, set_accuracy
from ..pretrained import load_pretrained
from ..sample import sample
from ..schedule import make_scheduler

_D = DiscreteConfig()  # the discrete engine's defaults: 32 samples, t over the whole schedule

TOY_MODELS = ("toy2d-independent-sum", "toy2d-independent-weighted", "toy2d-joint-sum", "toy2d-joint-weighted")


def exact_eps(world: StripeWorld, scheduler, scene, summed: bool):
    """eps_fn for ``sample`` from closed forms: the sum over the scene's concepts of each expert's exact
    denoiser (``summed``), or the exact denoiser of the product itself (the floor set by the sampler)."""
    abar_all = scheduler.alphas_cumprod

    def eps_fn(x_t, t):
        abar = abar_all[t].to(x_t.dtype).view(-1, *([1] * (x_t.dim() - 2)))
        if summed:
            return sum(world.ideal_eps(x_t, abar, (k,)) for k in scene)
        return world.ideal_eps(x_t, abar, scene)

    return eps_fn


EXACT = {"exact-experts-summed": True, "exact-product": False}  # name -> summed


def toy2d_generation(model, world: StripeWorld, scheduler, k: int, n: int = 1000, steps: int = 100, seed: int = 0,
                     exact: str | None = None) -> dict:
    """Mean KL divergence from the Gaussian fitted to the composition's samples to the exact product, over
    all scenes of k concepts. ``exact``: sample with a closed-form denoiser instead of ``model``
    (``"exact-experts-summed"`` or ``"exact-product"``, see ``EXACT``)."""
    dists = {}
    for i, scene in enumerate(world.scenes(k)):
        gen = torch.Generator().manual_seed(seed * 1000 + i)
        c, m = one_hot_sets([list(scene)], world.num_concepts, world.k_max)
        eps_fn = exact_eps(world, scheduler, scene, EXACT[exact]) if exact else None
        # one scene, n points: the n points form one sample of shape (n, 2) (the MLP acts per point)
        x = sample(model, c, m, (n, 2), scheduler, steps=steps, generator=gen, eps_fn=eps_fn)[0]
        mean, cov = world.product(scene)
        dists[scene] = gaussian_kl(x, mean, cov)
    return {"kl_mean": sum(dists.values()) / len(dists), "per_scene": dists}


def toy2d_inference(model, world: StripeWorld, scheduler, clouds: int = 4, points: int = 32, n_samples: int = _D.noise.n_samples,
                    t_range=_D.noise.t_range, seed: int = 0, naive: bool = False) -> dict:
    """Recover the concept set of point clouds by enumeration of every valid set (K = 1, 2, 3).
    ``naive``: also run the naive engine on the same clouds and noise, and report its cost and agreement."""
    sets = [list(s) for k in (1, 2, 3) for s in world.scenes(k)]
    engine = DiscreteEngine(model, scheduler, n_samples=n_samples, t_range=t_range, seed=seed)
    reference = DiscreteEngine(model, scheduler, n_samples=n_samples, t_range=t_range, seed=seed, method="naive")
    pool = torch.eye(world.num_concepts)
    truth, pred, evals, seconds = [], [], 0, 0.0
    ref = {"same": 0, "evals": 0, "seconds": 0.0}
    for j, scene in enumerate(s for k in (1, 2, 3) for s in world.scenes(k)):
        for c in range(clouds):
            x0 = world.cloud(scene, points, torch.Generator().manual_seed(10_000 * seed + 100 * j + c))
            r = engine.infer(x0, pool, sets)
            truth.append(list(scene))
            pred.append(r.answer.tolist())
            evals += r.network_evals
            seconds += r.seconds
            if naive:
                rn = reference.infer(x0, pool, sets)
                ref["same"] += rn.answer.tolist() == r.answer.tolist()
                ref["evals"] += rn.network_evals
                ref["seconds"] += rn.seconds
    by_k = {k: set_accuracy([p for p, t in zip(pred, truth) if len(t) == k], [t for t in truth if len(t) == k]) for k in (1, 2, 3)}
    k_acc = sum(len(p) == len(t) for p, t in zip(pred, truth)) / len(truth)
    out = {"set_accuracy": set_accuracy(pred, truth), "by_k": by_k, "k_accuracy": k_acc, "n": len(truth),
           "network_evals_per_cloud": evals / len(truth), "seconds_per_cloud": seconds / len(truth),
           "predictions": pred, "truth": truth}
    if naive:
        out["naive"] = {"same_decisions": ref["same"] / len(truth), "network_evals_per_cloud": ref["evals"] / len(truth),
                        "seconds_per_cloud": ref["seconds"] / len(truth)}
    return out


def toy2d(models=TOY_MODELS, n_gen: int = 1000, steps: int = 100, clouds: int = 4, points: int = 32, n_samples: int = _D.noise.n_samples,
          seed: int = 0, exact: bool = True, naive: bool = True):
    """Yield one result dict per model (and the two closed-form rows)."""
    world, scheduler = StripeWorld(), make_scheduler()
    rows = [(name, load_pretrained(name)) for name in models]
    if exact:
        rows += [(name, None) for name in EXACT]
    for name, model in rows:
        start = time.perf_counter()
        out = {"bench": "toy2d", "model": name}
        for k in (2, 3):
            g = toy2d_generation(model, world, scheduler, k, n_gen, steps, seed, exact=name if model is None else None)
            out[f"kl_k{k}"] = round(g["kl_mean"], 4)
        if model is not None:
            inf = toy2d_inference(model, world, scheduler, clouds, points, n_samples, seed=seed, naive=naive)
            out.update(set_accuracy=round(inf["set_accuracy"], 4), set_accuracy_ci95=ci95(inf["set_accuracy"], inf["n"]),
                       set_accuracy_by_k={k: round(v, 4) for k, v in inf["by_k"].items()},
                       k_accuracy=round(inf["k_accuracy"], 4), k_accuracy_ci95=ci95(inf["k_accuracy"], inf["n"]), clouds=inf["n"], network_evals_per_cloud=inf["network_evals_per_cloud"],
                       seconds_per_cloud=round(inf["seconds_per_cloud"], 4),
                       correct=bits([set(map(int, p)) == set(map(int, t)) for p, t in zip(inf["predictions"], inf["truth"])]),
                       k_right=bits([len(p) == len(t) for p, t in zip(inf["predictions"], inf["truth"])]))
            if naive:
                nv = inf["naive"]
                out.update(naive_same_decisions=nv["same_decisions"], naive_network_evals_per_cloud=nv["network_evals_per_cloud"],
                           naive_seconds_per_cloud=round(nv["seconds_per_cloud"], 4),
                           evals_ratio_naive_over_cached=round(nv["network_evals_per_cloud"] / inf["network_evals_per_cloud"], 2),
                           seconds_ratio_naive_over_cached=round(nv["seconds_per_cloud"] / max(inf["seconds_per_cloud"], 1e-9), 2))
        out.update(seconds=round(time.perf_counter() - start, 1),
                   settings=dict(n_gen=n_gen, sample_steps=steps, clouds_per_scene=clouds, points=points, n_samples=n_samples, seed=seed))
        yield out
