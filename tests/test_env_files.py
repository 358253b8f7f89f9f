"""environment.yml (conda) and pyproject.toml (pip) must name the same dependencies."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def norm(req: str) -> str:
    return re.sub(r"\s+", "", req).lower().replace("_", "-")


def test_environment_yml_agrees_with_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_side = {norm(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        pip_side |= {norm(r) for r in extra}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_block = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    conda_side = {norm(r) for r in pip_block if not r.startswith("-e")}
    assert conda_side == pip_side, f"only in environment.yml: {conda_side - pip_side}; only in pyproject: {pip_side - conda_side}"


def test_card_packages_are_named():
    names = {re.split(r"[<>=!~\[]", norm(r))[0] for r in
             tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
             + sum(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"].values(), [])}
    for pkg in ["torch", "diffusers", "jupyterlab", "jupyter-book", "ipywidgets", "matplotlib", "nbval", "papermill"]:
        assert pkg in names, pkg
