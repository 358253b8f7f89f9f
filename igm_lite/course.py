"""Coursework from the book: the student book, and an otter-grader assignment per chapter.

    python -m igm_lite.course otter OUT [--chapter 03]   # OUT/NN_name/NN_name.ipynb, for `otter assign`
    python -m igm_lite.course student-book OUT           # the student book's sources (make book builds and publishes it)


Each chapter's exercises become one otter-grader (7.x) master notebook, ``OUT/NN_name/NN_name.ipynb``: a cell that
installs igm_lite and otter-grader in Colab, one that starts otter, then one question per exercise, numbered and
pointed as in the book. Students read the chapter in its student edition and submit this notebook.

- A **checked** exercise is an autograded question: the student's function in the stub's cell, a public test that runs
  the ``igm_lite.exercises`` checker at the seed the student edition shows (0), and hidden tests that run it at seeds
  the student never sees (``HIDDEN_SEEDS``). The question's points are shared out over its tests.
- An **experiment or derivation** is a manually graded question: the exercise, an answer cell (Markdown) and a code
  cell for the measurement; the solution and its rubric go to the autograder's solution notebook only.

``otter assign OUT/NN_name/NN_name.ipynb DIST`` then writes the student notebook (``DIST/student``), the autograder
(``DIST/autograder/autograder.zip``, for Gradescope or ``otter run``) and the solution notebook. otter-grader is an
optional extra (``pip install "igm_lite[course]"``); writing the master notebooks needs only nbformat.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

HIDDEN_SEEDS = (11, 23, 37)  # the checkers' seeds in the hidden tests (the student edition runs seed 0)
_STUB = 'raise NotImplementedError("exercise'


@dataclass
class Exercise:
    """One exercise of a chapter, as the master notebook needs it."""

    number: str  # "3.2"
    title: str  # "A cheaper elimination schedule"
    points: int
    body: str  # the exercise's text, plain Markdown
    solution: str  # its solution (and rubric), plain Markdown
    stub: str | None = None  # a checked exercise's code cell: the function to write and its checker's call

    @property
    def name(self) -> str:
        """The otter question's name: ``q3_2``."""
        return "q" + self.number.replace(".", "_")

    @property
    def checker(self) -> str | None:
        """The checker's call in the stub (``exercises.check_elimination(eliminate)``), or None (manually graded)."""
        if self.stub is None:
            return None
        return next(line for line in self.stub.splitlines() if line.startswith("exercises.check_"))

    @property
    def function(self) -> str | None:
        """The name of the function a checked exercise asks for (the stub's ``def``), or None."""
        return None if self.stub is None else re.search(r"^def (\w+)\(", self.stub, re.M)[1]

    @property
    def reference(self) -> str | None:
        """A checked exercise's reference solution: the solution's code block that defines ``function``, or None."""
        if self.stub is None:
            return None
        code = re.search(rf"```python\n(.*?^def {self.function}\(.*?)```", self.solution, re.S | re.M)
        if not code:
            raise ValueError(f"exercise {self.number}: its solution has no code block defining {self.function}()")
        return code[1].rstrip()


_HEAD = re.compile(r"^(\d+)\.(\d+) (.*) \((\d+) points?\)$")


