"""Tiny datasets written in the real formats (CLEVR_v1.0, CelebA, a labelled image folder), for the loaders' tests and
for running the chapters on real-format data. Their pixels are noise or flat colours: they test the code paths, not
the method."""
import json

import numpy as np
from PIL import Image

from igm_lite.data.celeba import write_celeba_folder

CELEBA_NAMES = ["5_o_Clock_Shadow", "Black_Hair", "Eyeglasses", "Male", "Smiling", "Young"]  # a subset of the 40
CELEBA_ROWS = [  # file, black hair, glasses, male, smiling, partition (0 train, 1 valid, 2 test)
    ("000001.jpg", 1, -1, -1, 1, 0), ("000002.jpg", -1, 1, -1, -1, 0), ("000003.jpg", -1, -1, 1, 1, 0),
    ("000004.jpg", 1, 1, -1, -1, 2), ("000005.jpg", -1, -1, 1, 1, 2), ("000006.jpg", 1, -1, 1, -1, 2),
    ("000007.jpg", -1, -1, -1, -1, 1),
]


def write_clevr(root, counts=(3, 4, 6, 7), splits=("val",), seed=0):
    """A tiny CLEVR_v1.0 folder in the real layout: images/SPLIT/*.png and scenes/CLEVR_SPLIT_scenes.json, one scene
    per entry of ``counts`` (its number of objects) in each split. Returns the last split's scenes."""
    rng = np.random.default_rng(seed)
    (root / "scenes").mkdir(parents=True, exist_ok=True)
    for split in splits:
        (root / "images" / split).mkdir(parents=True)
        scenes = []
        for i, k in enumerate(counts):
            name = f"CLEVR_{split}_{i:06d}.png"
            Image.fromarray(rng.integers(0, 255, (320, 480, 3), dtype=np.uint8)).save(root / "images" / split / name)
            objs = [{"shape": "cube", "color": "red", "material": "rubber", "size": "large",
                     "3d_coords": [0.0, 0.0, 0.7], "pixel_coords": [int(rng.integers(0, 480)), int(rng.integers(0, 320)), 10.5]}
                    for _ in range(k)]
            scenes.append({"image_index": i, "image_filename": name, "split": split, "objects": objs})
        (root / "scenes" / f"CLEVR_{split}_scenes.json").write_text(json.dumps({"info": {"split": split}, "scenes": scenes}))
    return scenes


def write_celeba(root, form="txt", rows=CELEBA_ROWS):
    """A tiny CelebA folder (``igm_lite.data.celeba.write_celeba_folder``). ``rows``: (file, black hair, glasses, male,
    smiling, partition); the tables also carry two attributes the paper does not use (the loader must skip them)."""
    write_celeba_folder(root, [(r[0], -1, *r[1:5], 1, r[5]) for r in rows], form, CELEBA_NAMES)


def celeba_rows(n_train=8, n_test=6, seed=0):
    """Random CelebA rows: ``n_train`` female training faces, ``n_test`` female and ``n_test`` male test faces."""
    rng = np.random.default_rng(seed)
    sign = lambda: int(rng.choice([-1, 1]))
    plan = [(-1, 0)] * n_train + [(-1, 2)] * n_test + [(1, 2)] * n_test
    return [(f"{i + 1:06d}.jpg", sign(), sign(), male, sign(), part) for i, (male, part) in enumerate(plan)]


def write_labelled(root, labels=("cat;dog", "dog;rabbit", "cat"), size=(40, 48), seed=0):
    """A folder of photos with labels.csv (file,label;label), as ``igm_lite.data.LabelledImages`` reads it."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    rows = ["file,labels"]
    for i, labs in enumerate(labels):
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(root / f"img{i}.png")
        rows.append(f"img{i}.png,{labs}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")


# -- the chapters on these datasets ----------------------------------------------------------------------------------
# Each chapter's real-data path with the parameters a GPU reader sets (the GPU profile's recipes, dataset folders and
# Stable Diffusion), at the smallest sizes, the models retrained for a step or two. `make test` runs them under nbval
# (python tests/real_formats.py out/smoke-nb): every cell runs and no check written for the procedural worlds stops
# them; the models, too short-trained to be competent, are checked only for their engines' invariants.


def real_data_parameters(folder):
    """Write the tiny datasets under ``folder`` and return each chapter's parameters ({chapter stem: {name: value}})."""
    from tiny_sd import build_tiny_sd

    from igm_lite.chapters import load_profile

    folder = folder.resolve()
    gpu = load_profile("gpu")
    clevr, celeba, photos = folder / "CLEVR_v1.0", folder / "celeba", folder / "photos"
    write_clevr(clevr, counts=(3, 4, 5, 6, 7, 8), splits=("train", "val"))
    write_celeba(celeba, rows=celeba_rows(n_train=6, n_test=2))
    write_labelled(photos)
    sd = build_tiny_sd(folder / "sd", vae_blocks=3)  # latents a quarter of the image's side: 16 px faces -> 4 x 4
    short = dict(retrain=True, model_dir=str(folder / "models"))
    return {
        "02_clevr_objects": dict(short, data_root=str(clevr), recipe="clevr32", image_size=32, train_steps=2, n_test=1, grid=4,
                                 n_samples=1, refine_steps=1, n_inits=1, descent_steps=2, n_ablate=1),
        "03_celeba_attributes": dict(short, data_root=str(celeba), recipe=gpu["03_celeba_attributes"]["recipe"], image_size=16,
                                     autoencoder=str(sd), train_steps=1, n_test=2, n_samples=2, schedule=[[1, 1]], n_cost=1,
                                     latent_n_samples=2, latent_schedule=[[1, 1]], votes_n_samples=2, sample_steps=2),
        "04_zero_shot": dict(short, sd_model=str(sd), sd_images=str(photos), sd_size=32, train_steps=1, n_test=2, n_samples=2,
                             n_cost=1, n_cost_noise=1, sample_steps=2),
    }


if __name__ == "__main__":  # python tests/real_formats.py OUT: chapters 2-4 prepared on the tiny datasets, in OUT
    import sys
    from pathlib import Path

    from igm_lite.chapters import run

    out = Path(sys.argv[1])
    params = real_data_parameters(out / "real-data")
    for stem in params:
        run("smoke", stem, out, prepare_only=True, parameters={stem: params[stem]})
