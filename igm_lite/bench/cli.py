"""The command line of the benchmarks: the figures that the chapters and the README quote, one JSON line per run.

    python -m igm_lite.bench clevr --split {id,ood,shapes} --n N --seed S --method igm resnet slot reference multistart [--k infer|given]

runs chapter 2's object discovery on N test scenes (procedural CLEVR-like scenes, ``--root`` for the real
CLEVR_v1.0) and prints per method the perception rate (Hungarian-matched objects with MSE < 0.002),
estimation error, counting accuracy, network evaluations (a back-propagated row counts 3) and seconds per image.

    python -m igm_lite.bench celeba --split {id,ood} --n N --seed S --method naive cached eliminate resnet [--shift hair jaw beard tones]

runs chapter 3's attribute inference on N test faces (procedural faces by default, ``--root`` for the real
CelebA): group A / female in distribution (``id``), group B / male out of distribution (``ood``), and
prints per method the accuracy (all three attributes right), per-attribute accuracy, network
evaluations and seconds per image, and the share of decisions equal to the first method's. ``--shift``
keeps only some of group B's differences from group A (short hair, square jaw, beard, skin and hair tones).

    python -m igm_lite.bench worlds --world {disjoint,overlap,cue,prior,celeba-like} --train-seed S [--n 400] [--seed 2]

runs chapter 3's grid for one world and training seed: the latent IGM reader and the ResNet, each trained on the
world's group A by its recipe with that seed (made into ``--models`` when missing), read the same new faces of both
splits; every row has its accuracy's 95% interval (``ci95``) and each IGM row its paired difference with the ResNet
(``vs_resnet``). ``results celeba-worlds [--resume]`` runs the whole grid.

    python -m igm_lite.bench toy2d [--models NAMES] [--n-gen 1000] [--clouds 4] [--points 32] [--noise 32] [--seed 0]

measures, for each shipped 2-D model, (1) how well its composition generates scenes: the KL divergence
from the Gaussian fitted to its samples to the exact product of experts, on 2-concept scenes (seen in
joint training only) and on 3-concept scenes (never seen by any model); and (2) inverse inference: the share
of observed point clouds whose concept set (and so its size K) is recovered by the least denoising
error among all 26 valid sets. Two rows use closed forms instead of a network: ``exact-experts-summed``
sums the *exact* per-expert denoisers (what independent training reaches with perfect experts), and
``exact-product`` is the exact denoiser of the product itself (the floor set by the sampler alone).

    python -m igm_lite.bench zeroshot --k {1,2,3} --n N --seed S --method igm dc dc-joint naive cached [--m 10] [--mode mean|weighted]

runs chapter 4's zero-shot perception: choose K of M prompts for canvases of K unseen digits with the
caption-conditioned ``digits32`` model, by IGM (composition), Diffusion Classifier top-K, Diffusion
Classifier on joint prompts and the naive (official) IGM loop, all on the same images and noise; prints
accuracy (the exact set), UNet evaluations and seconds per image. ``cached`` prints three lines (IGM mean,
IGM weighted, DC top-K) read from ONE cache of M + 1 rows per sample, their seconds shared. With ``--sd MODEL --images FOLDER``
the same runs on a Stable Diffusion model and a labelled image folder (``igm_lite.data.LabelledImages``);
``accelerate launch -m igm_lite.bench zeroshot ...`` splits the images across processes (GPUs).

    python -m igm_lite.bench layout [--models clevr32 faces32-mean digits32] [--batch 144] [--grad-batch 11] [--reps 5]

times each shipped UNet's forward (ms per row, batch ``--batch``, no gradient: the cache) and forward plus
backward (ms per call of ``--grad-batch`` rows, gradient to the concepts: the position refinement) with its
weights and inputs laid out contiguous (NCHW) and channels-last (NHWC), each with diffusers' ``Upsample2D``, and
the default: NHWC with ``igm_lite.backbones.NearestUpsample2D`` (``nhwc_up``), alternating all three in one process.

    python -m igm_lite.bench gpu-check [--steps 300] [--n 16] [--chapters 01 02 03 04] [--out out/gpu-check]

checks every chapter's device code path (``igm_lite.bench.gpucheck``): its small recipe trained ``--steps`` steps on
the device in the precision chosen for it, then its engine on ``--n`` test images; prints training steps per second,
the final loss, images per second and accuracy (low: a few hundred steps are far from the shipped training), and an
estimate of the chapter's GPU profile on this device: its training and its main evaluation (``--estimate-steps``).

    python -m igm_lite.bench memory [--chapters 01 02 03 04] [--profile cpu]

runs each chapter whole with a profile (papermill, in a process of its own) and prints its peak resident memory (the
kernel's, in MiB) and wall-clock seconds: what a live session on Binder (1-2 GB) must hold.

    python -m igm_lite.bench results celeba

reruns the runs whose figures a chapter quotes (``igm_lite.bench.results.RUNS``) and rewrites their results file,
``igm_lite/results/NAME.jsonl`` (one row per run and method, with the command that printed it), which the chapter
reads (``load_results``, ``find``).
"""
from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import shlex
from pathlib import Path

