"""Run the book's chapters with a profile through papermill.

    python -m igm_lite.chapters --profile cpu|gpu|smoke [--chapter 01|all] [--out out/PROFILE] [--prepare-only]

A profile is a YAML file ``notebooks/profiles/PROFILE.yml`` mapping a chapter's file stem to the
parameters that override its ``parameters`` cell (the cell's own defaults are the CPU profile).
Executed notebooks are written to the output folder, one per chapter; the sources are not touched.
``--prepare-only`` writes the chapters with the profile's parameters injected, without running them (the test
command runs nbval over the smoke profile's copies).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml


def find_root(start: Path | None = None) -> Path:
    """The project root: the folder holding notebooks/ (the current folder or one of its parents)."""
    here = (start or Path.cwd()).resolve()
    for p in (here, *here.parents):
        if (p / "notebooks" / "profiles").is_dir():
            return p
    raise FileNotFoundError("run from the project (a folder with notebooks/profiles/ in it or above it)")


def load_profile(root: Path, profile: str) -> dict:
    path = root / "notebooks" / "profiles" / f"{profile}.yml"
    if not path.is_file():
        known = sorted(p.stem for p in (root / "notebooks" / "profiles").glob("*.yml"))
        raise FileNotFoundError(f"no profile {profile!r}: expected {path}; known profiles: {known}")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} must map chapter names to parameter overrides")
    return data


def chapters(root: Path) -> list[Path]:
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def run(profile: str, chapter: str = "all", out: str | os.PathLike | None = None, root: Path | None = None,
        kernel: str | None = None, prepare_only: bool = False) -> list[Path]:
    """Execute the selected chapters with the profile's parameters (``prepare_only``: only inject them); returns
    the written notebooks' paths."""
    import papermill as pm

    root = root or find_root()
    params = load_profile(root, profile)
    todo = [nb for nb in chapters(root) if chapter == "all" or nb.stem.startswith(chapter) or nb.stem == chapter]
    if not todo:
        raise ValueError(f"no chapter matches {chapter!r}; chapters: {[nb.stem for nb in chapters(root)]}")
    out = Path(out or root / "out" / profile)
    out.mkdir(parents=True, exist_ok=True)
    done = []
    for nb in todo:
        target = out / nb.name
        tmp = out / f".{nb.stem}.running.ipynb"
        pm.execute_notebook(str(nb), str(tmp), parameters=params.get(nb.stem, {}) or {}, cwd=str(nb.parent),
                            kernel_name=kernel, progress_bar=False, prepare_only=prepare_only)
        os.replace(tmp, target)  # a failed run leaves no executed notebook behind under the final name
        done.append(target)
        print(f"{nb.stem}: {'prepared' if prepare_only else 'ok'} -> {target}")
    return done


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m igm_lite.chapters", description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", default="cpu", help="a file stem in notebooks/profiles/ (cpu, gpu, smoke)")
    p.add_argument("--chapter", default="all", help="'all', or a chapter's number or file stem (e.g. 01)")
    p.add_argument("--out", help="folder for the executed notebooks (default: out/PROFILE)")
    p.add_argument("--kernel", help="Jupyter kernel name (default: the notebook's)")
    p.add_argument("--prepare-only", action="store_true", help="inject the parameters without running the chapters")
    a = p.parse_args(argv)
    try:
        run(a.profile, a.chapter, a.out, kernel=a.kernel, prepare_only=a.prepare_only)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
