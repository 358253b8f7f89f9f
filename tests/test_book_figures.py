"""Every figure the book prints has a source: a results file's row, a shipped model's recipe or settings, a world's
definition, or the paper; every interval is a row's or the paired difference of two rows on the same items."""
import functools
import json
import re
from pathlib import Path

import pytest

from igm_lite.bench import results
from igm_lite.metrics import paired_difference, unbits
from igm_lite.paper import percentages

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = {  # chapter: its results files
    "01_ebm_composition": ["toy2d"],
    "02_clevr_objects": ["clevr", "clevr-given", "clevr-validation"],
    "03_celeba_attributes": ["celeba", "celeba-shifts", "celeba-t", "celeba-worlds", "racing", "racing-validation"],
    "03b_celeba_worlds": ["celeba-worlds", "celeba-noise", "celeba"],  # it quotes a figure of the first page
    "04_zero_shot": ["zeroshot"],
}
PAPER = percentages()  # the paper's figures (igm_lite.paper): any page may quote them
PAGES = sorted((ROOT / "book").glob("*.md")) + [ROOT / "README.md"]  # they may quote any results file and any paper figure
PERCENT = re.compile(r"(?<![\d.])(\d+(?:\.\d)?)(?:%?(?:-|\u2013| to | -> )(\d+(?:\.\d)?))?%(?! interval)")
SECONDS = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)(?:(?:-|\u2013| to )(\d+(?:\.\d+)?))? (s|ms|minutes?)\b")


def numbers(value, keep=lambda key: True, key=None):
    """Every float inside a row (nested dicts, lists and tuples), those whose key passes ``keep``."""
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in numbers(v, keep, k)]
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in numbers(v, keep, key)]
    return [float(value)] if isinstance(value, (float, int)) and not isinstance(value, bool) and keep(key) else []


def as_percent(values, exact_only_whole=True):
    """The percentages the text may write for these fractions: X.X% always, X% only where it is exact."""
    out = set()
    for v in values:
        if 0 <= v <= 1:
            out.add(f"{100 * v:.1f}%")
            if not exact_only_whole or abs(100 * v - round(100 * v)) < 1e-6:
                out.add(f"{100 * v:.0f}%")
    return out


def settings_percent():
    """Fractions that are settings, not measurements: the shipped recipes' and inference settings, the face worlds'."""
    from igm_lite.data.faces import FACE_WORLDS

    values = numbers(FACE_WORLDS)
    for f in (ROOT / "igm_lite" / "checkpoints").glob("*/*.json"):
        values += numbers(json.loads(f.read_text()), keep=lambda key: key not in ("final_loss_mean_last_200", "seconds"))
    return as_percent(values, exact_only_whole=False)


def independence_predictions(rows):
    """Chapter 3's exercise "Do the differences add up?": a pair of differences predicted from its singles,
    accuracy(a) x accuracy(b) / accuracy(no difference), per reader and range of t."""
    by = {}
    for r in rows:
        s = r.get("settings", {})
        if r.get("bench") == "celeba" and r.get("split") == "ood" and s.get("shift") is not None and len(s["shift"]) <= 1:
            by.setdefault((r["method"], tuple(s["t_range"]), s["seed"], r["n"]), {})[tuple(s["shift"])] = r["accuracy"]
    out = set()
    for singles in by.values():
        base = singles.get(())
        for a in singles:
            for b in singles:
                if base and a and b and a < b:
                    out.add(f"{100 * singles[a] * singles[b] / base:.1f}%")
    return out


def texts(stem):
    """The markdown cells of a chapter, joined (result box, body, exercises and their solutions, Summary)."""
    nb = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def quoted_percents(text):
    """Every percentage of the text (both ends of a range), the interval level "95%" left out."""
    text = text.replace("\u2212", "-")
    return [(q, text[max(0, m.start() - 60): m.end()]) for m in PERCENT.finditer(text)
            for q in (m.group(1), m.group(2)) if q is not None
            if not (q == "95" and re.match(r"95% interval|\[95% interval", text[m.start() - (1 if text[m.start() - 1] == "[" else 0):m.end() + 9]))]


def unsourced(text, known):
    return sorted({f"{q}% ... {ctx!r}" for q, ctx in quoted_percents(text) if f"{q}%" not in known})


@pytest.mark.parametrize("stem", sorted(CHAPTERS))
def test_every_percentage_of_a_chapter_is_a_row_a_setting_or_the_papers(stem):
    """Whole chapters (result box, body, tables, exercises, solutions, Summary): every X.X% is a figure of the
    chapter's results files, a setting, a derived prediction the text defines, or the paper's; a whole X% is a figure
    that is exactly whole (a rounded one is written X.X%)."""
    names = CHAPTERS[stem]
    rows = [row for name in names for row in results.load_results(name)]
    known = as_percent(x for r in rows for x in numbers(r)) | PAPER | settings_percent() | independence_predictions(rows)
    text = texts(stem)
    assert quoted_percents(text), f"{stem} quotes no figure"
    assert unsourced(text, known) == [], f"{stem}: figures that no row, setting or paper figure gives"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_percentage_of_a_page_is_a_row_a_setting_or_the_papers(page):
    rows = [row for name in results.RUNS for row in results.load_results(name)]
    known = as_percent(x for r in rows for x in numbers(r)) | PAPER | settings_percent() | independence_predictions(rows)
    assert unsourced(page.read_text(), known) == [], f"{page.name}: figures that no row, setting or paper figure gives"


