"""CLEVR-like scenes (the object-discovery chapter's CPU world) and a loader for the real CLEVR_v1.0.

``ClevrWorld`` renders spheres, cubes and cylinders of 8 colours in two materials (matte rubber,
shiny metal) standing on a grey floor seen in perspective: objects further away are higher in the
image and smaller, each casts a soft shadow away from the light, and nearer objects are drawn over
farther ones (occlusion). The ``shapes`` split swaps in shapes and a texture the model never saw
(cones, rings, striped paint), as CLEVRTex does for CLEVR. Rendering is vectorised over the batch
(~1 ms per 32 px scene), so training data are drawn on the fly.

An object's concept is its 2-D position in the image normalised to [0, 1] (x right, y down), as the
paper normalises CLEVR's ``pixel_coords`` by (480, 320); it is stored as ``(x, y, 1)``, the last entry
marking a real object, so that the zero vector is the null concept (no object anywhere).

Splits by object count, as the paper's: ``id`` 3-5 objects (training and in-distribution test),
``ood`` 6-8 objects, ``shapes`` 6-8 objects of unseen shapes and paint.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .base import Batch

COLORS = {  # CLEVR's 8 colours (properties.json), in [0, 1]
    "gray": (87, 87, 87), "red": (173, 35, 35), "blue": (42, 75, 215), "green": (29, 105, 20),
    "brown": (129, 74, 25), "purple": (129, 38, 192), "cyan": (41, 208, 208), "yellow": (255, 238, 51),
}
SHAPES = ("sphere", "cube", "cylinder")
NEW_SHAPES = ("cone", "ring")  # the ``shapes`` split only
SPLITS = {"id": (3, 4, 5), "ood": (6, 7, 8), "shapes": (6, 7, 8)}
K_MAX = 8
CONCEPT_DIM = 3  # (x, y, 1); the null concept is (0, 0, 0)
_OPEN = {}  # real CLEVR folders opened for training, by (root, counts, size)
_LIGHT = torch.tensor([-0.5, -0.6, 0.62])  # towards the light (x right, y down, z towards the camera)


def position_concepts(xy: torch.Tensor) -> torch.Tensor:
    """Positions (..., 2) in [0, 1] -> concepts (..., 3) = (x, y, 1)."""
    return torch.cat([xy, torch.ones_like(xy[..., :1])], -1)


def _soft(d: torch.Tensor, aa: float) -> torch.Tensor:
    """Coverage of a pixel at signed distance d (negative inside) with an edge ``aa`` wide."""
    return (0.5 - d / aa).clamp(0, 1)


def _shade(shape, dx, dy, r, color, metal, striped):
    """Colour (B, 3, H, W) and coverage (B, H, W) of one object per scene. dx, dy: pixel offsets from the
    object's centre in units of its radius r (B, 1, 1); shape: list of names; color (B, 3); metal (B,)."""
    B = dx.shape[0]
    cover = torch.zeros_like(dx)
    nx, ny, nz = torch.zeros_like(dx), torch.zeros_like(dx), torch.ones_like(dx)
    for name in set(shape):
        sel = torch.tensor([s == name for s in shape]).view(B, 1, 1)
        if name == "sphere":
            d = torch.sqrt(dx**2 + dy**2) - 1
            sx, sy = dx.clamp(-1, 1), dy.clamp(-1, 1)
            sz = (1 - sx**2 - sy**2).clamp(min=0).sqrt()
        elif name == "cube":  # front face below, top face (lit from above) as the upper band
            d = torch.maximum(dx.abs(), dy.abs()) - 0.9
            top = (dy < -0.35).float()
            sx, sy, sz = 0.25 * dx.clamp(-1, 1), -0.9 * top, 0.9 - 0.5 * top
        elif name == "cylinder":  # a body shaded round its axis, with an elliptical lid
            d = torch.maximum(dx.abs() - 0.8, dy.abs() - 0.95)
            lid = ((dx / 0.8) ** 2 + ((dy + 0.7) / 0.3) ** 2 < 1).float()
            sx, sy = (dx / 0.8).clamp(-1, 1) * (1 - lid), -0.95 * lid
            sz = (1 - sx**2 - sy**2).clamp(min=0).sqrt()
        elif name == "cone":
            d = torch.maximum(dy.abs() - 0.95, dx.abs() - 0.5 * (dy + 1.05))
            sx, sy = (dx / (0.5 * (dy + 1.05)).clamp(min=0.1)).clamp(-1, 1) * 0.8, torch.full_like(dy, -0.4)
            sz = (1 - sx**2 - sy**2).clamp(min=0).sqrt()
        elif name == "ring":
            d = (torch.sqrt(dx**2 + (dy / 0.7) ** 2) - 0.72).abs() - 0.28
            sx, sy = dx.clamp(-1, 1) * 0.6, dy.clamp(-1, 1) * 0.6
            sz = (1 - sx**2 - sy**2).clamp(min=0).sqrt()
        else:
            raise ValueError(f"unknown shape {name!r}; expected one of {SHAPES + NEW_SHAPES}")
        cover = torch.where(sel, _soft(d * r, 1.0), cover)
        nx, ny, nz = torch.where(sel, sx, nx), torch.where(sel, sy, ny), torch.where(sel, sz, nz)
    n = torch.stack([nx, ny, nz], 1)
    n = n / n.norm(dim=1, keepdim=True).clamp(min=1e-6)
    L = (_LIGHT / _LIGHT.norm()).view(1, 3, 1, 1)
    lambert = (n * L).sum(1, keepdim=True).clamp(min=0)
    half = L + torch.tensor([0.0, 0.0, 1.0]).view(1, 3, 1, 1)
    spec = ((n * half / half.norm()).sum(1, keepdim=True).clamp(min=0)) ** 24
    m = metal.view(B, 1, 1, 1)
    albedo = color.view(B, 3, 1, 1)
    if striped is not None:
        stripes = (torch.sin(6 * (dx + dy)) > 0).float().unsqueeze(1)
        albedo = torch.where(striped.view(B, 1, 1, 1), albedo * (0.45 + 0.55 * stripes), albedo)
    rgb = albedo * (0.35 + 0.65 * lambert) * (1 - 0.35 * m) + spec * (0.15 + 0.75 * m)
    return rgb.clamp(0, 1), cover


