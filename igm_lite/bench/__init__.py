"""Benchmarks: the figures that the chapters and the README quote, one JSON line per run.

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

    python -m igm_lite.bench results celeba

reruns the runs whose figures a chapter quotes (``igm_lite.bench.results.RUNS``) and rewrites their results file,
``igm_lite/results/NAME.jsonl`` (one row per run and method, with the command that printed it), which the chapter
reads (``load_results``, ``find``).
"""
from .clevr import clevr
from .cli import main, parse_schedule
from .faces import celeba
from .gpucheck import gpu_check
from .layout import layout
from .results import find, load_results
from .toy2d import toy2d, toy2d_generation, toy2d_inference
from .worlds import worlds, worlds_summary, worlds_table
from .zeroshot import zeroshot

__all__ = ["celeba", "clevr", "find", "gpu_check", "layout", "load_results", "main", "parse_schedule", "toy2d", "toy2d_generation",
           "toy2d_inference", "worlds", "worlds_summary", "worlds_table", "zeroshot"]
