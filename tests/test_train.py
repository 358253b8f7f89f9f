import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from igm_lite import ComposedDenoiser, TrainConfig, train
from igm_lite.data import StripeWorld
from igm_lite.train import checkpoints

WORLD = StripeWorld()


def batches(n, g):
    return WORLD.batch(n, generator=g)


def small_model(mode="weighted"):
    torch.manual_seed(0)
    return ComposedDenoiser({"kind": "mlp", "hidden": 32, "depth": 1, "embed_dim": 16}, concept_dim=6, mode=mode)


def test_training_lowers_the_composed_loss():
    res = train(small_model(), batches, TrainConfig(steps=150, batch_size=128, warmup=10, p_uncond=0.1), progress=False)
    first, last = sum(res.losses[:15]) / 15, sum(res.losses[-15:]) / 15
    assert last < 0.7 * first, (first, last)


def params(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_checkpoints_resume_exactly(tmp_path):
    cfg = dict(batch_size=16, warmup=2, checkpoint_every=3, keep=2, p_uncond=0.2)
    straight = train(small_model(), batches, TrainConfig(steps=9, **cfg), tmp_path / "a", progress=False)
    # stop after 6 steps, then resume to 9 in a fresh model
    train(small_model(), batches, TrainConfig(steps=6, **cfg), tmp_path / "b", progress=False)
    assert [p.name for p in checkpoints(tmp_path / "b")] == ["checkpoint-000003", "checkpoint-000006"]
    resumed = train(small_model(), batches, TrainConfig(steps=9, **cfg), tmp_path / "b", progress=False)
    assert resumed.resumed_from == 6
    assert torch.allclose(params(straight.model), params(resumed.model), atol=1e-6)
    assert resumed.losses == pytest.approx(straight.losses, rel=1e-5)
    # the checkpoint folder rebuilds the model alone, and records the training config
    ck = checkpoints(tmp_path / "a")[-1]
    assert json.loads((ck / "train_config.json").read_text())["steps"] == 9
    assert torch.equal(params(ComposedDenoiser.from_pretrained(ck)), params(straight.model))
    assert len(checkpoints(tmp_path / "a")) == 2  # keep=2


def test_interrupted_run_loses_nothing(tmp_path):
    cfg = dict(batch_size=16, warmup=2, checkpoint_every=2)
    straight = train(small_model(), batches, TrainConfig(steps=6, **cfg), progress=False)

    def dies_at_step_5(n, g, calls=[0]):
        calls[0] += 1
        if calls[0] == 5:
            raise KeyboardInterrupt
        return batches(n, g)

    with pytest.raises(KeyboardInterrupt):
        train(small_model(), dies_at_step_5, TrainConfig(steps=6, **cfg), tmp_path, progress=False)
    assert [p.name for p in checkpoints(tmp_path)] == ["checkpoint-000002", "checkpoint-000004"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # nothing half-written
    resumed = train(small_model(), batches, TrainConfig(steps=6, **cfg), tmp_path, progress=False)
    assert resumed.resumed_from == 4
    assert torch.allclose(params(straight.model), params(resumed.model), atol=1e-6)


def test_resume_refuses_another_model(tmp_path):
    train(small_model("sum"), batches, TrainConfig(steps=2, batch_size=8, checkpoint_every=2), tmp_path, progress=False)
    with pytest.raises(ValueError, match="config"):
        train(small_model("mean"), batches, TrainConfig(steps=4, batch_size=8), tmp_path, progress=False)


def test_two_processes_stay_in_sync(tmp_path):
    """torchrun starts 2 CPU processes; Accelerator joins them over gloo; DDP averages gradients, so
    both end with the same weights although each saw different data."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    with socket.socket() as s:  # a free port on loopback
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    script = Path(__file__).with_name("dist_train.py")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", port, str(script), str(tmp_path)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    a, b = (json.loads((tmp_path / f"rank{i}.json").read_text()) for i in (0, 1))
    assert a["world_size"] == b["world_size"] == 2
    assert a["params"] == pytest.approx(b["params"], abs=1e-6) and a["norm"] == pytest.approx(b["norm"], rel=1e-6)
    assert a["losses"] == pytest.approx(b["losses"])  # losses are reduced over processes
    assert [p.name for p in checkpoints(tmp_path / "ckpt")] == ["checkpoint-000003", "checkpoint-000006"]


def test_mixed_precision_bf16_on_cpu():
    """accelerate's bf16 autocast runs the same loop (in a fresh process: accelerate's state is per process)."""
    code = (
        "import torch, json\n"
        "from igm_lite import ComposedDenoiser, TrainConfig, train\n"
        "from igm_lite.data import StripeWorld\n"
        "w = StripeWorld(); torch.manual_seed(0)\n"
        "m = ComposedDenoiser({'kind': 'mlp', 'hidden': 32, 'depth': 1, 'embed_dim': 16}, concept_dim=6, mode='weighted')\n"
        "r = train(m, lambda n, g: w.batch(n, generator=g), TrainConfig(steps=20, batch_size=64, warmup=1, p_uncond=0.1,"
        " mixed_precision='bf16'), progress=False)\n"
        "print(json.dumps({'losses': r.losses, 'dtype': str(next(r.model.parameters()).dtype)}))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["dtype"] == "torch.float32"  # master weights stay in float32
    assert all(l == l and l < 10 for l in out["losses"]) and out["losses"][-1] < out["losses"][0]


def test_mixed_precision_follows_the_device():
    """'auto': bf16 where the GPU has it natively (compute capability >= 8.0), fp16 (accelerate adds loss scaling) on
    older GPUs, fp32 without one; decided on the device's capability, never on torch's bf16 answer, which counts
    emulation and says True on a T4."""
    from unittest import mock

    from igm_lite.train import choose_precision

    assert choose_precision("auto", cuda=True, capability=(8, 0)) == "bf16"  # A100
    assert choose_precision("auto", cuda=True, capability=(8, 9)) == "bf16"  # L4
    assert choose_precision("auto", cuda=True, capability=(9, 0)) == "bf16"  # H100
    assert choose_precision("auto", cuda=True, capability=(7, 5)) == "fp16"  # Colab's T4
    assert choose_precision("auto", cuda=True, capability=(7, 0)) == "fp16"  # V100
    assert choose_precision("auto", cuda=False) == "no"
    # a T4 as torch sees it: is_bf16_supported() says True (emulation), the capability says 7.5
    with mock.patch("torch.cuda.is_available", return_value=True), mock.patch("torch.cuda.is_bf16_supported", return_value=True), \
            mock.patch("torch.cuda.get_device_capability", return_value=(7, 5)):
        assert choose_precision("auto") == "fp16"
    with mock.patch("torch.cuda.is_available", return_value=False):
        assert choose_precision("auto") == "no"
    assert [choose_precision(p, cuda=True, capability=(7, 5)) for p in ("no", "fp16", "bf16")] == ["no", "fp16", "bf16"]  # as asked
    from igm_lite.recipes import RECIPES

    assert all(r.train.get("mixed_precision", "no") in ("no", "auto") for r in RECIPES.values()), "GPU recipes follow the device"
