"""Run the book's chapters with a profile through papermill, and the helpers every chapter uses.

    python -m igm_lite.chapters --profile cpu|gpu|smoke [--chapter 01|all] [--out out/PROFILE] [--prepare-only]
    python -m igm_lite.chapters --student-editions      (notebooks/student/: the chapters without their solutions)

A profile is a YAML file ``igm_lite/profiles/PROFILE.yml`` (shipped with the package) mapping a chapter's file stem
to the parameters that override its ``parameters`` cell (the cell's own defaults are the CPU profile). In a
notebook, one value switches it: ``profile = "gpu"`` in the parameters cell (``profile_parameters``).
Executed notebooks are written to the output folder, one per chapter; the sources are not touched.
``--prepare-only`` writes the chapters with the profile's parameters injected, without running them (the test
command runs nbval over the smoke profile's copies).

The helpers import torch and the library inside themselves, so that the command line (which only drives papermill)
starts without loading torch.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import yaml

# -- what every chapter does ---------------------------------------------------------------------------------------


def start_chapter(seed: int):
    """What every chapter does first: seed torch, switch gradients off (``igm_lite.train`` and the gradient searches
    switch them on themselves), and return the device (the GPU when there is one; on Colab, Runtime > Change runtime
    type > GPU) and the paper's noise schedule (``igm_lite.schedule.PAPER_SCHEDULE``)."""
    import torch

    from .infer.base import default_device
    from .schedule import make_scheduler

    torch.manual_seed(seed)
    torch.set_grad_enabled(False)
    return default_device(), make_scheduler()


def chapter_settings(engine, model, **params):
    """The settings of an engine (an ``igm_lite.infer`` engine class) in a chapter: each parameter the reader set, else
    the model's recorded one (its ``inference.json``), else the engine's default (``Engine.settings_for``). A chapter
    leaves a setting to the model with None; a range is a list ``[LO, HI]``, an elimination schedule a list of
    ``[samples so far, kept]`` pairs (papermill and the profiles give lists)."""
    def given(name, value):
        if value is None:
            return None
        if isinstance(value, str) and name in ("t_range", "schedule"):
            raise ValueError(f"{name} is a Python value (a number, or a list such as [0, 500] or [[4, 2], [16, 1]]), "
                             f"not the string {value!r}")
        if name == "schedule":
            return [tuple(stage) for stage in value]
        return tuple(value) if name == "t_range" else value

    return engine.settings_for(model, **{name: given(name, value) for name, value in params.items()})


def models_for(names: dict, model_dir: str = "", retrain: bool = False, steps: int = 0, data: dict | None = None,
               autoencoder: str | None = None) -> dict:
    """The chapter's models, ``names`` = {key: recipe name}: the shipped checkpoints, or with ``model_dir`` the model
    folders there. ``retrain`` first runs each recipe into ``model_dir`` (``steps``: 0 for the recipe's own; ``data``:
    the recipe's data overrides, e.g. a dataset root; ``autoencoder``: latent recipes' autoencoder, e.g. a Stable
    Diffusion hub id or folder); training resumes from checkpoints kept beside the folders.
    Returns {key: name or folder}, for ``igm_lite.pretrained.load_model``."""
    from .maker import make
    from .recipes import RECIPES

    if retrain:
        if not model_dir:
            raise ValueError(f"retrain=True needs model_dir: the folder that receives the models {sorted(names.values())}")
        for name in names.values():
            latent = "autoencoder" in RECIPES[name].model
            make(name, Path(model_dir) / name, steps or None, progress=True, data=data or {},
                 autoencoder=autoencoder if latent else None)
    return {k: (str(Path(model_dir) / n) if model_dir else n) for k, n in names.items()}


def trained_in_full(models: dict) -> bool:
    """Whether every model of ``models`` ({key: shipped name or model folder}) was trained for at least its recipe's
    steps (its ``recipe.json``). A chapter checks a model's competence only then; a shortened training (a smoke run,
    ``train_steps`` below the recipe's) is checked for what holds at any size: the invariants of its engines."""
    from .pretrained import recipe_info

    for ref in models.values():
        info = recipe_info(ref)
        if info["train_config"]["steps"] < info["recipe"]["train"]["steps"]:
            return False
    return True


def markdown_table(header: list, rows: list, note: str = "") -> str:
    """A Markdown table: a header row, then one row per list of cells (formatted with str), then ``note``."""
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines) + (f"\n\n{note}" if note else "")


