"""Chapters as programs: committed without outputs, one parameters cell, and papermill profiles.
(The README's test command runs each chapter twice: at its CPU defaults in the book build, tests/test_book.py,
and under nbval, `pytest out/smoke-nb --nbval-lax`: chapter 1 with the smoke profile's parameters, chapters 2-4 on
their real-data path, tests/real_formats.py.)"""
import json
from pathlib import Path

import nbformat
import pytest

from igm_lite import chapters

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = chapters.chapters(ROOT)


def test_a_chapter_may_have_several_pages_under_one_number():
    """NN_name is a chapter's first page, NNb_name its second: in the book's order, with one chapter number."""
    stems = [p.stem for p in NOTEBOOKS]
    assert stems.index("03_celeba_attributes") + 1 == stems.index("03b_celeba_worlds")
    assert [chapters.chapter_number(s) for s in ("03_celeba_attributes", "03b_celeba_worlds")] == [3, 3]
    assert [chapters.page_key(s) for s in ("03_celeba_attributes", "03b_celeba_worlds")] == ["03", "03b"]
    toc = (ROOT / "_toc.yml").read_text()
    assert "- file: notebooks/03_celeba_attributes\n        sections:\n          - file: notebooks/03b_celeba_worlds" in toc


def test_there_are_chapters():
    assert [nb.stem for nb in NOTEBOOKS][:1] == ["01_ebm_composition"]


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs_and_with_one_parameters_cell(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "commit notebooks without outputs"
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "exactly one papermill parameters cell"
    for line in params[0].source.splitlines():  # every parameter is a literal with a comment (after typing's import)
        if line.strip() and not line.startswith("from typing import "):
            assert "=" in line and "#" in line, f"parameter line without a comment: {line!r}"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "colab.research.google.com" in text and "What you will learn" in text
    assert text.count("{exercise}") >= 3 and text.count("{solution}") >= 3 and ":class: dropdown" in text


@pytest.mark.parametrize("profile", ["cpu", "gpu", "smoke"])
def test_profiles_name_real_parameters(profile):
    data = chapters.load_profile(profile)
    for stem, overrides in data.items():
        nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
        src = next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        names = {line.split("=")[0].split(":")[0].strip() for line in src.splitlines() if "=" in line}
        assert set(overrides or {}) <= names, f"{profile}.yml sets unknown parameters of {stem}"
        chapters.check_parameters(ROOT / "notebooks" / f"{stem}.ipynb", overrides or {}, f"{profile}.yml")  # and of their types


def test_papermill_prepares_every_chapter_with_the_smoke_profile(tmp_path):
    """The copies nbval runs: every chapter, the profile's parameters injected after the parameters cell, nothing run."""
    done = chapters.run("smoke", "all", tmp_path, root=ROOT, prepare_only=True)
    assert [p.name for p in done] == [nb.name for nb in NOTEBOOKS]
    smoke = chapters.load_profile("smoke")
    for path in done:
        nb = nbformat.read(path, as_version=4)
        tags = [c.metadata.get("tags", []) for c in nb.cells]
        i = next(i for i, t in enumerate(tags) if "injected-parameters" in t)
        assert "parameters" in tags[i - 1], "injected right after the parameters cell"
        injected = {}
        exec(nb.cells[i].source, {}, injected)
        assert injected == (smoke[path.stem] or {})
        assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), "prepared, not run"
    assert not list(tmp_path.glob(".*.running.ipynb"))