import torch

from ..data.faces import FACE_GROUPS, FACE_WORLDS, GROUP_B_SHIFT
from ..infer.attributes import FACE_METHODS
from ..infer.base import process_state
from ..schedule import SPACINGS
from ..sd import DEFAULT_MODEL_ID
from .clevr import CLEVR_METHODS, clevr
from .faces import celeba
from .gpucheck import RECIPES as CHECKED, gpu_check
from .layout import layout
from .memory import memory
from .results import RESULTS, RUNS, load_results, write_rows
from .toy2d import toy2d
from .worlds import READERS, worlds
from .zeroshot import ZS_METHODS, zeroshot


def count(lo: int):
    """An argparse type: a whole number >= lo."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {lo}, got {value}")
        return value
    return parse


def default(fn, name: str):
    """The default of parameter ``name`` of ``fn``: the command line's defaults are the functions' (written once)."""
    value = inspect.signature(fn).parameters[name].default
    return list(value) if isinstance(value, tuple) else value


def call(fn, args: argparse.Namespace):
    """``fn`` with the parsed options named like its parameters."""
    names = inspect.signature(fn).parameters
    return fn(**{k: tuple(v) if isinstance(v, list) and k in ("t_range", "k_range") else v for k, v in vars(args).items() if k in names})


def parse_schedule(text: str | None):
    """The command line's spelling of an elimination schedule, parsed at the edge into the library's typed value:
    "8:2,32:1" -> [(8, 2), (32, 1)] (samples used so far, configurations kept) per stage."""
    if not text:
        return None
    try:
        return [tuple(int(v) for v in stage.split(":")) for stage in text.split(",")]
    except ValueError:
        raise ValueError(f"a schedule reads like '8:2,32:1' (samples so far:kept, per stage), got {text!r}") from None


def _noise_options(parser, fn, what: str, recorded: bool = False) -> None:
    """The shared-noise options of a benchmark (``igm_lite.schedule.NoiseConfig``): ``--n-samples`` (also ``--noise``)
    and, where the benchmark takes one, ``--t-range``; their defaults are ``fn``'s."""
    tail = " (default: the model's recorded setting, its inference.json)" if recorded else ""
    parser.add_argument("--n-samples", "--noise", dest="n_samples", type=count(1), default=default(fn, "n_samples"),
                        help=f"shared noise samples per {what}{tail}")
    if "t_range" in inspect.signature(fn).parameters:
        parser.add_argument("--t-range", dest="t_range", type=int, nargs=2, metavar=("LO", "HI"), default=default(fn, "t_range"),
                            help=f"the samples' timesteps are drawn from [LO, HI){tail}")


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m igm_lite.bench``: one subcommand per benchmark, its defaults the functions'."""
    p = argparse.ArgumentParser(prog="python -m igm_lite.bench", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="bench", required=True)
    _toy2d_options(sub)
    _celeba_options(sub)
    _worlds_options(sub)
    _zeroshot_options(sub)
    _clevr_options(sub)
    _layout_options(sub)
    _memory_options(sub)
    _results_options(sub)
    _gpu_check_options(sub)
    return p


def _toy2d_options(sub) -> None:
    """The options of ``python -m igm_lite.bench toy2d``."""
    t = sub.add_parser("toy2d", help="chapter 1: joint versus independent composition on the 2-D stripe world")
    d = lambda name: default(toy2d, name)  # noqa: E731
    t.add_argument("--models", nargs="+", default=d("models"))
    t.add_argument("--n-gen", type=count(1), default=d("n_gen"), help="points sampled per scene")
    t.add_argument("--steps", type=count(1), default=d("steps"), help="sampling steps")
    t.add_argument("--clouds", type=count(1), default=d("clouds"), help="observed clouds per scene (26 scenes)")
    t.add_argument("--points", type=count(1), default=d("points"), help="points per observed cloud")
    _noise_options(t, toy2d, "inference")
    t.add_argument("--seed", type=int, default=d("seed"))
    t.add_argument("--no-exact", dest="exact", action="store_false", help="skip the two closed-form rows")
    t.add_argument("--no-naive", dest="naive", action="store_false", help="skip the naive engine run beside the cached one")


