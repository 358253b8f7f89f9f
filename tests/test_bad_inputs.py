"""Every public entry point against a table of bad inputs: each is refused with the exception type the table
gives and a message that names the argument; nothing returns an answer on bad input. Then the guards that
need a run: a planted pickle in a checkpoint, a damaged newest checkpoint, a diverging run; and every engine
gives an image the same answer alone or in a batch."""
import json
import math
import os

import pytest
import torch

from igm_lite import ComposedDenoiser, ComposedLoss, DiscreteEngine, PositionEngine, TrainConfig, train
from igm_lite.bench.clevr import clevr as bench_clevr
from igm_lite.bench.faces import celeba as bench_celeba
from igm_lite.data.attributes import attribute_pool
from igm_lite.data.faces import FaceWorld
from igm_lite.infer.base import denoising_error
from igm_lite.infer.attributes import AttributeEngine
from igm_lite.infer.continuous import DescentEngine, descend, k_scan, multistart
from igm_lite.infer.discrete import CachedScorer, product_sets
from igm_lite.infer.zeroshot import ZeroShot
from igm_lite.pretrained import load_model, load_pretrained
from igm_lite.schedule import draw_noise, make_scheduler

SCHED = make_scheduler()
MODELS = {}


def model(name):
    if name not in MODELS:
        MODELS[name] = load_pretrained(name)
    return MODELS[name]


def damaged_results(text):
    """A results file holding ``text``, read back by ``load_results``."""
    import tempfile
    from pathlib import Path

    from igm_lite.bench.results import load_results

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "broken.jsonl").write_text(text)
        return load_results("broken", Path(folder))


def face(size=32):
    return FaceWorld(size).batch(1, "A", generator=torch.Generator().manual_seed(0)).x[0]


def scene():
    from igm_lite.data.clevr import ClevrWorld

    return ClevrWorld(size=32).test_set(1, "id", seed=0).x


def faces_engine(**kw):
    return DiscreteEngine(model("faces32-mean"), SCHED, n_samples=2, **kw)


def infer_face(x, pool=None, sets=None, **kw):
    return faces_engine(**kw).infer(x, attribute_pool() if pool is None else pool, product_sets([2, 2, 2]) if sets is None else sets)


NAN_FACE = torch.full((3, 32, 32), float("nan"))
TOY = {"kind": "mlp", "data_dim": 2, "hidden": 8, "depth": 1, "embed_dim": 8}