def recipe_table(models: dict) -> str:
    """The recipes behind ``models`` ({key: shipped name or model folder}) as a Markdown table: the command that
    made each, its parameters, steps x batch, training time and final loss (``recipe.json``)."""
    from .pretrained import load_model, recipe_info

    rows = []
    for key, ref in models.items():
        info, n_params = recipe_info(ref), sum(p.numel() for p in load_model(ref).parameters())
        tc = info["train_config"]
        size = f"{n_params / 1e6:.2f}M" if n_params >= 1e6 else f"{n_params / 1e3:.0f}K"
        rows.append([key, f"`{info['command']}`", size, f"{tc['steps']} x {tc['batch_size']}", f"{info['seconds'] / 60:.1f} min",
                     f"{info['final_loss_mean_last_200']:.4f}"])
    return markdown_table(["model", "recipe", "parameters", "steps x batch", "training time", "final loss"], rows)


# -- where the chapters come from: one repository address ------------------------------------------------------------

COLAB = "colab"  # notebooks/colab/: the instructor's Colab editions (plain Markdown, solutions folded)
STUDENT = "student"  # notebooks/student/: the student editions (plain Markdown, exercises without their solutions)
BADGE = ("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
         "({colab}/github/{owner_repo}/blob/{release}/notebooks/" + COLAB + "/{name})")
STUDENT_BADGE = ("[![Open the student edition in Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
                 "({colab}/github/{owner_repo}/blob/{release}/notebooks/" + STUDENT + "/{name})")
INSTALL = "git+{url}@{release}"  # the library of the same release as the notebook the badge opened


def repository(root: Path | None = None) -> dict:
    """The book's repository as ``_config.yml`` names it (the one place that holds it): url, branch, owner/repo, and
    ``release``: the tag (or commit) whose notebooks the Colab badges open and whose library their install cells
    install, so that a reader gets the same code whatever ``main`` is that day (default: the branch)."""
    cfg = yaml.safe_load(((root or find_root()) / "_config.yml").read_text())
    url, branch = cfg["repository"]["url"].rstrip("/"), cfg["repository"].get("branch", "main")
    release = str(cfg["repository"].get("release") or branch)
    if not url.startswith("https://github.com/"):
        raise ValueError(f"_config.yml's repository.url must be a https://github.com/OWNER/REPO address, got {url!r}")
    colab = cfg.get("launch_buttons", {}).get("colab_url", "https://colab.research.google.com").rstrip("/")
    owner, _, name = url.removeprefix("https://github.com/").partition("/")
    book = str(cfg["repository"].get("book_url") or f"https://{owner.lower()}.github.io/{name}").rstrip("/")  # GitHub Pages
    return {"url": url, "branch": branch, "release": release, "owner_repo": f"{owner}/{name}", "colab": colab, "book": book}


def links(name: str, root: Path | None = None) -> dict:
    """What chapter ``name`` (a file name) must carry: its Colab badge and the address its first cell installs from."""
    repo = repository(root)
    return {"badge": BADGE.format(name=name, **repo), "student_badge": STUDENT_BADGE.format(name=name, **repo),
            "install": INSTALL.format(**repo)}


def set_repository(url: str, branch: str = "main", root: Path | None = None, release: str | None = None) -> list[Path]:
    """Point the book at another repository (a fork) and release (a tag or commit; default: keep the current one):
    ``_config.yml`` and every chapter's badge and install cell. Returns the files rewritten."""
    import nbformat

    root = root or find_root()
    old = {nb.name: links(nb.name, root) for nb in chapters(root)}
    cfg_file = root / "_config.yml"
    text = re.sub(r"(?m)^(  url: ).*$", rf"\g<1>{url}", cfg_file.read_text(), count=1)
    text = re.sub(r"(?m)^(  branch: ).*$", rf"\g<1>{branch}", text, count=1)
    if release:
        text = re.sub(r"(?m)^(  release: )\S*", rf"\g<1>{release}", text, count=1)
    cfg_file.write_text(text)
    repository(root)  # the new address is one
    for nb_path in chapters(root):
        nb, new = nbformat.read(nb_path, as_version=4), links(nb_path.name, root)
        for cell in nb.cells:
            for key in ("badge", "student_badge"):
                cell.source = cell.source.replace(old[nb_path.name][key], new[key])
            cell.source = cell.source.replace(f'"{old[nb_path.name]["install"]}"', f'"{new["install"]}"')
        nbformat.write(nb, nb_path)
    return [cfg_file, *chapters(root), *write_student_editions(root)]


