"""Each chapter's peak memory and run time at a profile (``python -m igm_lite.bench memory``): what a live session
(Binder gives 1-2 GB) must hold."""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time

# Runs one chapter through papermill in a fresh process and prints the largest resident set of the processes it
# waited for (the chapter's kernel is the largest): RUSAGE_CHILDREN keeps the maximum over every child so far, so each
# chapter is measured from a process of its own.
_MEASURE = """
import resource, subprocess, sys
r = subprocess.run([sys.executable, "-m", "igm_lite.chapters", "--profile", sys.argv[1], "--chapter", sys.argv[2],
                    "--out", sys.argv[3]], capture_output=True, text=True)
if r.returncode:
    sys.exit(r.stdout[-2000:] + r.stderr[-4000:])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def memory(chapters=("01", "02", "03", "04"), profile: str = "cpu"):
    """Yield per chapter page (``03`` the first page of chapter 3, ``03b`` its second: ``igm_lite.chapters.page_key``)
    its peak resident memory (MiB) and wall-clock seconds when run whole with ``profile`` (its executed notebook goes
    to a temporary folder). Unix only (``resource``)."""
    from ..chapters import chapters as chapter_files, find_root, page_key

    stems = {page_key(nb): nb.stem for nb in chapter_files(find_root())}
    unknown = [c for c in chapters if c not in stems]
    if unknown:
        raise ValueError(f"no chapter page {unknown}; the pages: {sorted(stems)}")
    for chapter in chapters:
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            r = subprocess.run([sys.executable, "-c", _MEASURE, profile, stems[chapter], out], capture_output=True, text=True)
            seconds = time.perf_counter() - start
        if r.returncode:
            raise RuntimeError(f"chapter {chapter} failed with profile {profile!r}:\n{r.stderr[-4000:]}")
        peak = int(r.stdout.split()[-1]) / (1024 * 1024 if sys.platform == "darwin" else 1024)  # bytes on macOS, KiB on Linux
        yield {"bench": "memory", "chapter": stems[chapter], "profile": profile, "peak_mib": round(peak, 1),
               "seconds": round(seconds, 1)}
