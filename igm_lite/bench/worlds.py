"""Chapter 3's grid: which kind of shift favours which reader (``python -m igm_lite.bench worlds``).

For one world of ``igm_lite.data.faces.FACE_WORLDS`` and one training seed: the latent IGM reader
(``faces32-latent-WORLD``, over the every-world autoencoder) and the ResNet (``faces32-resnet-WORLD``), each trained on
the world's group A by its recipe with that seed (made into ``models`` when missing; the shipped models for the
shipped seed), read the same new test faces of both splits. Optionally the pixel IGM reader (``faces32-mean`` for
``disjoint``, ``faces32-mean-celeba-like``) as a reference. An IGM reader enumerates by the cached engine with its
model's recorded settings (``inference.json``: chosen on group-A validation faces; the latent models 32 noise samples,
the pixel models 16, t over the whole schedule). Every IGM row carries ``vs_resnet``: its paired difference with the
ResNet on the same faces. The readers ``latent-elbo`` and ``latent-prior`` read with the latent model's errors put on the
scale of log p(x | c) (``igm_lite.infer.attributes.log_likelihoods``), the second adding the log-prior of group A's
attributes (``FaceWorld.prior``), which a reader trained on group A can know.
"""
from __future__ import annotations

from pathlib import Path

from ..data.faces import FACE_WORLDS, face_world
from ..metrics import paired_difference, unbits
from ..io import CHECKPOINTS
from ..maker import make
from ..recipes import RECIPES
from .faces import celeba

READERS = {  # reader -> (its recipe in a world, the method that reads with it)
    "latent": (lambda world: f"faces32-latent-{world}", "cached"),
    "latent-elbo": (lambda world: f"faces32-latent-{world}", "elbo"),  # the same model, its errors weighted as in log p(x | c)
    "latent-prior": (lambda world: f"faces32-latent-{world}", "elbo"),  # ... plus the log-prior of group A's attributes
    "pixel": (lambda world: "faces32-mean" if world == "disjoint" else f"faces32-mean-{world}", "cached"),
    "resnet": (lambda world: f"faces32-resnet-{world}", "resnet"),
}


def world_model(recipe: str, train_seed: int, models) -> str:
    """The model of ``recipe`` trained with ``train_seed``: the shipped one for the recipe's own seed, else the folder
    ``models/RECIPE-sSEED``; either is trained now by the recipe if it is not there yet."""
    if recipe not in RECIPES:
        raise ValueError(f"no recipe {recipe!r} (a reader of this world is not defined); known: {sorted(RECIPES)}")
    if RECIPES[recipe].shipped and train_seed == RECIPES[recipe].train.get("seed", 0):
        if not (CHECKPOINTS / recipe).is_dir():
            make(recipe, progress=False)
        return recipe
    path = Path(models) / f"{recipe}-s{train_seed}"
    if not (path / "recipe.json").is_file():
        make(recipe, out=path, seed=train_seed, progress=False)
    return str(path)


def worlds(world: str = "celeba-like", train_seed: int = 0, n: int = 400, seed: int = 2, readers=("latent", "resnet"),
           splits=("id", "ood"), models: str = "out/models", noise_seed: int | None = None):
    """Yield one row per split and reader (the ``celeba`` benchmark's row, with ``world``, ``train_seed``,
    ``noise_seed`` (the IGM readers' draw of the shared noise; None: ``seed``, which draws the faces) and, for an IGM
    reader, ``vs_resnet``: the paired difference IGM - ResNet on the same faces, with its 95% interval)."""
    if world not in FACE_WORLDS:
        raise ValueError(f"world must be one of {sorted(FACE_WORLDS)}, got {world!r}")
    unknown = [r for r in readers if r not in READERS]
    if unknown or not readers:
        raise ValueError(f"readers must be some of {sorted(READERS)}, got {list(readers)}")
    paths = {r: world_model(READERS[r][0](world), train_seed, models) for r in readers}
    for split in splits:
        rows = {}
        for reader in readers:
            method = READERS[reader][1]
            kw = {"classifier": paths[reader]} if method == "resnet" else {"model": paths[reader]}  # the model's own settings
            if reader == "latent-prior":
                kw["prior"] = face_world(world).prior("A")
            (row,) = celeba(split, n, seed, (method,), world=world, noise_seed=noise_seed, **kw)
            rows[reader] = {**row, "bench": "celeba-worlds", "method": reader, "world": world, "train_seed": train_seed,
                            "noise_seed": seed if noise_seed is None else noise_seed}
        for reader, row in rows.items():
            if reader != "resnet" and "resnet" in rows:
                row["vs_resnet"] = paired_difference(unbits(row["correct"]), unbits(rows["resnet"]["correct"]))
            yield row