def _celeba_options(sub) -> None:
    """The options of ``python -m igm_lite.bench celeba``."""
    c = sub.add_parser("celeba", help="chapter 3: attributes in and out of distribution, IGM engines and the ResNet")
    d = lambda name: default(celeba, name)  # noqa: E731
    c.add_argument("--split", choices=sorted(FACE_GROUPS), default=d("split"))
    c.add_argument("--n", type=count(1), default=d("n"), help="test faces")
    c.add_argument("--seed", type=int, default=d("seed"), help="seeds the faces and (unless --noise-seed) the shared noise")
    c.add_argument("--noise-seed", dest="noise_seed", type=int, default=d("noise_seed"), help="another draw of the shared noise on the same faces")
    c.add_argument("--method", dest="methods", nargs="+", choices=FACE_METHODS, default=d("methods"), help="one line each, on the same faces")
    c.add_argument("--root", help="a CelebA folder (img_align_celeba/, list_attr_celeba, list_eval_partition); default: procedural faces")
    c.add_argument("--size", type=count(1), default=d("size"), help="image side in pixels")
    c.add_argument("--model", default=d("model"), help="shipped checkpoint name or model folder (composed denoiser; default: "
                   "the world's shipped one)")
    c.add_argument("--classifier", default=d("classifier"), help="shipped checkpoint name or model folder (ResNet; default: "
                   "the world's shipped one)")
    _noise_options(c, celeba, "face", recorded=True)
    c.add_argument("--spacing", choices=SPACINGS, help="the samples' timesteps: uniform draws (random) or evenly spaced (even) (default: the model's recorded spacing)")
    c.add_argument("--schedule", type=parse_schedule,
                   help="eliminate: 'samples:kept,...', e.g. '8:2,32:1' (default: the model's recorded schedule, else the engine's)")
    c.add_argument("--confidence", type=float, help="race: each paired test's confidence (default: the engine's); --n-samples is the most it spends")
    c.add_argument("--prior", type=float, nargs=3, metavar="P", help="elbo: P(present) of black hair, eyeglasses, smiling added as a log-prior (default: none)")
    c.add_argument("--shift", nargs="*", choices=GROUP_B_SHIFT, default=d("shift"),
                   help="procedural ood faces: which of group B's differences apply (default: the world's own, all four but in the shortcut world; none: group A's faces)")
    c.add_argument("--world", choices=list(FACE_WORLDS), default=d("world"), help="procedural faces: the world they come from")


def _worlds_options(sub) -> None:
    """The options of ``python -m igm_lite.bench worlds``."""
    w = sub.add_parser("worlds", help="chapter 3's grid: latent IGM and the ResNet trained on one world's group A with one seed, on new faces")
    d = lambda name: default(worlds, name)  # noqa: E731
    w.add_argument("--world", choices=list(FACE_WORLDS), default=d("world"))
    w.add_argument("--train-seed", dest="train_seed", type=int, default=d("train_seed"), help="the readers' training seed (models made when missing)")
    w.add_argument("--n", type=count(1), default=d("n"), help="test faces per split")
    w.add_argument("--seed", type=int, default=d("seed"), help="seeds the test faces and (unless --noise-seed) the shared noise")
    w.add_argument("--noise-seed", dest="noise_seed", type=int, default=d("noise_seed"),
                   help="another draw of the IGM readers' shared noise on the same faces (default: --seed)")
    w.add_argument("--readers", nargs="+", choices=list(READERS), default=d("readers"))
    w.add_argument("--splits", nargs="+", choices=sorted(FACE_GROUPS), default=d("splits"))
    w.add_argument("--models", default=d("models"), help="where the readers trained for the grid are kept")