# -- the Colab editions: the chapter in plain Markdown, with its solutions folded (instructor) or removed (student) -------

# Colab renders plain Markdown: MyST directives and roles would show as literal text. A directive is fenced by three
# backticks, or four when it holds a fenced code block (a solution with code).
_DIRECTIVE = re.compile(r"^(`{3,4})\{([\w-]+)\}[ \t]*(.*?)\n(.*?)^\1[ \t]*(?:\n|\Z)", re.M | re.S)
_OPTION = re.compile(r"^:[\w-]+:.*\n?", re.M)
_ROLE = re.compile(r"\{(cite|doc)\}`([^`]*)`")
COLAB_NOTE = ("**Colab edition** of the chapter [in the book]({page}): plain Markdown, each solution folded under "
              "*Solution*. Student edition (the exercises without their solutions): {student_badge}")
STUDENT_NOTE = ("**Student edition** of the chapter: the exercises without their solutions, each with its answer cells; each "
                "checked exercise says whether your code is right. The chapter [in the student book]({page}) (no solutions "
                "either). {student_badge}")
STUDENT_BOOK = "student"  # the student book's folder in the published site: {book}/student/ (made by `make book`)


def _bibliography(root: Path) -> dict:
    """{key: "Author[ et al.], year"} from ``references.bib``."""
    out = {}
    for key, body in re.findall(r"@\w+\{([^,\s]+),(.*?)\n\}", (root / "references.bib").read_text(), re.S):
        authors = re.search(r"author\s*=\s*\{(.*?)\},?\s*\n", body, re.S).group(1).split(" and ")
        year = re.search(r"year\s*=\s*\{(\d+)\}", body).group(1)
        first = authors[0].split(",")[0].strip().strip("{}")
        out[key] = f"{first}{' et al.' if len(authors) > 2 else ' and ' + authors[1].split(',')[0].strip() if len(authors) == 2 else ''}, {year}"
    return out


def _page_title(root: Path, target: str) -> str:
    """The first heading of a book page (``book/NAME.md``), the text of a link to it."""
    page = root / "book" / f"{Path(target).name}.md"
    heading = re.search(r"^# (.+)$", page.read_text(), re.M) if page.is_file() else None
    return heading.group(1).strip() if heading else Path(target).name


def plain_markdown(text: str, root: Path, student: bool = False) -> str:
    """A chapter's MyST Markdown as Colab shows it: admonitions as block quotes with a bold title, exercises as
    headings, solutions folded in ``<details>`` (removed for students), ``{cite}`` as "(Author, year)" linked to the
    rendered book's References page, ``{doc}`` as a link to the rendered page (for students, the student book's)."""
    book = repository(root)["book"] + (f"/{STUDENT_BOOK}" if student else "")
    bib = _bibliography(root)

    def directive(m):
        name, arg, body = m.group(2), m.group(3).strip(), _OPTION.sub("", m.group(4)).strip("\n")
        if name == "solution":
            return "" if student else f"<details><summary><b>Solution</b></summary>\n\n{body}\n\n</details>\n"
        if name == "exercise":  # numbered ("3.2 Title (6 points)"): "Exercise 3.2: Title (6 points)"
            number = re.match(r"(\d+\.\d+) (.*)$", arg)
            return (f"#### Exercise {number[1]}: {number[2]}" if number else f"#### Exercise: {arg}") + f"\n\n{body}\n"
        title = arg or name.capitalize()  # admonition, note, tip, warning ...
        return "> **" + title + "**\n>\n" + "\n".join(f"> {line}".rstrip() for line in body.splitlines()) + "\n"

    def role(m):
        kind, arg = m.groups()
        if kind == "cite":
            return "(" + "; ".join(f"[{bib[k.strip()]}]({book}/book/references.html)" for k in arg.split(",")) + ")"
        label, _, target = arg.partition(" <")
        target = (target.rstrip(">") or label).removeprefix("../")
        return f"[{_page_title(root, target) if not _ else label}]({book}/{target}.html)"

    return re.sub(r"\n{3,}", "\n\n", _ROLE.sub(role, _DIRECTIVE.sub(directive, text))).strip("\n")