def with_resnet_pairs(rows: list[dict]) -> list[dict]:
    """The rows, each IGM row read without the ResNet beside it (``--readers latent``: another draw of the noise) given
    its ``vs_resnet`` against the ResNet row of the same world, training seed and faces (split, n and seed): the
    ResNet reads no noise, so its answers on those faces are the same in every draw."""
    resnet = {(r["world"], r["train_seed"], r["split"], r["n"], r["settings"]["seed"]): r for r in rows if r["method"] == "resnet"}
    out = []
    for r in rows:
        key = (r["world"], r["train_seed"], r["split"], r["n"], r["settings"]["seed"])
        if r["method"] != "resnet" and "vs_resnet" not in r and key in resnet:
            r = {**r, "vs_resnet": paired_difference(unbits(r["correct"]), unbits(resnet[key]["correct"]))}
        out.append(r)
    return out


def worlds_by_draw(rows: list[dict], draws=(2, 3, 4)) -> list[tuple]:
    """The grid under each draw of the IGM readers' noise: [(draw, ``worlds_summary`` of the ResNet rows and the IGM
    rows read under that draw)]; a reader read under fewer draws is left out of the frames it lacks."""
    return [(d, worlds_summary([r for r in rows if r["method"] == "resnet" or noise_draw(r) == d])) for d in draws]


def noise_draw(row: dict) -> int:
    """The draw of the shared noise an IGM row was read under: its ``noise_seed`` (the grid's first rows carry none:
    the faces' seed drew their noise too)."""
    return row.get("noise_seed", row.get("settings", {}).get("seed"))


def noise_table(rows: list[dict]) -> list[list]:
    """How far the noise draws of one reader on the same faces lie apart, per number of samples and spacing: rows
    [samples, spacing, accuracy per draw, spread over draws (points), half-width of the widest interval over faces
    (points), mean seconds per face] from ``celeba`` rows that differ only in their draw (``celeba-noise``)."""
    out = []
    for n, spacing in sorted({(r["settings"]["n_samples"], r["settings"].get("spacing", "random")) for r in rows},
                             key=lambda k: (k[0], k[1] != "random")):
        draws = [r for r in rows if (r["settings"]["n_samples"], r["settings"].get("spacing", "random")) == (n, spacing)]
        acc = [r["accuracy"] for r in draws]
        out.append([n, spacing, " / ".join(f"{a:.1%}" for a in acc), f"{100 * (max(acc) - min(acc)):.2f}",
                    f"{100 * max((r['ci95'][1] - r['ci95'][0]) / 2 for r in draws):.1f}",
                    f"{sum(r['seconds_per_image'] for r in draws) / len(draws):.3f}"])
    return out


