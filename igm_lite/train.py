"""Joint training of the composed denoiser (the paper's training of the composed score functions), on accelerate.

Rather than training each concept's denoiser alone and composing at test time, IGM trains the
composition itself on the denoising objective:

    L(theta) = E_{x0, S, t, eps} || eps - eps_theta(sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, t | c^1..c^K) ||^2   (joint loss)

where eps_theta(. | c^1..c^K) is the composed prediction of ``igm_lite.compose``. Each per-concept
denoiser thus learns to be right *when composed*.

The loop runs on CPU, one or several GPUs and in mixed precision through ``accelerate``
(``torchrun --nproc_per_node N`` or ``accelerate launch`` start several processes). Every step's data
and noise come from a generator seeded by (seed, step, process), so a run resumed from a checkpoint
continues exactly as if it had not stopped. Checkpoints are folders written atomically:

    out_dir/checkpoint-000500/config.json                          the model's config
                              diffusion_pytorch_model.safetensors  its weights (``from_pretrained`` reads both)
                              train_config.json                    this run's TrainConfig
                              training_state.pt                    optimizer, LR schedule, step, losses

``training_state.pt`` holds tensors, numbers and lists only, and is read with ``torch.load(weights_only=True)``:
a checkpoint folder from elsewhere cannot run code when a run resumes from it. A damaged newest checkpoint
(unreadable state or weights) is skipped, with a warning, for the newest intact one. Training stops with
``FloatingPointError`` at the first non-finite loss or gradient, before any checkpoint is written after it.
"""
from __future__ import annotations

import dataclasses
import json
import math
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from accelerate import Accelerator
from tqdm.auto import tqdm

from .checks import check_float, check_int, check_t_range
from .compose import ComposedDenoiser
from .data.base import Batch
from .io import atomic_dir
from .schedule import WHOLE_SCHEDULE, make_scheduler

PRECISIONS = ("no", "fp16", "bf16", "auto")


def choose_precision(requested: str, cuda: bool | None = None, capability: tuple[int, int] | None = None) -> str:
    """The precision a run trains in: ``requested``, or for ``"auto"`` bf16 on a GPU with native bf16 (compute
    capability 8.0 or more: A100, L4, H100), fp16 with loss scaling on an older GPU (Colab's T4 is 7.5, a V100 7.0),
    fp32 (``"no"``) without a GPU. ``torch.cuda.is_bf16_supported()`` is not the test: by default it also counts
    emulated bf16, and answers True on a T4, where cuDNN has no bf16 convolutions. ``cuda`` and ``capability``
    describe the device (default: this machine's)."""
    if requested != "auto":
        return requested
    cuda = torch.cuda.is_available() if cuda is None else cuda
    if not cuda:
        return "no"
    capability = torch.cuda.get_device_capability() if capability is None else capability
    return "bf16" if tuple(capability) >= (8, 0) else "fp16"


@dataclass
class TrainConfig:
    steps: int = 2000  # optimizer steps in all
    batch_size: int = 256  # samples per step and process
    lr: float = 2e-3  # AdamW learning rate after warm-up
    weight_decay: float = 0.0  # AdamW weight decay
    warmup: int = 100  # steps of linear learning-rate warm-up (then constant)
    grad_clip: float = 1.0  # gradient-norm clipping (0: none)
    p_uncond: float = 0.0  # share of samples trained as unconditional (null concept), for eps_u
    t_range: tuple = WHOLE_SCHEDULE  # timesteps drawn uniformly from [lo, hi)
    seed: int = 0  # seeds data, noise and initialisation
    checkpoint_every: int = 500  # steps between checkpoints (0: only at the end)
    keep: int = 2  # newest checkpoints kept
    mixed_precision: str = "no"  # accelerate's "no", "fp16" or "bf16", or "auto": the best the device supports (choose_precision)

    def __post_init__(self):
        self.steps, self.batch_size = check_int(self.steps, "steps"), check_int(self.batch_size, "batch_size")
        self.lr = check_float(self.lr, "lr", lo=0, lo_open=True)
        self.weight_decay, self.grad_clip = check_float(self.weight_decay, "weight_decay", lo=0), check_float(self.grad_clip, "grad_clip", lo=0)
        self.warmup, self.seed = check_int(self.warmup, "warmup", lo=0), check_int(self.seed, "seed", lo=None)
        self.p_uncond = check_float(self.p_uncond, "p_uncond", 0, 1)
        self.t_range = check_t_range(self.t_range)  # against the schedule: in ComposedLoss
        self.checkpoint_every, self.keep = check_int(self.checkpoint_every, "checkpoint_every", lo=0), check_int(self.keep, "keep")
        if self.mixed_precision not in PRECISIONS:
            raise ValueError(f"mixed_precision must be one of {PRECISIONS}, got {self.mixed_precision!r}")