def colab_edition(nb_path: Path, root: Path | None = None, student: bool = False):
    """Chapter ``nb_path`` as Colab shows it (an ``nbformat`` notebook): its Markdown made plain (``plain_markdown``),
    outputs cleared, the chapter's badges replaced by a note that links the chapter in the rendered book and the
    student edition. ``student``: without the solutions (a cell left empty by that is dropped). The coding stubs stay
    as they are: they raise ``NotImplementedError`` until done, and their checkers say so."""
    import nbformat

    root = root or find_root()
    nb, link = nbformat.read(nb_path, as_version=4), links(Path(nb_path).name, root)
    badges = f"{link['badge']} {student_line(link)}"
    if badges not in nb.cells[0].source:
        raise ValueError(f"{nb_path}: the first cell must carry the chapter's badges: {badges!r}")
    page = f"{repository(root)['book']}{'/' + STUDENT_BOOK if student else ''}/notebooks/{Path(nb_path).stem}.html"
    note = (STUDENT_NOTE if student else COLAB_NOTE).format(page=page, **link)
    cells = []
    kept = [c for c in nb.cells if SOLUTION_CHECK not in c.metadata.get("tags", [])]  # the editions keep the reader's stub
    for i, cell in enumerate(kept):
        if cell.cell_type == "markdown":
            cell.source = plain_markdown(cell.source.replace(badges, note), root, student)
            if not cell.source.strip():
                continue
            if student:
                checked = i + 1 < len(kept) and 'raise NotImplementedError("exercise' in kept[i + 1].source
                cells += with_answer_cells(cell, checked)
                continue
        elif cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    nb.cells = cells
    with_reading_time(nb)  # its own: the student edition has fewer words to read
    return nb


_EXERCISE_HEAD = re.compile(r"^#### Exercise (\d+\.\d+): ", re.M)


def with_answer_cells(cell, checked: bool) -> list:
    """A student edition's Markdown cell, split before each exercise heading, with an answer cell pair (Markdown for the
    explanation, code for the measurement) after every exercise that has no coding stub of its own: ``checked`` says
    that the cell after this one is the stub of its last exercise. The new cells' ids are made from the exercise's
    number, so that writing the editions again changes nothing."""
    import nbformat

    starts = [m.start() for m in _EXERCISE_HEAD.finditer(cell.source)]
    if not starts:
        return [cell]
    bounds = [0, *starts, len(cell.source)] if starts[0] > 0 else [*starts, len(cell.source)]
    out = []
    for j, (a, b) in enumerate(zip(bounds, bounds[1:])):
        part = nbformat.v4.new_markdown_cell(cell.source[a:b].strip("\n"))
        part.id = cell.id if j == 0 else f"{cell.id}-{j}"
        out.append(part)
        number = _EXERCISE_HEAD.match(part.source)
        if number and not (checked and b == len(cell.source)):
            tag = number[1].replace(".", "-")
            answer = nbformat.v4.new_markdown_cell(f"**Your answer to {number[1]}** (what you measured and why; replace this line)")
            code = nbformat.v4.new_code_cell(f"# {number[1]}: your measurement or derivation's check\n")
            answer.id, code.id = f"answer-{tag}", f"answer-{tag}-code"
            out += [answer, code]
    return out


def student_edition(nb_path: Path, root: Path | None = None):
    """Chapter ``nb_path`` as its student edition: the Colab edition without the solutions."""
    return colab_edition(nb_path, root, student=True)


def student_line(link: dict) -> str:
    """What a chapter's first cell says beside its badge: where its student edition opens."""
    return f"Student edition (the exercises without their solutions): {link['student_badge']}"


READING = re.compile(r"\*\*Reading time\*\*: about [\d,]+ minutes \([\d,]+ words of text\)")
WORDS_PER_MINUTE = 200  # reading time: words / 200, rounded to 5 minutes


def word_count(nb) -> int:
    """The words of a notebook's Markdown, links' addresses, math and code blocks left out."""
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"\$\$.*?\$\$|\$[^$\n]*\$", " ", text, flags=re.S)
    text = re.sub(r"^(`{3,4})(?:python|bash|text)\n.*?^\1[ \t]*$", " ", text, flags=re.S | re.M)
    return len(re.findall(r"[A-Za-z][A-Za-z'-]*", text))


def with_reading_time(nb):
    """``nb`` with its "Reading time" line (first cell) stating its own word count; returns whether it changed."""
    words = word_count(nb)
    line = f"**Reading time**: about {max(5, 5 * round(words / WORDS_PER_MINUTE / 5))} minutes ({words:,} words of text)"
    before = nb.cells[0].source
    nb.cells[0].source = READING.sub(line, before)
    return nb.cells[0].source != before


