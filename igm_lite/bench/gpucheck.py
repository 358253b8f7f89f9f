"""A short check of every chapter's device code path (``python -m igm_lite.bench gpu-check``): for each chapter, its
small recipe trained for a few hundred steps on procedural data (accelerate on the device, mixed precision chosen for
it), then its inference engine on a few test images on the device. One JSON line per chapter: training throughput
and loss, inference throughput and accuracy. The numbers describe the machine and the code path, not the method:
a few hundred steps are far from the shipped models' training, so accuracies are low.

Each line also estimates how long the chapter's GPU profile trains on this device (``estimate``): every recipe the
profile trains is timed for ``estimate_steps`` and twice as many steps (the difference cancels building and writing the
model), and its rate times the profile's steps is the estimate. The data are stand-ins of the real ones' shapes
(procedural scenes; a folder of flat JPEGs in CelebA's layout, decoded as the real ones are), so reading a real dataset
from a slow disk can add to it."""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from ..chapters import chapter_settings, load_profile
from ..data.celeba import write_celeba_folder
from ..data.clevr import clevr_test_set
from ..data.digits import digit_test_set, prompt_pool
from ..data.faces import face_test_set
from ..data.toy2d import StripeWorld
from ..infer.attributes import infer_faces
from ..infer.base import default_device
from ..infer.continuous import PositionEngine, grid_region
from ..infer.zeroshot import ZeroShot
from ..maker import make
from ..metrics import attribute_scores, position_metrics
from ..pretrained import load_model
from ..recipes import RECIPES as ALL_RECIPES
from ..schedule import make_scheduler
from .toy2d import TOY_MODELS, toy2d_inference

RECIPES = {"01": "toy2d-joint-weighted", "02": "clevr32", "03": "faces32-mean", "04": "digits32"}
# Shared noise samples of the discrete engines in this check (half the chapters' 32): it asks only that a GPU reads
# the test images as the CPU does, not for the chapters' figures.
CHECK_SAMPLES = 16


