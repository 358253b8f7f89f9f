"""environment.yml (conda) and pyproject.toml (pip) must name the same dependencies; the GitHub workflows run the README's commands."""
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


def test_github_workflows_run_the_readmes_commands():
    """The book publishes through GitHub Pages (a workflow that runs `make book` and deploys _build/html) and every
    push and pull request runs the CI script (.ci/run, which calls the README's test command, `make test`)."""
    flows = {p.stem: yaml.safe_load(p.read_text()) for p in (ROOT / ".github" / "workflows").glob("*.yml")}
    assert {"book", "ci"} <= set(flows)
    on = lambda flow: flow.get("on", flow.get(True))  # noqa: E731  (YAML 1.1 reads the key `on` as True)
    steps = lambda flow, job: flow["jobs"][job]["steps"]  # noqa: E731
    book = flows["book"]
    assert "main" in on(book)["push"]["branches"] and book["permissions"]["pages"] == "write"
    runs = [s.get("run", "") for s in steps(book, "build")]
    assert "make book" in runs
    upload = next(s for s in steps(book, "build") if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in steps(book, "deploy"))
    ci = flows["ci"]
    assert {"push", "pull_request"} <= set(on(ci))
    assert "bash .ci/run" in [s.get("run", "") for s in steps(ci, "test")]
    assert "make test" in (ROOT / ".ci" / "run").read_text() and "make test" in (ROOT / "README.md").read_text()
    assert "make book" in (ROOT / "README.md").read_text()


def test_binder_environment_holds_the_core_and_installs_the_package_after():
    """binder/environment.yml: pyproject's core dependencies with the CPU build of torch and what runs a chapter live,
    and no install of the package itself (the environment layer then caches between commits); binder/postBuild
    installs igm_lite without touching those dependencies."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "binder" / "environment.yml").read_text())
    pip_block = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    reqs = {norm(r) for r in pip_block if not r.startswith("-")}
    assert {norm(r) for r in project["dependencies"]} <= reqs
    book = {norm(r) for r in project["optional-dependencies"]["book"]}
    assert {r for r in book if r.startswith(("jupyterlab", "ipykernel", "papermill"))} <= reqs
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in pip_block, "the CPU build of torch"
    assert not any(r.startswith("-e") or r in (".", "igm-lite") for r in pip_block), "the package is postBuild's"
    post = (ROOT / "binder" / "postBuild").read_text()
    assert "pip install --no-deps ." in post and (ROOT / "binder" / "postBuild").stat().st_mode & 0o111


def test_launch_buttons_open_binder_and_leave_colab_to_the_badges():
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert cfg["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert "colab_url" not in cfg["launch_buttons"], "the theme's Colab button opens the MyST notebook on the branch"
