"""The book's text without building it: every {cite} key is in references.bib, every entry there is cited, and
every chapter cites its sources."""
import json
import re
from pathlib import Path

import pytest

from igm_lite.chapters import chapters as chapter_pages

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = chapter_pages(ROOT)
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")


def bib_keys() -> set[str]:
    return set(re.findall(r"@\w+\{([^,\s]+),", (ROOT / "references.bib").read_text()))


def markdown(path: Path) -> str:
    if path.suffix == ".ipynb":
        return "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "markdown")
    return path.read_text()


def cited(path: Path) -> set[str]:
    return {key.strip() for group in CITE.findall(markdown(path)) for key in group.split(",")}


def test_every_citation_has_an_entry_and_every_entry_is_cited():
    keys = bib_keys()
    used = set().union(*(cited(p) for p in [*CHAPTERS, *(ROOT / "book").glob("*.md")]))
    assert used - keys == set(), f"cited but not in references.bib: {sorted(used - keys)}"
    assert keys - used == set(), f"in references.bib but never cited: {sorted(keys - used)}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_cites_the_paper_or_its_sources(path):
    assert cited(path), f"{path.name} cites nothing ({{cite}}`key` with a key of references.bib)"


def test_the_bibliography_is_a_page_of_the_book():
    assert "```{bibliography}" in (ROOT / "book" / "references.md").read_text()
    assert "book/references" in (ROOT / "_toc.yml").read_text() and "references.bib" in (ROOT / "_config.yml").read_text()


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_opens_with_its_result_and_ends_with_a_summary(path):
    """A result box in the title cell (the chapter's finding against the paper's), a reading and a run time in its
    header, and a Summary of 3-5 takeaways right before the exercises."""
    cells = [("".join(c["source"]), c["cell_type"]) for c in json.loads(path.read_text())["cells"]]
    title = cells[0][0]
    box = re.search(r"```\{admonition\} Result\n:class: tip\n(.+?)\n```", title, re.S)
    assert box and "paper" in box.group(1), "the title cell holds a result box that sets the finding beside the paper's"
    assert "**Reading time**" in title and "**Run time**" in title
    heads = [i for i, (s, kind) in enumerate(cells) if kind == "markdown" and s.startswith("## ")]
    names = [cells[i][0].splitlines()[0] for i in heads]
    assert "## Summary" in names and "## Exercises" in names
    assert names.index("## Summary") == names.index("## Exercises") - 1, "the Summary comes right before the exercises"
    summary = cells[heads[names.index("## Summary")]][0]
    assert 3 <= sum(line.startswith("- ") for line in summary.splitlines()) <= 5, "a Summary of 3-5 takeaways"


@pytest.mark.parametrize("path", CHAPTERS + sorted((ROOT / "book").glob("*.md")), ids=lambda p: p.stem)
def test_the_text_speaks_to_the_reader(path):
    """No sentence about how the book was made."""
    text = markdown(path).lower()
    for phrase in ("the issue", "trial run", "earlier default", "feasibility run", "reference notes", "we had seen",
                   "was written", "measured yet", "an experiment on", "a trial", "earlier runs", "recorded time shared",
                   "not yet been timed", "not downloaded here", "predicted it", "were seen before", "this session"):
        assert phrase not in text, f"{path.name} says {phrase!r}"
