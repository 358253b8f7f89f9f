"""Chapter 4's figures: zero-shot perception, IGM against Diffusion Classifier (``python -m igm_lite.bench zeroshot``)."""
from __future__ import annotations

from ..data.digits import captions, digit_test_set, prompt_pool
from ..infer.base import distributed_map
from ..infer.zeroshot import ZeroShot
from ..schedule import NoiseConfig
from ..metrics import accuracy_ci, bits, same_decisions
from ..pretrained import load_model
from ..schedule import make_scheduler

ZS_METHODS = ("igm", "dc", "dc-joint", "naive", "cached", "race")  # cached: igm, igm-weighted and dc from one cache; race: IGM by racing


def zeroshot(k: int | None = 2, n: int = 200, seed: int = NoiseConfig.seed, methods=("igm",), m: int = 10, mode: str | None = None,
             model: str = "digits32", n_samples: int | None = None, t_range=None, sd: str | None = None,
             images=None, prompt: str = "a photo of a {}", size: int = 512, confidence: float | None = None):
    """Yield one result dict per method, all on the same images and noise (``igm_lite.bench``); ``race`` is IGM
    enumerated by racing at ``confidence`` (None: the engine's), ``n_samples`` the most it spends on an image.
    ``n_samples`` and ``t_range`` at None: the model's recorded settings (``inference.json``), else the engine's defaults."""
    if sd is None:
        net, scheduler = load_model(model), make_scheduler()
        x, truth = digit_test_set(k, n, seed, m)
        pool, joint, names = prompt_pool()[:m], captions, [f"{d}" for d in range(m)]  # joint: multi-hot "a 3 and a 7"
        ks, get, truth = [k] * len(x), (lambda i: x[i]), truth.tolist()
    else:
        net, scheduler, pool, joint, names, truth, ks, get = _photos(sd, images, k, n, prompt, size)
    if confidence is not None and "race" not in methods:
        raise ValueError(f"confidence is racing's, and 'race' is not among the methods {list(methods)}")
    base = ZeroShot.settings_for(net, n_samples=n_samples, t_range=t_range, seed=seed)
    readers = {"igm": dict(mode=mode), "dc": dict(reader="dc"), "dc-joint": dict(reader="dc-joint"), "naive": dict(method="naive", mode=mode),
               "race": dict(method="race", confidence=confidence, mode=mode), "cached": {}}  # each method's engine: the shared noise, and its own
    engines = {meth: ZeroShot(net, scheduler, ZeroShot.settings_for(net, base, **readers[meth]),
                              joint_prompts=joint if meth == "dc-joint" else None) for meth in methods}
    first = None
    for method in methods:
        if method == "cached":  # IGM in both forms and DC top-K read from one cache (M + 1 rows per sample)
            def one(i):
                r = engines["cached"].compare(get(i).float(), pool, ks[i])
                return {"mean": r.igm["mean"].tolist(), "weighted": r.igm["weighted"].tolist(), "dc": r.dc.tolist(),
                        "evals": r.network_evals, "seconds": r.seconds}

            shared = distributed_map(one, len(truth))
            runs = [(name, [{"answer": o[key], "evals": o["evals"], "seconds": o["seconds"]} for o in shared], key if key != "dc" else None)
                    for name, key in (("igm", "mean"), ("igm-weighted", "weighted"), ("dc", "dc"))]
        else:
            def one(i):
                r = engines[method].infer(get(i).float(), pool, k=ks[i])
                return {"answer": r.answer.tolist(), "evals": r.network_evals, "seconds": r.seconds, "samples": r.samples_used}

            runs = [(method, distributed_map(one, len(truth)), mode or net.mode)]
        for name, out, form in runs:
            answers = [o["answer"] for o in out]
            right = [a == sorted(t) for a, t in zip(answers, truth)]
            row = {"bench": "zeroshot", "method": name, "k": k, "m": len(names), "n": len(truth), **accuracy_ci(right), "correct": bits(right),
                   "unet_evals_per_image": sum(o["evals"] for o in out) / max(len(out), 1),
                   "seconds_per_image": round(sum(o["seconds"] for o in out) / max(len(out), 1), 5)}
            if name == "race":
                row["samples_used"] = [o["samples"] for o in out]
            if first is None:
                first = (name, answers)
            else:
                row[f"same_decisions_as_{first[0]}"] = same_decisions(answers, first[1])
            row["settings"] = dict(seed=seed, model=sd or str(model), images=str(images) if images else "digits (procedural canvases)",
                                   mode=form, n_samples=base.noise.n_samples, t_range=list(base.noise.t_range), shared_cache=method == "cached",
                                   **({"confidence": engines["race"].config.confidence} if name == "race" else {}))
            yield row


def _photos(sd: str, images, k: int | None, n: int, prompt: str, size: int):
    """A labelled photo folder read by a Stable Diffusion model: (denoiser, scheduler, prompt pool, joint prompts,
    class names, label sets, K per image, image i -> its latent), the first ``n`` images with ``k`` labels (None: any)."""
    from ..data.labelled import LabelledImages
    from ..sd import StableDiffusionIGM

    if images is None:
        raise ValueError("--sd needs --images FOLDER (a labelled image folder with labels.csv)")
    pipe = StableDiffusionIGM.from_pretrained(sd)
    data = LabelledImages(images, size=size)
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

    return pipe.denoiser, pipe.scheduler, pool, joint, names, truth, ks, get