@dataclass
class ClevrWorld:
    """Render CLEVR-like scenes.

    Args:
        size: image side in pixels (32, 64 or 128).
        radius: the radius of a large object nearest the camera, as a fraction of the image side
            (small objects are 0.75 of it; objects shrink with distance to 0.7 of it at the back).
        min_dist: the least distance between two objects' positions (CLEVR's margin), image fraction.
        region: positions are drawn in [x0, x1] x [y0, y1] (the floor in view).
    """

    size: int = 32
    radius: float = 0.105
    min_dist: float = 0.11
    region: tuple = (0.1, 0.9, 0.2, 0.88)

    def layout(self, k: int, rng: np.random.Generator) -> np.ndarray:
        """k positions (k, 2) at least ``min_dist`` apart (rejection sampling)."""
        x0, x1, y0, y1 = self.region
        for _ in range(200):
            pts = []
            for _ in range(500):
                p = rng.uniform((x0, y0), (x1, y1))
                if all(np.hypot(*(p - q)) >= self.min_dist for q in pts):
                    pts.append(p)
                    if len(pts) == k:
                        return np.array(pts)
        raise ValueError(f"could not place {k} objects {self.min_dist} apart in region {self.region}")

    def batch(self, n: int, counts=(3, 4, 5), generator: torch.Generator | None = None, split: str | None = None,
              root=None, size: int | None = None) -> Batch:
        """n scenes, each with a number of objects drawn from ``counts`` (or from ``split``'s counts).

        Returns ``Batch`` with x (n, 3, size, size) in [-1, 1], concepts (n, 8, 3) = (x, y, 1) padded with
        zeros, mask (n, 8), and meta: ``k`` (n,), ``shape`` / ``color`` / ``material`` lists per scene.
        ``root`` draws random scenes of the real CLEVR_v1.0 train split instead (``Clevr``), at ``size``."""
        if size is not None and size != self.size:
            return dataclasses.replace(self, size=size).batch(n, counts, generator, split, root)
        if root is not None:
            key = (str(root), tuple(SPLITS.get(split, counts)), self.size)
            if key not in _OPEN:
                _OPEN[key] = Clevr(root, "train", self.size, counts=key[1])
            return _OPEN[key].batch(n, generator)
        if split is not None:
            if split not in SPLITS:
                raise ValueError(f"unknown split {split!r}; expected one of {sorted(SPLITS)}")
            counts = SPLITS[split]
        if not counts or min(counts) < 1 or max(counts) > K_MAX:
            raise ValueError(f"object counts must lie in [1, {K_MAX}], got {counts}")
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        rng = np.random.default_rng(seed)
        new = split == "shapes"
        shapes, colors, metals, stripes, xy, ks = [], [], [], [], torch.zeros(n, K_MAX, 2), []
        for b in range(n):
            k = int(rng.choice(counts))
            pos = self.layout(k, rng)
            order = np.argsort(pos[:, 1])  # far (high in the image) first: painter's order
            xy[b, :k] = torch.tensor(pos[order], dtype=torch.float32)
            shapes.append([str(rng.choice(NEW_SHAPES if new else SHAPES)) for _ in range(k)])
            colors.append([str(rng.choice(list(COLORS))) for _ in range(k)])
            metals.append([bool(rng.random() < 0.5) for _ in range(k)])
            stripes.append([bool(new and rng.random() < 0.5) for _ in range(k)])
            ks.append(k)
        sizes = torch.tensor(rng.choice([1.0, 0.75], size=(n, K_MAX)), dtype=torch.float32)
        x = self.render(xy, torch.tensor(ks), shapes, colors, metals, sizes, stripes)
        mask = torch.arange(K_MAX).unsqueeze(0) < torch.tensor(ks).unsqueeze(1)
        concepts = position_concepts(xy) * mask.unsqueeze(-1)
        materials = [["metal" if m else "rubber" for m in row] for row in metals]
        return Batch(x, concepts, mask, {"k": torch.tensor(ks), "shape": shapes, "color": colors, "material": materials})

    def render(self, xy, ks, shapes, colors, metals, sizes, stripes=None) -> torch.Tensor:
        """Draw scenes: xy (n, K, 2) positions in painter's order, ks (n,), per-scene lists of shape / colour
        names and metal flags, sizes (n, K) (1 large, 0.75 small). Returns (n, 3, S, S) in [-1, 1]."""
        n, S = xy.shape[0], self.size
        g = (torch.arange(S, dtype=torch.float32) + 0.5) / S
        gy, gx = torch.meshgrid(g, g, indexing="ij")
        floor = 0.42 + 0.18 * gy - 0.06 * (gx - 0.5).abs()  # lighter near the camera, a faint vignette
        img = floor.expand(n, 3, S, S).clone()
        depth = 0.7 + 0.3 * (xy[..., 1] - self.region[2]) / (self.region[3] - self.region[2])  # perspective scale
        r = self.radius * sizes * depth  # (n, K) radius, image fraction
        valid = torch.arange(xy.shape[1]).unsqueeze(0) < ks.unsqueeze(1)
        # shadows first: soft ellipses cast down-right, away from the light
        for k in range(xy.shape[1]):
            rk = r[:, k].view(n, 1, 1)
            sx = (gx - xy[:, k, 0].view(n, 1, 1) - 0.45 * rk) / (1.25 * rk)
            sy = (gy - xy[:, k, 1].view(n, 1, 1) - 0.75 * rk) / (0.55 * rk)
            shadow = (1.2 - torch.sqrt(sx**2 + sy**2)).clamp(0, 1) * valid[:, k].view(n, 1, 1)
            img = img * (1 - 0.45 * shadow.unsqueeze(1))
        for k in range(xy.shape[1]):
            live = valid[:, k]
            if not live.any():
                continue
            rk = r[:, k].view(n, 1, 1)
            dx = (gx - xy[:, k, 0].view(n, 1, 1)) / rk
            dy = (gy - xy[:, k, 1].view(n, 1, 1)) / rk
            pick = lambda rows, default: [row[k] if k < len(row) else default for row in rows]  # noqa: E731
            shape = pick(shapes, "sphere")
            color = torch.tensor([COLORS[c] for c in pick(colors, "gray")], dtype=torch.float32) / 255
            metal = torch.tensor(pick(metals, False), dtype=torch.float32)
            striped = torch.tensor(pick(stripes, False)) if stripes is not None else None
            rgb, cover = _shade(shape, dx, dy, rk * S, color, metal, striped)
            a = (cover * live.view(n, 1, 1)).unsqueeze(1)
            img = img * (1 - a) + rgb * a
        return img * 2 - 1

    def test_set(self, n: int, split: str, seed: int = 0) -> Batch:
        """n test scenes of a split, drawn from a seed disjoint from training's per-step seeds."""
        return self.batch(n, split=split, generator=torch.Generator().manual_seed(TEST_SEED + seed))