SOLUTION_CHECK = "solution-check"  # the tag of the cell that runs an exercise's checker on its reference solution
_SOLUTION = re.compile(r"````\{solution\}.*?```python\n(.*?)```", re.S)


def with_solution_checks(nb) -> bool:
    """Give ``nb`` (a chapter) after each exercise's stub a cell that runs the exercise's checker on the reference
    solution (the ``{solution}`` block's code), tagged ``solution-check`` and ``hide-input``: the rendered book shows
    the checker passing it, and hides the stub's own "not attempted" output (``remove-output``). The Colab and student
    editions leave these cells out. Returns whether ``nb`` changed."""
    import nbformat

    before = [(c.cell_type, c.source, list(c.metadata.get("tags", []))) for c in nb.cells]
    solutions = _SOLUTION.findall("\n".join(c.source for c in nb.cells if c.cell_type == "markdown"))
    cells = []
    for cell in (c for c in nb.cells if SOLUTION_CHECK not in c.metadata.get("tags", [])):
        cells.append(cell)
        if cell.cell_type == "code" and 'raise NotImplementedError("exercise' in cell.source:
            name = re.search(r"^def (\w+)\(", cell.source, re.M).group(1)
            code = next(s for s in solutions if re.search(rf"^def {name}\(", s, re.M))
            check = next(line for line in cell.source.splitlines() if line.startswith("exercises.check_"))
            cell.metadata["tags"] = sorted(set(cell.metadata.get("tags", [])) | {"remove-output"})
            old = next((c for c in nb.cells if SOLUTION_CHECK in c.metadata.get("tags", []) and f"def {name}(" in c.source), None)
            new = nbformat.v4.new_code_cell(f"# The reference solution, checked (the student edition has only the stub above)\n{code}\n{check}",
                                            metadata={"tags": [SOLUTION_CHECK, "hide-input"]})
            if old is not None:
                new.id = old.id
            cells.append(new)
    nb.cells = cells
    return [(c.cell_type, c.source, list(c.metadata.get("tags", []))) for c in nb.cells] != before


# The machinery before a chapter's first idea, folded in the rendered book (MyST-NB tags): the reader opens the chapter
# on its title, result and opening text. Each setup cell is known by its first line (or its tag) and gets its fold and
# the prompt its fold shows; the Colab install does nothing outside Colab and is left out of the book.
SETUP_HEADING = ("## Setup\n\n"
                 "The chapter's parameters (change a value here, or pass it to papermill with `-p`), the profile switch, the "
                 "data and the imports. The book folds them; the chapter's ideas start at the next heading.")
SETUP_FOLDS = [("# Colab only", "remove-cell", None), ("parameters", "hide-cell", "Show the chapter's parameters"),
               ("# One value switches", "hide-cell", "Show the profile switch"),
               ("# The data", "hide-cell", "Show where the data comes from"),
               ("%matplotlib inline", "hide-input", "Show the imports and the chapter's setup")]
FOLDS = {"remove-cell", "hide-cell", "hide-input"}


def with_setup_folded(nb) -> bool:
    """Give ``nb`` (a chapter) a "Setup" heading after its first cell and fold every code cell between it and the
    first idea (the next ``##`` heading) as ``SETUP_FOLDS`` says. Returns whether ``nb`` changed; a setup cell that
    no rule knows is an error (a new kind of machinery needs its fold chosen)."""
    import nbformat

    before = [(c.cell_type, c.source, c.metadata.get("tags"), c.metadata.get("mystnb")) for c in nb.cells]
    if not (len(nb.cells) > 1 and nb.cells[1].cell_type == "markdown" and nb.cells[1].source.startswith("## Setup")):
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(SETUP_HEADING))
    nb.cells[1].source = SETUP_HEADING
    for cell in nb.cells[2:]:
        if cell.cell_type == "markdown" and cell.source.startswith("## "):
            break
        if cell.cell_type != "code":
            continue
        tags = [t for t in cell.metadata.get("tags", []) if t not in FOLDS]
        rule = next((r for r in SETUP_FOLDS if r[0] in tags or cell.source.startswith(r[0])), None)
        if rule is None:
            raise ValueError(f"a setup cell with no fold (chapters.SETUP_FOLDS): {cell.source.splitlines()[0]!r}")
        cell.metadata["tags"] = tags + [rule[1]]
        if rule[2]:
            cell.metadata["mystnb"] = {"code_prompt_show": rule[2]}
        else:
            cell.metadata.pop("mystnb", None)
    return [(c.cell_type, c.source, c.metadata.get("tags"), c.metadata.get("mystnb")) for c in nb.cells] != before