def test_a_failed_chapter_leaves_only_its_failed_notebook_behind(tmp_path):
    """A chapter that raises: no notebook under its final name, no hidden temporary file, and the run up to the error
    kept as NAME.failed.ipynb (removed by the next successful run)."""
    import papermill

    root, out = tmp_path / "project", tmp_path / "out"
    (root / "notebooks").mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("fail = True", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("if fail:\n    raise RuntimeError('this chapter fails')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "notebooks" / "99_fails.ipynb")
    with pytest.raises(papermill.PapermillExecutionError, match="this chapter fails"):
        chapters.run("smoke", "99", out, root=root)
    assert sorted(p.name for p in out.iterdir()) == ["99_fails.failed.ipynb"]
    nb.cells[0].source = "fail = False"
    nbformat.write(nb, root / "notebooks" / "99_fails.ipynb")
    assert chapters.run("smoke", "99", out, root=root) == [out / "99_fails.ipynb"]
    assert sorted(p.name for p in out.iterdir()) == ["99_fails.ipynb"]


def test_unknown_profile_and_chapter_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="known profiles"):
        chapters.run("tpu", root=ROOT, out=tmp_path)
    with pytest.raises(ValueError, match="no chapter matches"):
        chapters.run("smoke", "99", root=ROOT, out=tmp_path)
    with pytest.raises(ValueError, match=r"03_celeba_attributes has no parameter \['data_rot'\]"):
        chapters.run("smoke", "03", root=ROOT, out=tmp_path, prepare_only=True, parameters={"03_celeba_attributes": {"data_rot": "/x"}})
    assert not list(tmp_path.glob("*.ipynb")), "nothing is written for a misspelt parameter"
    # a value of the wrong type, from --set, papermill's parameters or a profile, is refused before any page runs
    for values, message in (({"n_test": "60"}, r"parameter n_test is declared int, got '60' \(str\)"),
                            ({"n_samples": 2.5}, r"parameter n_samples is declared Optional\[int\], got 2.5"),
                            ({"retrain": 1}, r"parameter retrain is declared bool, got 1"),
                            ({"t_range": "0 500"}, r"parameter t_range is declared Optional\[list\]")):
        with pytest.raises(ValueError, match=message):
            chapters.run("smoke", "03", root=ROOT, out=tmp_path, prepare_only=True, parameters={"03_celeba_attributes": values})
    assert not list(tmp_path.glob("*.ipynb"))
    chapters.check_parameters(ROOT / "notebooks" / "03_celeba_attributes.ipynb", {"n_samples": None, "confidence": 1, "t_range": [0, 500]}, "ok")


def test_a_running_chapter_refuses_a_parameter_of_another_type_than_its_cell_declares():
    """Papermill run directly injects values after the parameters cell; the profile cell that follows checks every
    annotated parameter's value against its annotation (the kernel keeps them in __annotations__) before any work."""
    from typing import Optional

    cell = {"__annotations__": {"n_test": int, "n_samples": Optional[int], "t_range": Optional[list], "retrain": bool, "confidence": Optional[float]},
            "n_test": 60, "n_samples": None, "t_range": [0, 500], "retrain": False, "confidence": 1}
    assert chapters.profile_parameters("", "03_celeba_attributes", cell) == {}
    for name, value, message in (("n_test", "60", r"parameter n_test is declared int, got '60' \(str\)"),
                                 ("n_samples", 2.5, r"parameter n_samples is declared Optional\[int\], got 2.5"),
                                 ("retrain", "true", "parameter retrain is declared bool"),
                                 ("t_range", "0 500", r"parameter t_range is declared Optional\[list\]")):
        with pytest.raises(ValueError, match=rf"03_celeba_attributes: {message}"):
            chapters.profile_parameters("", "03_celeba_attributes", {**cell, name: value})


def test_a_damaged_profile_file_is_refused_naming_it(tmp_path, monkeypatch):
    """A profile that is not YAML, that maps a page to something other than its parameters, or that names no page."""
    monkeypatch.setattr(chapters, "PROFILES", tmp_path)
    for text, message in (("03_celeba_attributes: [1, 2", "is not valid YAML"), ("03_celeba_attributes: 5\n", "must map chapter page names"),
                          ("03_celeba_atributes:\n  n_test: 5\n01_ebm_composition:\n", r"names no chapter page \['03_celeba_atributes'\]")):
        (tmp_path / "mine.yml").write_text(text)
        with pytest.raises(ValueError, match=message):
            chapters.run("mine", "03", root=ROOT, out=tmp_path / "out", prepare_only=True)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.ipynb"))


def test_set_puts_a_value_over_the_profiles_for_the_selected_chapters(tmp_path):
    chapters.main(["--profile", "smoke", "--chapter", "03", "--prepare-only", "--out", str(tmp_path), "--set", f"data_root={tmp_path / 'celeba'}",
                   "--set", "n_test=5", "--set", "retrain=true"])
    nb = nbformat.read(tmp_path / "03_celeba_attributes.ipynb", as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])).source
    assert f'data_root = "{tmp_path / "celeba"}"' in injected and "n_test = 5" in injected and "retrain = True" in injected
    assert f"n_cost = {chapters.load_profile('smoke')['03_celeba_attributes']['n_cost']}" in injected, "the profile's other values stay"
    # the chapter's second page takes the values it has parameters for (n_test), not the others (data_root, retrain)
    page2 = nbformat.read(tmp_path / "03b_celeba_worlds.ipynb", as_version=4)
    injected2 = next(c for c in page2.cells if "injected-parameters" in c.metadata.get("tags", [])).source
    assert "n_test = 5" in injected2 and "data_root" not in injected2 and "retrain" not in injected2
    with pytest.raises(SystemExit, match="no selected chapter page has a parameter 'data_rot'"):
        chapters.main(["--profile", "smoke", "--chapter", "03", "--prepare-only", "--out", str(tmp_path), "--set", "data_rot=/x"])
    with pytest.raises(SystemExit, match="NAME=VALUE"):
        chapters.main(["--profile", "smoke", "--chapter", "03", "--prepare-only", "--out", str(tmp_path), "--set", "n_test"])


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_lists_every_parameter_with_its_help(nb_path):
    """`papermill --help-notebook` reads every line of the parameters cell (a comment holding `=` or `""` hides one)."""
    import papermill as pm

    nb = nbformat.read(nb_path, as_version=4)
    src = next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    names = {line.split("=")[0].split(":")[0].strip() for line in src.splitlines() if "=" in line}
    found = pm.inspect_notebook(str(nb_path))
    assert set(found) == names and all(p["help"] for p in found.values())


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_badge_and_install_cell_name_the_repository_of_config_yml(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    want = chapters.links(nb_path.name, ROOT)
    assert want["badge"] in nb.cells[0].source, "the title cell's Colab badge opens this chapter in _config.yml's repository"
    install = next(c.source for c in nb.cells if c.cell_type == "code")
    assert f'"{want["install"]}"' in install and "google.colab" in install


def test_a_fork_rewrites_config_badges_and_install_cells(tmp_path):
    import shutil

    for name in ("_config.yml", "references.bib"):
        shutil.copy(ROOT / name, tmp_path / name)
    for folder in ("notebooks", "book"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns(".*"))
    chapters.set_repository("https://github.com/someone/igm-fork", "dev", root=tmp_path, release="v9.9")
    repo = chapters.repository(tmp_path)
    assert (repo["owner_repo"], repo["branch"], repo["release"]) == ("someone/igm-fork", "dev", "v9.9")
    for nb_path in chapters.chapters(tmp_path):
        nb = nbformat.read(nb_path, as_version=4)
        assert "github/someone/igm-fork/blob/v9.9/notebooks/colab/" + nb_path.name in nb.cells[0].source
        assert '"git+https://github.com/someone/igm-fork@v9.9"' in next(c.source for c in nb.cells if c.cell_type == "code")
        assert "igm-lite/igm-book" not in json.dumps(nb)


def test_the_install_is_pinned_to_one_release_named_once():
    """The release the badges open and the install cells install is named once, in _config.yml, and is this version's
    tag: a reader gets the notebook and the library of one release, whatever main is that day."""
    import igm_lite

    repo = chapters.repository(ROOT)
    assert repo["release"] == f"v{igm_lite.__version__}"
    assert chapters.links("x.ipynb", ROOT)["install"] == f"git+{repo['url']}@{repo['release']}"
    assert (ROOT / "_config.yml").read_text().count(repo["release"]) == 1


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_one_value_switches_a_chapter_to_a_profile(nb_path):
    """`profile = "gpu"` in the parameters cell: the cell after it applies the shipped profile's settings."""
    nb = nbformat.read(nb_path, as_version=4)
    i = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    assert 'profile: str = ""' in nb.cells[i].source
    assert f'globals().update(profile_parameters(profile, "{nb_path.stem}", globals()))' in nb.cells[i + 1].source
    assert chapters.profile_parameters("", nb_path.stem) == {}
    gpu = chapters.load_profile("gpu")[nb_path.stem]
    defaults = chapters.parameter_defaults(nb_path)
    assert chapters.profile_parameters("gpu", nb_path.stem, defaults, drive=Path("no-drive-here")) == gpu


def test_the_cpu_profile_holds_every_chapters_defaults():
    """cpu.yml is each chapter's parameters cell (``--write-cpu-profile`` writes it): what a profile compares against."""
    cpu = chapters.load_profile("cpu")
    assert set(cpu) == {nb.stem for nb in NOTEBOOKS}
    for nb in NOTEBOOKS:
        assert cpu[nb.stem] == {k: v for k, v in chapters.parameter_defaults(nb).items() if k != "profile"}, \
            f"cpu.yml is not {nb.stem}'s defaults: python -m igm_lite.chapters --write-cpu-profile"


def test_a_profile_keeps_what_the_reader_set_and_puts_models_on_drive(tmp_path, capsys):
    """A Colab reader who sets model_dir (or any parameter) and then profile = "gpu" keeps their value; a profile's
    own relative model_dir goes to Google Drive when Drive is mounted, and stays where it is when not."""
    stem = "03_celeba_attributes"
    nb = ROOT / "notebooks" / f"{stem}.ipynb"
    mine = {**chapters.parameter_defaults(nb), "model_dir": "my/models", "n_test": 7}
    params = chapters.profile_parameters("gpu", stem, mine, drive=tmp_path / "none")
    gpu = chapters.load_profile("gpu")[stem]
    assert "model_dir" not in params and "n_test" not in params and params["image_size"] == gpu["image_size"]
    assert "keeping your model_dir = 'my/models'" in capsys.readouterr().out
    drive = tmp_path / "MyDrive"
    drive.mkdir()
    params = chapters.profile_parameters("gpu", stem, chapters.parameter_defaults(nb), drive=drive)
    assert params["model_dir"] == str(drive / "igm_lite" / gpu["model_dir"])
    assert chapters.profile_parameters("gpu", stem, mine, drive=drive).get("model_dir") is None  # the reader's, kept


@pytest.mark.slow
def test_a_chapter_runs_alone_from_the_installed_wheel(tmp_path):
    """What a Colab reader has: the wheel installed where no clone is importable, one chapter in an empty folder,
    switched to the smoke profile by its one `profile` value."""
    import os
    import shutil
    import subprocess
    import sys

    import papermill as pm

    wheels, site, work = tmp_path / "wheels", tmp_path / "site", tmp_path / "work"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels)],
                   check=True, capture_output=True)
    wheel = next(wheels.glob("igm_lite-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)], check=True, capture_output=True)
    assert (site / "igm_lite" / "profiles" / "smoke.yml").is_file() and (site / "igm_lite" / "checkpoints").is_dir()
    work.mkdir()
    chapter = shutil.copy(NOTEBOOKS[0], work / NOTEBOOKS[0].name)
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run([sys.executable, "-c", "import igm_lite; print(igm_lite.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(site)), f"the chapter must import the installed wheel, not the clone: {where}"
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(site)  # the kernel papermill starts inherits it
    try:
        pm.execute_notebook(chapter, work / "out.ipynb", parameters={"profile": "smoke"}, cwd=str(work), progress_bar=False)
    finally:
        os.environ.pop("PYTHONPATH") if old is None else os.environ.__setitem__("PYTHONPATH", old)
    out = nbformat.read(work / "out.ipynb", as_version=4)
    outputs = json.dumps([c.get("outputs", []) for c in out.cells])
    smoke = chapters.load_profile("smoke")[NOTEBOOKS[0].stem]
    assert "network rows: cached" in outputs
    assert f"{smoke['n_gen']} points per scene, {smoke['sample_steps']} sampling steps" in outputs, "the profile's settings were used"
    assert sorted(p.name for p in work.iterdir()) == ["01_ebm_composition.ipynb", "out.ipynb"], "the chapter wrote nothing else"


# -- the student edition ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
@pytest.mark.parametrize("student", [False, True], ids=["colab", "student"])
def test_colab_editions_are_in_sync_and_plain_markdown(nb_path, student):
    """notebooks/colab/NAME (solutions folded) and notebooks/student/NAME (no solutions) are what
    `python -m igm_lite.chapters --student-editions` makes of the chapter now, and hold no MyST directive or role
    (Colab would show them as literal text): admonitions are block quotes, exercises headings, citations links."""
    import re

    committed = ROOT / "notebooks" / (chapters.STUDENT if student else chapters.COLAB) / nb_path.name
    assert committed.is_file(), "run python -m igm_lite.chapters --student-editions"
    made = nbformat.writes(chapters.colab_edition(nb_path, ROOT, student))
    assert committed.read_text() == made + "\n" or committed.read_text() == made, \
        "the Colab editions are out of date: python -m igm_lite.chapters --student-editions"
    edition, book = nbformat.read(committed, as_version=4), nbformat.read(nb_path, as_version=4)
    text = "\n".join(c.source for c in edition.cells if c.cell_type == "markdown")
    book_text = "\n".join(c.source for c in book.cells if c.cell_type == "markdown")
    assert not re.search(r"^`{3,4}\{[\w-]+\}|\{(cite|doc|ref|numref|eq|term)\}`|^:(class|label|name):", text, re.M), "MyST left in"
    assert len(re.findall(r"^#### Exercise \d+\.\d+: ", text, re.M)) == book_text.count("{exercise}"), "every exercise stays, as a numbered heading"
    assert text.count("<details>") == (0 if student else book_text.count("{solution}")), "solutions folded, or gone for students"
    if "{cite}" in book_text:
        assert "/book/references.html)" in text
    assert chapters.links(nb_path.name, ROOT)["student_badge"] in edition.cells[0].source
    assert chapters.links(nb_path.name, ROOT)["student_badge"] in book.cells[0].source, "the chapter links its student edition"
    assert "/notebooks/colab/" + nb_path.name in chapters.links(nb_path.name, ROOT)["badge"], "the book's badge opens the Colab edition"
    stubs = [c.source for c in edition.cells if c.cell_type == "code" and 'raise NotImplementedError("exercise' in c.source]
    assert stubs and all("exercises.check_" in s for s in stubs), "every coding stub is checked"


def test_plain_markdown_turns_each_myst_form_into_markdown():
    text = ("```{admonition} Result\n:class: tip\nIGM reads 1 of 2.\n```\n\nAs {cite}`wang2025igm,ho2020ddpm` and {doc}`../book/gpu` say.\n\n"
            "```{exercise} Try it\n:label: ex-a\n\nDo it.\n```\n\n````{solution} ex-a\n:class: dropdown\n\n```python\nx = 1\n```\n````\n")
    out = chapters.plain_markdown(text, ROOT)
    book = chapters.repository(ROOT)["book"]
    assert out.startswith("> **Result**\n>\n> IGM reads 1 of 2.")
    assert f"([Wang et al., 2025]({book}/book/references.html); [Ho et al., 2020]({book}/book/references.html))" in out
    assert f"[Running on a GPU]({book}/book/gpu.html)" in out or f"({book}/book/gpu.html)" in out
    assert "#### Exercise: Try it\n\nDo it." in out and "<details><summary><b>Solution</b></summary>\n\n```python\nx = 1\n```" in out
    assert "<details>" not in chapters.plain_markdown(text, ROOT, student=True)


def _exercises(nb_path):
    """(stub code, the reference solution's code, the checker call) of each checked exercise of a chapter."""
    import re

    nb = nbformat.read(nb_path, as_version=4)
    solutions = re.findall(r"````\{solution\}.*?```python\n(.*?)```", "\n".join(c.source for c in nb.cells if c.cell_type == "markdown"), re.S)
    found = []
    for cell in nb.cells:
        if cell.cell_type == "code" and 'raise NotImplementedError("exercise' in cell.source:
            name = re.search(r"^def (\w+)\(", cell.source, re.M).group(1)
            solution = next(s for s in solutions if re.search(rf"^def {name}\(", s, re.M))
            check = next(line for line in cell.source.splitlines() if line.startswith("exercises.check_"))
            found.append((cell.source.replace(check, ""), solution, check))
    return found


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_checker_rejects_the_stub_and_accepts_the_reference_solution(nb_path, capsys):
    import torch

    from igm_lite import exercises

    found = _exercises(nb_path)
    assert found, "at least one checked exercise per chapter"
    for stub, solution, check in found:
        for code, want in ((stub, False), (solution, True)):
            env = {"torch": torch, "exercises": exercises}
            exec(code, env)
            assert eval(check, env) is want, f"{check} on the {'stub' if want is False else 'solution'}"
    assert "Not attempted yet" in capsys.readouterr().out


def test_competence_is_checked_only_for_models_trained_in_full(tmp_path):
    from igm_lite.maker import make
    from igm_lite.recipes import RECIPES

    assert chapters.trained_in_full({name: name for name, r in RECIPES.items() if r.shipped})
    short = make("toy2d-joint-weighted", tmp_path / "short", 2, progress=False)
    assert not chapters.trained_in_full({"shipped": "toy2d-joint-sum", "short": str(short)})


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_edition_states_its_own_reading_time(nb_path):
    import re

    counts = {}
    for edition in (nb_path, nb_path.parent / chapters.COLAB / nb_path.name, nb_path.parent / chapters.STUDENT / nb_path.name):
        nb = nbformat.read(edition, as_version=4)
        stated = re.search(r"\*\*Reading time\*\*: about (\d+) minutes \(([\d,]+) words of text\)", nb.cells[0].source)
        assert stated, f"{edition}: no reading time"
        counts[edition.parent.name] = int(stated.group(2).replace(",", ""))
        assert counts[edition.parent.name] == chapters.word_count(nb)
        assert int(stated.group(1)) == max(5, 5 * round(chapters.word_count(nb) / chapters.WORDS_PER_MINUTE / 5))
    assert counts["student"] < counts["colab"], "the student edition has no solutions to read"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_book_runs_each_checker_on_the_reference_solution_and_the_editions_keep_the_stub(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    assert not chapters.with_solution_checks(nb), "out of date: python -m igm_lite.chapters --student-editions"
    checks = [c for c in nb.cells if chapters.SOLUTION_CHECK in c.metadata.get("tags", [])]
    stubs = [c for c in nb.cells if 'raise NotImplementedError("exercise' in c.source]
    assert len(checks) == len(stubs) >= 1 and all("remove-output" in c.metadata["tags"] for c in stubs)
    for stub, (_, solution, check) in zip(stubs, _exercises(nb_path)):
        follower = nb.cells[nb.cells.index(stub) + 1]
        assert chapters.SOLUTION_CHECK in follower.metadata["tags"] and solution in follower.source and check in follower.source
    for folder in (chapters.COLAB, chapters.STUDENT):
        edition = nbformat.read(nb_path.parent / folder / nb_path.name, as_version=4)
        assert not [c for c in edition.cells if chapters.SOLUTION_CHECK in c.metadata.get("tags", [])]


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_machinery_is_folded_under_setup_before_the_first_idea(nb_path):
    """Between the chapter's first cell and its first idea (the next ## heading) stand a "Setup" heading and code
    cells that the book folds: the Colab install removed, the parameters, profile and data cells folded whole (each
    with its own prompt), the imports' input folded with their printed versions kept; papermill still finds the
    parameters cell by its tag."""
    nb = nbformat.read(nb_path, as_version=4)
    assert not chapters.with_setup_folded(nb), "out of date: python -m igm_lite.chapters --student-editions"
    assert nb.cells[1].source.startswith("## Setup")
    first_idea = next(i for i, c in enumerate(nb.cells[2:], 2) if c.cell_type == "markdown" and c.source.startswith("## "))
    setup = [c for c in nb.cells[2:first_idea] if c.cell_type == "code"]
    folds = [next(t for t in c.metadata["tags"] if t in chapters.FOLDS) for c in setup]
    assert folds[0] == "remove-cell" and folds[-1] == "hide-input" and set(folds[1:-1]) == {"hide-cell"}
    assert "parameters" in setup[1].metadata["tags"] and setup[1].metadata["mystnb"]["code_prompt_show"] == "Show the chapter's parameters"
    assert all(c.metadata["mystnb"]["code_prompt_show"].startswith("Show ") for c in setup[1:])
    edited = nbformat.read(nb_path, as_version=4)
    edited.cells.insert(3, nbformat.v4.new_code_cell("x = 1"))
    with pytest.raises(ValueError, match="no fold"):
        chapters.with_setup_folded(edited)


def test_exercises_are_numbered_and_pointed_alike_in_the_book_the_editions_and_the_instructors_page():
    """Chapter N's exercises are N.1, N.2, ... in the order the chapter gives them (going on across its pages), each titled with its points and
    without sphinx-exercise's own (book-wide) number; book/instructors.md lists the same numbers, titles, labels and
    points in the same order, its points one per 5 minutes of the exercise's own time; both Colab editions head each
    exercise "Exercise N.k: title (P points)"."""
    import re

    book, listed, done = [], [], {}  # done: exercises of each chapter on its earlier pages (numbers go on across pages)
    for nb_path in NOTEBOOKS:
        nb = nbformat.read(nb_path, as_version=4)
        found = re.findall(r"^`{3,4}\{exercise\} (\d+)\.(\d+) (.+) \((\d+) points\)\n:label: (ex-[\w-]+)\n:nonumber:$",
                           "\n".join(c.source for c in nb.cells if c.cell_type == "markdown"), re.M)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert len(found) == text.count("{exercise}") and found, f"{nb_path.name}: an exercise without its number, points or :nonumber:"
        number = chapters.chapter_number(nb_path)
        assert [(int(n), int(k)) for n, k, *_ in found] == [(number, done.get(number, 0) + k) for k in range(1, len(found) + 1)]
        done[number] = done.get(number, 0) + len(found)
        book += [(f"{int(n)}.{k} {title}", label, int(points)) for n, k, title, points, label in found]
        for folder in (chapters.COLAB, chapters.STUDENT):
            edition = nbformat.read(nb_path.parent / folder / nb_path.name, as_version=4)
            heads = re.findall(r"^#### Exercise (\d+\.\d+): (.+)$", "\n".join(c.source for c in edition.cells if c.cell_type == "markdown"), re.M)
            assert [f"{n} {t}" for n, t in heads] == [f"{int(n)}.{k} {title} ({points} points)" for n, k, title, points, _ in found]
    for line in (ROOT / "book" / "instructors.md").read_text().splitlines():
        m = re.match(r"\| (\d+\.\d+ .+?) \| `(ex-[\w-]+)` \| .* \| (\d+) min[^|]* \| (\d+) \|$", line)
        if m:
            assert int(m[4]) == int(m[3]) // 5, f"{m[1]}: one point per 5 minutes"
            listed.append((m[1], m[2], int(m[4])))
    assert listed == book


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_student_edition_gives_every_exercise_its_answer_cells_and_links_no_solution(nb_path):
    """In the student edition each exercise is followed by its coding stub (checked exercises) or by its own answer
    cells, Markdown for the explanation and code for the measurement; it links no page of the instructor's book nor the
    instructor's Colab edition (they hold the solutions), and links its chapter in the student book."""
    import re

    edition = nbformat.read(nb_path.parent / chapters.STUDENT / nb_path.name, as_version=4)
    cells = edition.cells
    heads = [i for i, c in enumerate(cells) if c.cell_type == "markdown" and re.match(r"#### Exercise \d+\.\d+: ", c.source)]
    assert heads
    for i in heads:
        number = re.match(r"#### Exercise (\d+\.\d+): ", cells[i].source)[1]
        after = cells[i + 1]
        stub = after.cell_type == "code" and 'raise NotImplementedError("exercise' in after.source
        pair = (after.cell_type == "markdown" and after.source.startswith(f"**Your answer to {number}**")
                and cells[i + 2].cell_type == "code" and cells[i + 2].source.startswith(f"# {number}:"))
        assert stub or pair, f"exercise {number} has no answer cell"
    text = "\n".join(c.source for c in cells)
    book = chapters.repository(ROOT)["book"]
    assert f"{book}/notebooks/" not in text and f"{book}/book/" not in text and "/notebooks/colab/" not in text, "a link to the solutions"
    assert f"{book}/{chapters.STUDENT_BOOK}/notebooks/{nb_path.stem}.html" in text, "the chapter in the student book"


def test_start_chapter_seeds_switches_gradients_off_and_gives_the_device_and_schedule():
    import torch

    from igm_lite.chapters import start_chapter
    from igm_lite.schedule import PAPER_SCHEDULE

    grad = torch.is_grad_enabled()
    try:
        device, scheduler = start_chapter(3)
        first = torch.rand(2)
        start_chapter(3)
        assert torch.equal(first, torch.rand(2)) and not torch.is_grad_enabled()
        assert torch.device(device).type in ("cpu", "cuda", "mps")
        assert scheduler.config.num_train_timesteps == PAPER_SCHEDULE["num_train_timesteps"]
        assert scheduler.config.beta_end == PAPER_SCHEDULE["beta_end"]
    finally:
        torch.set_grad_enabled(grad)
