"""The paper's figures are written once (igm_lite.paper): the chapters' code reads them, never restates them."""
import json
import re
from pathlib import Path

from igm_lite.paper import PAPER, as_text, percentages

ROOT = Path(__file__).resolve().parents[1]


def test_figures_print_as_the_chapters_write_them():
    assert as_text(*PAPER["clevr"]["IGM"]["id"]) == "94.7% / 1.4e-4"
    assert as_text(*PAPER["clevr"]["ResNet"]["ood"]) == "2.9% / 2.0e-1"
    assert as_text(PAPER["celeba"]["IGM"]["ood"]) == "65.6%"
    assert {"87.3%", "70.4%", "73.2%", "80.8%", "79.6%", "62.2%", "72.8%", "68.0%", "52.9%"} <= percentages()
    assert all(0 < float(p[:-1]) < 100 for p in percentages())


def test_no_chapter_restates_a_paper_figure_in_its_code():
    """A chapter's code cells take the paper's figures from PAPER; its prose quotes them (the figures test checks
    the prose against PAPER)."""
    as_fraction = {f"{float(p[:-1]) / 100:.3f}".rstrip("0") for p in percentages()}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            code = "".join(cell["source"])
            written = set(re.findall(r"(?<![\d.])\d+\.\d%", code)) & percentages()
            fractions = set(re.findall(r"(?<![\d.])0\.\d{2,3}(?!\d)", code)) & as_fraction
            assert not written and not fractions, f"{path.name} restates the paper's {sorted(written | fractions)}: read igm_lite.paper.PAPER"
