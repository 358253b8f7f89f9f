"""A short check of every chapter's device code path (``python -m igm_lite.bench gpu-check``): for each chapter, its
small recipe trained for a few hundred steps on procedural data (accelerate on the device, mixed precision chosen for
it), then its inference engine on a few test images on the device. One JSON line per chapter: training throughput
and loss, inference throughput and accuracy. The numbers describe the machine and the code path, not the method:
a few hundred steps are far from the shipped models' training, so accuracies are low."""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from ..data.clevr import clevr_test_set
from ..data.digits import digit_test_set, prompt_pool
from ..data.faces import face_test_set
from ..data.toy2d import StripeWorld
from ..infer.attributes import infer_faces
from ..infer.continuous import PositionEngine, grid_region
from ..infer.zeroshot import ZeroShot
from ..metrics import attribute_scores, position_metrics
from ..pretrained import load_model, make
from ..schedule import make_scheduler
from .toy2d import toy2d_inference

RECIPES = {"01": "toy2d-joint-weighted", "02": "clevr32", "03": "faces32-mean", "04": "digits32"}


def evaluate(chapter: str, model, n: int, device, seed: int = 0) -> dict:
    """The chapter's engine on n procedural test images on ``device`` (chapter 1: at least one cloud of each of its 26
    scenes, on the CPU like the chapter: its 2-D model is tiny): {"accuracy", "images", "metric"}."""
    scheduler = make_scheduler()
    if chapter == "01":
        out = toy2d_inference(model.cpu(), StripeWorld(), scheduler, clouds=max(1, n // 26), n_noise=16, seed=seed)
        return {"accuracy": out["set_accuracy"], "images": out["n"], "metric": "concept sets right"}
    if chapter == "02":
        batch = clevr_test_set("ood", n, seed)
        res = PositionEngine(model, scheduler, region=grid_region(), seed=seed).infer_many(batch.x.to(device))
        truths = [batch.concepts[b, batch.mask[b], :2] for b in range(n)]
        return {"accuracy": position_metrics([r.answer.cpu() for r in res], truths)["perception_rate"], "images": n,
                "metric": "perception rate, 6-8 objects"}
    if chapter == "03":
        faces = face_test_set("id", n, seed)
        res = infer_faces(faces.x.to(device), "cached", model, n_noise=16, seed=seed)
        return {"accuracy": attribute_scores(res.attrs, faces.meta["attrs"])["accuracy"], "images": n, "metric": "all three attributes"}
    x, y = digit_test_set(2, n, seed)
    zs, pool = ZeroShot(model, scheduler, n_samples=16, seed=seed), prompt_pool().to(device)
    right = [zs.perceive(img.to(device), pool, 2).answer.tolist() == t for img, t in zip(x, y.tolist())]
    return {"accuracy": sum(right) / n, "images": n, "metric": "pairs of digits right"}


def gpu_check(out: str = "out/gpu-check", steps: int = 300, n: int = 16, chapters=tuple(RECIPES), seed: int = 0):
    """Yield one result dict per chapter: its recipe trained ``steps`` steps into ``out``, its engine on ``n`` images."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    for chapter in chapters:
        name = RECIPES[chapter]
        start = time.perf_counter()
        folder = make(name, Path(out) / name, steps, progress=False, precision="auto")
        info = json.loads((folder / "recipe.json").read_text())
        model = load_model(folder).to(device)
        trained = time.perf_counter()
        with torch.no_grad():
            ev = evaluate(chapter, model, n, device, seed)
        done = time.perf_counter()
        yield {"bench": "gpu-check", "chapter": chapter, "recipe": name, "device": str(device),
               "device_name": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu", "precision": info["precision"],
               "steps": steps, "steps_per_second": round(steps / (trained - start), 2),  # with writing the model
               "final_loss": round(info["final_loss_mean_last_200"], 5), "train_seconds": round(trained - start, 1),
               **{**ev, "accuracy": round(ev["accuracy"], 4)}, "images_per_second": round(ev["images"] / (done - trained), 3), "seconds": round(done - start, 1)}