def _zeroshot_options(sub) -> None:
    """The options of ``python -m igm_lite.bench zeroshot``."""
    z = sub.add_parser("zeroshot", help="chapter 4: choose K of M prompts zero-shot: IGM, Diffusion Classifier (top-K, joint), naive")
    d = lambda name: default(zeroshot, name)  # noqa: E731
    z.add_argument("--k", type=count(0), default=d("k"), help="objects per image (0 with --sd: each image's own label count)")
    z.add_argument("--n", type=count(1), default=d("n"), help="test images")
    z.add_argument("--seed", type=int, default=d("seed"), help="seeds the canvases and the shared noise")
    z.add_argument("--method", dest="methods", nargs="+", choices=ZS_METHODS, default=d("methods"), help="one line each, on the same images and noise")
    z.add_argument("--m", type=count(1), default=d("m"), help="candidate digits (prompts): the first M")
    z.add_argument("--mode", choices=["mean", "weighted"], help="IGM's composition (default: the model's own, mean)")
    z.add_argument("--confidence", type=float, default=d("confidence"), help="race: each paired test's confidence; --n-samples is the most it spends")
    z.add_argument("--model", default=d("model"), help="shipped checkpoint name or model folder")
    _noise_options(z, zeroshot, "image", recorded=True)
    z.add_argument("--sd", help=f"a Stable Diffusion hub id or folder (GPU profile), e.g. {DEFAULT_MODEL_ID}")
    z.add_argument("--images", help="with --sd: a labelled image folder (labels.csv: file,label[;label...])")
    z.add_argument("--prompt", default=d("prompt"), help="with --sd: the prompt template")
    z.add_argument("--size", type=count(1), default=d("size"), help="with --sd: image side in pixels")


def _clevr_options(sub) -> None:
    """The options of ``python -m igm_lite.bench clevr``."""
    v = sub.add_parser("clevr", help="chapter 2: object positions and counts, IGM against the official algorithm and two baselines")
    d = lambda name: default(clevr, name)  # noqa: E731
    v.add_argument("--split", choices=["id", "ood", "shapes"], default=d("split"), help="3-5 objects, 6-8 objects, 6-8 of unseen shapes")
    v.add_argument("--n", type=count(1), default=d("n"), help="test scenes")
    v.add_argument("--seed", type=int, default=d("seed"), help="seeds the scenes and the noise")
    v.add_argument("--method", dest="methods", nargs="+", choices=CLEVR_METHODS, default=d("methods"), help="one line each, on the same scenes")
    v.add_argument("--k", dest="k_mode", choices=["infer", "given"], default=d("k_mode"), help="infer the number of objects, or take it from the ground truth")
    v.add_argument("--root", help="a CLEVR_v1.0 folder (images/val, scenes/CLEVR_val_scenes.json); default: procedural scenes")
    v.add_argument("--size", type=count(1), default=d("size"), help="image side in pixels")
    v.add_argument("--model", default=d("model"), help="shipped checkpoint name or model folder (position denoisers)")
    v.add_argument("--resnet", default=d("resnet"), help="the ResNet set predictor (name or folder)")
    v.add_argument("--slot", default=d("slot"), help="the Slot Attention set predictor (name or folder)")
    v.add_argument("--grid", type=count(1), default=d("grid"), help="igm: the grid is GRID x GRID positions (default: the model's recorded setting)")
    _noise_options(v, clevr, "image (igm: the grid's cache, default the model's recorded setting; reference, multistart: the choice of the best initialisation, default 3)")
    v.add_argument("--refine", type=count(0), default=d("refine"), help="igm: gradient steps after the grid search (default: the model's recorded setting)")
    v.add_argument("--inits", type=count(1), default=d("inits"), help="multistart: random initialisations per image")
    v.add_argument("--steps", type=count(1), default=d("steps"), help="multistart: gradient steps")
    v.add_argument("--k-range", dest="k_range", type=int, nargs=2, metavar=("LO", "HI"), default=d("k_range"),
                   help="multistart, --k infer: the numbers of objects scanned")
    v.add_argument("--threshold", type=float, default=d("threshold"), help="perception: the largest matched MSE that counts")
    v.add_argument("--batch", dest="batch_size", type=count(1), default=d("batch_size"), help="igm: images refined together in one batched descent")


def _layout_options(sub) -> None:
    """The options of ``python -m igm_lite.bench layout``."""
    lay = sub.add_parser("layout", help="the UNets' speed with NCHW against channels-last (NHWC) weights and inputs")
    d = lambda name: default(layout, name)  # noqa: E731
    lay.add_argument("--models", nargs="+", default=d("models"))
    lay.add_argument("--batch", type=count(1), default=d("batch"), help="rows per forward call (the caches' calls)")
    lay.add_argument("--grad-batch", dest="grad_batch", type=count(1), default=d("grad_batch"), help="rows per forward+backward call (refinement)")
    lay.add_argument("--reps", type=count(1), default=d("reps"), help="timed rounds (medians are printed)")


def _memory_options(sub) -> None:
    """The options of ``python -m igm_lite.bench memory``."""
    m = sub.add_parser("memory", help="each chapter's peak memory and run time with a profile (what Binder must hold)")
    m.add_argument("--chapters", nargs="+", default=list(default(memory, "chapters")), help="chapter pages by number: 03 (chapter 3), 03b (its second page)")
    m.add_argument("--profile", default=default(memory, "profile"), help="a profile of igm_lite/profiles")