def exercises_of(nb_path: Path, root: Path | None = None) -> list[Exercise]:
    """The exercises of a chapter (a MyST notebook of ``notebooks/``), in order, with their solutions and stubs."""
    import nbformat

    from .chapters import _DIRECTIVE, _OPTION, find_root, plain_markdown

    root = root or find_root()
    nb = nbformat.read(nb_path, as_version=4)
    out, labels = [], {}
    for cell in nb.cells:
        if cell.cell_type == "code" and _STUB in cell.source and out:
            out[-1].stub = cell.source.strip("\n")
            continue
        if cell.cell_type != "markdown":
            continue
        for m in _DIRECTIVE.finditer(cell.source):
            name, arg, body = m.group(2), m.group(3).strip(), m.group(4)
            label = re.search(r"^:label:\s*(\S+)", body, re.M)
            text = plain_markdown(_OPTION.sub("", body).strip("\n"), root)
            if name == "exercise":
                head = _HEAD.match(arg)
                if not head:
                    raise ValueError(f"{nb_path}: an exercise's title must read 'N.K Title (P points)', got {arg!r}")
                out.append(Exercise(f"{head[1]}.{head[2]}", head[3], int(head[4]), text, ""))
                if label:
                    labels[label[1]] = out[-1]
            elif name == "solution":
                if arg not in labels:
                    raise ValueError(f"{nb_path}: a solution for {arg!r}, which no exercise before it labels")
                labels[arg].solution = text
    missing = [e.number for e in out if not e.solution]
    if missing:
        raise ValueError(f"{nb_path}: exercises without a solution: {missing}")
    return out


def _raw(text: str):
    import nbformat

    return nbformat.v4.new_raw_cell(text)


def _config(name: str, chapter: str, requirements: str | None) -> str:
    config = {
        "name": name,
        "init_cell": False,  # the notebook starts otter itself, after the cell that installs it in Colab
        "check_all_cell": False,
        "export_cell": {"pdf": False, "instructions": f"Run this cell to make the zip file of your answers to chapter "
                        f"{chapter}'s exercises, then download it and submit it as your instructor says."},
        "run_tests": False,  # the solutions' checks run in the test suite (tests/test_course.py), not on every assign
        "solutions_pdf": False,
        "generate": {"pdf": False, "show_stdout": True, "show_hidden": True},
        "tests": {"files": False, "ok_format": False},
    }
    if requirements:
        config["requirements"] = requirements
    return "# ASSIGNMENT CONFIG\n" + yaml.safe_dump(config, sort_keys=False)


def _question(ex: Exercise, seeds) -> list:
    """One exercise as otter's question block: a checked one with the reference solution (the student notebook gets
    the stub instead), a public test at seed 0 and a hidden test per seed; the others manually graded, with an answer
    cell pair and the solution for the instructor."""
    import nbformat

    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    config = {"name": ex.name, "points": ex.points, **({"manual": True} if ex.stub is None else {})}
    cells = [_raw("# BEGIN QUESTION\n" + yaml.safe_dump(config, sort_keys=False)),
             md(f"#### Exercise {ex.number}: {ex.title} ({ex.points} points)\n\n{ex.body}")]
    if ex.stub is None:  # otter turns the solution's Markdown into the student's answer cell, and the code cell into theirs
        return cells + [
            _raw("# BEGIN SOLUTION"), md(f"**Solution** (the instructor's; not in the student notebook)\n\n{ex.solution}"),
            code(f"# {ex.number}: the code of your measurement or of your derivation's check (it runs when the notebook is graded)\n..."),
            _raw("# END SOLUTION"), _raw("# END QUESTION")]
    fn = ex.function
    stub = "\n".join(line for line in ex.stub.splitlines() if line != ex.checker).rstrip("\n")
    answer = (f"# BEGIN SOLUTION NO PROMPT\n{ex.reference}\n# END SOLUTION\n"
              f'""" # BEGIN PROMPT\n{stub}\n""" # END PROMPT')
    call = ex.checker.rstrip()[:-1]  # "exercises.check_x(fn": the seed goes in
    tests = [code(("# HIDDEN\n" if seed else "") + f"def test_{ex.name}_seed_{seed}({fn}, exercises):\n"
                  f"    assert {call}, seed={seed}) is True\n\n\ntest_{ex.name}_seed_{seed}({fn}, exercises)")
             for seed in (0, *seeds)]
    return cells + [_raw("# BEGIN SOLUTION"), code(answer), _raw("# END SOLUTION"),
                    _raw("# BEGIN TESTS"), *tests, _raw("# END TESTS"), _raw("# END QUESTION")]


