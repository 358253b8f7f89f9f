"""The paper's reported figures (Wang et al., "Compositional scene understanding through inverse generative modeling",
ICML 2025), written once: the chapters print them beside their own and the figures test accepts them in the text.

Rates are fractions; CLEVR's estimation error is a mean squared error of normalised coordinates. ``as_text`` writes
a figure as the chapters do.
"""
from __future__ import annotations

PAPER = {
    # CLEVR object discovery, trained on 3-5 objects: (perception rate, estimation error) on 3-5 objects ("id") and
    # 6-8 ("ood"), real CLEVR at 64 px; the ResNet is a ResNet-50
    "clevr": {
        "IGM": {"id": (0.947, 1.4e-4), "ood": (0.853, 3.5e-4)},
        "ResNet": {"id": (0.053, 1.94e-1), "ood": (0.029, 1.97e-1)},
        "Slot Attention": {"id": (0.804, 8.7e-4), "ood": (0.533, 1.3e-3)},
        "DINOSAUR": {"id": (0.825, 8.4e-4), "ood": (0.590, 1.2e-3)},
        "GC": {"id": (0.822, 6.0e-4), "ood": (0.587, 1.2e-3)},
    },
    "clevr-one-start": {"id": 0.728, "ood": 0.680},  # the ablation: IGM from one random initialisation (perception rate)
    "clevrtex": {"IGM": 0.724, "GC": 0.529},  # unseen shapes: CLEVRTex, 6-8 objects (perception rate; GC the best baseline)
    # CelebA, trained on female faces: all three attributes (black hair, eyeglasses, smiling) right, in distribution
    # (female) and out (male); the ResNet is a ResNet-50; one training run each, about 1,000 test faces per split
    "celeba": {"IGM": {"id": 0.808, "ood": 0.656}, "ResNet": {"id": 0.796, "ood": 0.622}},
    # zero-shot, Stable Diffusion 2.1 at 512 px, 71 web photos of two of {cat, dog, rabbit}: the exact pair right
    "zeroshot": {"IGM": 0.873, "DC top-K": 0.704, "DC joint": 0.732},
}


def as_text(rate: float, error: float | None = None) -> str:
    """A figure as the chapters print it: "94.7%", or with its estimation error "94.7% / 1.4e-4"."""
    text = f"{100 * rate:.1f}%"
    if error is not None:
        mantissa, exponent = f"{error:.1e}".split("e")
        text += f" / {mantissa}e{int(exponent)}"
    return text


def percentages() -> set[str]:
    """Every rate of ``PAPER`` as the text writes it ("94.7%"): what a page may quote from the paper."""
    out = set()

    def walk(value):
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, tuple):
            walk(value[0])  # (rate, estimation error)
        else:
            out.add(as_text(value))
    walk(PAPER)
    return out
