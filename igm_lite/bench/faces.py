"""Chapter 3's figures: attributes in and out of distribution, IGM's engines and the ResNet (``python -m igm_lite.bench celeba``)."""
from __future__ import annotations

from ..data.faces import GROUP_B_SHIFT, face_test_set
from ..infer.attributes import infer_faces
from ..infer.discrete import DiscreteConfig
from ..latent import encode
from ..metrics import attribute_scores, same_decisions
from ..pretrained import load_model

_D = DiscreteConfig()


def celeba(split: str = "ood", n: int = 200, seed: int = _D.seed, methods=("cached",), root=None, size: int = 32,
           model: str = "faces32-mean", classifier: str = "faces32-resnet", n_noise: int = _D.n_samples, t_range=_D.t_range,
           schedule=None, shift=GROUP_B_SHIFT):
    """Yield one result dict per method, all on the same faces (and, for the engines, the same noise)."""
    batch = face_test_set(split, n, seed, root, size, shift)
    truth = batch.meta["attrs"]
    kinds = {"resnet" if m == "resnet" else "igm" for m in methods}
    nets = {k: load_model(classifier if k == "resnet" else model) for k in kinds}  # each model loaded once
    inputs = {k: batch.x if k == "resnet" else encode(nets[k], batch.x) for k in kinds}  # a latent model's latents: once for every engine
    first = None
    for method in methods:
        key = "resnet" if method == "resnet" else "igm"
        out = infer_faces(inputs[key], method, nets[key], n_noise=n_noise, t_range=t_range, seed=seed, schedule=schedule)
        sc = attribute_scores(out.attrs, truth)
        row = {"bench": "celeba", "method": method, "split": split, "n": len(truth), "accuracy": round(sc["accuracy"], 4),
               "per_attribute": {a: round(v, 4) for a, v in sc["per_attribute"].items()},
               "network_evals_per_image": float(out.network_evals.mean()), "seconds_per_image": round(float(out.seconds.mean()), 5)}
        if first is None:
            first = (method, out.attrs)
        else:
            row[f"same_decisions_as_{first[0]}"] = same_decisions(out.attrs, first[1])
        row["settings"] = dict(seed=seed, data=str(root) if root else "procedural", size=size,
                               shift=list(shift) if root is None and split == "ood" else None,
                               model=None if method == "resnet" else str(model), classifier=str(classifier) if method == "resnet" else None,
                               n_noise=n_noise, t_range=list(t_range), schedule=schedule if method == "eliminate" else None)
        yield row
