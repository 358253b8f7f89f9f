"""A folder of images with a label set per image, read from a CSV (the form of the paper's dog-cat-rabbit set).

The CSV (default ``labels.csv`` in the folder) has one row per image: the file name (relative to the
folder), then its labels, either one per column or several in one column separated by ``;``:

    file,labels
    img_001.jpg,cat;dog
    img_002.jpg,dog,rabbit

A first row whose first field is ``file`` / ``filename`` / ``image`` is a header. Labels are kept as
written (e.g. ``cat``); ``classes`` lists them all, sorted. Images load as (3, size, size) in [-1, 1],
resized (bicubic) and centre-cropped to a square.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch

HEADER_FIELDS = {"file", "filename", "file_name", "image", "path"}


class LabelledImages:
    """``ds[i]`` -> (image (3, size, size) in [-1, 1], labels (tuple of str)); ``ds.names[i]`` its file."""

    def __init__(self, root: str | Path, csv_file: str | Path | None = None, size: int = 512):
        self.root, self.size = Path(root), size
        path = Path(csv_file) if csv_file is not None else self.root / "labels.csv"
        if not path.is_file():
            raise FileNotFoundError(f"no label CSV at {path}: expected rows 'file,label[;label...]' (see igm_lite.data.labelled)")
        self.names, self.labels = [], []
        with open(path, newline="") as f:
            for line, row in enumerate(csv.reader(f), 1):
                row = [c.strip() for c in row]
                if not row or not any(row) or row[0].startswith("#"):
                    continue
                if line == 1 and row[0].lower() in HEADER_FIELDS:
                    continue
                labels = tuple(lab.strip() for cell in row[1:] for lab in cell.split(";") if lab.strip())
                if not labels:
                    raise ValueError(f"{path}:{line}: image {row[0]!r} has no label; expected 'file,label[;label...]'")
                if not (self.root / row[0]).is_file():
                    raise FileNotFoundError(f"{path}:{line}: image {row[0]!r} not found under {self.root}")
                self.names.append(row[0])
                self.labels.append(labels)
        if not self.names:
            raise ValueError(f"{path} lists no images")
        self.classes = sorted({lab for labs in self.labels for lab in labs})

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, i: int):
        from PIL import Image

        img = Image.open(self.root / self.names[i]).convert("RGB")
        w, h = img.size
        s = min(w, h)
        img = img.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)).resize((self.size, self.size), Image.BICUBIC)
        x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 127.5 - 1.0).permute(2, 0, 1)
        return x, self.labels[i]

    def label_sets(self, classes: list[str] | None = None) -> list[list[int]]:
        """Each image's labels as sorted indices into ``classes`` (default ``self.classes``)."""
        classes = classes or self.classes
        index = {c: i for i, c in enumerate(classes)}
        missing = {lab for labs in self.labels for lab in labs} - set(index)
        if missing:
            raise ValueError(f"labels {sorted(missing)} are not among the classes {classes}")
        return [sorted(index[lab] for lab in labs) for labs in self.labels]