def otter_master(nb_path: Path, root: Path | None = None, seeds=HIDDEN_SEEDS, requirements: str | None = None):
    """The otter-grader master notebook of a chapter (module docstring): what to submit, the install and otter's
    start, and one question per exercise."""
    import nbformat

    from .chapters import colab_edition, find_root

    root = root or find_root()
    edition = colab_edition(Path(nb_path), root, student=True)
    exercises = exercises_of(Path(nb_path), root)
    if not exercises:
        raise ValueError(f"{nb_path}: no exercises")
    chapter, total = exercises[0].number.split(".")[0], sum(e.points for e in exercises)
    title = re.match(r"# (?:\d+\. )?(.+)", edition.cells[0].source)[1]
    intro = nbformat.v4.new_markdown_cell(
        f"# Exercises of chapter {chapter}: {title} ({total} points)\n\n"
        "Read the chapter in its student edition first; this notebook holds its exercises, and it is what you submit. "
        "Checked exercises are graded by tests: the check under each runs the public test (the chapter's checker at "
        "seed 0), and the grader runs the checker again at other seeds. Experiments and derivations are graded by hand: "
        "write what you measured and why in the answer cell, and the code that measured it in the code cell under it. "
        "Run the whole notebook from the top before you export it.")
    spec = re.search(r'"(git\+[^"]+)"', next(c.source for c in edition.cells if c.source.startswith("# Colab only")))[1]
    install = nbformat.v4.new_code_cell(
        "# Colab only: install igm_lite and otter-grader (which checks and exports your answers) when they are missing.\n"
        "import importlib.util, subprocess, sys\n"
        f'missing = [spec for name, spec in (("igm_lite", "{spec}"), ("otter", "otter-grader>=7,<8"))\n'
        "           if importlib.util.find_spec(name) is None]\n"
        'if missing and "google.colab" in sys.modules:\n'
        '    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *missing], check=True)')
    start = nbformat.v4.new_code_cell(
        f'import otter\nimport torch\n\nfrom igm_lite import exercises\n\ngrader = otter.Notebook("{Path(nb_path).stem}.ipynb")')
    nb = nbformat.v4.new_notebook()
    nb.metadata = edition.metadata
    nb.cells = [_raw(_config(Path(nb_path).stem, chapter, requirements)), intro, install, start]
    for ex in exercises:
        nb.cells += _question(ex, seeds)
    return nb


def write_otter(out, root: Path | None = None, chapter: str = "all", seeds=HIDDEN_SEEDS) -> list[Path]:
    """Write each chapter's master notebook to ``out/NN_name/NN_name.ipynb`` with a ``requirements.txt`` that installs
    the library of the chapters' release (for the autograder); returns the notebooks' paths."""
    import nbformat

    from .chapters import INSTALL, chapters, find_root, repository

    root = root or find_root()
    repo = repository(root)
    paths = []
    for nb_path in chapters(root):
        if chapter != "all" and not nb_path.stem.startswith(chapter):
            continue
        folder = Path(out) / nb_path.stem
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "requirements.txt").write_text(f"igm_lite @ {INSTALL.format(**repo)}\n")
        nb = otter_master(nb_path, root, seeds, requirements="requirements.txt")
        path = folder / f"{nb_path.stem}.ipynb"
        tmp = path.with_suffix(".tmp")
        nbformat.write(nb, tmp)
        tmp.replace(path)
        paths.append(path)
    if not paths:
        raise ValueError(f"no chapter matches {chapter!r}")
    return paths


def _without_solutions(nb) -> None:
    """Drop a chapter's solutions in place: every ``{solution}`` directive of its Markdown and every cell that runs a
    checker on a reference solution (``solution-check``)."""
    from .chapters import _DIRECTIVE, SOLUTION_CHECK

    cells = []
    for cell in nb.cells:
        if SOLUTION_CHECK in cell.metadata.get("tags", []):
            continue
        if cell.cell_type == "markdown":
            cell.source = _DIRECTIVE.sub(lambda m: "" if m.group(2) == "solution" else m.group(0), cell.source).strip("\n")
            if not cell.source:
                continue
        cells.append(cell)
    nb.cells = cells