def write_student_editions(root: Path | None = None) -> list[Path]:
    """Write both Colab editions of every chapter, ``notebooks/colab/NAME`` (the instructor's, solutions folded) and
    ``notebooks/student/NAME`` (without solutions): ``python -m igm_lite.chapters --student-editions``. Each states its
    own reading time (the chapters' too, rewritten where their text changed)."""
    import nbformat

    root = root or find_root()
    written = []
    for nb_path in chapters(root):
        nb = nbformat.read(nb_path, as_version=4)
        if with_setup_folded(nb) | with_solution_checks(nb) | with_reading_time(nb):
            nbformat.validator.normalize(nb)
            nbformat.write(nb, nb_path)
            written.append(nb_path)
    for folder, student in ((COLAB, False), (STUDENT, True)):
        out = root / "notebooks" / folder
        out.mkdir(exist_ok=True)
        for nb_path in chapters(root):
            target, tmp = out / nb_path.name, out / f".{nb_path.name}.tmp"
            nbformat.write(colab_edition(nb_path, root, student), tmp)
            os.replace(tmp, target)
            written.append(target)
    return written


# -- running the chapters with a profile ----------------------------------------------------------------------------

PROFILES = Path(__file__).parent / "profiles"


def find_root(start: Path | None = None) -> Path:
    """The project root: the folder holding notebooks/ with the chapters (the current folder or one of its parents)."""
    here = (start or Path.cwd()).resolve()
    for p in (here, *here.parents):
        if chapters(p):
            return p
    raise FileNotFoundError("run from the project (a folder with notebooks/NN_*.ipynb in it or above it)")


def load_profile(profile: str) -> dict:
    """A profile shipped with the package: {chapter stem: {parameter: value}}."""
    path = PROFILES / f"{profile}.yml"
    if not path.is_file():
        known = sorted(p.stem for p in PROFILES.glob("*.yml"))
        raise FileNotFoundError(f"no profile {profile!r}: expected {path}; known profiles: {known}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{path} is not valid YAML ({e})") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) or v is None for v in data.values()):
        raise ValueError(f"{path} must map chapter page names (e.g. 03_celeba_attributes) to {{parameter: value}} overrides")
    return data


DRIVE = Path("/content/drive/MyDrive")  # where Colab mounts Google Drive (drive.mount("/content/drive"))


def profile_parameters(profile: str, chapter: str, current: dict | None = None, drive: Path = DRIVE) -> dict:
    """The parameters profile ``profile`` sets for ``chapter`` (a file stem); ``""`` (the chapter's own defaults): none.
    A chapter applies them right after its parameters cell, so that one value switches it (e.g. to ``"gpu"``).

    ``current`` (the chapter's ``globals()``): its parameters are checked against their declared types first
    (``check_current``); a parameter the reader changed from the chapter's default (the CPU
    profile, ``cpu.yml``) is kept, not replaced, and said so. A profile's relative ``model_dir`` goes to Google Drive
    when Drive is mounted (``drive``), so that models trained for hours survive a disconnect."""
    if current is not None:
        check_current(current, chapter)
    if not profile:
        return {}
    params = dict(load_profile(profile).get(chapter) or {})
    defaults = load_profile("cpu").get(chapter) or {}
    kept = sorted(k for k in params if current is not None and k in current and k in defaults and current[k] != defaults[k])
    for k in kept:
        print(f"profile {profile!r}: keeping your {k} = {current[k]!r} (the profile would set {params.pop(k)!r})")
    if "model_dir" in params and not Path(params["model_dir"]).is_absolute() and Path(drive).is_dir():
        params["model_dir"] = str(Path(drive) / "igm_lite" / params["model_dir"])
        print(f"profile {profile!r}: Google Drive is mounted, models go to {params['model_dir']}")
    return params


def _parameter_lines(nb_path: Path) -> list:
    """The annotated assignments of a chapter's ``parameters`` cell (its lines ``name: type = literal  # help``)."""
    import ast

    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    cell = next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)
    if cell is None:
        raise ValueError(f"{nb_path} has no cell tagged 'parameters'")
    return [node for node in ast.parse(cell.source).body if isinstance(node, ast.AnnAssign)]


