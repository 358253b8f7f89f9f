import subprocess
import sys
from pathlib import Path

import pytest
import torch

from igm_lite import make_scheduler, subsets
from igm_lite.infer.zeroshot import READERS, ZeroShot


def test_methods_share_noise_and_cache(toy_model):
    """IGM and DC top-K read the same cache; DC top-K is the K best singletons; DC joint scores one joint
    prompt per set; naive makes IGM's decisions at C(M, K) K / M times the cost."""
    model = toy_model("mean", concept_dim=6)
    pool = torch.eye(6)
    engine = lambda **kw: ZeroShot(model, make_scheduler(), n_samples=5, seed=2, **kw)  # noqa: E731
    x0 = torch.randn(4, 2)
    ig, nv, dc, dj = (engine(**kw).infer(x0, pool, k=2) for kw in (
        {}, {"method": "naive"}, {"reader": "dc"}, {"reader": "dc-joint", "joint_prompts": lambda s: pool[s].sum(1)}))
    assert ig.answer.tolist() == nv.answer.tolist() and torch.allclose(ig.errors, nv.errors, rtol=1e-4, atol=1e-6)
    assert ig.network_evals == dc.network_evals == 5 * 6 and nv.network_evals == 5 * 15 * 2
    assert dj.network_evals == 5 * 15 and dj.candidates.shape == (15, 2)
    assert dc.answer.tolist() == sorted(dc.errors.argsort()[:2].tolist())
    assert dj.answer.tolist() == subsets(6, 2)[int(dj.errors.argmin())].tolist()
    # the singleton errors DC ranks are IGM's own K = 1 scores
    assert torch.allclose(dc.errors, engine().infer(x0, pool, k=1).errors)


def test_mode_override_is_temporary(toy_model):
    model = toy_model("mean", concept_dim=4)
    x0, pool = torch.randn(4, 2), torch.eye(4)
    w = ZeroShot(model, make_scheduler(), n_samples=3, mode="weighted").infer(x0, pool, k=2)
    assert w.network_evals == 3 * 5 and model.mode == "mean"  # the null concept joined the cache
    assert ZeroShot(model, make_scheduler(), n_samples=3, mode="weighted", method="naive").infer(x0, pool, k=2).answer.tolist() == w.answer.tolist()


def test_bad_requests(toy_model):
    model = toy_model("mean", concept_dim=4)
    zs = ZeroShot(model, make_scheduler(), n_samples=2)
    x0, pool = torch.randn(4, 2), torch.eye(4)
    with pytest.raises(ValueError, match="reader must be one of"):
        ZeroShot(model, make_scheduler(), reader="clip")
    with pytest.raises(ValueError, match=r"k must be in \[1, 4\]"):
        zs.infer(x0, pool, k=5)
    with pytest.raises(ValueError, match="give k"):
        zs.infer(x0, pool)
    with pytest.raises(ValueError, match="joint_prompts"):
        ZeroShot(model, make_scheduler(), reader="dc-joint")
    with pytest.raises(ValueError, match="read by reader 'igm' only"):  # DC enumerates nothing: an enumeration method is refused
        ZeroShot(model, make_scheduler(), reader="dc", method="naive")
    assert set(READERS) == {"igm", "dc", "dc-joint"}
    with pytest.raises(ValueError, match="never reads max_sets=10"):  # every K-set is enumerated: a limit is refused, not ignored
        ZeroShot(model, make_scheduler(), max_sets=10)


def test_distributed_map_in_two_processes(tmp_path):
    """accelerate splits the images across 2 CPU processes; every process gathers all results in order."""
    script = tmp_path / "dmap.py"
    script.write_text(
        "import json, sys\n"
        "from igm_lite.infer.base import distributed_map, process_state\n"
        "s = process_state()\n"
        "out = distributed_map(lambda i: {'i': i, 'rank': s.process_index}, 7)\n"
        "open(sys.argv[1] + f'/rank{s.process_index}.json', 'w').write(json.dumps(out))\n")
    import json
    import os
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", port, str(script), str(tmp_path)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    a, b = (json.loads(Path(tmp_path / f"rank{i}.json").read_text()) for i in (0, 1))
    assert a == b and [o["i"] for o in a] == list(range(7))
    assert {o["rank"] for o in a} == {0, 1}  # both processes did some of the work


def test_compare_reads_both_forms_and_dc_from_one_cache(toy_model):
    model = toy_model("mean", concept_dim=5)
    pool = torch.eye(5)
    zs = ZeroShot(model, make_scheduler(), n_samples=4, seed=3)
    x0 = torch.randn(4, 2)
    both = zs.compare(x0, pool, 2)
    assert both.network_evals == 4 * 6 and model.mode == "mean"  # 5 prompts + the empty one, once per sample
    for form in ("mean", "weighted"):
        ref = ZeroShot(model, make_scheduler(), n_samples=4, seed=3, mode=form).infer(x0, pool, k=2)
        assert both.igm[form].tolist() == ref.answer.tolist()
        assert torch.allclose(both.set_errors[form], ref.errors, rtol=1e-5, atol=1e-7)
    assert both.dc.tolist() == ZeroShot(model, make_scheduler(), n_samples=4, seed=3, reader="dc").infer(x0, pool, k=2).answer.tolist()
    assert both.set_errors["mean"].shape == (10,) and both.prompt_errors.shape == (5,)


def test_cache_refuses_a_form_it_cannot_score(toy_model):
    from igm_lite import CachedScorer, draw_noise

    scorer = CachedScorer(toy_model("mean", concept_dim=3), torch.randn(4, 2), torch.eye(3), draw_noise((4, 2), 2), make_scheduler())
    with pytest.raises(ValueError, match="without the null concept"):
        scorer.errors(subsets(3, 2), mode="weighted")