# (case, call, exception type, text the message must hold: the argument's name and what was wrong)
CASES = [
    # silent wrong answers: NaN inputs
    ("nan image, discrete engine", lambda: infer_face(NAN_FACE), ValueError, "x0 contains NaN"),
    ("nan image, zero-shot compare", lambda: ZeroShot(model("digits32"), SCHED, n_samples=2).compare(torch.full((1, 32, 32), float("nan")), torch.eye(10), 2), ValueError, "x0 contains NaN"),
    ("nan image, CachedScorer", lambda: CachedScorer(model("faces32-mean"), NAN_FACE, attribute_pool(), draw_noise((3, 32, 32), 1), SCHED), ValueError, "x0 contains NaN"),
    ("nan image, multistart", lambda: multistart(model("clevr32"), torch.full((1, 3, 32, 32), float("nan")), 3, SCHED, inits=2, steps=1), ValueError, "x0 contains NaN"),
    ("nan image, denoising_error", lambda: denoising_error(model("faces32-mean"), NAN_FACE, attribute_pool()[None, :3], None, draw_noise((3, 32, 32), 1), SCHED), ValueError, "x0 contains NaN"),
    ("nan concept pool", lambda: infer_face(face(), pool=torch.full((6, 6), float("nan"))), ValueError, "pool contains NaN"),
    ("empty concept pool", lambda: infer_face(face(), pool=torch.zeros(0, 6), sets=[[0]]), ValueError, "pool must have shape (M, D)"),
    # wrong size and range
    ("64 px image into a 32 px model", lambda: infer_face(face(64)), ValueError, "x0 must be one sample (no batch axis) of shape (3, 32, 32)"),
    ("8 px image into a 32 px model", lambda: infer_face(face(8)), ValueError, "x0 must be one sample (no batch axis) of shape (3, 32, 32)"),
    ("image in 0..255", lambda: infer_face((face() + 1) * 127.5), ValueError, "x0 has values in"),
    ("48 px faces into the ResNet", lambda: model("faces32-resnet").predict(FaceWorld(48).batch(2, "A").x), ValueError, "x must be a batch of shape (B, 3, 32, 32)"),
    ("0..255 faces into the ResNet", lambda: model("faces32-resnet").predict((face()[None] + 1) * 127.5), ValueError, "x has values in"),
    ("64 px scenes into the set predictor", lambda: model("clevr32-slot").predict(torch.zeros(1, 3, 64, 64)), ValueError, "x must be a batch of shape (B, 3, 32, 32)"),
    ("64 px scene into the position engine", lambda: PositionEngine(model("clevr32"), SCHED).infer(torch.zeros(3, 64, 64)), ValueError, "x0 must be one sample"),
    ("0..255 digits, zero-shot", lambda: ZeroShot(model("digits32"), SCHED, n_samples=2).infer(torch.full((1, 32, 32), 200.0), torch.eye(10), k=2), ValueError, "x0 has values in"),
    ("2-D points of size 3 into a 2-D model", lambda: DiscreteEngine(ComposedDenoiser(TOY, 4), SCHED, n_samples=2).infer(torch.zeros(5, 3), torch.eye(4), [[0]]), ValueError, "x0 must be one sample (no batch axis) of shape (..., 2)"),
    # timesteps past the schedule
    ("t_range past T, discrete engine", lambda: faces_engine(t_range=(0, 2000)), ValueError, "t_range must satisfy 0 <= lo < hi <= T = 1000"),
    ("t_range past T, position engine", lambda: PositionEngine(model("clevr32"), SCHED, t_range=(0, 2000)), ValueError, "t_range must satisfy"),
    ("t_range past T, multistart", lambda: multistart(model("clevr32"), scene(), 3, SCHED, t_range=(0, 2000), inits=2, steps=1), ValueError, "t_range must satisfy"),
    ("t_range past T, zero-shot", lambda: ZeroShot(model("digits32"), SCHED, t_range=(0, 2000)), ValueError, "t_range must satisfy"),
    ("t_range past T, loss", lambda: ComposedLoss(SCHED, t_range=(0, 2000)), ValueError, "t_range must satisfy"),
    ("t_range reversed, training", lambda: TrainConfig(t_range=(500, 100)), ValueError, "t_range must satisfy"),
    ("noise samples past T", lambda: CachedScorer(model("faces32-mean"), face(), attribute_pool(), type(draw_noise((3, 32, 32), 1))(torch.tensor([1500]), torch.zeros(1, 3, 32, 32)), SCHED), ValueError, "samples.t must lie in the schedule's [0, T = 1000)"),
    ("noise samples of another shape", lambda: CachedScorer(model("faces32-mean"), face(), attribute_pool(), draw_noise((3, 16, 16), 1), SCHED), ValueError, "samples must hold N >= 1 noise tensors of x0's shape"),
    # training settings
    ("infinite learning rate", lambda: TrainConfig(lr=float("inf")), ValueError, "lr must be finite"),
    ("NaN gradient clip", lambda: TrainConfig(grad_clip=float("nan")), ValueError, "grad_clip must be finite"),
    ("batch size 0", lambda: TrainConfig(batch_size=0), ValueError, "batch_size must be >= 1"),
    ("fractional steps", lambda: TrainConfig(steps=10.5), TypeError, "steps must be a whole number"),
    ("unknown mixed precision", lambda: TrainConfig(mixed_precision="fp8"), ValueError, "mixed_precision must be"),
    # candidate sets and counts
    ("set index -2, naive engine", lambda: infer_face(face(), sets=[[0, -2, 4]], method="naive"), ValueError, "sets[0] = [0, -2, 4] holds an index outside [0, M = 6)"),
    ("set index -2, eliminate engine", lambda: infer_face(face(), sets=[[0, -2, 4], [1, 2, 4]], method="eliminate", schedule=[(1, 1), (2, 1)]), ValueError, "holds an index outside"),
    ("set index 6 of 6, cached engine", lambda: infer_face(face(), sets=[[0, 2, 6]]), ValueError, "holds an index outside"),
    ("empty candidate list", lambda: infer_face(face(), sets=[]), ValueError, "sets is empty"),
    ("a set with no member", lambda: infer_face(face(), sets=[[0], [-1]]), ValueError, "sets[1] has no member"),
    ("float sets", lambda: infer_face(face(), sets=torch.zeros(2, 3)), TypeError, "sets must be a list of index lists or an integer tensor"),
    ("k_max = 0", lambda: faces_engine(k_max=0), ValueError, "k_max must be >= 1"),
    ("k_max = 7 of 6", lambda: faces_engine(k_max=7).infer(face(), attribute_pool()), ValueError, "k_max must be in [1, 6] (the pool's size)"),
    ("k and sets both", lambda: faces_engine().infer(face(), attribute_pool(), [[0, 2, 4]], k=3), ValueError, "give the candidate sets, or k"),
    ("a schedule with a method that ignores it", lambda: faces_engine(schedule=[(1, 1), (2, 1)]), ValueError, "schedule is read by method 'eliminate' only"),
    ("a confidence with a method that ignores it", lambda: faces_engine(method="eliminate", schedule=[(2, 1)], confidence=0.9), ValueError,
     "confidence is read by method 'race' only"),
    ("a recorded schedule on another number of samples", lambda: DiscreteEngine(model("faces32-mean"), SCHED, method="eliminate", n_samples=8),
     ValueError, "were chosen together: give all of ['n_samples', 'schedule'] or none of them"),
    ("attributes with a k", lambda: AttributeEngine(model("faces32-mean"), SCHED, n_samples=2).infer(face(), k=2), ValueError, "k must be None"),
    ("attribute engine max_sets", lambda: AttributeEngine(model("faces32-mean"), SCHED, max_sets=8), ValueError, "AttributeEngine never reads max_sets=8"),
    ("refinement step size without refinement", lambda: PositionEngine(model("clevr32"), SCHED, refine_steps=0, refine_lr=0.01), ValueError,
     "refine_steps=0 refines nothing"),
    ("descent samples with one initialisation", lambda: DescentEngine(model("clevr32"), SCHED, inits=1, n_samples=16), ValueError,
     "with inits=1 nothing is compared"),
    ("zero-shot k left out", lambda: ZeroShot(model("digits32"), SCHED, n_samples=2).infer(torch.zeros(1, 32, 32), torch.eye(10)), ValueError, "give k"),
    ("dc-joint without joint prompts", lambda: ZeroShot(model("digits32"), SCHED, reader="dc-joint"), ValueError, "needs joint_prompts"),
    ("k = 7 of 6", lambda: faces_engine().infer(face(), attribute_pool(), k=7), ValueError, "k must be in [1, 6]"),
    ("fractional n_samples", lambda: DiscreteEngine(model("faces32-mean"), SCHED, n_samples=2.5), TypeError, "n_samples must be a whole number"),
    ("bad elimination schedule", lambda: faces_engine(method="eliminate", schedule=[(2, 1), (1, 1)]), ValueError, "schedule sample counts must increase"),
    ("unknown spacing", lambda: faces_engine(spacing="log"), ValueError, "spacing must be"),
    ("position engine k_max = 0", lambda: PositionEngine(model("clevr32"), SCHED, k_max=0), ValueError, "k_max must be >= 1"),
    ("position engine grid 2.5", lambda: PositionEngine(model("clevr32"), SCHED, grid=2.5), TypeError, "grid must be a whole number"),
    ("multistart k = 0", lambda: multistart(model("clevr32"), scene(), 0, SCHED, inits=2, steps=1), ValueError, "k must be >= 1"),
    ("k_scan k_range from 0", lambda: k_scan(model("clevr32"), scene(), SCHED, (0, 3), inits=2, steps=1), ValueError, "k_range must be >= 1"),
    ("descend without a batch axis", lambda: descend(model("clevr32"), scene()[0], torch.zeros(1, 1, 3, 2), torch.ones(1, 3, dtype=torch.bool), SCHED, steps=1), ValueError, "x0 must be a batch of images"),
    # wrong rank, channels, dtype
    ("batch axis on one image", lambda: infer_face(face()[None]), ValueError, "x0 must be one sample (no batch axis) of shape (3, 32, 32) for this model, got shape (1, 3, 32, 32)"),
    ("one channel into a 3-channel model", lambda: infer_face(face()[:1]), ValueError, "x0 must be one sample"),
    ("float64 image", lambda: infer_face(face().double()), TypeError, "x0 must be a torch.float32 tensor, got dtype torch.float64"),
    ("uint8 image", lambda: infer_face(((face() + 1) * 127.5).to(torch.uint8)), TypeError, "x0 must be a torch.float32 tensor, got dtype torch.uint8"),
    ("float64 batch into the forward pass", lambda: model("faces32-mean")(face()[None].double(), 10, attribute_pool()[None, :3]), TypeError, "x_t must be a torch.float32 tensor"),
    ("a list, not a tensor", lambda: infer_face(face().tolist()), TypeError, "x0 must be a torch.Tensor"),
    # loading
    ("load_pretrained(None)", lambda: load_pretrained(None), TypeError, "name must be the name of a shipped checkpoint"),
    ("load_model(None)", lambda: load_model(None), TypeError, "name_or_path must be a shipped checkpoint name or a model folder"),
    ("load_model of an unknown name", lambda: load_model("faces64-mean"), FileNotFoundError, "neither a model folder nor a shipped checkpoint"),
    ("from_pretrained(None)", lambda: ComposedDenoiser.from_pretrained(None), TypeError, "path must be a model folder"),
    # a world without shipped readers, and no reader named
    ("bench celeba --world overlap, no --model", lambda: next(bench_celeba("id", 2, world="overlap")), ValueError,
     "no IGM reader ships for the world 'overlap' (shipped: ['celeba-like', 'disjoint']): name one with --model"),
    ("bench celeba --world cue --method resnet", lambda: next(bench_celeba("id", 2, methods=("resnet",), world="cue")), ValueError,
     "no ResNet reader ships for the world 'cue'"),
    ("bench celeba --spacing with the ResNet alone", lambda: next(bench_celeba("id", 2, methods=("resnet",), spacing="even")), ValueError,
     "spacing is the IGM engines' timesteps"),
    ("a damaged results file", lambda: damaged_results("{\"bench\": \"celeba\", \"command\": \"x\"}\n{\"bench\": "), ValueError,
     "line 2: not a JSON row"),
    ("a results row without its command", lambda: damaged_results("{\"bench\": \"celeba\"}\n"), ValueError, "line 1: a row must be a JSON object with its 'command'"),
    # settings that no requested method reads, and malformed priors and label noise
    ("bench celeba --prior with no elbo", lambda: next(bench_celeba("id", 2, methods=("cached",), prior=(0.5, 0.05, 0.5))), ValueError,
     "prior is added to the log-likelihoods of method 'elbo' only"),
    ("bench celeba --prior of a certain attribute", lambda: next(bench_celeba("id", 2, methods=("elbo",), prior=(0.5, 1.0, 0.5))), ValueError,
     "prior must be 3 probabilities in (0, 1)"),
    ("bench clevr --grid without the grid engine", lambda: next(bench_clevr("id", 1, methods=("resnet",), grid=8)), ValueError,
     "['grid'] set(s) the grid engine (method 'igm')"),
    ("ZeroShot max_sets", lambda: ZeroShot(model("digits32"), SCHED, max_sets=5), ValueError, "never reads max_sets"),
    ("label noise for two attributes", lambda: FaceWorld(label_noise=((0.1, 0.1), (0.1, 0.1))), ValueError,
     "label_noise must be one share or three pairs"),
]


