"""Benchmarks: the figures that the chapters and the README quote, one JSON line per run
(``python -m igm_lite.bench BENCH ...``; ``igm_lite.bench.cli`` lists every benchmark and what it prints).
Each benchmark is a generator of result rows in its own module; ``results`` holds the runs whose figures a chapter
quotes and reads their files.
"""
from .clevr import clevr
from .cli import main, parse_schedule
from .faces import celeba, racing_samples_used, racing_table
from .gpucheck import gpu_check
from .layout import layout
from .results import find, load_results
from .toy2d import toy2d, toy2d_generation, toy2d_inference
from .worlds import noise_table, worlds, worlds_by_draw, worlds_summary, worlds_table
from .zeroshot import zeroshot

__all__ = ["celeba", "clevr", "find", "gpu_check", "layout", "load_results", "main", "parse_schedule", "toy2d", "toy2d_generation",
           "toy2d_inference", "racing_samples_used", "racing_table", "noise_table", "worlds", "worlds_by_draw", "worlds_summary", "worlds_table", "zeroshot"]
