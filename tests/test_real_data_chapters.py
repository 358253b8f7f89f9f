"""The real-data path of each chapter: `make test` runs chapters 2-4 under nbval on tiny datasets written in the
real formats (tests/real_formats.py); here, that those runs are what a GPU reader runs."""
import subprocess
import sys
from pathlib import Path

import nbformat
from real_formats import real_data_parameters

from igm_lite import chapters

ROOT = Path(__file__).resolve().parents[1]


def test_the_real_data_runs_use_the_gpu_profiles_data_parameters(tmp_path):
    params, gpu = real_data_parameters(tmp_path), chapters.load_profile("gpu")
    for stem, values in params.items():
        defaults = chapters.parameter_defaults(ROOT / "notebooks" / f"{stem}.ipynb")
        assert set(values) <= set(defaults)
        real = {k for k in ("data_root", "sd_model", "sd_images", "autoencoder") if k in gpu[stem]}
        assert real <= set(values), f"{stem}: the GPU profile's data parameters {sorted(real)} are all set"
        for key in real - {"autoencoder"}:
            assert Path(values[key]).exists()
        assert values["retrain"] and 0 < values["train_steps"] and values["model_dir"]
    assert params["03_celeba_attributes"]["recipe"] == gpu["03_celeba_attributes"]["recipe"]
    assert (Path(params["03_celeba_attributes"]["autoencoder"]) / "vae" / "config.json").is_file()


def test_the_script_prepares_chapters_2_to_4_with_those_parameters(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "tests" / "real_formats.py"), str(tmp_path)], check=True, capture_output=True, cwd=ROOT)
    names = sorted(p.name for p in tmp_path.glob("*.ipynb"))
    assert names == ["02_clevr_objects.ipynb", "03_celeba_attributes.ipynb", "04_zero_shot.ipynb"]
    nb = nbformat.read(tmp_path / "03_celeba_attributes.ipynb", as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert f'data_root = "{(tmp_path / "real-data" / "celeba").resolve()}"' in injected.source and "retrain = True" in injected.source


def test_make_test_runs_them_under_nbval():
    make = (ROOT / "Makefile").read_text()
    recipe = make.split("\ntest:")[1].split("\n\n")[0]
    assert "tests/real_formats.py out/smoke-nb" in recipe and "out/smoke-nb --nbval-lax" in recipe
    assert "--chapter 01" in recipe, "chapter 1 has no real data: its smoke run stays procedural"
