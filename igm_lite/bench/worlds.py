"""Chapter 3's grid: which kind of shift favours which reader (``python -m igm_lite.bench worlds``).

For one world of ``igm_lite.data.faces.FACE_WORLDS`` and one training seed: the latent IGM reader
(``faces32-latent-WORLD``, over the every-world autoencoder) and the ResNet (``faces32-resnet-WORLD``), each trained on
the world's group A by its recipe with that seed (made into ``models`` when missing; the shipped models for the
shipped seed), read the same new test faces of both splits. Optionally the pixel IGM reader (``faces32-mean`` for
``disjoint``, ``faces32-mean-celeba-like``) as a reference. Each reader's settings are the ones chosen for it on
group-A validation faces (the latent model: 32 noise samples, the pixel model: 16; t over the whole schedule, cached
enumeration). Every IGM row carries ``vs_resnet``: its paired difference with the ResNet on the same faces.
"""
from __future__ import annotations

from pathlib import Path

from ..data.faces import FACE_WORLDS
from ..metrics import paired_difference, unbits
from ..pretrained import RECIPES, make
from .faces import celeba

READERS = {  # reader -> (recipe of a world, noise samples, the engine's method)
    "latent": (lambda world: f"faces32-latent-{world}", 32, "cached"),
    "pixel": (lambda world: "faces32-mean" if world == "disjoint" else f"faces32-mean-{world}", 16, "cached"),
    "resnet": (lambda world: f"faces32-resnet-{world}", None, "resnet"),
}


def world_model(recipe: str, train_seed: int, models) -> str:
    """The model of ``recipe`` trained with ``train_seed``: the shipped one for the recipe's own seed, else the folder
    ``models/RECIPE-sSEED``, trained now by the recipe if it is not there yet."""
    if recipe not in RECIPES:
        raise ValueError(f"no recipe {recipe!r} (a reader of this world is not defined); known: {sorted(RECIPES)}")
    if RECIPES[recipe].shipped and train_seed == RECIPES[recipe].train.get("seed", 0):
        return recipe
    path = Path(models) / f"{recipe}-s{train_seed}"
    if not (path / "recipe.json").is_file():
        make(recipe, out=path, seed=train_seed, progress=False)
    return str(path)


def worlds(world: str = "celeba-like", train_seed: int = 0, n: int = 400, seed: int = 2, readers=("latent", "resnet"),
           splits=("id", "ood"), models: str = "out/models"):
    """Yield one row per split and reader (the ``celeba`` benchmark's row, with ``world``, ``train_seed`` and, for an
    IGM reader, ``vs_resnet``: the paired difference IGM - ResNet on the same faces, with its 95% interval)."""
    if world not in FACE_WORLDS:
        raise ValueError(f"world must be one of {sorted(FACE_WORLDS)}, got {world!r}")
    unknown = [r for r in readers if r not in READERS]
    if unknown or not readers:
        raise ValueError(f"readers must be some of {sorted(READERS)}, got {list(readers)}")
    paths = {r: world_model(READERS[r][0](world), train_seed, models) for r in readers}
    for split in splits:
        rows = {}
        for reader in readers:
            _, n_noise, method = READERS[reader]
            kw = {"classifier": paths[reader]} if method == "resnet" else {"model": paths[reader], "n_noise": n_noise}
            (row,) = celeba(split, n, seed, (method,), world=world, **kw)
            rows[reader] = {**row, "bench": "celeba-worlds", "method": reader, "world": world, "train_seed": train_seed}
        for reader, row in rows.items():
            if reader != "resnet" and "resnet" in rows:
                row["vs_resnet"] = paired_difference(unbits(row["correct"]), unbits(rows["resnet"]["correct"]))
            yield row
