"""igm_lite.course: the otter-grader assignments made from the book's exercises."""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch

from igm_lite import exercises
from igm_lite.chapters import chapters, find_root
from igm_lite.course import HIDDEN_SEEDS, exercises_of, main, write_otter

ROOT = find_root()


def instructors_points() -> dict:
    """{number: points} from book/instructors.md's table."""
    rows = re.findall(r"^\| (\d+\.\d+) .*\| (\d+) \|$", (ROOT / "book" / "instructors.md").read_text(), re.M)
    return {number: int(points) for number, points in rows}


def questions(nb) -> list[dict]:
    """The question blocks of a master notebook: config, and the test cells' sources."""
    out = []
    for cell in nb.cells:
        if cell.cell_type == "raw" and cell.source.startswith("# BEGIN QUESTION"):
            import yaml

            out.append({**yaml.safe_load(cell.source.split("\n", 1)[1]), "tests": []})
        elif cell.cell_type == "code" and out and re.search(r"^def test_", cell.source, re.M):
            out[-1]["tests"].append(cell.source)
    return out


def test_every_exercise_is_a_question_numbered_and_pointed_as_in_the_book(tmp_path):
    """One master notebook per chapter; each exercise one question named by its number with the points the book and
    book/instructors.md give it; a checked exercise is autograded (a public test at seed 0, a hidden one per hidden
    seed), the others graded by hand."""
    paths = write_otter(tmp_path)
    assert [p.stem for p in paths] == [nb.stem for nb in chapters(ROOT)]
    points = instructors_points()
    for nb_path, path in zip(chapters(ROOT), paths):
        exs, qs = exercises_of(nb_path), questions(nbformat.read(path, as_version=4))
        assert [q["name"] for q in qs] == ["q" + e.number.replace(".", "_") for e in exs]
        assert [q["points"] for q in qs] == [e.points for e in exs] == [points[e.number] for e in exs]
        for ex, q in zip(exs, qs):
            if ex.stub is None:
                assert q.get("manual") is True and not q["tests"], ex.number
            else:
                seeds = [int(re.search(r"seed=(\d+)\)", t)[1]) for t in q["tests"]]
                assert seeds == [0, *HIDDEN_SEEDS], ex.number
                assert all(t.startswith("# HIDDEN") == (s != 0) for t, s in zip(q["tests"], seeds))
        assert (path.parent / "requirements.txt").read_text().startswith("igm_lite @ git+https://github.com/")
    with pytest.raises(ValueError, match="no chapter"):
        write_otter(tmp_path, chapter="99")
    main(["otter", str(tmp_path / "cli"), "--chapter", "01", "--seeds", "5", "6"])  # the command line, other hidden seeds
    (one,) = (tmp_path / "cli").glob("*/01_*.ipynb")
    tests = [t for q in questions(nbformat.read(one, as_version=4)) for t in q["tests"]]
    assert tests and {int(re.search(r"seed=(\d+)\)", t)[1]) for t in tests} == {0, 5, 6}


def test_each_reference_solution_passes_its_checker_at_every_hidden_seed():
    """What the autograder runs on a right answer: the book's solution passes the checker at the hidden seeds too."""
    checked = [e for nb in chapters(ROOT) for e in exercises_of(nb) if e.stub is not None]
    assert len(checked) == 9
    for ex in checked:
        env = {"torch": torch, "exercises": exercises}
        exec(ex.reference, env)
        check = getattr(exercises, re.search(r"exercises\.(check_\w+)\(", ex.checker)[1])
        fn = env[ex.function]
        for seed in (0, *HIDDEN_SEEDS):
            assert check(fn, seed=seed) is True, (ex.number, seed)


RIGHT = {
    "config_error": "def config_error(gram, config):\n    v = torch.zeros(gram.shape[0], dtype=gram.dtype)\n    v[0] = 1.0\n"
                    "    v[2 + config] = -1.0 / len(config)\n    return float(v @ gram @ v)",
    "eliminate": "def eliminate(errors, schedule):\n    alive = torch.arange(errors.shape[1])\n    for n, keep in schedule:\n"
                 "        alive = alive[errors[:n, alive].mean(0).argsort()[:keep]]\n    return int(alive[0])",
}
WRONG = {**RIGHT, "eliminate": "def eliminate(errors, schedule):\n    alive, done = torch.arange(errors.shape[1]), 0\n"
                                "    for n, keep in schedule:\n        alive = alive[errors[done:n, alive].mean(0).argsort()[:keep]]\n"
                                "        done = n\n    return int(alive[0])"}  # ranks each stage by its new samples alone


def submission(student: Path, answers: dict, out: Path) -> Path:
    """The student notebook with each stub replaced by an answer."""
    nb = nbformat.read(student, as_version=4)
    for cell in nb.cells:
        for name, code in answers.items():
            if cell.cell_type == "code" and cell.source.startswith(f"def {name}("):
                cell.source = code
    nbformat.write(nb, out)
    return out


@pytest.mark.skipif(shutil.which("otter") is None and not (Path(sys.executable).parent / "otter").exists(),
                    reason="otter-grader is the optional extra igm_lite[course]")
def test_otter_assigns_chapter_3_and_grades_a_right_submission_full_marks_and_a_wrong_one_less(tmp_path):
    """``otter assign`` makes the student notebook (stubs, public checks, no solution, no hidden seed) and the
    autograder; ``otter run`` gives the right answers 10 of 10 points and a wrong staged elimination 5 of 10."""
    otter = str(Path(sys.executable).parent / "otter") if (Path(sys.executable).parent / "otter").exists() else "otter"
    (master,) = write_otter(tmp_path / "master", chapter="03_celeba_attributes")  # chapter 3's first page (03: both)
    dist = tmp_path / "dist"
    subprocess.run([otter, "assign", str(master), str(dist)], check=True, capture_output=True, cwd=master.parent)
    student = dist / "student" / master.name
    text = student.read_text()
    assert 'raise NotImplementedError(\\"exercise' in text and 'grader.check(\\"q3_6\\")' in text
    for leak in ("BEGIN SOLUTION", "v[2 + config]", "argsort()[:keep]", "**Solution**", *(f"seed={s}" for s in HIDDEN_SEEDS)):
        assert leak not in text, leak
    (autograder,) = (dist / "autograder").glob("*.zip")
    scores = {}
    for name, answers in (("right", RIGHT), ("wrong", WRONG)):
        out = tmp_path / f"graded-{name}"
        out.mkdir()
        nb = submission(student, answers, tmp_path / f"{name}.ipynb")
        subprocess.run([otter, "run", "-a", str(autograder), "-o", str(out), str(nb)], check=True, capture_output=True)
        results = json.loads((out / "results.json").read_text())["tests"]
        scores[name] = {t["name"]: t["score"] for t in results if "score" in t and t["name"].startswith("q")}
    assert scores["right"] == {"q3_1": 5.0, "q3_6": 5.0}
    assert scores["wrong"] == {"q3_1": 5.0, "q3_6": 0.0}