class ComposedLoss:
    """(joint loss) on one batch: draw t and eps, noise the batch, compose, mean squared error.

    Args:
        scheduler: the noise schedule (``add_noise``).
        t_range: timesteps drawn uniformly from [lo, hi).
        p_uncond: probability that a sample is trained as unconditional instead (the null concept),
            which the ``"weighted"`` composition needs for eps_u.
    """

    def __init__(self, scheduler=None, t_range=WHOLE_SCHEDULE, p_uncond: float = 0.0):
        self.scheduler = scheduler or make_scheduler()
        self.t_range, self.p_uncond = check_t_range(t_range, self.scheduler), check_float(p_uncond, "p_uncond", 0, 1)

    def __call__(self, model, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        x0 = batch.x
        B = x0.shape[0]
        t = torch.randint(*self.t_range, (B,), generator=generator)
        eps = torch.randn(x0.shape, generator=generator)
        uncond = torch.rand(B, generator=generator) < self.p_uncond
        dev = x0.device
        t, eps, uncond = t.to(dev), eps.to(dev, x0.dtype), uncond.to(dev)
        x_t = self.scheduler.add_noise(x0, eps, t)
        pred = model(x_t, t, batch.concepts, batch.mask, uncond=uncond if self.p_uncond > 0 else None)
        return (pred.float() - eps.float()).pow(2).mean()


def step_generator(seed: int, step: int, rank: int) -> torch.Generator:
    """The generator of one step on one process: a pure function of (seed, step, rank)."""
    return torch.Generator().manual_seed(((seed * 1_000_003 + step) * 1_009 + rank) % (2**63))


def checkpoints(out_dir) -> list[Path]:
    """Complete checkpoint folders in ``out_dir``, oldest first."""
    out_dir = Path(out_dir)
    found = [p for p in out_dir.glob("checkpoint-*") if re.fullmatch(r"checkpoint-\d+", p.name)] if out_dir.is_dir() else []
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


STATE_NAME = "training_state.pt"


class ConfigMismatch(ValueError):
    """A checkpoint written by a model of another configuration: not damaged, but not this run's."""


def load_state(ckpt: Path, model) -> dict:
    """The model weights (into ``model``) and the training state of checkpoint folder ``ckpt``. The state is read
    with ``weights_only=True`` (tensors, numbers, lists, dicts: no code runs). ``ValueError`` names what is damaged."""
    saved = type(model).from_pretrained(ckpt)
    if saved.config != model.config:
        raise ConfigMismatch(f"checkpoint {ckpt} was written by a model with config {saved.config}, not {model.config}")
    try:
        state = torch.load(ckpt / STATE_NAME, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ValueError(f"{ckpt / STATE_NAME} is missing") from None
    except Exception as e:  # truncated, empty, or holding objects other than tensors and numbers
        raise ValueError(f"{ckpt / STATE_NAME} cannot be read safely ({type(e).__name__}: {(str(e).splitlines() or ['empty'])[0][:200]})") from None
    want = {"optimizer": dict, "lr_scheduler": dict, "step": int, "losses": list}
    if not isinstance(state, dict) or any(not isinstance(state.get(k), t) for k, t in want.items()) or len(state["losses"]) != state["step"]:
        raise ValueError(f"{ckpt / STATE_NAME} is not a training state: expected {{optimizer, lr_scheduler, step, losses}} with one loss per step")
    model.load_state_dict(saved.state_dict())
    return state


def diverged(what: str, step: int, config: TrainConfig, out_dir) -> None:
    last = (step // config.checkpoint_every) * config.checkpoint_every if config.checkpoint_every else 0
    where = f"; the last checkpoint in {out_dir} is from step {last}" if out_dir is not None and last else ""
    raise FloatingPointError(f"training diverged at step {step}: {what} (lr {config.lr}, grad_clip {config.grad_clip}); "
                             f"nothing was written after it{where}")


@dataclass
class TrainResult:
    model: ComposedDenoiser
    losses: list  # the loss of every step (mean over processes), from step 0
    steps: int  # steps done in all
    resumed_from: int  # the step the run resumed from (0: from scratch)


def resume_from(out_dir, model, opt, lr_sched) -> tuple[int, list]:
    """Load the newest intact checkpoint of ``out_dir`` into the model, optimizer and learning-rate schedule; return
    its step and losses ((0, []) when there is none). Damaged checkpoints are skipped with a warning; if every one is
    damaged, a ``ValueError`` names them."""
    damaged = []
    for ckpt in reversed(checkpoints(out_dir)):  # the newest intact checkpoint
        try:
            state = load_state(ckpt, model)
        except ConfigMismatch:
            raise
        except ValueError as e:
            damaged.append(f"{ckpt.name}: {e}")
            continue
        if damaged:
            warnings.warn(f"skipped damaged checkpoints ({'; '.join(damaged)}); resuming from {ckpt}", stacklevel=3)
        opt.load_state_dict(state["optimizer"])
        lr_sched.load_state_dict(state["lr_scheduler"])
        return state["step"], state["losses"]
    if damaged:
        raise ValueError(f"no intact checkpoint in {out_dir} to resume from ({'; '.join(damaged)}); remove them, or pass resume=False")
    return 0, []


def save_checkpoint(accelerator, model, opt, lr_sched, config: TrainConfig, out_dir, step: int, losses: list) -> None:
    """Write ``out_dir/checkpoint-STEP`` atomically (weights, config, optimizer and schedule state, losses) from the
    main process, and keep the newest ``config.keep``; non-finite weights stop the run instead."""
    if not all(torch.isfinite(p).all() for p in model.parameters()):
        diverged("the weights are no longer finite", step - 1, config, out_dir)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        with atomic_dir(Path(out_dir) / f"checkpoint-{step:06d}") as tmp:
            accelerator.unwrap_model(model).write_to(tmp)
            (tmp / "train_config.json").write_text(json.dumps(dataclasses.asdict(config), indent=2))
            torch.save({"optimizer": opt.state_dict(), "lr_scheduler": lr_sched.state_dict(), "step": step, "losses": losses},
                       tmp / STATE_NAME)
        for old in checkpoints(out_dir)[: -config.keep]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()


def train(
    model: ComposedDenoiser,
    batch_fn: Callable[[int, torch.Generator], Batch],
    config: TrainConfig,
    out_dir=None,
    *,
    scheduler=None,
    resume: bool = True,
    progress: bool = True,
    accelerator: Accelerator | None = None,
    loss_fn: Callable | None = None,
) -> TrainResult:
    """Train ``model`` on (joint loss), or on ``loss_fn``.

    Args:
        model: the composed denoiser (its composition mode is the one trained), or any model with a
            ``config`` dict and ``igm_lite.io.ModelFolder``'s methods (a baseline).
        batch_fn: ``batch_fn(batch_size, generator) -> Batch``, called once per step and process.
        loss_fn: ``loss_fn(model, batch, generator) -> scalar`` (default: ``ComposedLoss`` from ``config``),
            so that a baseline trains in the same loop on the same data and budget.
        config: the run's settings.
        out_dir: folder for checkpoints (None: none are written).
        resume: continue from the newest checkpoint in ``out_dir`` when there is one.
        progress: show a tqdm progress bar (main process only).
    """
    if accelerator is None:
        # cpu=True when there is no GPU, so that processes started by torchrun join over gloo (MULTI_CPU)
        no_gpu = not (torch.cuda.is_available() or torch.backends.mps.is_available())
        accelerator = Accelerator(mixed_precision=choose_precision(config.mixed_precision), cpu=no_gpu)
    loss_fn = loss_fn or ComposedLoss(scheduler, config.t_range, config.p_uncond)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.lr, weight_decay=config.weight_decay)
    warm = lambda s: min(1.0, (s + 1) / max(1, config.warmup))  # noqa: E731
    lr_sched = torch.optim.lr_scheduler.LambdaLR(opt, warm)
    start, losses = resume_from(out_dir, model, opt, lr_sched) if (out_dir is not None and resume) else (0, [])
    model, opt = accelerator.prepare(model, opt)
    rank, device = accelerator.process_index, accelerator.device

    model.train()
    grad_was = torch.is_grad_enabled()
    torch.set_grad_enabled(True)  # training works even where the caller disabled gradients
    bar = tqdm(range(start, config.steps), initial=start, total=config.steps, disable=not (progress and accelerator.is_main_process),
               desc="train", leave=False, mininterval=1.0)
    for step in bar:
        gen = step_generator(config.seed, step, rank)
        batch = batch_fn(config.batch_size, gen).to(device)
        with accelerator.autocast():
            loss = loss_fn(model, batch, gen)
        value = float(accelerator.reduce(loss.detach(), "mean"))
        if not math.isfinite(value):
            diverged(f"the loss is {value}", step, config, out_dir)
        accelerator.backward(loss)
        norm = accelerator.clip_grad_norm_(model.parameters(), config.grad_clip or float("inf"))
        if accelerator.scaler is None and not math.isfinite(float(norm)):  # fp16's loss scaler skips such steps itself
            diverged(f"the gradient norm is {float(norm)}", step, config, out_dir)
        opt.step()
        lr_sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(value)
        bar.set_postfix(loss=f"{losses[-1]:.4f}")
        done = step + 1
        if out_dir is not None and ((config.checkpoint_every and done % config.checkpoint_every == 0) or done == config.steps):
            save_checkpoint(accelerator, model, opt, lr_sched, config, out_dir, done, losses)
    torch.set_grad_enabled(grad_was)
    model = accelerator.unwrap_model(model)
    model.eval()
    return TrainResult(model=model, losses=losses, steps=config.steps, resumed_from=start)
