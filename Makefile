# Two commands on a fresh machine with Python 3.11 and pip (README):
#   make book   installs everything into .venv, executes every chapter (CPU profile) and builds the HTML
#   make test   installs everything into .venv and runs the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The CPU build of torch; set TORCH_SPEC= (empty) to keep a torch you installed yourself.
TORCH_SPEC ?= torch==2.13.0

.PHONY: install book test chapters lab clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@if [ -n "$(TORCH_SPEC)" ]; then $(PY) -m pip install -q "$(TORCH_SPEC)"; fi
	$(PY) -m pip install -q -e ".[book,test,course]"
	touch $@

install: $(VENV)/.installed

# The student book (the chapters without their solutions, with the instructor build's outputs) goes to _build/html/student/.
book: install
	$(VENV)/bin/jupyter-book build . -W --keep-going
	$(PY) -m igm_lite.course student-book _build/student-src
	$(VENV)/bin/jupyter-book build _build/student-src -W --keep-going
	rm -rf _build/html/student && cp -r _build/student-src/_build/html _build/html/student
	@echo "The book is at file://$(CURDIR)/_build/html/index.html, the student book at file://$(CURDIR)/_build/html/student/index.html"

# Each chapter runs twice at most: at its CPU defaults in the book build (tests/test_book.py, which checks the
# chapters' asserts and the rendered pages), and under nbval (out/smoke-nb/): chapter 1 at the smoke profile, chapters
# 2-4 on their real-data path (tiny CLEVR, CelebA, photo and Stable Diffusion folders in the real formats, written by
# tests/real_formats.py), with the models retrained for a step or two.
test: install
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || echo "note: no chromium: the browser test will be skipped (apt-get install chromium)"
	rm -rf out/smoke-nb
	$(PY) -m igm_lite.chapters --profile smoke --prepare-only --chapter 01 --out out/smoke-nb
	$(PY) tests/real_formats.py out/smoke-nb
	$(PY) -m pytest tests out/smoke-nb --nbval-lax -p no:cacheprovider --durations=15

# Run chapters through papermill with a profile: make chapters PROFILE=gpu CHAPTER=01
PROFILE ?= cpu
CHAPTER ?= all
chapters: install
	$(PY) -m igm_lite.chapters --profile $(PROFILE) --chapter $(CHAPTER) --out out/$(PROFILE)

lab: install
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf _build out .jupyter_cache