def parameter_defaults(nb_path: Path) -> dict:
    """The defaults of a chapter's ``parameters`` cell, {name: value}."""
    import ast

    return {node.target.id: ast.literal_eval(node.value) for node in _parameter_lines(nb_path) if node.value is not None}


def parameter_types(nb_path: Path) -> dict:
    """The declared type of each parameter of a chapter's ``parameters`` cell, {name: annotation text} (``int``,
    ``float``, ``str``, ``bool``, ``list``, ``Optional[...]``)."""
    import ast

    return {node.target.id: ast.unparse(node.annotation) for node in _parameter_lines(nb_path)}


_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "list": (list, tuple)}


def check_parameters(nb_path: Path, values: dict, source: str) -> None:
    """Parameters for a chapter page, against its ``parameters`` cell: each name one of its parameters, each value of
    the declared type (an int where a float is declared; None where ``Optional``). ``ValueError`` naming ``source``
    (a profile file, ``--set``), the page, the parameter, the value given and what was expected."""
    declared = parameter_types(nb_path)
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise ValueError(f"{source}: {nb_path.stem} has no parameter {unknown}; its parameters: {sorted(declared)}")
    _check_types(values, declared, f"{source}: {nb_path.stem}'s")


def _check_types(values: dict, declared: dict, whose: str) -> None:
    """Each value of ``values`` of its declared type (``declared``: {name: annotation text}); ``ValueError`` otherwise."""
    for name, value in values.items():
        text = declared.get(name, "")
        optional = text.startswith("Optional[")
        kinds = _TYPES.get(text[len("Optional["):-1] if optional else text)
        if kinds is None or (value is None and optional):
            continue
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            raise ValueError(f"{whose} parameter {name} is declared {text}, got {value!r} ({type(value).__name__})")


def check_current(current: dict, chapter: str) -> None:
    """A running chapter's parameters (its ``globals()``: the values of its parameters cell, and any that papermill
    injected after it) against the types the cell declares (its annotations): a value of another type is refused
    before the chapter does any work, naming the parameter."""
    declared = {name: ann.__name__ if isinstance(ann, type) else str(ann).replace("typing.", "")
                for name, ann in (current.get("__annotations__") or {}).items()}
    _check_types({name: current[name] for name in declared if name in current}, declared, f"{chapter}:")


def write_cpu_profile(root: Path | None = None) -> Path:
    """Write ``igm_lite/profiles/cpu.yml``: every chapter's parameter defaults (what a profile leaves to the reader)."""
    root = root or find_root()
    data = {nb.stem: {k: v for k, v in parameter_defaults(nb).items() if k != "profile"} for nb in chapters(root)}
    path = PROFILES / "cpu.yml"
    text = "# The CPU profile: each chapter's own parameter defaults (python -m igm_lite.chapters --write-cpu-profile writes it).\n"
    path.write_text(text + yaml.safe_dump(data, sort_keys=False, width=120))
    return path


# A chapter's pages: NN_name.ipynb, then NNb_name.ipynb, NNc_... (further pages under the same chapter number)
PAGE_GLOBS = ("[0-9][0-9]_*.ipynb", "[0-9][0-9][a-z]_*.ipynb")


def chapters(root: Path) -> list[Path]:
    """Every chapter page in ``root/notebooks``, in the book's order (a chapter's first page, then its others)."""
    return sorted(p for pattern in PAGE_GLOBS for p in (root / "notebooks").glob(pattern))


def chapter_number(page: str | Path) -> int:
    """The chapter a page belongs to: ``03b_celeba_worlds`` -> 3."""
    return int(Path(page).name[:2])


def page_key(page: str | Path) -> str:
    """A page's short name: its stem up to the first underscore (``03``, ``03b``)."""
    return Path(page).stem.split("_")[0]