def worlds_summary(rows: list[dict]) -> list[dict]:
    """The grid's table from its rows (``load_results("celeba-worlds")``): one entry per world, reader and split with
    the accuracy of each training seed (a seed's run once, however many commands printed it; read under several draws
    of the noise, its first draw), their mean and range, each seed's Wilson interval (``ci95``), for an IGM reader
    each seed's paired difference with the ResNet (``vs_resnet``; ``with_resnet_pairs``), and, where a seed was read under several noise
    draws, ``noise``: each training seed's accuracies over its noise seeds. ``ordering``: "igm" or "resnet" where every
    paired difference (every training seed and every noise seed) excludes zero on the same side, else "not told
    apart"."""
    rows = with_resnet_pairs(rows)
    groups: dict = {}
    for r in rows:  # a reader read again beside another (the ResNet beside each noise draw) is the same run: kept once
        draws = groups.setdefault((r["world"], r["method"], r["split"]), {}).setdefault(r["train_seed"], {})
        draws.setdefault(noise_draw(r) if r["method"] != "resnet" else 0, r)
    out = []
    for (world, reader, split), by_seed in groups.items():
        rs = [next(iter(by_seed[s].values())) for s in sorted(by_seed)]
        acc = [r["accuracy"] for r in rs]
        entry = {"world": world, "reader": reader, "split": split, "seeds": [r["train_seed"] for r in rs], "accuracy": acc,
                 "mean": round(sum(acc) / len(acc), 4), "range": [min(acc), max(acc)], "ci95": [r["ci95"] for r in rs], "n": rs[0]["n"],
                 "per_attribute": {a: round(sum(r["per_attribute"][a] for r in rs) / len(rs), 4) for a in rs[0]["per_attribute"]}}
        if any(len(by_seed[s]) > 1 for s in by_seed):
            entry["noise"] = [[d["accuracy"] for d in by_seed[s].values()] for s in sorted(by_seed)]
        every = [d for s in sorted(by_seed) for d in by_seed[s].values()]
        if all("vs_resnet" in r for r in every):
            entry["vs_resnet"] = [r["vs_resnet"] for r in rs]
            sides = {"igm" if d["vs_resnet"]["ci95"][0] > 0 else "resnet" if d["vs_resnet"]["ci95"][1] < 0 else "none" for d in every}
            entry["ordering"] = sides.pop() if len(sides) == 1 and "none" not in sides else "not told apart"
        out.append(entry)
    order = {w: i for i, w in enumerate(FACE_WORLDS)}
    return sorted(out, key=lambda e: (order.get(e["world"], 99), e["split"], e["reader"]))


def worlds_table(summary: list[dict], labels=None) -> tuple[list[str], list[list[str]]]:
    """The grid as a table (header, rows) for ``igm_lite.chapters.markdown_table``: per world and reader, all three
    attributes right in and out of distribution (one seed: its accuracy and 95% interval over test faces; several: their
    mean, each seed's accuracy and the widest half-interval), and for IGM the paired difference with the ResNet out of distribution, per seed, with its
    interval, and the ordering it supports."""
    labels = labels or {"latent": "IGM, latents", "resnet": "ResNet", "pixel": "IGM, pixels", "latent-elbo": "IGM, latents, log p(x | c)",
                        "latent-prior": "IGM, latents, log p(x | c) + group A's prior"}
    pct = lambda v: f"{100 * v:.1f}"  # noqa: E731

    def cell(e):  # one seed: its accuracy and interval; several: their mean, each seed's figure, the widest half-interval
        if len(e["seeds"]) == 1:
            text = f"{pct(e['accuracy'][0])}% [{pct(e['ci95'][0][0])}, {pct(e['ci95'][0][1])}]"
        else:
            half = max((hi - lo) / 2 for lo, hi in e["ci95"])
            text = f"mean {pct(e['mean'])}%; seeds {' / '.join(pct(a) for a in e['accuracy'])} (each ±{pct(half)})"
        if "noise" in e:  # the largest move over one seed's noise draws
            text += f"; {max(len(a) for a in e['noise'])} noise draws move a seed by up to {100 * max(max(a) - min(a) for a in e['noise']):.2f} points"
        return text

    at = {(e["world"], e["reader"], e["split"]): e for e in summary}
    rows = []
    for world, reader in dict.fromkeys((e["world"], e["reader"]) for e in summary):
        ood = at.get((world, reader, "ood"))
        diff = "; ".join(f"{'+' if d['diff'] >= 0 else ''}{pct(d['diff'])} [{pct(d['ci95'][0])}, {pct(d['ci95'][1])}]"
                         for d in ood.get("vs_resnet", [])) if ood else ""
        rows.append([world, labels.get(reader, reader), str(len(at.get((world, reader, "id"), ood)["seeds"])),
                     cell(at[(world, reader, "id")]) if (world, reader, "id") in at else "", cell(ood) if ood else "",
                     diff, ood.get("ordering", "") if ood else ""])
    header = ["world", "reader", "training seeds", "in distribution (all three)", "out of distribution (all three)",
              "IGM - ResNet out of distribution, points per seed [95%]", "ordering"]
    return header, rows
