"""Canvases of real handwritten digits with web-style captions (the zero-shot chapter's CPU world).

The digits are scikit-learn's 1,797 8x8 scans (``sklearn.datasets.load_digits``, shipped with the
package: no download), split by instance: every test digit is a scan the model never saw. A canvas is
``size`` pixels square with four slots (its quadrants); each digit is upscaled to ``digit_size``
pixels and pasted in a free slot with a random offset.

Captions imitate web captions, which name some of what an image shows and rarely all of it: a canvas
of 1-3 distinct digits is captioned with ONE of its digits, and with two of them in a quarter of the
multi-digit canvases. A caption is a multi-hot vector over the 10 digits (a "bag of words"), so a
prompt is the one-hot vector of a digit, a joint prompt ("a 3 and a 7") is a two-hot vector, and the
empty prompt is the zero vector (the model's null concept).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import torch
import torch.nn.functional as F

from .base import Batch

NUM_DIGITS = 10


@lru_cache(maxsize=1)
def _digits():
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:  # pragma: no cover - scikit-learn is a dependency
        raise ImportError("the digits world needs scikit-learn (pip install scikit-learn)") from e
    d = load_digits()
    return torch.tensor(d.images, dtype=torch.float32) / 16.0, torch.tensor(d.target, dtype=torch.long)


@lru_cache(maxsize=4)
def _scans(size: int) -> torch.Tensor:
    """Every scan upscaled (bilinear) to size x size, in [0, 1]: (1797, size, size)."""
    images, _ = _digits()
    return F.interpolate(images.unsqueeze(1), size=(size, size), mode="bilinear", align_corners=False)[:, 0].clamp(0, 1)


def prompt_pool() -> torch.Tensor:
    """The 10 single-digit prompts: (10, 10) one-hot rows ("a photo of a 0", ..., "a photo of a 9")."""
    return torch.eye(NUM_DIGITS)


def captions(sets: torch.Tensor | list) -> torch.Tensor:
    """Joint prompts: index sets (S, K) -> multi-hot captions (S, 10) ("a 3 and a 7")."""
    sets = torch.as_tensor(sets, dtype=torch.long)
    out = torch.zeros(sets.shape[0], NUM_DIGITS)
    return out.scatter_(1, sets, 1.0)


@dataclass
class DigitWorld:
    """Render canvases of digits. ``test_fraction`` of each digit's scans (chosen by ``split_seed``) are
    kept for testing; ``batch`` draws training canvases, ``test_set`` test canvases."""

    size: int = 32
    digit_size: int = 12
    jitter: int = 2
    test_fraction: float = 0.25
    split_seed: int = 0
    _split: dict = field(default=None, init=False, repr=False)

    def __post_init__(self):
        if self.size % 2 or self.digit_size + 2 * self.jitter > self.size // 2:
            raise ValueError(f"a digit of {self.digit_size} px with jitter {self.jitter} must fit a quadrant of a {self.size} px canvas")

    def instances(self, split: str) -> dict[int, torch.Tensor]:
        """Scan indices of each digit in ``split`` ("train" or "test")."""
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        if self._split is None:
            _, y = _digits()
            g = torch.Generator().manual_seed(self.split_seed)
            self._split = {"train": {}, "test": {}}
            for d in range(NUM_DIGITS):
                idx = (y == d).nonzero().flatten()
                idx = idx[torch.randperm(len(idx), generator=g)]
                n_test = int(round(self.test_fraction * len(idx)))
                self._split["test"][d], self._split["train"][d] = idx[:n_test], idx[n_test:]
        return self._split[split]

    def render(self, labels: torch.Tensor, split: str = "train", generator: torch.Generator | None = None) -> torch.Tensor:
        """Canvases (B, 1, size, size) in [-1, 1] for labels (B, K) (digits 0-9, -1 for no digit, K <= 4):
        each digit a random scan of the split, in its own random quadrant, randomly offset."""
        labels = torch.as_tensor(labels, dtype=torch.long)
        if labels.dim() != 2 or labels.shape[1] > 4 or labels.max() >= NUM_DIGITS or labels.min() < -1:
            raise ValueError(f"labels must have shape (B, K <= 4) with digits in 0..9 or -1, got {tuple(labels.shape)}")
        scans = _scans(self.digit_size)
        pool, g, s, q = self.instances(split), generator, self.digit_size, self.size // 2
        canvas = torch.zeros(labels.shape[0], 1, self.size, self.size)
        for b, row in enumerate(labels.tolist()):
            slots = torch.randperm(4, generator=g).tolist()
            for d, slot in zip([d for d in row if d >= 0], slots):
                digit = scans[pool[d][torch.randint(len(pool[d]), (1,), generator=g)]][0]
                oy, ox = (torch.randint(-self.jitter, self.jitter + 1, (2,), generator=g) + (q - s) // 2).tolist()
                y0, x0 = (slot // 2) * q + oy, (slot % 2) * q + ox
                region = canvas[b, 0, y0 : y0 + s, x0 : x0 + s]
                torch.maximum(region, digit, out=region)
        return canvas * 2 - 1

    def batch(self, n: int, split: str = "train", counts=(1, 2, 3), p_two: float = 0.25,
              generator: torch.Generator | None = None) -> Batch:
        """Training canvases of ``counts`` distinct digits with a partial caption (module docstring):
        concepts (n, 1, 10) hold the caption, meta["labels"] (n, 3) every digit present (-1 padded)."""
        g = generator
        k = torch.tensor(counts)[torch.randint(len(counts), (n,), generator=g)]
        labels = torch.full((n, max(counts)), -1, dtype=torch.long)
        caption = torch.zeros(n, NUM_DIGITS)
        for b in range(n):
            digits = torch.randperm(NUM_DIGITS, generator=g)[: int(k[b])]
            labels[b, : len(digits)] = digits
            named = 2 if len(digits) > 1 and float(torch.rand(1, generator=g)) < p_two else 1
            caption[b, digits[:named]] = 1.0  # digits are in random order: the named ones are random
        x = self.render(labels, split, g)
        return Batch(x, caption.unsqueeze(1), torch.ones(n, 1, dtype=torch.bool), {"labels": labels, "count": k})

    def test_set(self, n: int, k: int, generator: torch.Generator | None = None, classes: int = NUM_DIGITS):
        """n test canvases of k distinct unseen digits among the first ``classes``:
        (x (n, 1, size, size), labels (n, k) sorted)."""
        if not 1 <= k <= min(4, classes) or not 1 <= classes <= NUM_DIGITS:
            raise ValueError(f"need 1 <= k <= 4 (one digit per quadrant) and k <= classes <= 10, got k = {k}, classes = {classes}")
        labels = torch.stack([torch.randperm(classes, generator=generator)[:k] for _ in range(n)]).sort(1).values
        return self.render(labels, "test", generator), labels


TEST_SEED = 2_000_003  # test canvases of k digits and seed s come from generator (TEST_SEED * (s + 1) + k)


def digit_test_set(k: int, n: int, seed: int = 0, classes: int = NUM_DIGITS):
    """N test canvases of k distinct unseen digits among the first ``classes``: (x, labels) (``DigitWorld.test_set``)."""
    return DigitWorld().test_set(n, k, torch.Generator().manual_seed(TEST_SEED * (seed + 1) + k), classes=classes)
