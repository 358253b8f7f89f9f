"""A loader for the real CelebA, with the paper's split: train on female faces, test on female faces
(in distribution) and on male faces (out of distribution).

Point it at your copy of the dataset (nothing is downloaded):

    root/img_align_celeba/000001.jpg ...
    root/list_attr_celeba.txt      (official: a count line, a line of 40 names, then "000001.jpg -1 1 ...")
      or list_attr_celeba.csv      (the common CSV form: image_id,5_o_Clock_Shadow,...,Young)
    root/list_eval_partition.txt   (official: "000001.jpg 0") or list_eval_partition.csv (image_id,partition)

Splits: ``"train"`` = official train partition (0), female; ``"id"`` = test partition (2), female;
``"ood"`` = test partition (2), male. Items are (image (3, size, size) in [-1, 1], attrs (3,) in {0, 1})
for the paper's attributes (black hair, eyeglasses, smiling); ``collate`` makes a ``Batch``.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch

from .attributes import attribute_concepts
from .base import Batch

CELEBA_ATTRIBUTES = ("Black_Hair", "Eyeglasses", "Smiling")
SPLITS = {"train": (0, False), "val": (1, False), "id": (2, False), "ood": (2, True)}  # (partition, male)


def _read_table(root: Path, stem: str) -> tuple[list[str], dict[str, list[str]]]:
    """(column names, {image file: values}) from root/stem.txt (official) or root/stem.csv."""
    txt, csv_path = root / f"{stem}.txt", root / f"{stem}.csv"
    if txt.is_file():
        lines = [ln.split() for ln in txt.read_text().splitlines() if ln.strip()]
        if stem == "list_attr_celeba":
            names, rows = lines[1], lines[2:]
            if len(rows) != int(lines[0][0]):
                raise ValueError(f"{txt}: the first line says {lines[0][0]} images but {len(rows)} rows follow")
        else:
            names, rows = ["partition"], lines
        return names, {r[0]: r[1:] for r in rows}
    if csv_path.is_file():
        with csv_path.open(newline="") as f:
            table = list(csv.reader(f))
        return table[0][1:], {r[0]: r[1:] for r in table[1:] if r}
    raise FileNotFoundError(f"expected {txt.name} or {csv_path.name} in {root}")


class CelebA(torch.utils.data.Dataset):
    """CelebA faces of one split of the paper's protocol (module docstring).

    Args:
        root: the folder holding img_align_celeba/ and the attribute and partition files.
        split: "train", "val", "id" or "ood".
        size: output side in pixels (the paper: 128); images are centre-cropped to a square first.
        limit: keep only the first ``limit`` images of the split (None: all).
    """

    def __init__(self, root, split: str = "train", size: int = 128, limit: int | None = None):
        if split not in SPLITS:
            raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
        self.root, self.size = Path(root), size
        self.images = self.root / "img_align_celeba"
        if not self.images.is_dir():
            raise FileNotFoundError(f"no img_align_celeba/ folder in {self.root}")
        names, attrs = _read_table(self.root, "list_attr_celeba")
        _, parts = _read_table(self.root, "list_eval_partition")
        missing = [a for a in (*CELEBA_ATTRIBUTES, "Male") if a not in names]
        if missing:
            raise ValueError(f"attribute file lacks columns {missing}")
        cols = [names.index(a) for a in CELEBA_ATTRIBUTES]
        male_col = names.index("Male")
        partition, male = SPLITS[split]
        self.files, labels = [], []
        for file, values in attrs.items():
            if file not in parts:
                raise ValueError(f"{file} has attributes but no partition")
            if int(parts[file][0]) == partition and (int(values[male_col]) == 1) == male:
                self.files.append(file)
                labels.append([int(values[c]) == 1 for c in cols])
        if limit is not None:
            self.files, labels = self.files[:limit], labels[:limit]
        self.attrs = torch.tensor(labels, dtype=torch.long).view(-1, len(CELEBA_ATTRIBUTES))

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int):
        from PIL import Image

        with Image.open(self.images / self.files[i]) as im:
            im = im.convert("RGB")
            w, h = im.size
            s = min(w, h)
            im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)).resize((self.size, self.size), Image.BICUBIC)
            x = torch.from_numpy(np.asarray(im, dtype=np.float32) / 127.5 - 1.0).permute(2, 0, 1)
        return x, self.attrs[i]

    @staticmethod
    def collate(items) -> Batch:
        """A list of (image, attrs) -> Batch with the paper's attribute concepts (B, 3, 6)."""
        x = torch.stack([it[0] for it in items])
        attrs = torch.stack([it[1] for it in items])
        return Batch(x, attribute_concepts(attrs), torch.ones(len(items), 3, dtype=torch.bool), {"attrs": attrs})


class CelebAWorld:
    """CelebA as a training world (``igm_lite.pretrained``): ``batch`` draws random faces of a split.

    The datasets are opened on first use and kept, one per (root, split, size).
    """

    def __init__(self):
        self._open = {}

    def batch(self, n: int, generator: torch.Generator | None = None, root=None, split: str = "train", size: int = 128) -> Batch:
        if root is None:
            raise ValueError("the CelebA world needs root=... (a folder with img_align_celeba/ and the attribute files); "
                             "e.g. `python -m igm_lite.pretrained make celeba128-mean --data root=CELEBA_DIR`")
        key = (str(root), split, size)
        if key not in self._open:
            self._open[key] = CelebA(root, split, size)
        data = self._open[key]
        if len(data) == 0:
            raise ValueError(f"the {split!r} split of {root} holds no images")
        idx = torch.randint(len(data), (n,), generator=generator)
        return CelebA.collate([data[int(i)] for i in idx])


def write_celeba_folder(root, rows, form: str = "txt", names=("Black_Hair", "Eyeglasses", "Male", "Smiling")) -> Path:
    """Write a folder in CelebA's layout (flat-coloured 178 x 218 JPEGs, the attribute and partition tables as the
    official .txt or the common .csv): a stand-in for timing a recipe before the real data is there, and the tests'
    fixture. ``rows``: (file, then one +1/-1 per name of ``names``, then the partition 0/1/2)."""
    import csv as _csv

    from PIL import Image

    root = Path(root)
    (root / "img_align_celeba").mkdir(parents=True, exist_ok=True)
    for i, r in enumerate(rows):
        Image.fromarray(np.full((218, 178, 3), (20 * i) % 256, dtype=np.uint8)).save(root / "img_align_celeba" / r[0])
    header, table = ["image_id", *names], [[r[0], *r[1:-1]] for r in rows]
    parts = [[r[0], r[-1]] for r in rows]
    if form == "txt":
        lines = [str(len(rows)), " ".join(names)] + [f"{t[0]} " + " ".join(f"{int(v):2d}" for v in t[1:]) for t in table]
        (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
        (root / "list_eval_partition.txt").write_text("\n".join(f"{f} {p}" for f, p in parts) + "\n")
    elif form == "csv":
        for stem, head, body in (("list_attr_celeba", header, table), ("list_eval_partition", ["image_id", "partition"], parts)):
            with (root / f"{stem}.csv").open("w", newline="") as f:
                w = _csv.writer(f)
                w.writerow(head)
                w.writerows(body)
    else:
        raise ValueError(f"form must be 'txt' or 'csv', got {form!r}")
    return root