def evaluate(chapter: str, model, n: int, device, seed: int = 0) -> dict:
    """The chapter's engine on n procedural test images on ``device`` (chapter 1: at least one cloud of each of its 26
    scenes, on the CPU like the chapter: its 2-D model is tiny): {"accuracy", "images", "metric"}."""
    scheduler = make_scheduler()
    if chapter == "01":
        out = toy2d_inference(model.cpu(), StripeWorld(), scheduler, clouds=max(1, n // 26), n_samples=CHECK_SAMPLES, seed=seed)
        return {"accuracy": out["set_accuracy"], "images": out["n"], "metric": "concept sets right"}
    if chapter == "02":
        batch = clevr_test_set("ood", n, seed)
        res = PositionEngine(model, scheduler, region=grid_region(), seed=seed).infer_many(batch.x.to(device))
        truths = [batch.concepts[b, batch.mask[b], :2] for b in range(n)]
        return {"accuracy": position_metrics([r.answer.cpu() for r in res], truths)["perception_rate"], "images": n,
                "metric": "perception rate, 6-8 objects"}
    if chapter == "03":
        faces = face_test_set("id", n, seed)
        res = infer_faces(faces.x.to(device), "cached", model, n_samples=CHECK_SAMPLES, seed=seed)
        return {"accuracy": attribute_scores(res.attrs, faces.meta["attrs"])["accuracy"], "images": n, "metric": "all three attributes"}
    x, y = digit_test_set(2, n, seed)
    zs, pool = ZeroShot(model, scheduler, n_samples=CHECK_SAMPLES, seed=seed), prompt_pool().to(device)
    right = [zs.infer(img.to(device), pool, k=2).answer.tolist() == t for img, t in zip(x, y.tolist())]
    return {"accuracy": sum(right) / n, "images": n, "metric": "pairs of digits right"}


STEMS = {"01": "01_ebm_composition", "02": "02_clevr_objects", "03": "03_celeba_attributes", "04": "04_zero_shot"}


def profile_settings(chapter: str, profile: str = "gpu") -> dict:
    """The chapter's parameters under ``profile``: its defaults (``cpu.yml``) with the profile's values over them."""
    return {**load_profile("cpu").get(STEMS[chapter], {}), **(load_profile(profile).get(STEMS[chapter]) or {})}


def profile_trainings(chapter: str, profile: str = "gpu") -> dict:
    """{recipe: steps} that ``chapter`` trains under ``profile`` (empty where it loads its models): the names the
    chapter gives its models ({recipe}, {recipe}-resnet, ...), the steps of ``train_steps`` or else each recipe's."""
    p = profile_settings(chapter, profile)
    if not p.get("retrain"):
        return {}
    names = {"01": TOY_MODELS, "04": ("digits32",)}.get(chapter)
    if chapter == "02":
        names = (p["recipe"], f"{p['recipe']}-resnet", f"{p['recipe']}-slot")
    if chapter == "03":
        names = [f"{p['recipe']}-{key}" for key in ("mean", "resnet", "latent", "latent-a") if f"{p['recipe']}-{key}" in ALL_RECIPES]
    return {name: p.get("train_steps") or ALL_RECIPES[name].train["steps"] for name in names}


def estimate_training(chapter: str, out, steps: int = 10, profile: str = "gpu") -> dict:
    """The estimated training time of ``chapter``'s ``profile`` on this device: {recipe: {"steps", "seconds_per_step",
    "minutes"}} and "minutes" in all (see the module's text: a rate measured over ``steps`` steps, an estimate)."""
    out, rows, stand_in = Path(out), {}, None
    for name, total in profile_trainings(chapter, profile).items():
        data = {}
        if ALL_RECIPES[name].world == "celeba":  # 256 stand-in training faces (written once), at the profile's size
            if stand_in is None:
                faces = [(f"{i + 1:06d}.jpg", 1 - 2 * (i % 2), 1 - 2 * (i // 2 % 2), -1, 1 - 2 * (i // 4 % 2), 0) for i in range(256)]
                stand_in = write_celeba_folder(out / "celeba-stand-in", faces)
            data = {"root": str(stand_in), "size": profile_settings(chapter, profile)["image_size"]}
        seconds = []
        for k in (steps, 2 * steps):
            start = time.perf_counter()
            make(name, out / "timing" / f"{name}-{k}", k, progress=False, precision="auto", data=data)
            seconds.append(time.perf_counter() - start)
        rate = max(seconds[1] - seconds[0], 0.0) / steps
        rows[name] = {"steps": total, "seconds_per_step": round(rate, 4), "minutes": round(rate * total / 60, 1)}
    return {"recipes": rows, "minutes": round(sum(r["minutes"] for r in rows.values()), 1)}


def estimate_evaluation(chapter: str, out, device, n: int = 2, profile: str = "gpu") -> dict:
    """The estimated time of ``chapter``'s main evaluation under ``profile`` on ``device``: its engine, at the profile's
    settings, with the model ``estimate_training`` left in ``out`` (the profile's architecture; its weights barely
    trained, which does not change the cost), timed on ``n`` stand-in images and extrapolated to the profile's test
    set. Chapter 4 (Stable Diffusion) is not estimated: {} there."""
    p = profile_settings(chapter, profile)
    timing, scheduler = Path(out) / "timing", make_scheduler()
    def folder(name):  # the longer of the two timing runs of recipe ``name``
        runs = [f for f in timing.iterdir() if f.name.rsplit("-", 1)[0] == name and f.name.rsplit("-", 1)[1].isdigit()]
        return max(runs, key=lambda f: int(f.name.rsplit("-", 1)[1]))

    start = time.perf_counter()
    if chapter == "01":
        model = load_model(folder(TOY_MODELS[-1]))
        done = toy2d_inference(model, StripeWorld(), scheduler, clouds=1, n_samples=p["n_samples"], seed=0)["n"]
        total, what = 26 * p["clouds_per_scene"] * len(TOY_MODELS), "clouds read by the four models"
    elif chapter == "02":
        model = load_model(folder(p["recipe"])).to(device)
        batch = clevr_test_set("ood", n, 0, size=p["image_size"])
        settings = chapter_settings(PositionEngine, model, **{k: p[k] for k in ("grid", "n_samples", "t_range", "refine_steps")})
        PositionEngine(model, scheduler, settings, region=grid_region()).infer_many(batch.x.to(device))
        done, total, what = n, 2 * p["n_test"], "scenes read by IGM (both splits)"
    elif chapter == "03":
        model = load_model(folder(f"{p['recipe']}-mean")).to(device)
        faces = face_test_set("id", n, 0, size=p["image_size"])
        with torch.no_grad():
            infer_faces(faces.x.to(device), "eliminate", model, n_samples=p["n_samples"], schedule=[tuple(stage) for stage in p["schedule"] or []] or None)
        done, total, what = n, 2 * p["n_test"], "faces read by the pixel model's staged elimination (both splits)"
    else:
        return {}
    per = (time.perf_counter() - start) / done
    return {"seconds_per_item": round(per, 3), "items": total, "what": what, "minutes": round(per * total / 60, 1)}


def gpu_profile_estimate(chapter: str, out, steps: int, device) -> dict:
    """Both estimates of a chapter's GPU profile on ``device`` (``estimate_training``, then ``estimate_evaluation`` with
    the models it left): {"gpu_profile_estimate": {"training", "evaluation", "note"}}."""
    training = estimate_training(chapter, out, steps)
    evaluation = estimate_evaluation(chapter, out, device) if training["recipes"] or chapter == "01" else {}
    return {"gpu_profile_estimate": {"training": training, "evaluation": evaluation,
                                     "note": "an estimate: rates measured over a few steps and images on stand-in data, extrapolated"}}


def gpu_check(out: str = "out/gpu-check", steps: int = 300, n: int = 16, chapters=tuple(RECIPES), seed: int = 0,
              estimate_steps: int = 10):
    """Yield one result dict per chapter: its recipe trained ``steps`` steps into ``out``, its engine on ``n`` images,
    and (``estimate_steps`` > 0) the estimated training time of its GPU profile on this device."""
    device = default_device()
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
               **{**ev, "accuracy": round(ev["accuracy"], 4)}, "images_per_second": round(ev["images"] / (done - trained), 3), "seconds": round(done - start, 1),
               **(gpu_profile_estimate(chapter, Path(out) / "estimate", estimate_steps, device) if estimate_steps else {})}
