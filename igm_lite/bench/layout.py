"""The UNets' speed in two memory layouts (``python -m igm_lite.bench layout``)."""
from __future__ import annotations

import time

import torch
from diffusers.models.upsampling import Upsample2D

from ..backbones import NearestUpsample2D
from ..pretrained import load_model


def layout(models=("clevr32", "faces32-mean", "digits32"), batch: int = 144, grad_batch: int = 11, reps: int = 5, seed: int = 0):
    """Yield per model the times of its UNet in the NCHW and NHWC layouts, and NHWC with ``NearestUpsample2D``
    (``igm_lite.bench``), and their ratios to that default."""
    gen = torch.Generator().manual_seed(seed)
    for name in models:
        net = load_model(name)
        bb, d = net.backbone, net.config["concept_dim"]
        if not hasattr(bb, "set_memory_format"):
            raise ValueError(f"{name}: the layout bench times UNet backbones, this one is {type(bb).__name__}")
        cfg = bb.unet.config
        shape = (cfg.out_channels, cfg.sample_size, cfg.sample_size)
        x = torch.randn((batch, *shape), generator=gen)
        t = torch.randint(0, 1000, (batch,), generator=gen)
        c = torch.rand((batch, d), generator=gen)
        ups = [m for m in bb.unet.modules() if type(m) is NearestUpsample2D]  # those the backbone adopted
        fmts = {"nchw": (torch.contiguous_format, Upsample2D), "nhwc": (torch.channels_last, Upsample2D),
                "nhwc_up": (torch.channels_last, NearestUpsample2D)}
        times = {f"{k}_{m}": [] for k in fmts for m in ("fwd_ms_per_row", "fwd_bwd_ms")}
        for rep in range(reps + 1):  # the first round warms up and is not counted
            for key, (fmt, up) in fmts.items():
                bb.set_memory_format(fmt)
                for m in ups:
                    m.enabled = up is NearestUpsample2D  # off: diffusers' own forward
                start = time.perf_counter()
                with torch.no_grad():
                    net.predict(x, t, c)
                fwd = (time.perf_counter() - start) / batch * 1e3
                cg = c[:grad_batch].clone().requires_grad_(True)
                start = time.perf_counter()
                with torch.enable_grad():
                    net.predict(x[:grad_batch], t[:grad_batch], cg).pow(2).sum().backward(inputs=[cg])
                if rep:
                    times[f"{key}_fwd_ms_per_row"].append(fwd)
                    times[f"{key}_fwd_bwd_ms"].append((time.perf_counter() - start) * 1e3)
        med = {k: float(torch.tensor(v).median()) for k, v in times.items()}
        ratio = lambda a, b, m: round(med[f"{a}_{m}"] / med[f"{b}_{m}"], 2)  # noqa: E731
        yield {"bench": "layout", "model": name, **{k: round(v, 3) for k, v in med.items()},
               "fwd_speedup": ratio("nchw", "nhwc_up", "fwd_ms_per_row"), "fwd_bwd_speedup": ratio("nchw", "nhwc_up", "fwd_bwd_ms"),
               "upsample_fwd_speedup": ratio("nhwc", "nhwc_up", "fwd_ms_per_row"),
               "upsample_fwd_bwd_speedup": ratio("nhwc", "nhwc_up", "fwd_bwd_ms"),
               "settings": dict(batch=batch, grad_batch=grad_batch, reps=reps, threads=torch.get_num_threads(), data_shape=list(shape))}