def _with_outputs(nb_path: Path, executed, cache: Path):
    """A chapter with the outputs of the instructor's build: its copy in ``executed``, or, where the build took the
    chapter from its cache (the copy then holds no outputs), the cache's outputs for the chapter's code; None when
    neither has them."""
    import nbformat

    copy = Path(executed) / nb_path.name
    if copy.is_file():
        nb = nbformat.read(copy, as_version=4)
        if any(cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"):
            return nb
    if cache.is_dir():
        from jupyter_cache import get_cache

        try:
            return get_cache(str(cache)).merge_match_into_notebook(nbformat.read(nb_path, as_version=4))[1]
        except KeyError:  # the cache holds no run of this code
            return None
    return None


def write_student_book(out, executed: Path | None = None, root: Path | None = None) -> Path:
    """The sources of the student book in ``out`` (build it with ``jupyter-book build OUT``; ``make book`` publishes it
    at ``{book}/student/``): the book's pages, and its chapters without their solutions (``_without_solutions``), with
    the outputs of the instructor's build where ``executed`` holds them (``_build/jupyter_execute/notebooks``: then the
    student build executes nothing), else executed by the build. Returns ``out``."""
    import shutil

    import nbformat

    from .chapters import chapters, find_root, links, student_line

    root = root or find_root()
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    for name in ("book", "_static"):
        shutil.copytree(root / name, tmp / name)
    for name in ("_toc.yml", "references.bib"):
        shutil.copy2(root / name, tmp / name)
    config = yaml.safe_load((root / "_config.yml").read_text())
    config["title"] = f"{config['title']} (student edition: no solutions)"
    config.setdefault("sphinx", {}).setdefault("config", {})["hide_solutions"] = True  # sphinx-exercise, a second guard
    done = {nb_path: _with_outputs(nb_path, executed, root / config["execute"].get("cache", ".jupyter_cache"))
            for nb_path in chapters(root)} if executed is not None else {}
    ran = bool(done) and all(nb is not None for nb in done.values())
    if ran:
        config["execute"]["execute_notebooks"] = "off"
    (tmp / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    (tmp / "notebooks").mkdir()
    for nb_path in chapters(root):
        nb = done[nb_path] if ran else nbformat.read(nb_path, as_version=4)
        _without_solutions(nb)
        link = links(nb_path.name, root)  # the Colab badge opens the student edition, not the instructor's
        nb.cells[0].source = nb.cells[0].source.replace(f"{link['badge']} {student_line(link)}", student_line(link))
        nbformat.write(nb, tmp / "notebooks" / nb_path.name)
    tmp.replace(out)
    return out


def main(argv=None):
    import argparse

    from .chapters import find_root

    p = argparse.ArgumentParser(prog="python -m igm_lite.course", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    o = sub.add_parser("otter", help="each chapter's exercises as an otter-grader master notebook (OUT/NN_name/NN_name.ipynb)")
    o.add_argument("out")
    o.add_argument("--chapter", default="all", help="'all', or a chapter's number or file stem (e.g. 03)")
    o.add_argument("--seeds", type=int, nargs="+", default=list(HIDDEN_SEEDS), help="the checkers' seeds in the hidden tests")
    b = sub.add_parser("student-book", help="the student book's sources: the chapters without their solutions")
    b.add_argument("out")
    b.add_argument("--executed", help="the instructor build's executed chapters (default: _build/jupyter_execute/notebooks "
                   "where it holds them; else the student build executes the chapters itself)")
    a = p.parse_args(argv)
    if a.what == "otter":
        for path in write_otter(a.out, chapter=a.chapter, seeds=tuple(a.seeds)):
            print(f"wrote {path}")
        return
    executed = Path(a.executed) if a.executed else find_root() / "_build" / "jupyter_execute" / "notebooks"
    print(f"wrote {write_student_book(a.out, executed if executed.is_dir() else None)}")


if __name__ == "__main__":
    main()
