"""Chapter 3's figures: attributes in and out of distribution, IGM's engines and the ResNet (``python -m igm_lite.bench celeba``)."""
from __future__ import annotations

from ..data.attributes import ATTRIBUTES
from ..data.faces import face_test_set, face_world
from ..infer.attributes import attribute_log_prior, infer_faces
from ..infer.discrete import DiscreteConfig
from ..latent import encode
from ..metrics import accuracy_ci, attribute_scores, bits, paired_difference, same_decisions, unbits
from ..pretrained import load_model

_D = DiscreteConfig()


def celeba(split: str = "ood", n: int = 200, seed: int = _D.noise.seed, methods=("cached",), root=None, size: int = 32,
           model: str | None = None, classifier: str | None = None, n_samples: int | None = None, t_range=None,
           schedule=None, shift=None, world: str = "disjoint", confidence: float | None = None, noise_seed: int | None = None,
           prior=None, spacing: str | None = None):
    """Yield one result dict per method, all on the same faces (and, for the engines, the same noise) of the named
    ``world`` (``igm_lite.data.faces.FACE_WORLDS``). Each row's ``ci95`` is the Wilson interval of its accuracy over
    the faces, and ``correct`` says which faces it read right ('0'/'1' per face, ``igm_lite.metrics.unbits``), so that
    two rows on the same faces can be compared pairwise (``igm_lite.metrics.paired_difference``). ``says`` and
    ``true`` are the shares of faces on which the reader says each attribute is present and on which it is (a
    reader's bias), and the engines that score all 8 configurations on every sample (naive, cached) add the medians over faces of the least error
    (``least_error_median``) and of the gap to the second least (``gap_median``). An engine's row has ``samples_used``: the noise
    samples each face's decision used (racing stops early where the answer is settled). ``model`` and ``classifier``
    at None are the world's shipped readers (``SHIPPED_READERS``; real CelebA: the disjoint world's). ``n_samples``, ``t_range``,
    ``schedule`` and ``confidence`` at None are the model's recorded settings (``inference.json``), else the engine's defaults.
    ``seed`` draws the test faces and, unless ``noise_seed`` is given, the engines' shared noise: with it, the same faces
    are read under another draw of the noise (how much a figure owes to the draw). ``shift`` at None: the world's own.
    ``prior``: method ``"elbo"``'s prior (P(present) per attribute; None: none). ``spacing``: the samples' timesteps drawn
    uniformly (``"random"``) or evenly spaced (``"even"``); None: the model's recorded spacing."""
    if prior is not None:  # a prior is read by "elbo" alone: refused before any work where no method reads it, or malformed
        if "elbo" not in methods:
            raise ValueError(f"prior is added to the log-likelihoods of method 'elbo' only, which is not among the methods {list(methods)}")
        attribute_log_prior(prior)
    for name, value, reader in (("schedule", schedule, "eliminate"), ("confidence", confidence, "race")):  # each read by one method
        if value is not None and reader not in methods:
            raise ValueError(f"{name} is read by method {reader!r} only, which is not among the methods {list(methods)}")
    if spacing is not None and all(m == "resnet" for m in methods):  # the ResNet reads no noise
        raise ValueError(f"spacing is the IGM engines' timesteps, and no IGM method is among the methods {list(methods)}")
    model, classifier = world_readers(None if root else world, model, classifier, methods)
    batch = face_test_set(split, n, seed, root, size, shift, world)
    noise_seed = seed if noise_seed is None else noise_seed
    truth = batch.meta["attrs"]
    kinds = {"resnet" if m == "resnet" else "igm" for m in methods}
    nets = {k: load_model(classifier if k == "resnet" else model) for k in kinds}  # each model loaded once
    inputs = {k: batch.x if k == "resnet" else encode(nets[k], batch.x) for k in kinds}  # a latent model's latents: once for every engine
    first = None
    for method in methods:
        key = "resnet" if method == "resnet" else "igm"
        out = infer_faces(inputs[key], method, nets[key], n_samples=n_samples, t_range=t_range, seed=noise_seed,
                          schedule=schedule if method == "eliminate" else None, confidence=confidence if method == "race" else None,
                          spacing=spacing, **({"prior": prior} if method == "elbo" else {}))
        sc = attribute_scores(out.attrs, truth)
        right = (out.attrs.cpu() == truth.cpu()).all(1)
        row = {"bench": "celeba", "method": method, "split": split, "n": len(truth), **accuracy_ci(right),
               "per_attribute": {a: round(v, 4) for a, v in sc["per_attribute"].items()},
               "network_evals_per_image": float(out.network_evals.mean()), "seconds_per_image": round(float(out.seconds.mean()), 5), "correct": bits(right),
               "says": shares(out.attrs), "true": shares(truth)}
        if out.samples_used is not None:
            row["samples_used"] = out.samples_used.tolist()
        if method in ("naive", "cached"):  # every configuration scored on every sample
            least = out.errors.sort(dim=1).values
            row["least_error_median"] = float(f"{least[:, 0].median():.3g}")
            row["gap_median"] = float(f"{(least[:, 1] - least[:, 0]).median():.3g}")
        if first is None:
            first = (method, out.attrs)
        else:
            row[f"same_decisions_as_{first[0]}"] = same_decisions(out.attrs, first[1])
        row["settings"] = dict(seed=seed, **({"noise_seed": noise_seed} if noise_seed != seed else {}),
                               data=str(root) if root else "procedural", size=size, world=None if root else world,
                               shift=list(face_world(world, size, shift).shift) if root is None and split == "ood" else None,
                               model=None if method == "resnet" else str(model), classifier=str(classifier) if method == "resnet" else None,
                               n_samples=out.config.noise.n_samples if out.config else n_samples,
                               **({"spacing": out.config.noise.spacing} if spacing is not None and out.config else {}), t_range=list(out.config.noise.t_range if out.config else t_range or _D.noise.t_range),
                               schedule=[list(s) for s in out.config.stages] if method == "eliminate" and out.config else None,
                               **({"confidence": out.config.confidence} if method == "race" else {}),
                               **({"prior": None if prior is None else [float(p) for p in prior]} if method == "elbo" else {}))
        yield row


