"""Run by test_train.py under `torchrun --nproc_per_node 2`: a few training steps in 2 CPU processes."""
import json
import sys
from pathlib import Path

import torch

from igm_lite import ComposedDenoiser, TrainConfig, train
from igm_lite.data import StripeWorld

out = Path(sys.argv[1])
torch.manual_seed(0)
model = ComposedDenoiser({"kind": "mlp", "hidden": 32, "depth": 1, "embed_dim": 16}, concept_dim=6, mode="sum")
world = StripeWorld()
res = train(model, lambda n, g: world.batch(n, generator=g), TrainConfig(steps=6, batch_size=32, checkpoint_every=3, warmup=1),
            out / "ckpt", progress=False)
from accelerate import PartialState  # noqa: E402

state = PartialState()
flat = torch.cat([p.detach().flatten() for p in res.model.parameters()])
(out / f"rank{state.process_index}.json").write_text(json.dumps({
    "world_size": state.num_processes, "params": flat.tolist()[:200], "norm": float(flat.norm()), "losses": res.losses}))
