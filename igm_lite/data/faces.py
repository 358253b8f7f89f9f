"""Procedural cartoon faces with three binary attributes and a group factor (the CelebA chapter's CPU world).

The attributes are the paper's three: black hair, eyeglasses, smiling; each is drawn independently of
the others and of the group, and each is plainly visible at 32 px (thick strokes, drawn at 4x and
averaged down). The group factor changes the face the way the paper's female / male split does:

    group A: long hair falling beside the face, a round face, no facial hair;
    group B: short hair, a squarer jaw, a beard in about half the faces, other skin and hair tones.

A model trained on group A and tested on group B faces a shift of the kind of the paper's train-on-female,
test-on-male split, but harsher: in this ``disjoint`` world every one of group B's differences is absent from
group A and nothing else varies with the group. ``FaceWorld(shift=...)`` names which of group B's four
differences ("hair", "jaw", "beard", "tones") apply, so that each can be measured alone; every random draw is the
same whatever the shift, so the same seed gives the same face with and without each difference.

Four switches (each a number, default off) move the world towards what female-to-male CelebA has:

    overlap      a share of group-A faces carries group B's short hair, square jaw and tones (each independently);
                 the beard stays group B's alone, the one content group A never shows;
    cue          red lips, a non-attribute cue: in group A on this share of the smiling faces and on (1 - cue) of
                 the others; never in group B;
    glasses      the prior of eyeglasses in groups (A, B) (the other two attributes stay at 0.5);
    label_noise  the share of training labels flipped, each attribute independently (test sets are exact): one
                 share for every attribute and value, or per attribute (black hair, eyeglasses, smiling) a pair
                 (share of the true labels flipped, share of the false ones), as annotators err (``CELEBA_LABEL_NOISE``).

and one sets a trap that female-to-male CelebA does not:

    shortcut     a background that predicts smiling: in group A a warm background (beige or pink) on this share of the
                 smiling faces and a cool one (blue or green) on this share of the others; in group B reversed (warm on
                 1 - shortcut of the smiling faces). The smile itself is always visible; the background is larger.

``FACE_WORLDS`` names the worlds built from them: ``disjoint`` (all off), one world per switch, ``celeba-like`` (the
first four on, 5% of every label flipped), ``celeba-calibrated`` (the same with label noise per attribute and value,
``CELEBA_LABEL_NOISE``, so that a rare attribute does not lose half its positive labels) and ``shortcut`` (the trap alone, with group B's other differences off, so that the reversed background is
the only shift); ``shortcut-faint`` is the same trap with a faint smile (``faint_smile``: a thin line with raised
corners instead of the open mouth), so that the smile's own evidence is a few pixels against the background's hundreds;
``shortcut-total`` makes the background follow the faint smile on every face of group A (and its opposite on every
face of group B), so that nothing in training tells a reader which of the two is the attribute. Switches draw their random numbers after every draw of the disjoint world, only when on, so the disjoint
world is unchanged and the same seed gives the same face across worlds wherever a switch does not apply.

Concepts follow the paper (``igm_lite.data.attributes``, shared with the real CelebA): a face is K = 3 concepts of
D = 6, one pair of one-hot slots per attribute.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .attributes import attribute_concepts
from .base import Batch
from .celeba import CelebA

GROUP_B_SHIFT = ("hair", "jaw", "beard", "tones")  # how group B differs from group A
SHIFT_NAMES = {"hair": "short hair", "jaw": "square jaw", "beard": "beard", "tones": "skin and hair tones"}


def _u(n, lo, hi, g):
    return lo + (hi - lo) * torch.rand(n, generator=g)


def _pick(n, colours, g):
    c = torch.tensor(colours, dtype=torch.float32)
    return c[torch.randint(len(c), (n,), generator=g)]


# Palettes: group A's tones, group B's (same number of entries, so that one draw picks the same entry of either)
SKIN = {"A": [[0.98, 0.85, 0.75], [0.93, 0.78, 0.65], [0.85, 0.68, 0.55]], "B": [[0.9, 0.72, 0.6], [0.75, 0.55, 0.4], [0.6, 0.42, 0.3]]}
OTHER_HAIR = {"A": [[0.95, 0.8, 0.35], [0.75, 0.45, 0.2], [0.85, 0.35, 0.15]],  # blond, brown, red
              "B": [[0.6, 0.4, 0.22], [0.7, 0.6, 0.45], [0.55, 0.55, 0.55]]}  # brown, sandy, grey
RED_LIPS = [0.9, 0.12, 0.3]
BACKGROUNDS = [[0.75, 0.82, 0.9], [0.85, 0.85, 0.75], [0.8, 0.9, 0.8], [0.9, 0.8, 0.85]]  # blue, beige, green, pink
WARM, COOL = (1, 3), (0, 2)  # the shortcut's two kinds of background: entries of BACKGROUNDS


@dataclass
class FaceWorld:
    """Render faces: ``size`` pixels square, drawn at ``supersample`` times that and averaged down.
    ``shift``: which of group B's differences from group A apply to group B (default: all four). The switches
    (module docstring) are off by default: ``overlap``, ``cue``, ``glasses`` = (prior in A, prior in B), ``label_noise``."""

    size: int = 32
    supersample: int = 4
    shift: tuple = GROUP_B_SHIFT
    overlap: float = 0.0  # share of group-A faces with each of group B's hair, jaw and tones (independently)
    cue: float = 0.0  # P(red lips | smiling) in group A, and 1 - cue = P(red lips | not smiling); 0: no red lips anywhere
    glasses: tuple = (0.5, 0.5)  # P(eyeglasses) in group A, in group B
    label_noise: float | tuple = 0.0  # share of training labels flipped, or per attribute (if true, if false)
    shortcut: float = 0.0  # P(warm background | smiling) = P(cool | not smiling) in group A; reversed in group B; 0: off
    faint_smile: bool = False  # smiling as a thin dark line with raised corners (no open mouth, no teeth)

    def __post_init__(self):
        self.shift = tuple(self.shift)
        unknown = [s for s in self.shift if s not in GROUP_B_SHIFT]
        if unknown:
            raise ValueError(f"shift must name some of {GROUP_B_SHIFT}, got {unknown}")
        self.glasses = tuple(float(p) for p in self.glasses)
        if isinstance(self.label_noise, (int, float)):
            self.label_noise = float(self.label_noise)
            flips = {"label_noise": self.label_noise}
        else:
            try:
                pairs = tuple(tuple(float(p) for p in pair) for pair in self.label_noise)
            except (TypeError, ValueError):
                pairs = ()
            if len(pairs) != 3 or any(len(pair) != 2 for pair in pairs):
                raise ValueError("label_noise must be one share or three pairs (share of true labels flipped, share of "
                                 f"false ones) for black hair, eyeglasses, smiling; got {self.label_noise!r}")
            self.label_noise = pairs
            flips = {f"label_noise[{a}][{v}]": pairs[a][v] for a in range(3) for v in range(2)}
        for name, value in (("overlap", self.overlap), ("cue", self.cue), *flips.items(), ("shortcut", self.shortcut), *zip(("glasses[0]", "glasses[1]"), self.glasses)):
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name} must be a share in [0, 1], got {value!r}")
        if len(self.glasses) != 2:
            raise ValueError(f"glasses must be (prior in group A, prior in group B), got {self.glasses!r}")

    def prior(self, group: str = "A") -> tuple:
        """P(present) of each attribute (black hair, eyeglasses, smiling) among a group's faces: what a reader trained on
        that group can know of it."""
        if group not in ("A", "B"):
            raise ValueError(f"group must be 'A' or 'B', got {group!r}")
        return (0.5, self.glasses[group == "B"], 0.5)

    def render(self, attrs: torch.Tensor, group: str, generator: torch.Generator | None = None, with_meta: bool = False):
        """Faces (B, 3, size, size) in [-1, 1] for attrs (B, 3) in {0, 1} and group "A" or "B"; with
        ``with_meta``, also the nuisances that are not attributes: {"beard", "lips", "b_hair", "b_jaw", "b_tones":
        (B,) bool} (the last three: which of group B's differences the face carries)."""
        if group not in ("A", "B"):
            raise ValueError(f"group must be 'A' or 'B' ('AB' in batch), got {group!r}")
        attrs = torch.as_tensor(attrs).bool()
        if attrs.dim() != 2 or attrs.shape[1] != 3:
            raise ValueError(f"attrs must have shape (B, 3), got {tuple(attrs.shape)}")
        n, S = attrs.shape[0], self.size * self.supersample
        z = self._nuisances(attrs, group, generator)
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, S), torch.linspace(-1, 1, S), indexing="ij")
        v = lambda t: t.view(n, 1, 1)  # noqa: E731
        dx, dy = (xs.expand(n, S, S) - v(z["cx"])) / v(z["r"]), (ys.expand(n, S, S) - v(z["cy"])) / v(z["r"])
        parts = self._parts(dx, dy, attrs, z)
        smile, hair = v(attrs[:, 2]), z["hair"]
        img = z["bg"].view(n, 3, 1, 1).expand(n, 3, S, S).clone()
        for part, colour in (("hair", hair), ("face", z["skin"]), ("beard", hair * 0.8), ("lip_band", torch.tensor([RED_LIPS]).expand(n, 3)),
                             ("eyes", torch.tensor([[0.1, 0.1, 0.15]]).expand(n, 3)),
                             ("mouth", torch.where(smile[:, 0] & (not self.faint_smile), torch.tensor([[0.6, 0.1, 0.12]]), torch.tensor([[0.3, 0.12, 0.1]]))),
                             ("teeth", torch.tensor([[0.97, 0.97, 0.97]]).expand(n, 3)), ("frames", torch.tensor([[0.15, 0.15, 0.35]]).expand(n, 3))):
            img = torch.where(parts[part].unsqueeze(1), colour.view(-1, 3, 1, 1).expand(n, 3, 1, 1), img)  # painted in this order
        img = torch.nn.functional.avg_pool2d(img, self.supersample) * 2 - 1
        meta = {"beard": z["beard"], "lips": z["lips"], **{f"b_{part}": z["b"][part] for part in ("hair", "jaw", "tones")}}
        return (img, meta) if with_meta else img

    def _nuisances(self, attrs: torch.Tensor, group: str, g: torch.Generator | None) -> dict:
        """What a face draws besides its attributes, in the order the worlds' faces were drawn: its place and size, the
        colours (one palette draw serves either group's tones), which of group B's differences it carries, the cue."""
        n, (black, _, smile) = attrs.shape[0], attrs.T
        cx, cy, r = _u(n, -0.08, 0.08, g), _u(n, -0.05, 0.08, g), _u(n, 0.50, 0.58, g)
        bg = _pick(n, BACKGROUNDS, g)
        skin_i, hair_i = torch.randint(3, (n,), generator=g), torch.randint(3, (n,), generator=g)
        black_hair = _pick(n, [[0.05, 0.05, 0.06], [0.12, 0.1, 0.1]], g)
        beard_u = torch.rand(n, generator=g)  # the last draw of the disjoint world; the switches' draws follow
        # which of group B's differences each face carries: group B's faces all of ``shift``; with ``overlap``, some of group A's
        b = {part: torch.full((n,), group == "B" and part in self.shift) for part in GROUP_B_SHIFT}
        if group == "A" and self.overlap > 0:
            u = torch.rand(n, 3, generator=g)
            for i, part in enumerate(("hair", "jaw", "tones")):
                b[part] = u[:, i] < self.overlap
        lips = torch.zeros(n, dtype=torch.bool)
        if group == "A" and self.cue > 0:
            lips = torch.rand(n, generator=g) < torch.where(smile, self.cue, 1 - self.cue)
        if self.shortcut > 0:  # the background follows the smile (group A) or its opposite (group B)
            p_warm = torch.where(smile == (group == "A"), self.shortcut, 1 - self.shortcut)
            warm, which = torch.rand(n, generator=g) < p_warm, torch.randint(2, (n,), generator=g)
            bg = torch.tensor(BACKGROUNDS)[torch.where(warm, torch.tensor(WARM)[which], torch.tensor(COOL)[which])]
        tones = b["tones"].unsqueeze(1)
        skin = torch.where(tones, torch.tensor(SKIN["B"])[skin_i], torch.tensor(SKIN["A"])[skin_i])
        other_hair = torch.where(tones, torch.tensor(OTHER_HAIR["B"])[hair_i], torch.tensor(OTHER_HAIR["A"])[hair_i])
        beard = (beard_u < 0.5) & (group == "B" and "beard" in self.shift)  # group B: half the faces, whatever the attributes
        return {"faint": self.faint_smile, "cx": cx, "cy": cy, "r": r, "bg": bg, "skin": skin, "hair": torch.where(black.unsqueeze(1), black_hair, other_hair),
                "b": b, "lips": lips, "beard": beard}

    @staticmethod
    def _parts(dx: torch.Tensor, dy: torch.Tensor, attrs: torch.Tensor, z: dict) -> dict:
        """The masks (B, S, S) of a face's parts, from the coordinates (dx, dy) relative to its centre and size."""
        v = lambda t: t.view(-1, 1, 1)  # noqa: E731
        _, glasses, smile = (v(a) for a in attrs.T)
        jaw, short = v(z["b"]["jaw"]), v(z["b"]["hair"])
        round_face = dx**2 / 0.72 + dy**2 / 1.0 < 1  # group A: a round face
        square_face = dx.abs() ** 4 / 0.55 + dy.abs() ** 3 / 1.0 < 1  # group B: a squarer jaw (a superellipse)
        face = torch.where(jaw, square_face, round_face)
        # group A: long hair on both sides down to the shoulders
        long_hair = ((dx**2 / 1.1 + (dy + 0.15) ** 2 / 1.25 < 1) & ~face) | ((dy < -0.35) & (dx**2 / 0.9 + (dy + 0.2) ** 2 / 1.0 < 1))
        long_hair = long_hair | ((dx.abs() > 0.7) & (dx.abs() < 1.05) & (dy > -0.6) & (dy < 1.6))
        # group B: short hair on top, covering the top of the forehead
        short_hair = (dy < -0.4) & (dx**2 / 0.9 + (dy + 0.3) ** 2 / 0.65 < 1) & ~(face & (dy > -0.5))
        hair = torch.where(short, short_hair, long_hair)
        face = face & ~(short & short_hair & (dy < -0.62))
        eye_y = -0.12
        eyes = ((dx.abs() - 0.32) ** 2 + (dy - eye_y) ** 2) < 0.09**2
        # mouth: smiling = a wide, tall open mouth showing white teeth; neutral = a short, thin, dark line
        # (at 32 px the smile spans about 9 x 3 pixels, the neutral line about 4 x 1)
        mouth_y = 0.5
        top = mouth_y - 0.08 - 0.3 * dx**2  # the upper lip: corners raised a little
        bottom = mouth_y + 0.3 - 1.2 * dx**2  # the lower lip: a deep curve, corners raised
        smile_m = (dx.abs() < 0.5) & (dy > top) & (dy < bottom)
        if z["faint"]:  # a faint smile: the neutral line, a little wider, its corners raised (a few pixels apart from it)
            smile_m = (dx.abs() < 0.5) & ((dy - (mouth_y + 0.06 - 1.2 * dx**2)).abs() < 0.1)
        mouth = torch.where(smile, smile_m, (dx.abs() < 0.25) & ((dy - mouth_y).abs() < 0.05))
        # red lips (the cue): a band around either mouth
        lip_band = torch.where(smile, (dx.abs() < 0.56) & (dy > top - 0.08) & (dy < bottom + 0.08),
                               (dx.abs() < 0.32) & ((dy - mouth_y).abs() < 0.12)) & ~mouth & v(z["lips"])
        # glasses: two thick rings and a bridge
        ring = ((dx.abs() - 0.32) ** 2 + (dy - eye_y) ** 2).sqrt()
        frames = (((ring > 0.17) & (ring < 0.25)) | ((dx.abs() < 0.1) & ((dy - eye_y).abs() < 0.035))) & glasses
        beard = face & (dy > 0.3) & ~mouth & v(z["beard"]) & ((dx.abs() > 0.3) | (dy > mouth_y + 0.1))
        return {"hair": hair, "face": face, "beard": beard, "lip_band": lip_band, "eyes": eyes, "mouth": mouth,
                "teeth": smile_m & (dy < top + 0.12) & smile & (not z["faint"]), "frames": frames}

    def batch(self, n: int, group: str = "A", generator: torch.Generator | None = None, labels: str = "train") -> Batch:
        """n faces of a group in the common batch format: attributes independent of each other, black hair and smiling
        with prior 0.5, eyeglasses with the group's prior (``glasses``). ``group="AB"``: the first n // 2 faces of group
        A, the rest of group B (what an autoencoder trained on both groups sees). ``labels="train"`` flips a share
        ``label_noise`` of the labels (concepts and ``meta["attrs"]``; ``meta["true_attrs"]`` keeps the truth; per-value
        shares flip each label with the share of its true value, on the same draw as one share would);
        ``labels="exact"`` (test sets) never does."""
        if labels not in ("train", "exact"):
            raise ValueError(f"labels must be 'train' or 'exact', got {labels!r}")
        if group == "AB":
            a, b = self.batch(n // 2, "A", generator, labels), self.batch(n - n // 2, "B", generator, labels)
            meta = {k: torch.cat([a.meta[k], b.meta[k]]) for k in a.meta if k != "group"}
            return Batch(torch.cat([a.x, b.x]), torch.cat([a.concepts, b.concepts]), torch.cat([a.mask, b.mask]), {**meta, "group": "AB"})
        if group not in ("A", "B"):
            raise ValueError(f"group must be 'A', 'B' or 'AB', got {group!r}")
        u = torch.rand(n, 3, generator=generator)
        attrs = u < torch.tensor(self.prior(group))
        x, nuisance = self.render(attrs, group, generator, with_meta=True)
        labelled = attrs
        if labels == "train" and self.label_noise:
            rates = self.label_noise
            if not isinstance(rates, float):  # (if true, if false) per attribute: each label's share by its true value
                pairs = torch.tensor(rates)
                rates = torch.where(attrs, pairs[:, 0], pairs[:, 1])
            labelled = attrs ^ (torch.rand(n, 3, generator=generator) < rates)
        return Batch(x, attribute_concepts(labelled), torch.ones(n, 3, dtype=torch.bool),
                     {"attrs": labelled.long(), "true_attrs": attrs.long(), "group": group, **nuisance})


# Per attribute (black hair, eyeglasses, smiling): (share of true labels flipped, share of false ones). Sourced: that
# annotators' errors are asymmetric between true and false (Wu et al., CVPRW 2023: about 20% of CelebA's true "mouth
# slightly open" labels are wrong against about 2% of its false ones) and that eyeglasses is among CelebA's most
# consistently labelled attributes. Assumed: each rate itself (no per-attribute table of CelebA's error rates is used).
CELEBA_LABEL_NOISE = ((0.05, 0.02), (0.02, 0.002), (0.10, 0.02))

# The worlds of chapter 3's grid (module docstring): which kind of shift favours which reader.
FACE_WORLDS = {
    "disjoint": {},
    "overlap": {"overlap": 0.3},
    "cue": {"cue": 0.9},
    "prior": {"glasses": (0.05, 0.25)},
    "celeba-like": {"overlap": 0.3, "cue": 0.9, "glasses": (0.05, 0.25), "label_noise": 0.05},
    "celeba-calibrated": {"overlap": 0.3, "cue": 0.9, "glasses": (0.05, 0.25), "label_noise": CELEBA_LABEL_NOISE},
    "shortcut": {"shortcut": 0.98, "shift": ()},
    "shortcut-faint": {"shortcut": 0.98, "shift": (), "faint_smile": True},
    "shortcut-total": {"shortcut": 1.0, "shift": (), "faint_smile": True},
}
VAE_WORLDS = ("disjoint", "overlap", "cue", "prior", "celeba-like")  # the worlds faces32-vae-worlds was trained on


def face_world(name: str = "disjoint", size: int = 32, shift=None) -> FaceWorld:
    """The named world of ``FACE_WORLDS`` at ``size`` pixels; ``shift`` (which of group B's differences apply) at None
    is the world's own (``shortcut``: none; the others: all four)."""
    if name not in FACE_WORLDS:
        raise ValueError(f"world must be one of {sorted(FACE_WORLDS)}, got {name!r}")
    args = dict(FACE_WORLDS[name])
    if shift is not None:
        args["shift"] = shift
    return FaceWorld(size, **args)


FACE_GROUPS = {"id": "A", "ood": "B"}  # split -> the group of procedural faces it holds
TEST_SEED = 1_000_003  # test faces of seed s come from generator (TEST_SEED * (s + 1) + [split is ood]): apart from training's


class EveryFaceWorld:
    """Faces of the worlds ``VAE_WORLDS``, in equal shares (what an autoencoder that saw faces of every kind
    trains on, as Stable Diffusion's VAE did): ``batch(n, group="AB")`` concatenates each world's share, in that
    order. (The shortcut world's backgrounds are entries of the same palette.)"""

    def __init__(self, size: int = 32):
        self.worlds = [face_world(name, size) for name in VAE_WORLDS]

    def batch(self, n: int, group: str = "AB", generator: torch.Generator | None = None) -> Batch:
        k = len(self.worlds)
        parts = [w.batch(n * (i + 1) // k - n * i // k, group, generator) for i, w in enumerate(self.worlds)]
        meta = {key: torch.cat([b.meta[key] for b in parts]) for key in parts[0].meta if key != "group"}
        return Batch(torch.cat([b.x for b in parts]), torch.cat([b.concepts for b in parts]), torch.cat([b.mask for b in parts]),
                     {**meta, "group": group})


def face_test_set(split: str, n: int, seed: int = 0, root=None, size: int = 32, shift=None, world: str = "disjoint") -> Batch:
    """N test faces of a split, with exact labels: procedural (group A for ``id``, B for ``ood``, of the named ``world``;
    ``shift`` names which of group B's differences apply, see ``FaceWorld``; None: the world's own) or, with ``root``, the first N of the real
    CelebA split (``CelebA``)."""
    if split not in FACE_GROUPS:
        raise ValueError(f"split must be 'id' or 'ood', got {split!r}")
    if root is not None:
        data = CelebA(root, split, size=size, limit=n)
        return CelebA.collate([data[i] for i in range(len(data))])
    gen = torch.Generator().manual_seed(TEST_SEED * (seed + 1) + (split == "ood"))
    return face_world(world, size, shift).batch(n, FACE_GROUPS[split], generator=gen, labels="exact")