def _results_options(sub) -> None:
    """The options of ``python -m igm_lite.bench results``."""
    r = sub.add_parser("results", help="rerun the runs whose figures a chapter quotes and rewrite its results file (igm_lite/results/)")
    r.add_argument("name", choices=sorted(RUNS), help="the runs of one results file (toy2d: chapter 1; clevr, clevr-given, clevr-validation: chapter 2; celeba, celeba-noise, celeba-settings, celeba-shifts, celeba-t, celeba-worlds, racing, racing-validation: chapter 3; zeroshot: chapter 4; memory: running the book)")
    r.add_argument("--resume", action="store_true", help="keep the rows of the commands already in the file and run only the others (the file is rewritten after each command)")


def _gpu_check_options(sub) -> None:
    """The options of ``python -m igm_lite.bench gpu-check``."""
    g = sub.add_parser("gpu-check", help="every chapter's device code path: its small recipe trained briefly, its engine on a few images")
    d = lambda name: default(gpu_check, name)  # noqa: E731
    g.add_argument("--out", default=d("out"), help="where the briefly trained models go")
    g.add_argument("--steps", type=count(1), default=d("steps"), help="training steps per chapter's recipe")
    g.add_argument("--n", type=count(1), default=d("n"), help="test images per chapter")
    g.add_argument("--chapters", nargs="+", choices=sorted(CHECKED), default=d("chapters"))
    g.add_argument("--seed", type=int, default=d("seed"))
    g.add_argument("--estimate-steps", dest="estimate_steps", type=int, default=d("estimate_steps"),
                   help="steps each GPU-profile recipe is timed for (and twice as many) to estimate the profile's training time here; 0: no estimate")


FUNCTIONS = {"toy2d": toy2d, "celeba": celeba, "worlds": worlds, "zeroshot": zeroshot, "clevr": clevr, "layout": layout, "memory": memory, "gpu-check": gpu_check}
NO_GRAD = ("toy2d", "celeba", "zeroshot")  # (worlds trains the readers it lacks: it needs gradients)  # benchmarks that never train (clevr's refinement and gpu-check need gradients)


def prepare(a: argparse.Namespace) -> argparse.Namespace:
    """Parsed options as the benchmark functions take them; ``a.fn`` is the benchmark."""
    if a.bench == "zeroshot":
        a.k = a.k or None
    if a.bench == "celeba":
        a.shift = None if a.shift is None else tuple(a.shift)
        a.prior = None if a.prior is None else tuple(a.prior)
    if a.bench == "worlds":
        a.readers, a.splits = tuple(a.readers), tuple(a.splits)
    a.fn = FUNCTIONS[a.bench]
    return a


def main(argv=None):
    a = build_parser().parse_args(argv)
    if a.bench == "results":
        print(f"wrote {regenerate(a.name, resume=a.resume)}")
        return
    a = prepare(a)
    with torch.no_grad() if a.bench in NO_GRAD else contextlib.nullcontext():
        for row in call(a.fn, a):
            if process_state().is_main_process:
                print(json.dumps(row), flush=True)


def regenerate(name: str, out: Path | None = None, resume: bool = False) -> Path:
    """Run every command of ``RUNS[name]`` and write their rows, with their commands, to ``out`` (default: the
    package's ``results/NAME.jsonl``), atomically after each command. ``resume``: keep the rows of the commands
    already in the file and run only the missing ones (long grids run in pieces)."""
    if name not in RUNS:
        raise KeyError(f"no recorded runs for {name!r}; known: {sorted(RUNS)}")
    out = Path(out) if out is not None else RESULTS / f"{name}.jsonl"
    done = {}  # command -> its rows, from an earlier run (resume)
    if resume and out.is_file():
        for row in load_results(out.stem, out.parent):
            done.setdefault(row["command"], []).append(row)
    rows = []
    for command in RUNS[name]:
        line = f"python -m igm_lite.bench {command}"
        if line in done:
            rows += done[line]
            continue
        args = prepare(build_parser().parse_args(shlex.split(command)))
        with torch.no_grad() if args.bench in NO_GRAD else contextlib.nullcontext():
            for row in call(args.fn, args):
                rows.append({**row, "command": line, "threads": torch.get_num_threads()})
                print(json.dumps(rows[-1]), flush=True)
        write_rows(out, rows + [r for c in RUNS[name][RUNS[name].index(command) + 1:] for r in done.get(f"python -m igm_lite.bench {c}", [])])
    write_rows(out, rows)
    return out
