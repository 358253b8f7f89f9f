"""Chapters as programs: committed without outputs, one parameters cell, and a papermill run with a profile.
(nbval executes every notebook with its CPU defaults in the README's test command: `pytest tests notebooks --nbval-lax`.)"""
import json
from pathlib import Path

import nbformat
import pytest
import yaml

from igm_lite import chapters

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_there_are_chapters():
    assert [nb.stem for nb in NOTEBOOKS][:1] == ["01_ebm_composition"]


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs_and_with_one_parameters_cell(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "commit notebooks without outputs"
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "exactly one papermill parameters cell"
    for line in params[0].source.splitlines():  # every parameter is a literal with a comment
        if line.strip():
            assert "=" in line and "#" in line, f"parameter line without a comment: {line!r}"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "colab.research.google.com" in text and "What you will learn" in text
    assert text.count("{exercise}") >= 3 and text.count("{solution}") >= 3 and ":class: dropdown" in text


@pytest.mark.parametrize("profile", ["cpu", "gpu", "smoke"])
def test_profiles_name_real_parameters(profile):
    data = yaml.safe_load((ROOT / "notebooks" / "profiles" / f"{profile}.yml").read_text())
    for stem, overrides in data.items():
        nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
        src = next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        names = {line.split("=")[0].split(":")[0].strip() for line in src.splitlines() if "=" in line}
        assert set(overrides or {}) <= names, f"{profile}.yml sets unknown parameters of {stem}"


@pytest.mark.slow
def test_papermill_runs_every_chapter_with_the_smoke_profile(tmp_path):
    done = chapters.run("smoke", "all", tmp_path, root=ROOT)
    assert [p.name for p in done] == [nb.name for nb in NOTEBOOKS]
    nb = nbformat.read(done[0], as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "demo_steps = 30" in injected[0].source
    outputs = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert "network rows: cached" in outputs
    assert not list(tmp_path.glob(".*.running.ipynb"))


def test_unknown_profile_and_chapter_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="known profiles"):
        chapters.run("tpu", root=ROOT, out=tmp_path)
    with pytest.raises(ValueError, match="no chapter matches"):
        chapters.run("smoke", "99", root=ROOT, out=tmp_path)