def run(profile: str, chapter: str = "all", out: str | os.PathLike | None = None, root: Path | None = None,
        kernel: str | None = None, prepare_only: bool = False, parameters: dict | None = None) -> list[Path]:
    """Execute the selected chapters with the profile's parameters and then ``parameters`` ({chapter stem: {name:
    value}}, over the profile's; e.g. a dataset folder), or with ``prepare_only`` only inject them; returns the
    written notebooks' paths."""
    import papermill as pm

    root = root or find_root()
    params = load_profile(profile)
    for stem, values in (parameters or {}).items():
        params[stem] = {**(params.get(stem) or {}), **values}
    todo = [nb for nb in chapters(root) if chapter == "all" or nb.stem.startswith(chapter) or nb.stem == chapter]
    if not todo:
        raise ValueError(f"no chapter matches {chapter!r}; chapters: {[nb.stem for nb in chapters(root)]}")
    stems = {nb.stem for nb in chapters(root)}
    strays = sorted(set(params) - stems)
    if strays and set(params) & stems:  # a profile of this book naming a page it lacks (a misspelt page)
        raise ValueError(f"profile {profile!r} names no chapter page {strays}; the pages: {sorted(stems)}")
    for nb in todo:  # every value checked against the page's parameters cell before any page runs
        check_parameters(nb, params.get(nb.stem) or {}, f"profile {profile!r} (and the values given)")
    out = Path(out or root / "out" / profile)
    out.mkdir(parents=True, exist_ok=True)
    done = []
    for nb in todo:
        target = out / nb.name
        tmp, failed = out / f".{nb.stem}.running.ipynb", out / f"{nb.stem}.failed.ipynb"
        try:
            pm.execute_notebook(str(nb), str(tmp), parameters=params.get(nb.stem, {}) or {}, cwd=str(nb.parent),
                                kernel_name=kernel, progress_bar=False, prepare_only=prepare_only)
        except BaseException:  # no executed notebook under the final name; the run up to its error, named as such
            if tmp.exists():
                os.replace(tmp, failed)
                print(f"{nb.stem}: failed; the notebook as executed up to the error: {failed}", file=sys.stderr)
            raise
        os.replace(tmp, target)
        failed.unlink(missing_ok=True)
        done.append(target)
        print(f"{nb.stem}: {'prepared' if prepare_only else 'ok'} -> {target}")
    return done


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m igm_lite.chapters", description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", default="cpu", help="a profile shipped in igm_lite/profiles/ (cpu, gpu, smoke)")
    p.add_argument("--chapter", default="all", help="'all', or a chapter's number or file stem (e.g. 01)")
    p.add_argument("--out", help="folder for the executed notebooks (default: out/PROFILE)")
    p.add_argument("--kernel", help="Jupyter kernel name (default: the notebook's)")
    p.add_argument("--prepare-only", action="store_true", help="inject the parameters without running the chapters")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a parameter over the profile's, for "
                   "the selected chapters (a YAML value; e.g. --set data_root=/content/celeba); repeat for more")
    p.add_argument("--set-repository", metavar="URL", help="point _config.yml, the Colab badges and the install cells at "
                   "another repository (a fork: https://github.com/OWNER/REPO) and exit")
    p.add_argument("--branch", default="main", help="with --set-repository: the repository's branch (the book's edit links)")
    p.add_argument("--release", help="with --set-repository: the tag or commit the badges open and the install cells install")
    p.add_argument("--student-editions", action="store_true", help="write notebooks/student/ (the chapters without their "
                   "solutions) and exit")
    p.add_argument("--write-cpu-profile", action="store_true", help="write igm_lite/profiles/cpu.yml (every chapter's parameter "
                   "defaults, which a profile replaces only where the reader left them) and exit")
    a = p.parse_args(argv)
    if a.write_cpu_profile:
        print(f"wrote {write_cpu_profile()}")
        return
    if a.student_editions:
        for path in write_student_editions():
            print(f"wrote {path}")
        return
    if a.set_repository:
        for path in set_repository(a.set_repository, a.branch, release=a.release):
            print(f"rewrote {path}")
        return
    try:
        values = {}
        for item in a.set:
            name, eq, value = item.partition("=")
            if not eq or not name.isidentifier():
                raise ValueError(f"--set takes NAME=VALUE (a chapter parameter and its value), got {item!r}")
            values[name] = yaml.safe_load(value) if value else ""
        todo = {nb.stem: set(parameter_defaults(nb)) for nb in chapters(find_root()) if a.chapter == "all" or nb.stem.startswith(a.chapter) or nb.stem == a.chapter}
        for name in values:  # each value goes to the selected pages that have the parameter; one that none has is refused
            if todo and not any(name in names for names in todo.values()):
                raise ValueError(f"no selected chapter page has a parameter {name!r}; their parameters: {sorted(set().union(*todo.values()))}")
            skipped = sorted(stem for stem, names in todo.items() if name not in names)
            if skipped:
                print(f"--set {name}: not a parameter of {', '.join(skipped)} (set for the other pages)")
        run(a.profile, a.chapter, a.out, kernel=a.kernel, prepare_only=a.prepare_only,
            parameters={stem: {k: v for k, v in values.items() if k in names} for stem, names in todo.items()})
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