def test_every_time_the_book_prints_is_a_rows_or_a_recipes():
    """Seconds (a row's ``seconds_*``, at the decimals written) and minutes (a shipped recipe's ``seconds`` / 60),
    in every chapter and page; the chapters' reading and run times (estimates that say so) are left out."""
    rows = [row for name in results.RUNS for row in results.load_results(name)]
    secs = [x for r in rows for x in numbers(r, keep=lambda k: k is not None and k.startswith("seconds"))]
    recipes = [json.loads(f.read_text())["seconds"] / 60 for f in (ROOT / "igm_lite" / "checkpoints").glob("*/recipe.json")]
    pages = [(p.name, p.read_text()) for p in PAGES] + [(stem, texts(stem)) for stem in CHAPTERS]
    wrong = []
    for name, text in pages:
        text = re.sub(r"\*\*(Reading|Run) time\*\*[^\n]*(\n[^\n]+)*", "", text)  # the header's estimates
        for m in SECONDS.finditer(text):
            unit = m.group(3)
            for q in (m.group(1), m.group(2)):
                if q is None:
                    continue
                places = len(q.split(".")[1]) if "." in q else 0
                pool = recipes if unit.startswith("minute") else [1000 * s for s in secs] if unit == "ms" else secs
                if not any(f"{v:.{places}f}" == q for v in pool):
                    wrong.append(f"{name}: {q} {unit} ... {text[max(0, m.start() - 60): m.end()]!r}")
    assert wrong == []


def intervals(value):
    """Every 95% interval a row holds (accuracies' and paired differences'), in points."""
    if isinstance(value, dict):
        found = set()
        for k, v in value.items():
            if k.endswith("ci95") and isinstance(v, list) and len(v) == 2 and all(isinstance(x, float) for x in v):
                found.add(tuple(100 * b for b in v))
            elif isinstance(v, (dict, list)):
                found |= intervals(v)
        return found
    return set().union(set(), *(intervals(v) for v in value if isinstance(v, dict))) if isinstance(value, list) else set()


def same_items(a, b):
    """Two rows on the same test items: one command's, or the faces benches' rows with the same faces settings."""
    if a is b or a.get("split") != b.get("split"):
        return False
    sa, sb = a.get("settings", {}), b.get("settings", {})
    keys = ("seed", "data", "size", "world", "shift")
    return a["command"] == b["command"] or (a.get("n") == b.get("n") and "seed" in sa and all(sa.get(k) == sb.get(k) for k in keys))


@functools.lru_cache(maxsize=None)
@functools.lru_cache(maxsize=None)
def paired_interval(a: str, b: str) -> tuple:
    """The 95% interval of the paired difference of two per-item outcome strings, in points."""
    return tuple(100 * x for x in paired_difference(unbits(a), unbits(b))["ci95"])


def near(q, k, tol=0.0501):
    """The same interval, either way round, to the rounding of the text (rows hold 4-place bounds)."""
    return any(abs(q[0] - lo) <= tol and abs(q[1] - hi) <= tol for lo, hi in (k, (-k[1], -k[0])))


@functools.lru_cache(maxsize=None)
def normal_interval(a: str, b: str) -> tuple:
    """The normal approximation of the paired difference's 95% interval, in points: a quick filter before the bootstrap."""
    n = len(a)
    a_only = sum(x == "1" and y == "0" for x, y in zip(a, b))
    b_only = sum(x == "0" and y == "1" for x, y in zip(a, b))
    d = (a_only - b_only) / n
    se = max((a_only + b_only) / n - d * d, 0.0) ** 0.5 / n ** 0.5
    return 100 * (d - 1.96 * se), 100 * (d + 1.96 * se)


def candidate_pairs(rows):
    """Each pair of rows that ``same_items`` may accept, once: rows grouped by command and by faces settings first, so
    that only rows in a group are compared (the rows of every results file together are many)."""
    groups = {}
    for i, r in enumerate(rows):
        s = r.get("settings", {})
        groups.setdefault(("command", r.get("split"), r["command"]), []).append(i)
        if "seed" in s:
            groups.setdefault(("items", r.get("split"), r.get("n"), json.dumps([s.get(k) for k in ("seed", "data", "size", "world", "shift")])), []).append(i)
    seen = set()
    for members in groups.values():
        for x, i in enumerate(members):
            for j in members[x + 1:]:
                if (i, j) not in seen:
                    seen.add((i, j))
                    yield rows[i], rows[j]


