import json
import subprocess
import sys

import pytest
import torch


def test_toy2d_bench_prints_one_json_line_per_model():
    cmd = [sys.executable, "-m", "igm_lite.bench", "toy2d", "--models", "toy2d-joint-weighted", "--n-gen", "100",
           "--steps", "10", "--clouds", "1", "--noise", "4"]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=600)
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["model"] for row in rows] == ["toy2d-joint-weighted", "exact-experts-summed", "exact-product"]
    m = rows[0]
    assert 0 <= m["set_accuracy"] <= 1 and m["clouds"] == 26
    assert m["network_evals_per_cloud"] == 4 * 7  # 6 concepts + the null concept, once per noise sample
    # naive: every set's concepts and the null at every sample: 26 sets, 6 x 2 + 12 x 3 + 8 x 4 = 80 rows
    assert m["naive_network_evals_per_cloud"] == 4 * 80 and m["naive_same_decisions"] == 1.0
    # the sampler alone (exact product) is closer to the truth than summed exact experts
    assert rows[2]["kl_k2"] < rows[1]["kl_k2"]


def test_celeba_bench_compares_engines_on_the_same_faces_and_noise(tmp_path, capsys):
    """Tiny untrained models in folders: naive and cached agree on every face, cached spends 4x fewer rows
    (6 distinct attribute values instead of 8 configurations x 3), eliminate no more than cached."""
    from igm_lite import ComposedDenoiser
    from igm_lite.baselines import AttributeClassifier
    from igm_lite.bench import main

    torch.manual_seed(0)
    unet = {"kind": "unet", "sample_size": 32, "in_channels": 3, "block_out_channels": [8, 8], "layers_per_block": 1,
            "down_block_types": ["DownBlock2D"] * 2, "up_block_types": ["UpBlock2D"] * 2, "norm_num_groups": 4}
    ComposedDenoiser(unet, concept_dim=6, mode="mean").save_pretrained(tmp_path / "igm")
    AttributeClassifier(embedding_size=8, hidden_sizes=[8], depths=[1]).save_pretrained(tmp_path / "clf")
    main(["celeba", "--split", "ood", "--n", "3", "--noise", "4", "--schedule", "2:2,4:1", "--model", str(tmp_path / "igm"),
          "--classifier", str(tmp_path / "clf"), "--method", "naive", "cached", "eliminate", "race", "resnet", "--confidence", "0.8"])
    rows = {r["method"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert list(rows) == ["naive", "cached", "eliminate", "race", "resnet"]
    # racing: at most cached's rows; each face's samples between the first look (4, here the budget) and the budget
    assert rows["race"]["network_evals_per_image"] <= 4 * 6 and rows["race"]["samples_used"] == [4, 4, 4]
    assert rows["race"]["settings"]["confidence"] == 0.8 and rows["cached"]["samples_used"] == [4, 4, 4]
    assert rows["eliminate"]["samples_used"] == [4, 4, 4] and "samples_used" not in rows["resnet"]
    assert rows["naive"]["network_evals_per_image"] == 4 * 8 * 3
    assert rows["cached"]["network_evals_per_image"] == 4 * 6
    assert rows["cached"]["same_decisions_as_naive"] == 1.0 and rows["cached"]["accuracy"] == rows["naive"]["accuracy"]
    # stage 1: 6 values x 2 samples; stage 2: the 4 to 6 values of the 2 survivors x 2 samples
    assert 2 * 6 + 2 * 4 <= rows["eliminate"]["network_evals_per_image"] <= 4 * 6
    assert rows["resnet"]["network_evals_per_image"] == 0 and rows["resnet"]["settings"]["classifier"] == str(tmp_path / "clf")
    for r in rows.values():
        assert r["n"] == 3 and 0 <= r["accuracy"] <= min(r["per_attribute"].values()) <= 1


def test_celeba_bench_refuses_a_malformed_schedule():
    import pytest

    from igm_lite.bench import parse_schedule

    assert parse_schedule("8:2,32:1") == [(8, 2), (32, 1)]
    with pytest.raises(ValueError, match="8:2,32:1"):
        parse_schedule("8-2")


def test_bench_leaves_the_callers_grad_mode_alone(tmp_path, capsys):
    from igm_lite.bench import main

    assert torch.is_grad_enabled()
    main(["celeba", "--split", "id", "--n", "2", "--method", "resnet"])
    assert torch.is_grad_enabled()


def test_attribute_votes_sum_to_the_engines_decisions(tmp_path):
    """Each sample's vote on an attribute (error with it absent - error with it present, the others true)
    averages to the difference of the cached engine's errors for those two configurations."""
    from igm_lite import ComposedDenoiser
    from igm_lite.data import attrs_from_slots
    from igm_lite.data.faces import face_test_set
    from igm_lite.infer.attributes import attribute_votes, infer_faces
    from igm_lite.infer.discrete import product_sets

    torch.manual_seed(0)
    unet = {"kind": "unet", "sample_size": 32, "in_channels": 3, "block_out_channels": [8, 8], "layers_per_block": 1,
            "down_block_types": ["DownBlock2D"] * 2, "up_block_types": ["UpBlock2D"] * 2, "norm_num_groups": 4}
    model = ComposedDenoiser(unet, concept_dim=6, mode="mean").eval()
    faces = face_test_set("ood", 3)
    attrs = faces.meta["attrs"]
    v = attribute_votes(faces.x, attrs, model, n_samples=5, t_range=(10, 900), seed=2)
    assert v.vote.shape == (3, 5, 3) and v.t.shape == (5,) and ((v.t >= 10) & (v.t < 900)).all()
    errors = infer_faces(faces.x, "cached", model, n_samples=5, t_range=(10, 900), seed=2).errors
    configs = attrs_from_slots(product_sets([2, 2, 2]))
    for b in range(3):
        for a in range(3):
            present, absent = attrs[b].clone(), attrs[b].clone()
            present[a], absent[a] = 1, 0
            ip, ia = (int((configs == c).all(1).nonzero()) for c in (present, absent))
            assert torch.isclose(v.vote[b, :, a].mean(), errors[b, ia] - errors[b, ip], rtol=1e-4, atol=1e-7)


def test_celeba_bench_can_keep_some_of_group_bs_differences(capsys):
    """--shift: the out-of-distribution faces with only the named differences (none: group A's own faces)."""
    from igm_lite.bench import main
    from igm_lite.data.faces import face_test_set

    assert not face_test_set("ood", 16, shift=()).meta["beard"].any() and face_test_set("ood", 16).meta["beard"].any()
    assert not torch.equal(face_test_set("ood", 4, shift=("tones",)).x, face_test_set("ood", 4).x)
    main(["celeba", "--split", "ood", "--n", "2", "--method", "resnet", "--shift", "hair", "beard"])
    row = json.loads(capsys.readouterr().out)
    assert row["settings"]["shift"] == ["hair", "beard"]


def test_zeroshot_bench_on_digits_compares_methods_on_the_same_noise(tmp_path, capsys):
    """An untrained caption model in a folder: naive makes IGM's decisions with C(M,K) K / M times the rows."""
    from igm_lite import ComposedDenoiser
    from igm_lite.bench import main

    torch.manual_seed(0)
    unet = {"kind": "unet", "sample_size": 32, "in_channels": 1, "block_out_channels": [8, 8], "layers_per_block": 1,
            "down_block_types": ["DownBlock2D"] * 2, "up_block_types": ["UpBlock2D"] * 2, "norm_num_groups": 4}
    ComposedDenoiser(unet, concept_dim=10, mode="mean", encoder="linear").save_pretrained(tmp_path / "zs")
    main(["zeroshot", "--model", str(tmp_path / "zs"), "--k", "2", "--m", "5", "--n", "3", "--noise", "2",
          "--method", "igm", "naive", "dc", "dc-joint"])
    main(["zeroshot", "--model", str(tmp_path / "zs"), "--k", "2", "--m", "5", "--n", "3", "--noise", "2",
          "--mode", "weighted", "--method", "igm", "naive"])
    main(["zeroshot", "--model", str(tmp_path / "zs"), "--k", "2", "--m", "5", "--n", "3", "--noise", "2",
          "--method", "igm", "cached"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["method"] for r in rows[6:]] == ["igm", "igm", "igm-weighted", "dc"]
    assert rows[7]["same_decisions_as_igm"] == 1.0  # the shared cache decides as IGM alone
    assert rows[9]["same_decisions_as_igm"] == rows[2]["same_decisions_as_igm"]  # DC from the cache = DC alone
    assert rows[7]["unet_evals_per_image"] == 2 * 6 and rows[7]["settings"]["shared_cache"]
    rows = rows[:6]
    mean = {r["method"]: r for r in rows[:4]}
    assert mean["igm"]["unet_evals_per_image"] == 2 * 5 and mean["naive"]["unet_evals_per_image"] == 2 * 10 * 2
    assert mean["naive"]["same_decisions_as_igm"] == 1.0 and mean["dc"]["unet_evals_per_image"] == 2 * 5
    assert mean["dc-joint"]["unet_evals_per_image"] == 2 * 10
    assert rows[4]["settings"]["mode"] == "weighted" and rows[4]["unet_evals_per_image"] == 2 * 6
    assert rows[5]["unet_evals_per_image"] == 2 * 10 * 3 and rows[5]["same_decisions_as_igm"] == 1.0
    assert all(r["n"] == 3 and r["m"] == 5 and 0 <= r["accuracy"] <= 1 for r in rows)


def test_clevr_bench_runs_every_method_on_the_same_scenes(tmp_path, capsys):
    """Tiny untrained models in folders: every method prints one line with the issue's fields, and K given
    returns the true count."""
    from igm_lite import ComposedDenoiser
    from igm_lite.baselines import SetPredictor
    from igm_lite.bench import main

    torch.manual_seed(0)
    unet = {"kind": "unet", "sample_size": 16, "in_channels": 3, "block_out_channels": [8, 8], "layers_per_block": 1,
            "down_block_types": ["DownBlock2D"] * 2, "up_block_types": ["UpBlock2D"] * 2, "norm_num_groups": 4, "position_maps": 0.05}
    ComposedDenoiser(unet, concept_dim=3, mode="weighted", learned_null=True).save_pretrained(tmp_path / "igm")
    SetPredictor("resnet", width=16, size=16).save_pretrained(tmp_path / "resnet")
    SetPredictor("slot", width=16, size=16).save_pretrained(tmp_path / "slot")
    common = ["clevr", "--split", "id", "--n", "2", "--size", "16", "--model", str(tmp_path / "igm"), "--resnet", str(tmp_path / "resnet"),
              "--slot", str(tmp_path / "slot"), "--grid", "4", "--noise", "2", "--refine", "2"]
    main(common + ["--method", "igm", "resnet", "slot", "multistart", "--inits", "2", "--steps", "2"])
    main(common + ["--method", "igm", "multistart", "--k", "given", "--inits", "2", "--steps", "2"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["method"] for r in rows] == ["igm", "resnet", "slot", "multistart", "igm", "multistart"]
    for r in rows:
        assert {"perception_rate", "estimation_error", "k_accuracy", "seconds_per_image", "network_evals_per_image"} <= set(r)
        assert 0 <= r["perception_rate"] <= 1 and r["n"] == 2 and r["split"] == "id"
    assert rows[1]["network_evals_per_image"] == 0 and rows[0]["settings"]["grid"] == 4
    assert rows[4]["k_accuracy"] == 1.0 and rows[5]["k_accuracy"] == 1.0  # K from the ground truth
    with pytest.raises(ValueError, match="inits >= 2"):
        list(__import__("igm_lite.bench", fromlist=["clevr"]).clevr("id", 1, methods=("multistart",), inits=1, size=16,
                                                                    model=str(tmp_path / "igm"), n_samples=1, steps=1))


def test_layout_bench_times_both_layouts_of_a_unet(tmp_path, capsys):
    from igm_lite import ComposedDenoiser
    from igm_lite.bench import main

    unet = {"kind": "unet", "sample_size": 8, "in_channels": 3, "block_out_channels": [8, 8], "layers_per_block": 1,
            "down_block_types": ["DownBlock2D"] * 2, "up_block_types": ["UpBlock2D"] * 2, "norm_num_groups": 4}
    ComposedDenoiser(unet, concept_dim=2).save_pretrained(tmp_path / "u")
    main(["layout", "--models", str(tmp_path / "u"), "--batch", "4", "--grad-batch", "2", "--reps", "2"])
    row = json.loads(capsys.readouterr().out)
    for key in ("nchw_fwd_ms_per_row", "nhwc_fwd_ms_per_row", "nhwc_up_fwd_ms_per_row", "nchw_fwd_bwd_ms", "nhwc_fwd_bwd_ms"):
        assert row[key] > 0
    # the ratios of the unrounded medians, rounded to 0.01; the row's times are rounded to 0.001 ms, a few per cent of
    # this tiny UNet's (so a small ratio, on a loaded machine, is off by up to 0.005 from its rounding alone)
    assert row["fwd_speedup"] == pytest.approx(row["nchw_fwd_ms_per_row"] / row["nhwc_up_fwd_ms_per_row"], rel=0.05, abs=0.006)
    assert row["upsample_fwd_bwd_speedup"] == pytest.approx(row["nhwc_fwd_bwd_ms"] / row["nhwc_up_fwd_bwd_ms"], rel=0.05, abs=0.006)
    ComposedDenoiser({"kind": "mlp", "data_dim": 2}, concept_dim=2).save_pretrained(tmp_path / "m")
    with pytest.raises(ValueError, match="UNet backbones"):
        main(["layout", "--models", str(tmp_path / "m")])


def test_gpu_check_runs_every_chapter_at_smoke_size(tmp_path, capsys):
    """The device check of every chapter's code path, here on the CPU: one line per chapter with its measurements."""
    from igm_lite.bench import main

    main(["gpu-check", "--steps", "2", "--n", "2", "--out", str(tmp_path), "--estimate-steps", "0"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["chapter"] for r in rows] == ["01", "02", "03", "04"]
    for r in rows:
        assert r["steps"] == 2 and r["precision"] == ("no" if r["device"] == "cpu" else r["precision"]) and 0 <= r["accuracy"] <= 1
        assert r["steps_per_second"] > 0 and r["images_per_second"] > 0 and r["final_loss"] > 0
        assert (tmp_path / r["recipe"] / "recipe.json").is_file()


def test_gpu_check_estimates_the_gpu_profiles_training_from_a_measured_rate(tmp_path, monkeypatch):
    """What each chapter's GPU profile trains (the names the chapters give their models, the profile's steps or the
    recipes'), and an estimate that is the rate over the second timing's extra steps times those steps."""
    from igm_lite.bench import gpucheck
    from igm_lite.recipes import RECIPES

    gpu = gpucheck.load_profile("gpu")
    assert gpucheck.profile_trainings("01") == {name: gpu["01_ebm_composition"]["train_steps"] for name in gpucheck.TOY_MODELS}
    ch3 = gpucheck.profile_trainings("03")
    assert set(ch3) == {f"{gpu['03_celeba_attributes']['recipe']}-{k}" for k in ("mean", "resnet", "latent")}
    assert all(steps == RECIPES[name].train["steps"] for name, steps in ch3.items())
    assert gpucheck.profile_trainings("04") == {} and gpucheck.profile_trainings("03", "cpu") == {}
    monkeypatch.setattr(gpucheck, "profile_trainings", lambda chapter, profile="gpu": {"toy2d-joint-weighted": 6000})
    est = gpucheck.estimate_training("01", tmp_path, steps=3)
    row = est["recipes"]["toy2d-joint-weighted"]
    assert row["steps"] == 6000 and row["seconds_per_step"] >= 0
    assert row["minutes"] == pytest.approx(row["seconds_per_step"] * 6000 / 60, abs=0.1 + 6000 * 5e-5 / 60) and est["minutes"] == row["minutes"]
    assert {p.name for p in (tmp_path / "timing").iterdir()} == {"toy2d-joint-weighted-3", "toy2d-joint-weighted-6"}
    ev = gpucheck.estimate_evaluation("01", tmp_path, "cpu")  # the four models' clouds at the profile's settings
    ch1 = gpu["01_ebm_composition"]
    assert ev["items"] == 26 * ch1["clouds_per_scene"] * len(gpucheck.TOY_MODELS) and ev["seconds_per_item"] > 0
    assert ev["minutes"] == pytest.approx(ev["seconds_per_item"] * ev["items"] / 60, abs=0.1 + ev["items"] * 5e-4 / 60)
    assert gpucheck.estimate_evaluation("04", tmp_path, "cpu") == {}


def test_results_files_record_each_row_with_the_command_that_printed_it(tmp_path, monkeypatch, capsys):
    """`python -m igm_lite.bench results NAME` reruns the recorded commands and writes their rows, atomically; find()
    picks one row by its fields and settings, and refuses an ambiguous match."""
    from igm_lite.bench import cli, results

    monkeypatch.setitem(results.RUNS, "tiny", ["celeba --split id --n 2 --noise 2 --method cached resnet",
                                               "celeba --split ood --n 2 --noise 2 --method cached"])
    out = cli.regenerate("tiny", tmp_path / "tiny.jsonl")
    rows = results.load_results("tiny", tmp_path)
    assert [r["method"] for r in rows] == ["cached", "resnet", "cached"] and not list(tmp_path.glob(".*"))
    assert rows[0]["command"] == "python -m igm_lite.bench celeba --split id --n 2 --noise 2 --method cached resnet"
    assert results.find(rows, method="cached", split="ood")["n"] == 2
    assert results.find(rows, method="resnet", classifier="faces32-resnet")["split"] == "id"  # a settings entry
    with pytest.raises(KeyError, match="2 rows match"):
        results.find(rows, method="cached")
    with pytest.raises(FileNotFoundError, match="bench results"):
        results.load_results("nothing", tmp_path)
    assert out.read_text().count("\n") == 3


def test_results_resume_keeps_the_rows_of_commands_already_run(tmp_path, monkeypatch):
    """A long grid runs in pieces: --resume reruns only the commands whose rows the file lacks, keeps the others'
    rows and writes them back in the order of RUNS."""
    from igm_lite.bench import cli, results

    monkeypatch.setitem(results.RUNS, "tiny", ["celeba --split id --n 2 --noise 2 --method resnet",
                                               "celeba --split ood --n 2 --noise 2 --method resnet"])
    path = tmp_path / "tiny.jsonl"
    first = cli.regenerate("tiny", path)
    rows = results.load_results("tiny", tmp_path)
    marked = [{**rows[0], "accuracy": -1.0}, rows[1]]  # a row the resume must keep as it is, not recompute
    results.write_rows(path, marked[1:] + marked[:1])  # out of order, as parts of a grid may be
    cli.regenerate("tiny", path, resume=True)
    again = results.load_results("tiny", tmp_path)
    assert [r["split"] for r in again] == ["id", "ood"] and again[0]["accuracy"] == -1.0 and first == path
    path.write_text(path.read_text().splitlines(keepends=True)[1])  # the first command's rows lost: rerun it alone
    cli.regenerate("tiny", path, resume=True)
    assert [r["split"] for r in results.load_results("tiny", tmp_path)] == ["id", "ood"]


def test_worlds_grid_trains_what_it_lacks_and_pairs_the_readers(tmp_path, monkeypatch):
    """bench worlds: a world's latent IGM and ResNet, made with the training seed into the models folder (here for 2
    steps), read the same faces of both splits; each IGM row carries its paired difference with the ResNet, computed
    from the two rows' per-face outcomes (a row read alone is paired with the ResNet row of its seed and faces);
    worlds_summary orders and aggregates the rows."""
    import importlib

    from igm_lite.metrics import paired_difference, unbits

    grid = importlib.import_module("igm_lite.bench.worlds")  # the module (the package exports its function ``worlds``)

    from igm_lite import maker

    monkeypatch.setattr(grid, "make", lambda *a, **k: maker.make(*a, **{**k, "steps": 2}))
    rows = list(grid.worlds("cue", train_seed=3, n=5, seed=0, models=str(tmp_path)))
    assert all((tmp_path / f"faces32-{kind}-cue-s3" / "recipe.json").is_file() for kind in ("latent", "resnet"))
    assert json.loads((tmp_path / "faces32-latent-cue-s3" / "recipe.json").read_text())["train_config"]["seed"] == 3
    assert [(r["split"], r["method"]) for r in rows] == [("id", "latent"), ("id", "resnet"), ("ood", "latent"), ("ood", "resnet")]
    for r in rows:
        assert r["world"] == "cue" and r["train_seed"] == 3 and r["n"] == 5 and len(r["correct"]) == 5
        assert r["ci95"][0] <= r["accuracy"] <= r["ci95"][1] and r["settings"]["world"] == "cue"
    latent, resnet = rows[2], rows[3]
    assert latent["vs_resnet"] == paired_difference(unbits(latent["correct"]), unbits(resnet["correct"]))
    assert latent["settings"]["n_samples"] == 32  # the latent model's recorded setting
    lone = {k: v for k, v in latent.items() if k != "vs_resnet"}  # another noise draw, read without the ResNet beside it
    assert grid.with_resnet_pairs([lone, resnet])[0]["vs_resnet"] == latent["vs_resnet"]
    assert "vs_resnet" not in grid.with_resnet_pairs([lone, {**resnet, "train_seed": 4}])[0]  # another seed's ResNet: no pair
    summary = grid.worlds_summary(rows + [{**rows[2], "train_seed": 4, "accuracy": 0.0}])
    entry = next(e for e in summary if e["reader"] == "latent" and e["split"] == "ood")
    assert entry["seeds"] == [3, 4] and entry["range"] == [0.0, latent["accuracy"]] and entry["ordering"] in ("igm", "resnet", "not told apart")
    with pytest.raises(ValueError, match="world must be one of"):
        next(grid.worlds("mars"))


def test_each_shipped_results_file_holds_the_rows_of_its_recorded_runs():
    """Every results file the package ships was written by its recorded runs (``RUNS``): the same commands, in order,
    and every command's rows; no file without its runs."""
    from igm_lite.bench import results

    shipped = {p.stem for p in results.RESULTS.glob("*.jsonl")}
    assert shipped == set(results.RUNS), "one results file per entry of RUNS"
    for name, commands in results.RUNS.items():
        printed = list(dict.fromkeys(row["command"] for row in results.load_results(name)))
        assert printed == [f"python -m igm_lite.bench {c}" for c in commands], f"{name}.jsonl is not the output of RUNS[{name!r}]"


def test_celeba_bench_defaults_are_the_models_validated_settings(capsys):
    """With no option the bench uses each model's recorded settings: the same rows as the recorded settings spelt
    out, and elimination spends at least 10 times fewer rows than naive would."""
    from igm_lite.bench import main
    from igm_lite.recipes import RECIPES

    for model, spelt in (("faces32-mean", ["--noise", "16", "--t-range", "0", "1000", "--schedule", "4:2,7:1"]),
                         ("faces32-latent", ["--noise", "32", "--t-range", "0", "1000", "--schedule", "4:2,10:1"])):
        settings = RECIPES[model].inference["settings"]["discrete"]
        assert spelt[1] == str(settings["n_samples"]) and spelt[-1] == ",".join(f"{n}:{k}" for n, k in settings["eliminate"]["schedule"])
        rows = []
        for extra in ([], spelt):
            main(["celeba", "--split", "ood", "--n", "3", "--model", model, "--method", "cached", "eliminate", *extra])
            rows.append([json.loads(line) for line in capsys.readouterr().out.splitlines()])
        for default, explicit in zip(*rows):
            assert {k: v for k, v in default.items() if k != "seconds_per_image"} == {k: v for k, v in explicit.items() if k != "seconds_per_image"}
        naive_rows = 24 * settings["n_samples"]  # 8 configurations x 3 concepts per sample
        assert rows[0][1]["network_evals_per_image"] * 10 <= naive_rows



def test_clevr_bench_reads_the_models_recorded_settings_and_refuses_the_grids_without_it(capsys, tmp_path):
    """With no option the grid engine uses the model's recorded settings (a model folder whose inference.json records
    others is read with them); the grid engine's settings without the grid engine among the methods are refused."""
    import shutil

    from igm_lite.bench import main
    from igm_lite.io import CHECKPOINTS

    settings = json.loads((CHECKPOINTS / "clevr32" / "inference.json").read_text())["settings"]["positions"]
    own = tmp_path / "clevr-own"
    shutil.copytree(CHECKPOINTS / "clevr32", own)
    (own / "inference.json").write_text(json.dumps({"settings": {"positions": {**settings, "grid": 6, "refine_steps": 0}}}))
    main(["clevr", "--split", "id", "--n", "1", "--method", "igm", "--model", str(own)])
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (row["settings"]["grid"], row["settings"]["refine_steps"], row["settings"]["n_samples"]) == (6, 0, settings["n_samples"])
    with pytest.raises(ValueError, match="grid engine"):
        main(["clevr", "--n", "1", "--method", "resnet", "--grid", "8"])

def test_gpu_check_estimates_chapters_2_and_3s_evaluation_with_their_engines(tmp_path):
    """The evaluation estimate runs each chapter's engine at a profile's settings (here the smoke profile, on the CPU
    recipes' architectures) with the model the training estimate left, and extrapolates to the profile's test set."""
    from igm_lite.bench import gpucheck
    from igm_lite.maker import make

    smoke = gpucheck.load_profile("smoke")
    for chapter, name in (("02", "clevr32"), ("03", "faces32-mean")):
        make(name, tmp_path / "timing" / f"{name}-2", 2, progress=False)
        if chapter == "02":  # another recipe whose name starts the same is not the one timed
            make("clevr32-resnet", tmp_path / "timing" / "clevr32-resnet-4", 1, progress=False)
        ev = gpucheck.estimate_evaluation(chapter, tmp_path, "cpu", n=1, profile="smoke")
        assert ev["items"] == 2 * smoke[gpucheck.STEMS[chapter]]["n_test"] and ev["seconds_per_item"] > 0, ev


def test_racing_table_pairs_every_engine_with_cached_at_the_recorded_samples():
    """The racing table reads one model's rows of the racing file: every engine of both splits, its rows and how many
    times fewer than naive's, and its paired difference with cached at the recorded number of samples."""
    from igm_lite.bench import racing_table
    from igm_lite.metrics import bits

    def row(method, split, n_samples, right, evals, extra=""):
        return {"bench": "celeba", "method": method, "split": split, "accuracy": sum(right) / len(right), "ci95": [0.1, 0.9],
                "correct": bits(right), "network_evals_per_image": evals, "seconds_per_image": 0.01, "samples_used": [4, 6, n_samples],
                "settings": {"model": "m", "n_samples": n_samples, "schedule": [[4, 2], [16, 1]] if method == "eliminate" else None,
                             **({"confidence": 0.95} if method == "race" else {})},
                "command": f"python -m igm_lite.bench celeba --model m {extra}--method x"}

    rows = [row("cached", s, 16, [1, 1, 0], 96.0) for s in ("id", "ood")]
    rows += [row("race", s, 16, [1, 0, 0], 48.0) for s in ("id", "ood")] + [row("race", "id", 64, [1, 1, 1], 64.0, "--noise 64 ")]
    rows += [row("cached", "id", 16, [0, 0, 0], 96.0) | {"command": "python -m igm_lite.bench celeba --model m2 --method cached"}]
    header, table = racing_table(rows, "m")
    assert len(table) == 5 and len(header) == len(table[0])
    race = next(t for t in table if t[1] == "race (0.95)" and t[2] == "16" and t[0] == "in distribution")
    assert race[3:5] == ["48.0", "8.0"] and race[-1].startswith("-33.3 [")
    assert next(t for t in table if t[2] == "64")[-1].startswith("+33.3 [")
    assert next(t for t in table if t[1] == "cached" and t[0] == "in distribution")[-1] == ""
    with pytest.raises(KeyError, match="no racing rows"):
        racing_table(rows, "other")
    from igm_lite.bench import racing_samples_used

    assert racing_samples_used(rows[:2] + [row("race", s, 16, [1, 0, 0], 48.0) for s in ("id", "ood")], "m") == {"id": [4, 6, 16], "ood": [4, 6, 16]}


def test_memory_bench_reads_the_peak_of_the_process_a_chapter_runs_in(monkeypatch):
    """The memory bench's measurement: a child that runs another process reads that process's peak resident memory
    (RUSAGE_CHILDREN), here a process that holds 200 MiB; one row per chapter; an unknown chapter is refused."""
    import igm_lite.bench.memory as mem

    monkeypatch.setattr(mem, "_MEASURE", (
        "import resource, subprocess, sys\n"
        "subprocess.run([sys.executable, '-c', 'b = bytearray(200 * 2**20); b[::4096] = b\"x\" * len(b[::4096])'], check=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"))
    rows = list(mem.memory(["01", "02"]))
    assert [r["chapter"] for r in rows] == ["01_ebm_composition", "02_clevr_objects"]
    assert all(200 <= r["peak_mib"] < 300 and r["seconds"] > 0 for r in rows)
    with pytest.raises(ValueError, match="no chapter"):
        list(mem.memory(["09"]))


def test_celeba_reads_a_world_with_its_shipped_readers_when_none_is_named():
    """``bench celeba --world celeba-like`` without --model/--classifier reads that world's shipped latent model and
    ResNet, not the disjoint world's; the disjoint world keeps faces32-mean and faces32-resnet."""
    from igm_lite.bench.faces import SHIPPED_READERS, celeba

    with torch.no_grad():
        for world, (igm, resnet) in SHIPPED_READERS.items():
            rows = list(celeba("id", 2, 0, ("cached", "resnet"), world=world, n_samples=2))
            assert [r["settings"]["model"] for r in rows] == [igm, None]
            assert [r["settings"]["classifier"] for r in rows] == [None, resnet]


def test_the_runs_name_a_shipped_models_recorded_settings_by_reading_them():
    """Chapter 3's main runs spell each model's recorded samples and schedule as read from the model's inference.json
    (which equals its recipe's record, tests/test_pretrained.py): change the record and the commands follow; a run
    whose methods read no schedule is not given one (the bench refuses a setting no method reads)."""
    from igm_lite.bench import results
    from igm_lite.recipes import RECIPES

    for model in ("faces32-mean", "faces32-latent", "faces32-latent-a"):
        record = RECIPES[model].inference["settings"]["discrete"]["eliminate"]  # the schedule, with the samples it was chosen on
        spelt = f"--noise {record['n_samples']} --schedule " + ",".join(f"{n}:{k}" for n, k in record["schedule"])
        assert results._recorded(model) == spelt
        named = [c for c in results.RUNS["celeba"]  # the model's main runs (the pixel model's: the default model, beside the ResNet)
                 if (f"--model {model} " in c if model != "faces32-mean" else "--model" not in c and "resnet" in c)]
        for command in named:  # the schedule only where a method reads it (eliminate), the recorded samples in every run
            assert (spelt in command) == (" eliminate" in command) and f"--noise {record['n_samples']}" in command, command
        assert named, model
    saved = results._RECORDED["faces32-mean"]
    try:
        results._RECORDED["faces32-mean"] = {**saved, "eliminate": {"n_samples": 20, "schedule": [[5, 2], [20, 1]]}}
        assert results._recorded("faces32-mean") == "--noise 20 --schedule 5:2,20:1"
    finally:
        results._RECORDED["faces32-mean"] = saved


def test_worlds_by_draw_gives_the_grid_under_each_noise_draw():
    """Frame 2 is the grid's first draw (the table's figures); in every frame the ResNet's figures are the same (it
    reads no noise) and a reader read under one draw only (celeba-like's pixel row) is in the first frame alone."""
    from igm_lite.bench import load_results, worlds_by_draw, worlds_summary

    rows = load_results("celeba-worlds")
    frames = dict(worlds_by_draw(rows))
    key = lambda e: (e["world"], e["reader"], e["split"])  # noqa: E731
    whole = {key(e): e["accuracy"] for e in worlds_summary(rows)}
    first = {key(e): e["accuracy"] for e in frames[2]}
    assert all(first[k] == whole[k] for k in first if k[1] in ("latent", "resnet"))
    for d in (3, 4):
        other = {key(e): e for e in frames[d]}
        assert all(other[k]["accuracy"] == first[k] for k in other if k[1] == "resnet")
        assert ("celeba-like", "pixel", "ood") not in other and ("disjoint", "pixel", "ood") in other
        assert any(other[k]["accuracy"] != first[k] for k in other if k[1] == "latent")


def test_noise_table_gives_each_setting_its_draws_and_their_spread():
    from igm_lite.bench import load_results, noise_table

    rows = [r for r in load_results("celeba-noise") if r["split"] == "id"]
    table = noise_table(rows)
    assert [(n, s) for n, s, *_ in table] == [(n, s) for n in (16, 32, 64) for s in ("random", "even")]
    for n, spacing, per_draw, spread, half, _ in table:
        acc = [r["accuracy"] for r in rows if r["settings"]["n_samples"] == n and r["settings"]["spacing"] == spacing]
        assert per_draw.count("/") == len(acc) - 1 == 4 and float(spread) == round(100 * (max(acc) - min(acc)), 2)
        assert 0 < float(half) < 10