class Clevr:
    """The real CLEVR_v1.0: ``root/images/{split}/*.png`` and ``root/scenes/CLEVR_{split}_scenes.json``.

    Each object's concept is ``pixel_coords[:2] / (480, 320)`` (as the paper), stored as (x, y, 1); images
    are resized to ``size`` square in [-1, 1]. ``counts`` keeps the scenes with that many objects (the
    paper's splits: ``SPLITS["id"]`` = 3-5 and ``SPLITS["ood"]`` = 6-8).
    """

    def __init__(self, root, split: str = "val", size: int = 64, counts=(3, 4, 5), limit: int | None = None):
        self.root, self.size = Path(root), size
        scenes = self.root / "scenes" / f"CLEVR_{split}_scenes.json"
        if not scenes.is_file():
            raise FileNotFoundError(f"expected the CLEVR_v1.0 layout: {scenes} (and images/{split}/*.png) under {self.root}")
        data = json.loads(scenes.read_text())
        if "scenes" not in data:
            raise ValueError(f"{scenes} has no 'scenes' list: not a CLEVR scenes file")
        keep = [s for s in data["scenes"] if len(s["objects"]) in set(counts)]
        self.scenes = keep[:limit] if limit else keep
        self.images = self.root / "images" / split
        if not self.scenes:
            raise ValueError(f"no scene in {scenes} has {sorted(set(counts))} objects")

    def __len__(self) -> int:
        return len(self.scenes)

    def load(self, indices) -> Batch:
        from PIL import Image

        xs, concepts, mask = [], torch.zeros(len(indices), K_MAX, CONCEPT_DIM), torch.zeros(len(indices), K_MAX, dtype=torch.bool)
        for b, i in enumerate(indices):
            scene = self.scenes[i]
            path = self.images / scene["image_filename"]
            if not path.is_file():
                raise FileNotFoundError(f"missing image {path} named by the scenes file")
            img = Image.open(path).convert("RGB").resize((self.size, self.size), Image.BILINEAR)
            xs.append(torch.tensor(np.asarray(img), dtype=torch.float32).permute(2, 0, 1) / 127.5 - 1)
            objs = scene["objects"][:K_MAX]
            for k, o in enumerate(objs):
                u, v = o["pixel_coords"][:2]
                concepts[b, k] = torch.tensor([u / 480.0, v / 320.0, 1.0])
                mask[b, k] = True
        return Batch(torch.stack(xs), concepts, mask, {"k": mask.sum(1)})

    def batch(self, n: int, generator: torch.Generator | None = None, **_) -> Batch:
        """n random scenes (for training on the real CLEVR)."""
        return self.load(torch.randint(0, len(self), (n,), generator=generator).tolist())


__all__ = ["COLORS", "CONCEPT_DIM", "Clevr", "ClevrWorld", "K_MAX", "SHAPES", "NEW_SHAPES", "SPLITS", "position_concepts"]


TEST_SEED = 10_000_019  # test scenes of seed s come from generator (TEST_SEED + s): apart from training's per-step seeds


def clevr_test_set(split: str, n: int, seed: int = 0, root=None, size: int = 32) -> Batch:
    """N test scenes of a split: procedural (``ClevrWorld``) or, with ``root``, the real CLEVR_v1.0 val set."""
    if root is None:
        return ClevrWorld(size=size).test_set(n, split, seed)
    if split == "shapes":
        raise ValueError("the real CLEVR_v1.0 has no new-shapes split; use --split id or ood (CLEVRTex is not loaded here)")
    data = Clevr(root, "val", size=size, counts=SPLITS[split])
    return data.load(list(range(min(n, len(data)))))