def paired(rows, wanted):
    """Of the intervals ``wanted``, those that the paired difference of two rows on the same items gives, from their
    per-item outcomes: per image read right, per object found, per scene counted right."""
    out = set()
    for a, b in candidate_pairs(rows):  # near() matches either order: each pair once
        for key in ("correct", "found", "k_right"):
            if len(out) == len(wanted):
                return out
            if key in a and key in b and len(a[key]) == len(b[key]) and same_items(a, b):
                d = 100 * (a[key].count("1") - b[key].count("1")) / len(a[key])  # the difference lies inside its interval
                if not any(lo - 0.06 <= d <= hi + 0.06 or lo - 0.06 <= -d <= hi + 0.06 for lo, hi in wanted - out):
                    continue
                if len(a[key]) >= 100 and not any(near(q, normal_interval(a[key], b[key]), 1.0) for q in wanted - out):
                    continue  # many items: the bootstrap (slow) only where the normal approximation is within a point
                k = paired_interval(a[key], b[key])
                out |= {q for q in wanted if near(q, k)}
    return out


def unknown_intervals(text, rows):
    """The intervals "[lo, hi]" of the text (points or %, signed or not) that are neither a row's ``ci95`` nor the
    paired difference of two rows on the same items."""
    text = text.replace("\u2212", "-")
    quoted = {tuple(float(x) for x in m) for m in re.findall(r"\[([+-]?\d+(?:\.\d)?)%?, ([+-]?\d+(?:\.\d)?)%?\]", text)
              if "." in m[0] + m[1]}  # "[0, 1]" is a range of values, "[98.1, 100]" an interval
    held = set().union(set(), *(intervals(r) for r in rows))
    rest = {q for q in quoted if not any(near(q, k) for k in held)}
    return quoted, rest - paired(rows, rest)


@pytest.mark.parametrize("stem", sorted(CHAPTERS))
def test_every_interval_of_a_chapter_is_a_rows_or_a_paired_difference(stem):
    """Every "[lo, hi]" of a chapter is a row's ``ci95`` or the paired difference of two rows of the chapter's files
    on the same items; the chapter's main figures carry one."""
    names = CHAPTERS[stem]
    quoted, unknown = unknown_intervals(texts(stem), [row for name in names for row in results.load_results(name)])
    assert quoted, f"{stem} gives no interval"
    assert unknown == set(), f"{stem}: intervals that no row of {names} holds and no two rows give"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_interval_of_a_page_is_a_rows_or_a_paired_difference(page):
    _, unknown = unknown_intervals(page.read_text(), [row for name in results.RUNS for row in results.load_results(name)])
    assert unknown == set(), f"{page.name}: intervals that no row holds and no two rows give"


def test_the_introductions_table_quotes_the_results_files_and_the_paper():
    table = [line.split(" | ") for line in (ROOT / "book" / "intro.md").read_text().splitlines() if line.startswith("| {doc}")]
    from igm_lite.chapters import chapters

    assert len(table) == len(chapters(ROOT)), "the introduction's table has one row per chapter page"
    rows = [row for name in results.RUNS for row in results.load_results(name)]
    ours = set(re.findall(r"\d+\.\d%", " ".join(row[2] for row in table)))
    assert ours and ours - as_percent(x for r in rows for x in numbers(r)) == set()


def test_the_checks_catch_a_figure_with_no_source():
    """The checks are not vacuous: an invented figure, a rounded whole figure and an unknown time are caught."""
    rows = results.load_results("celeba")
    known = as_percent(x for r in rows for x in numbers(r))
    assert unsourced("IGM reads 88.5% here", known) == []
    assert unsourced("IGM reads 88.4% here", known) != []  # no row holds it
    assert "88.5%" in known and "89%" not in as_percent([0.885])  # a rounded whole figure is not a source
    assert [q for q, _ in quoted_percents("a 95% interval, [95% interval], 8.1-33.8% and 80% -> 93%")] == ["8.1", "33.8", "80", "93"]
    # an interval is a row's ci95 or a paired difference of two rows on the same faces, else it is reported
    naive, resnet = (results.find(rows, method=m, split="ood", model=mod) for m, mod in (("naive", "faces32-mean"), ("resnet", None)))
    lo, hi = paired_interval(resnet["correct"], naive["correct"])
    text = f"[{100 * naive['ci95'][0]:.1f}, {100 * naive['ci95'][1]:.1f}], [{lo:+.1f}, {hi:+.1f}] and [{-hi:+.1f}, {-lo:+.1f}]"
    assert unknown_intervals(text, rows)[1] == set()
    assert unknown_intervals("[+1.0, +2.0]", rows)[1] == {(1.0, 2.0)}


def test_every_chapter_page_names_its_results_files():
    from igm_lite.chapters import chapters

    assert set(CHAPTERS) == {p.stem for p in chapters(ROOT)}
