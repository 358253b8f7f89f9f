"""igm_lite: compositional scene understanding through inverse generative modeling (IGM, ICML 2025).

Map (arrows point one way: infer/train -> compose -> concepts/backbones; data feeds them all).

The core (the method; README's "Read the core" names the six stops that hold every equation):
    schedule   the noise schedule (diffusers), the shared noise samples and their settings (NoiseConfig)
    concepts   concept tensors (B, K, D) + mask (B, K), their checks and encoder
    backbones  per-concept denoisers eps(x_t, t | c): an MLP for 2-D toys, a diffusers UNet for images
    compose    the composed denoiser: the one place where per-concept predictions are combined
    train      the joint (composed) denoising loss and the accelerate training loop, checkpoints
    infer/     inference engines, one protocol (infer.base.Engine: settings = config, else the model's recorded block
               for the engine's kind over the defaults, overrides last; every setting read or refused; infer one image,
               infer_many a batch as a list; k given or found by the engine's rule; results subclass
               InferenceResult), each with a configuration holding a NoiseConfig: discrete (cached enumeration
               and search), continuous (object positions and their number: grid + cache + refinement, gradient
               descent), zeroshot (choose K of M prompts: IGM, Diffusion Classifier top-K and joint, naive),
               attributes (the 8 attribute configurations of faces, and the vote of each noise sample)
    latent     composed denoisers on an autoencoder's latents (diffusers' AutoencoderKL): encode each image once
    sd         Stable Diffusion (diffusers) as a composed denoiser over prompts
    sample     ancestral sampling from a composition

Around it, what the book needs:
    io         atomic writes; model folders (config.json + safetensors)
    checks     the checks at every entry point: images against their model, pools, sets, counts, t ranges
    metrics    set accuracy, Gaussian Frechet distance, Hungarian-matched position metrics
    baselines  discriminative baselines trained in the same loop (ResNet attribute classifier, ResNet and
               Slot Attention set predictors)
    data/      worlds and loaders in one batch format: toy2d (2-D stripes), faces (procedural), celeba (real),
               digits (captioned canvases of real digits), labelled (photos + label CSV), clevr (procedural
               CLEVR-like scenes and the real CLEVR_v1.0)
    paper      the paper's reported figures, written once (the chapters print them beside their own)
    recipes    the recorded recipe of every shipped model (and of the GPU profiles' models): data, by name
    maker      `python -m igm_lite.pretrained make NAME`: runs a recipe, writes the model folder and its recipe.json
    pretrained the loaders of the shipped checkpoints and of model folders (load_pretrained, load_model)
    bench/     `python -m igm_lite.bench ...`: the figures the chapters quote, one file per chapter, and the results
               files that keep them (igm_lite/results/; the top floor: nothing else imports it)
    viz        the figures the chapters draw
    chapters   running the chapters (profiles, papermill) and writing their Colab and student editions
    exercises  the checkers of the chapters' coding exercises
    course     coursework: the student book and the otter-grader assignments
"""
from .compose import MODES, ComposedDenoiser, coefficients, combine
from .concepts import check_concepts, one_hot_sets
from .data.base import Batch
from .infer.base import Engine, InferenceResult, denoising_error
from .infer.continuous import DescentConfig, DescentEngine, PositionConfig, PositionEngine
from .infer.discrete import CachedScorer, DiscreteConfig, DiscreteEngine, product_sets, subsets
from .schedule import NoiseConfig, NoiseSamples, draw_noise, make_scheduler
from .train import ComposedLoss, TrainConfig, train

__version__ = "0.1.0"
__all__ = [
    "MODES", "Batch", "CachedScorer", "ComposedDenoiser", "ComposedLoss", "DescentConfig", "DescentEngine", "DiscreteConfig",
    "DiscreteEngine", "Engine", "InferenceResult", "NoiseConfig", "NoiseSamples", "PositionConfig", "PositionEngine", "TrainConfig", "check_concepts", "coefficients", "combine", "denoising_error", "draw_noise",
    "make_scheduler", "one_hot_sets", "product_sets", "subsets", "train",
]
