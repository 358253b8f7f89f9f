"""The library's structure: the import graph reads top-down, every default is written once (each engine's
configuration dataclass; the command line and the chapters' parameters agree with it), and the chapters use
the library, not the benchmarks' insides."""
import ast
import json
from pathlib import Path

import pytest

import igm_lite
from igm_lite.bench import cli
from igm_lite.chapters import chapters as chapter_pages
from igm_lite.infer import DescentConfig, DiscreteConfig, PositionConfig
from igm_lite.schedule import NoiseConfig

PKG = Path(igm_lite.__file__).parent
ROOT = PKG.parent


def relative_imports(path: Path) -> set[str]:
    rel = path.relative_to(PKG).parts
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(rel[:-1])[: len(rel) - node.level]
            out.add(".".join(base + ([node.module] if node.module else [])))
    return out


def test_the_benchmarks_are_the_top_floor_and_data_stands_alone():
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG).as_posix()
        imports = relative_imports(path)
        if not rel.startswith("bench/"):
            assert not any(m.split(".")[0] == "bench" for m in imports), f"{rel} imports the benchmarks"
        if rel.startswith("data/"):
            assert all(m.startswith("data") for m in imports), f"{rel} imports the model side: {imports}"


def test_the_import_graph_has_no_circles():
    """No two modules import each other, directly or around a circle, whether at the top or inside a function (a
    function-local import that closes a circle is still one); a package's own __init__ is not counted."""
    graph = {}
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG).with_suffix("").parts
        name = ".".join(rel[:-1] if rel[-1] == "__init__" else rel)
        targets = relative_imports(path)
        for node in ast.walk(ast.parse(path.read_text())):  # `from .data import clevr`: the module data.clevr
            if isinstance(node, ast.ImportFrom) and node.level:
                base = ".".join(list(path.relative_to(PKG).parts[:-1])[: len(path.relative_to(PKG).parts) - node.level]
                                + ([node.module] if node.module else []))
                targets |= {f"{base}.{a.name}".strip(".") for a in node.names
                            if (PKG / Path(*filter(None, base.split("."))) / f"{a.name}.py").is_file()}
        graph[name] = {t for t in targets if t and t != name and not name.startswith(t + ".")}

    def reaches(start, goal):
        seen, todo = set(), [start]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt == goal:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    circles = sorted({tuple(sorted((a, b))) for a in graph for b in graph[a] if b in graph and reaches(b, a)})
    assert circles == [], f"modules on an import circle: {circles}"