@pytest.mark.parametrize("case, call, exc, text", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_with_a_message_that_names_it(case, call, exc, text):
    with pytest.raises(exc) as err:
        call()
    assert text in str(err.value), f"{case}: {err.value}"


# -- files ---------------------------------------------------------------------------------------------------------


def saved_toy(folder):
    torch.manual_seed(0)
    m = ComposedDenoiser(TOY, concept_dim=4)
    m.save_pretrained(folder)
    return m


def test_a_damaged_model_folder_is_refused_naming_the_file(tmp_path):
    from safetensors.torch import load_file, save_file

    saved_toy(tmp_path / "m")
    weights, cfg = tmp_path / "m" / "diffusion_pytorch_model.safetensors", tmp_path / "m" / "config.json"
    state = load_file(str(weights))
    state[next(iter(state))][0] = float("nan")  # a damaged file whose header survived
    save_file(state, str(weights))
    with pytest.raises(ValueError, match="non-finite weights") as err:
        ComposedDenoiser.from_pretrained(tmp_path / "m")
    assert str(weights) in str(err.value)
    weights.write_bytes(weights.read_bytes()[:100])  # truncated
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        ComposedDenoiser.from_pretrained(tmp_path / "m")
    cfg.write_text("{not json")
    with pytest.raises(ValueError, match="config.json is not valid JSON"):
        load_model(tmp_path / "m")
    cfg.write_text(json.dumps({"class": "ComposedDenoiser", "backbone": TOY, "concept_dim": 4, "colour": "red"}))
    with pytest.raises(ValueError, match="does not describe a ComposedDenoiser"):
        ComposedDenoiser.from_pretrained(tmp_path / "m")
    cfg.write_text(json.dumps({"class": "Pipeline"}))
    with pytest.raises(ValueError, match="names class 'Pipeline'"):
        load_model(tmp_path / "m")
    saved_toy(tmp_path / "m")  # whole again; now its recorded settings: a misspelt setting, an impossible value, a flat file
    for settings, message in (({"discrete": {"n_sample": 8}}, r"unknown setting\(s\) \['n_sample'\]"),
                              ({"discrete": {"method": "fast"}}, "method must be one of"),
                              ({"n_samples": 8}, "one object per kind of engine")):
        (tmp_path / "m" / "inference.json").write_text(json.dumps({"settings": settings}))
        with pytest.raises(ValueError, match=message) as err:
            load_model(tmp_path / "m")
        assert str(tmp_path / "m" / "inference.json") in str(err.value)


def toy_batch(n, g):
    from igm_lite.data.toy2d import StripeWorld

    return StripeWorld().batch(n, ks=(1, 2), generator=g)


def toy_run(folder, steps, **kw):
    torch.manual_seed(0)
    m = ComposedDenoiser({**TOY, "embed_dim": 8}, concept_dim=6)
    cfg = TrainConfig(**{"steps": steps, "batch_size": 8, "checkpoint_every": 2, "keep": 5, "warmup": 1, **kw})
    return train(m, toy_batch, cfg, folder, progress=False)


class Planted:
    """A pickle that runs code when unpickled: it writes a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_resuming_never_unpickles_code_and_falls_back_past_damaged_checkpoints(tmp_path):
    out = tmp_path / "run"
    toy_run(out, 4)  # checkpoints at steps 2 and 4
    newest = out / "checkpoint-000004" / "training_state.pt"
    marker = tmp_path / "PWNED"
    torch.save({"step": Planted(marker)}, newest)
    with pytest.warns(UserWarning, match="checkpoint-000004.*cannot be read safely.*resuming from .*checkpoint-000002"):
        res = toy_run(out, 6)
    assert not marker.exists(), "the planted pickle ran"
    assert res.resumed_from == 2 and len(res.losses) == 6
    # every checkpoint damaged (empty, truncated): a clear error, not a fresh run over them
    (out / "checkpoint-000006" / "training_state.pt").write_bytes(b"")
    for ck in ("checkpoint-000002", "checkpoint-000004"):
        state = out / ck / "training_state.pt"
        state.write_bytes(state.read_bytes()[:50] if state.stat().st_size > 50 else b"")
    with pytest.raises(ValueError, match="no intact checkpoint"):
        toy_run(out, 8)
    assert not marker.exists()


def test_training_stops_at_the_first_non_finite_loss_and_writes_nothing_after_it(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(FloatingPointError, match="diverged at step") as err:
        toy_run(out, 40, lr=1e30)  # finite, absurd: the weights blow up within a few steps
    assert "nothing was written after it" in str(err.value)
    from igm_lite.train import checkpoints

    for ck in checkpoints(out):  # the checkpoints that were written hold finite weights
        ComposedDenoiser.from_pretrained(ck)
    calls = []

    def nan_at_3(model, batch, gen):
        loss = ComposedLoss()(model, batch, gen)
        calls.append(1)
        return loss * float("nan") if len(calls) == 4 else loss

    with pytest.raises(FloatingPointError, match="step 3: the loss is nan"):
        train(ComposedDenoiser(TOY, concept_dim=6), toy_batch, TrainConfig(steps=6, batch_size=4, checkpoint_every=2), tmp_path / "b",
              progress=False, loss_fn=nan_at_3)
    assert [p.name for p in checkpoints(tmp_path / "b")] == ["checkpoint-000002"]


def test_bench_command_line_refuses_counts_below_one(capsys):
    from igm_lite.bench import main

    for argv in (["clevr", "--batch", "0"], ["celeba", "--noise", "2.5"], ["zeroshot", "--n", "-1"]):
        with pytest.raises(SystemExit):
            main(argv)
        assert "expected a whole number" in capsys.readouterr().err


# -- the same answer alone or in any batch -------------------------------------------------------------------------


def test_every_engine_answers_an_image_alike_alone_and_in_a_batch():
    from igm_lite.data.clevr import ClevrWorld
    from igm_lite.infer.attributes import infer_faces

    scenes = ClevrWorld(size=32).test_set(3, "id", seed=5).x
    # the position engine (grid, batched refinement, pruning)
    eng = PositionEngine(model("clevr32"), SCHED, grid=8, refine_steps=3, prune_samples=4)
    together = eng.infer_many(scenes)
    for b in range(3):
        alone = eng.infer(scenes[b])
        assert alone.k == together[b].k and torch.allclose(alone.answer, together[b].answer, atol=1e-4)
    # gradient descent from several initialisations, K given (one count per image)
    ms = multistart(model("clevr32"), scenes, [3, 4, 5], SCHED, inits=2, steps=3, n_samples=2)
    for b, k in enumerate([3, 4, 5]):
        one = multistart(model("clevr32"), scenes[b : b + 1], k, SCHED, inits=2, steps=3, n_samples=2)[0]
        assert torch.allclose(one.answer, ms[b].answer, atol=1e-4) and math.isclose(one.error, ms[b].error, rel_tol=1e-4)
    # the set predictors (Slot Attention draws its initial slots)
    for name in ("clevr32-slot", "clevr32-resnet"):
        preds = model(name).predict(scenes, seed=3)
        for b in range(3):
            assert torch.allclose(model(name).predict(scenes[b : b + 1], seed=3)[0], preds[b], atol=1e-5)
    # the attribute engines and the ResNet
    faces = FaceWorld(32).batch(3, "B", generator=torch.Generator().manual_seed(0)).x
    for method, net in (("cached", model("faces32-mean")), ("resnet", model("faces32-resnet"))):
        batch = infer_faces(faces, method, net, n_samples=4).attrs
        assert all(torch.equal(infer_faces(faces[b : b + 1], method, net, n_samples=4).attrs[0], batch[b]) for b in range(3))