# The readers shipped for each world of chapter 3 (the other worlds' readers are trained by ``bench worlds``)
SHIPPED_READERS = {"disjoint": ("faces32-mean", "faces32-resnet"),
                   "celeba-like": ("faces32-latent-celeba-like", "faces32-resnet-celeba-like")}


def world_readers(world: str | None, model: str | None, classifier: str | None, methods) -> tuple:
    """(model, classifier) with each one left at None replaced by the world's shipped reader (``world`` None: the real
    CelebA, read by the disjoint world's); a reader the methods need that the world does not ship is refused, naming
    the worlds that ship one and how to train it."""
    shipped = SHIPPED_READERS.get(world or "disjoint")
    needs = {"resnet": any(m == "resnet" for m in methods), "igm": any(m != "resnet" for m in methods)}
    for kind, given, flag in (("igm", model, "--model"), ("resnet", classifier, "--classifier")):
        if needs[kind] and given is None and shipped is None:
            raise ValueError(f"no {'ResNet' if kind == 'resnet' else 'IGM'} reader ships for the world {world!r} (shipped: "
                             f"{sorted(SHIPPED_READERS)}): name one with {flag}, or train the world's readers with "
                             f"python -m igm_lite.bench worlds --world {world}")
    return (model or (shipped[0] if shipped else None), classifier or (shipped[1] if shipped else None))


def shares(attrs) -> dict:
    """The share of faces whose attribute is 1, per attribute (``ATTRIBUTES`` order), to 4 places."""
    return {a: round(float(v), 4) for a, v in zip(ATTRIBUTES, attrs.float().cpu().mean(0))}


def racing_samples_used(rows: list[dict], model: str) -> dict:
    """{split: the noise samples each face's decision used} of racing at the model's recorded number of samples (the
    smaller budget of the racing file's rows, ``load_results("racing")``), for ``igm_lite.viz.samples_used_figure``."""
    out = {}
    for split in ("id", "ood"):
        race = [r for r in rows if r.get("method") == "race" and r.get("split") == split and f"--model {model} " in r["command"]]
        if not race:
            raise KeyError(f"no racing rows for model {model!r}, split {split!r}")
        out[split] = min(race, key=lambda r: r["settings"]["n_samples"])["samples_used"]
    return out


def racing_table(rows: list[dict], model: str) -> tuple[list[str], list[list[str]]]:
    """The racing benchmark's table for one face model (header, rows for ``igm_lite.chapters.markdown_table``), from the
    rows of ``load_results("racing")``: per split and engine (each at the model's recorded number of samples N, then
    cached and racing at the larger budget), its network rows per face and how many times fewer than naive's, seconds
    per face (naive's are 4 times cached's, exactly: it makes the same decisions), all three attributes right with the 95% interval over faces, and the paired difference with cached at N
    on the same faces (engine minus cached, points, with its 95% interval)."""
    mine = [r for r in rows if r.get("bench") == "celeba" and f"--model {model} " in r["command"]]
    if not mine:
        raise KeyError(f"no racing rows for model {model!r}")
    pct = lambda v: f"{100 * v:.1f}"  # noqa: E731
    out = []
    for split in ("id", "ood"):
        here = [r for r in mine if r["split"] == split]
        n_rec = min(r["settings"]["n_samples"] for r in here)
        cached = next(r for r in here if r["method"] == "cached" and r["settings"]["n_samples"] == n_rec)
        naive_rows = 4 * cached["network_evals_per_image"]  # naive: every configuration's 3 concepts, 24 rows a sample, exactly
        for r in here:
            d = paired_difference(unbits(r["correct"]), unbits(cached["correct"]))
            used = sorted(r.get("samples_used", [r["settings"]["n_samples"]]))
            name = r["method"] + (f" ({r['settings']['confidence']})" if r["method"] == "race" else "") + \
                (f" `{','.join(f'{a}:{b}' for a, b in r['settings']['schedule'])}`" if r["method"] == "eliminate" else "")
            out.append(["in distribution" if split == "id" else "out of distribution", name, str(r["settings"]["n_samples"]),
                        f"{r['network_evals_per_image']:.1f}", f"{naive_rows / r['network_evals_per_image']:.1f}",
                        f"{r['seconds_per_image']:.3f}", f"{used[len(used) // 2]} / {used[int(0.9 * (len(used) - 1))]}",
                        f"**{pct(r['accuracy'])}%** [{pct(r['ci95'][0])}, {pct(r['ci95'][1])}]",
                        "" if r is cached else f"{'+' if d['diff'] >= 0 else ''}{pct(d['diff'])} [{pct(d['ci95'][0])}, {pct(d['ci95'][1])}]"])
    header = ["split", "engine", "samples (budget)", "rows per face", "times fewer rows than naive", "seconds per face",
              "samples used (median / 90th percentile)", "all three right [95%]", "minus cached at N, points [95%]"]
    return header, out