def parameters(stem: str) -> dict:
    nb = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())
    src = next("".join(c["source"]) for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    values = {}
    exec(src, {}, values)
    return values


def test_command_line_defaults_are_the_configurations():
    sub = {a.dest: a for a in cli.build_parser()._actions if a.dest == "bench"}["bench"].choices
    defaults = {name: {a.dest: a.default for a in p._actions} for name, p in sub.items()}
    clevr, faces, zs = defaults["clevr"], defaults["celeba"], defaults["zeroshot"]
    D, G = DiscreteConfig(), DescentConfig()
    assert (clevr["grid"], clevr["n_samples"], clevr["t_range"], clevr["refine"]) == (None,) * 4  # the model's recorded settings
    assert (clevr["inits"], clevr["steps"], tuple(clevr["k_range"])) == (G.inits, G.steps, G.k_range)
    assert (faces["n_samples"], faces["t_range"], faces["schedule"], faces["seed"]) == (None, None, None, D.noise.seed)  # the model's recorded settings
    assert (zs["n_samples"], zs["t_range"], zs["seed"], zs["confidence"]) == (None, None, D.noise.seed, None)  # the model's recorded settings


def test_chapters_2_and_4_read_the_engines_settings_instead_of_restating_them():
    """Chapter 2's engine settings and chapter 4's range of t are left to the model's recorded settings (None), which
    are the engines' defaults for the shipped models; Engine.settings_for resolves them, a value set wins."""
    from igm_lite.infer import PositionEngine, ZeroShot
    from igm_lite.pretrained import load_pretrained

    p2, p4 = parameters("02_clevr_objects"), parameters("04_zero_shot")
    assert (p2["grid"], p2["n_samples"], p2["t_range"], p2["refine_steps"]) == (None,) * 4 and p4["t_range"] is None
    clevr, digits = load_pretrained("clevr32"), load_pretrained("digits32")
    assert PositionEngine.settings_for(clevr) == PositionConfig()  # clevr32's recorded settings are the defaults
    assert PositionEngine.settings_for(clevr, grid=16, n_samples=None).grid == 16
    assert ZeroShot.settings_for(digits).noise.t_range == (100, 700)  # digits32's recorded range (its inference.json)
    # the chapters' parameters are Python values: None leaves a setting to the model, a range is a list [LO, HI]
    from igm_lite.chapters import chapter_settings

    assert chapter_settings(PositionEngine, clevr, grid=p2["grid"], n_samples=p2["n_samples"], t_range=p2["t_range"],
                            refine_steps=p2["refine_steps"]) == PositionConfig()
    assert chapter_settings(PositionEngine, clevr, grid=16, t_range=[0, 500], refine_steps=0) == PositionConfig(
        grid=16, noise=NoiseConfig(n_samples=3, t_range=(0, 500)), refine_steps=0)
    with pytest.raises(ValueError, match=r"t_range is a Python value .*not the string '0 500'"):
        chapter_settings(PositionEngine, clevr, t_range="0 500")


def test_chapter_3_reads_its_models_settings_instead_of_restating_them():
    """The face models carry their validated settings (inference.json); chapter 3's parameters leave them to the
    models (None) and stay for the reader who wants to change one; a schedule is a list of [samples so far, kept]."""
    from igm_lite.chapters import chapter_settings
    from igm_lite.infer.attributes import AttributeEngine
    from igm_lite.pretrained import load_pretrained

    p = parameters("03_celeba_attributes")
    assert (p["n_samples"], p["t_range"], p["schedule"], p["confidence"]) == (None,) * 4
    assert (p["latent_n_samples"], p["latent_t_range"], p["latent_schedule"]) == (None,) * 3
    model = load_pretrained("faces32-mean")
    assert chapter_settings(AttributeEngine, model, n_samples=p["n_samples"]) == AttributeEngine.settings_for(model)
    eliminate = chapter_settings(AttributeEngine, model, method="eliminate", n_samples=p["n_samples"], schedule=p["schedule"])
    assert eliminate.stages == [(4, 2), (7, 1)]  # faces32-mean's recorded schedule, read with the method that reads it
    assert chapter_settings(AttributeEngine, model, method="eliminate", n_samples=20, schedule=[[4, 2], [20, 1]]).stages == [(4, 2), (20, 1)]
    with pytest.raises(ValueError, match="chosen together"):  # a recorded schedule does not run on another number of samples
        chapter_settings(AttributeEngine, model, method="eliminate", n_samples=20)


def test_chapters_use_only_what_the_benchmarks_export():
    public = set(igm_lite.bench.__all__)
    for nb_path in chapter_pages(ROOT):
        code = "\n".join("".join(c["source"]) for c in json.loads(nb_path.read_text())["cells"] if c["cell_type"] == "code")
        tree = ast.parse("\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!"))))
        used = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "bench"}
        assert used <= public, f"{nb_path.name} uses bench.{sorted(used - public)}"
        assert not any(isinstance(n, ast.ImportFrom) and (n.module or "").startswith("igm_lite.bench.") for n in ast.walk(tree))


def test_engines_refuse_unknown_settings():
    from igm_lite import DiscreteEngine, make_scheduler
    from igm_lite.pretrained import load_pretrained

    with pytest.raises(TypeError, match="unknown setting"):
        DiscreteEngine(load_pretrained("toy2d-joint-sum"), make_scheduler(), samples=4)  # the number of samples is n_samples
    with pytest.raises(TypeError, match="noise must be an igm_lite.NoiseConfig"):
        DiscreteEngine(load_pretrained("toy2d-joint-sum"), make_scheduler(), noise=4)  # the command line's --noise is n_samples here
    with pytest.raises(TypeError, match="config must be a DiscreteConfig"):
        DiscreteEngine(load_pretrained("toy2d-joint-sum"), make_scheduler(), PositionConfig())


def test_an_engine_that_computes_neither_answer_is_refused_when_defined():
    """infer and infer_many each default to the other: an engine must define one, else it would recurse forever."""
    from igm_lite.infer.base import Engine
    from igm_lite.infer.discrete import DiscreteConfig, DiscreteEngine

    with pytest.raises(TypeError, match="must define infer .* or infer_many"):
        type("Neither", (Engine,), {"Config": DiscreteConfig})
    type("Batched", (Engine,), {"Config": DiscreteConfig, "infer_many": lambda self, x0: []})
    type("Inherits", (DiscreteEngine,), {})  # a subclass of an engine that computes one


def test_the_readmes_core_stops_name_functions_that_exist():
    """README's "Read the core": six stops, each a file of igm_lite and functions defined in it (a renamed function
    must be renamed there too)."""
    import importlib
    import re

    text = (ROOT / "README.md").read_text()
    section = text.split("## Read the core", 1)[1].split("\n## ", 1)[0]
    stops = re.findall(r"^\| \d\. [^|]+\| `([\w/]+)\.py`: ([^|]+)\|", section, re.M)
    assert len(stops) == 6
    for path, names in stops:
        module = importlib.import_module("igm_lite." + path.replace("/", "."))
        for name in re.findall(r"`([\w.]+)`", names):
            obj = module
            for part in name.split("."):
                obj = getattr(obj, part)  # AttributeError names what is missing
