"""The built book in a real browser: headless Chromium (Debian's package) driven by Playwright.

Builds the book with `jupyter-book build . -W` (executing the chapters, cached), then opens every page
and checks that it loads, that MathJax typeset the math, that every image loaded, and that no internal
link is broken. Skipped when no Chromium is installed (`apt-get install chromium`; `.ci/run` does it)."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.slow


def chromium_page(p):
    browser = p.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"])
    return browser, browser.new_page(viewport={"width": 1280, "height": 800})


def need_chromium():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("CI must test the book in a browser: install Debian's chromium (.ci/run does)")
        pytest.skip("no chromium on PATH (apt-get install chromium)")


@pytest.fixture(scope="module")
def built_book():
    jb = Path(sys.executable).with_name("jupyter-book")
    r = subprocess.run([str(jb), "build", str(ROOT), "-W", "--keep-going"], capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    return HTML


CHAPTER_PAGES = {"notebooks/01_ebm_composition.html": 6, "notebooks/02_clevr_objects.html": 5, "notebooks/03_celeba_attributes.html": 3,
                 "notebooks/03b_celeba_worlds.html": 2,
                 "notebooks/04_zero_shot.html": 4}  # page: figures at least


def test_the_student_book_has_every_chapter_and_figure_and_no_solution(built_book, tmp_path):
    """``make book``'s student book: the same chapters and figures (the instructor build's outputs, nothing executed
    again), no solution dropdown and no cell that checks a reference solution, in the HTML a student reads."""
    from igm_lite.course import write_student_book

    src = write_student_book(tmp_path / "student", ROOT / "_build" / "jupyter_execute" / "notebooks", ROOT)
    jb = Path(sys.executable).with_name("jupyter-book")
    r = subprocess.run([str(jb), "build", str(src), "-W", "--keep-going"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    assert "Executing" not in r.stdout, "the student book reuses the instructor build's outputs"
    for page in CHAPTER_PAGES:
        teacher, student = (built_book / page).read_text(), (src / "_build" / "html" / page).read_text()
        assert 'class="solution dropdown' in teacher and "tag_solution-check" in teacher
        assert 'class="solution' not in student and "solution-check" not in student, page
        figures = lambda html: len(re.findall(r'<img [^>]*(?:src="\.\./_images/|id="_anim_img)', html))  # noqa: E731  (not badges)
        assert figures(student) == figures(teacher) > 0, page
        assert "exercise" in student
        colab = re.findall(r'href="(https://colab\.research\.google\.com/[^"]+)"', student)
        assert colab and all("/notebooks/student/" in c for c in colab), "Colab opens the student edition only"


def test_book_builds_with_every_page(built_book):
    pages = sorted(p.relative_to(built_book).as_posix() for p in built_book.rglob("*.html"))
    for must in ["index.html", "book/intro.html", "book/running.html", "book/gpu.html", "book/notation.html", "book/instructors.html", "book/engineering.html", "book/references.html", *CHAPTER_PAGES]:
        assert must in pages
    for page, figures in CHAPTER_PAGES.items():
        chapter = (built_book / page).read_text()
        assert chapter.count("<img") >= figures, f"the figures of {page} are in the page"
        assert "exercise" in chapter and "solution" in chapter
        assert "_static/mathjax/tex-chtml.js" in chapter, "MathJax is served from the book itself"
    assert "network rows: cached" in (built_book / "notebooks/01_ebm_composition.html").read_text(), "chapter 1 ran its cost cell"
    intro = (built_book / "book/intro.html").read_text()
    assert "<img" in intro, "the introduction shows the method figure (a code cell of the page)"
    assert "wrap.css" in intro, "long code lines wrap"


def test_pages_in_headless_chromium(built_book):
    need_chromium()
    from playwright.sync_api import sync_playwright

    start = (built_book / "book" / "intro.html").as_uri()  # index.html only redirects here
    todo, seen, problems = [start], set(), []
    with sync_playwright() as p:
        browser, page = chromium_page(p)
        failed = []
        page.on("requestfailed", lambda req: failed.append(req.url) if req.url.startswith("file:") else None)
        while todo:
            url = todo.pop()
            if url in seen:
                continue
            seen.add(url)
            path = Path(urlparse(url).path)
            if not path.is_file():
                problems.append(f"broken internal link: {url}")
                continue
            page.goto(url, wait_until="load")
            page.wait_for_load_state("networkidle")
            has_math = page.evaluate("document.querySelectorAll('.math, div.math, span.math').length") > 0
            if has_math:
                page.wait_for_function("document.querySelectorAll('mjx-container').length > 0", timeout=20000)
                if page.evaluate("document.querySelectorAll('mjx-merror, .MathJax_Error').length"):
                    problems.append(f"MathJax error on {url}")
            # local images must load; remote ones (the Colab badge) cannot here, offline
            bad_imgs = page.evaluate("[...document.images].filter(i => i.src.startsWith('file:') && !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
            problems += [f"image not loaded on {url}: {s}" for s in bad_imgs]
            for href in page.evaluate("[...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))"):
                target = urljoin(url, href.split("#")[0])
                if target.endswith("/index.html"):
                    continue  # the redirect page
                if target.startswith("file:") and target.endswith(".html") and target.startswith(built_book.as_uri()):
                    todo.append(target)
                elif target.startswith("file:") and not href.startswith("#") and not Path(urlparse(target).path).exists():
                    problems.append(f"broken internal link on {url}: {href}")
        browser.close()
    problems += [f"failed to load: {u}" for u in failed]
    visited = {Path(urlparse(u).path).relative_to(built_book).as_posix() for u in seen}
    assert {"book/intro.html", "book/running.html", "book/gpu.html", "book/notation.html", *CHAPTER_PAGES} <= visited
    assert not problems, "\n".join(problems[:30])


def test_launch_buttons_open_the_colab_edition_of_the_release_and_binder(built_book):
    """Every Colab link of a chapter page (the badges; the theme's header has no Colab button) opens the Colab or the
    student edition at the release; the header's launch button opens the chapter on Binder."""
    from igm_lite.chapters import repository

    repo = repository(ROOT)
    for page in CHAPTER_PAGES:
        html = (built_book / page).read_text()
        colab = re.findall(r'href="(https://colab\.research\.google\.com/[^"]*)"', html)
        assert len(colab) >= 2, page
        edition = f"/github/{repo['owner_repo']}/blob/{repo['release']}/notebooks/"
        bad = [u for u in colab if not (edition + "colab/" in u or edition + "student/" in u)]
        assert not bad, f"{page}: Colab links that open another edition: {bad}"
        binder = [u.replace("&amp;", "&") for u in re.findall(r'href="(https://mybinder\.org/[^"]*)"', html)]
        assert binder and all(f"/v2/gh/{repo['owner_repo']}/" in u and page.replace(".html", ".ipynb") in u for u in binder), page


def test_each_chapter_opens_on_its_ideas_and_has_a_figure_that_moves(built_book):
    """At 1280 x 800 each chapter's first screen shows its title and result box and no code; before its first idea
    the machinery is folded (no code input shows); and its animation moves without a kernel: the slider set to the
    last frame changes the picture. At a phone's width no chapter or page is wider than the screen."""
    need_chromium()
    from playwright.sync_api import sync_playwright

    visible_code = """(limit) => [...document.querySelectorAll('.cell_input, div.highlight, pre')].filter(e => {
        const r = e.getBoundingClientRect();
        return e.checkVisibility() && r.height > 0 && r.top < limit;
    }).length"""
    with sync_playwright() as p:
        browser, page = chromium_page(p)
        for name in CHAPTER_PAGES:
            page.goto((built_book / name).as_uri(), wait_until="load")
            assert page.evaluate(visible_code, 800) == 0, f"{name}: code on the first screen"
            assert page.evaluate("document.querySelector('h1').getBoundingClientRect().top") < 800
            assert page.evaluate("document.querySelector('.admonition.tip').getBoundingClientRect().top") < 800, f"{name}: no result box on the first screen"
            first_idea = page.evaluate("""[...document.querySelectorAll('h2')].map(h => h.textContent)
                .findIndex(t => !t.startsWith('Setup') && !t.startsWith('Contents'))""")
            top = page.evaluate(f"[...document.querySelectorAll('h2')][{first_idea}].getBoundingClientRect().top")
            assert page.evaluate(visible_code, top) == 0, f"{name}: code shows before the first idea"
            assert page.evaluate("document.querySelectorAll('details.hide').length") >= 4, f"{name}: the setup cells are not folded"
            slider = page.locator("input.anim-slider").first
            assert slider.count() == 1, f"{name}: no animation"
            slider.scroll_into_view_if_needed()
            img = page.locator(".animation img").first
            before = img.get_attribute("src")
            assert before and before.startswith("data:image/png")
            slider.evaluate("s => { s.value = s.max; s.dispatchEvent(new Event('input')); }")
            after = img.get_attribute("src")
            assert after != before and page.evaluate("s => s.value", slider.element_handle()) == page.evaluate("s => s.max", slider.element_handle())
        page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing (a table, an equation, a long name) widens a page
        for name in [*CHAPTER_PAGES, *(p.relative_to(built_book).as_posix() for p in sorted((built_book / "book").glob("*.html")))]:
            page.goto((built_book / name).as_uri(), wait_until="load")
            if page.evaluate("document.querySelectorAll('.math').length"):
                page.wait_for_function("document.querySelectorAll('mjx-container').length > 0", timeout=20000)
            assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), f"{name} is wider than a phone's screen"
        browser.close()
