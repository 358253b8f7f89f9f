"""The benchmark runs behind each chapter's quoted figures, kept in results files that ship with the package.

    python -m igm_lite.bench results celeba      # reruns chapter 3's runs (RUNS["celeba"]), rewrites its file
                                                 # (igm_lite.bench.cli.regenerate)

Each line of ``igm_lite/results/NAME.jsonl`` is one row that a run of ``RUNS[NAME]`` printed (its figures and
``settings``), with ``command``: the ``python -m igm_lite.bench`` command line that printed it, and ``threads``: the
CPU threads it ran on (its seconds depend on them and on the machine; its other figures do not). A chapter's results table reads its
figures from there (``load_results``, ``find``), and a test checks that every figure its text quotes is in the file.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..io import CHECKPOINTS, read_inference

RESULTS = Path(__file__).resolve().parents[1] / "results"

# The shipped face models (and the world each was trained on), with the number of samples each was validated with
_FACE_MODELS = (("faces32-mean", ""), ("faces32-latent", ""), ("faces32-latent-a", ""),
                ("faces32-latent-celeba-like", " --world celeba-like"))
_RECORDED = {m: read_inference(CHECKPOINTS / m)["settings"]["discrete"] for m, _ in _FACE_MODELS}
_RECORDED_SAMPLES = {m: s["n_samples"] for m, s in _RECORDED.items()}


def _recorded(model: str, methods: str = "eliminate") -> str:
    """A shipped model's recorded number of samples and, where ``methods`` eliminate, the elimination schedule chosen on
    them, spelt as the command line spells them (``--noise 16 --schedule 4:2,7:1``): the runs that quote them name
    them, read from the model folder, not written again."""
    if "eliminate" not in methods.split():
        return f"--noise {_RECORDED[model]['n_samples']}"
    s = _RECORDED[model]["eliminate"]
    return f"--noise {s['n_samples']} --schedule " + ",".join(f"{n}:{k}" for n, k in s["schedule"])


# The runs whose figures a chapter quotes (each a command line of ``python -m igm_lite.bench``), in the order they run.
_FACES = "celeba --n 200 --seed 0"
RUNS = {
    "toy2d": ["toy2d"],
    "clevr": [f"clevr --split {split} --n 100 --seed 0 --method igm resnet slot" for split in ("id", "ood", "shapes")],
    "clevr-given": [  # K given: the official algorithm (one start, 2,000 steps), several starts, and the grid engine
        f"clevr --split {split} --n 10 --seed 0 --k given --method reference igm" for split in ("id", "ood")
    ] + [f"clevr --split id --n 10 --seed 0 --k given --method multistart --inits {inits} --steps {steps}"
         for inits, steps in ((1, 300), (8, 300), (8, 2000))],
    "clevr-validation": [  # the grid engine's settings on validation scenes (seed 1): its defaults, then one setting changed
        f"clevr --split {split} --n 32 --seed 1 --method igm{extra}"
        for extra in ("", " --noise 2", " --noise 4", " --grid 10", " --grid 14", " --refine 0", " --t-range 0 1000")
        for split in ("id", "ood", "shapes")
    ],
    "celeba": [
        f"{_FACES} --split {split} {_recorded('faces32-mean')} --method naive cached eliminate resnet" for split in ("id", "ood")
    ] + [
        f"{_FACES} --split {split} --model {model} {_recorded(model, methods)} --method {methods}"
        for split in ("id", "ood") for model, methods in (("faces32-latent", "naive cached eliminate"), ("faces32-latent-a", "cached"))
    ] + [f"{_FACES} --split {split} --noise 16 --schedule 2:2,8:1 --method eliminate" for split in ("id", "ood")],  # a schedule of the same cost
    "celeba-shifts": [  # the pixel model on group-B faces with some of group B's differences, over two ranges of t
        f"{_FACES} --split ood --noise 16 --shift {' '.join(shift)} --method {methods}".replace("  ", " ")
        for shift in ((), ("hair",), ("jaw",), ("beard",), ("tones",), ("hair", "beard"), ("hair", "jaw", "beard"))
        for methods in ("cached resnet", "cached --t-range 250 1000")
    ] + [f"{_FACES} --split {split} --noise 16 --t-range 250 1000 --method cached" for split in ("id", "ood")] + [
        f"{_FACES} --split ood --noise 16 --shift {a} {b} --method cached resnet"  # pairs of differences (exercise ex-shift)
        for a, b in (("hair", "jaw"), ("hair", "tones"), ("jaw", "beard"), ("jaw", "tones"), ("beard", "tones"))
    ],
    "celeba-settings": [  # the settings each face model carries: the runs that chose them, then test rows of others
        f"celeba --n 200 --seed 1 --split {split} --noise 16 --method cached" for split in ("id", "ood")
    ] + [  # the pixel model's elimination schedules of 36-40 rows, on validation faces (seed 1)
        f"celeba --n 200 --seed 1 --split {split} --noise 16 --schedule {s} --method eliminate"
        for split in ("id", "ood") for s in ("4:2,7:1", "2:2,8:1", "3:2,8:1", "5:2,7:1", "4:2,8:1")
    ] + [  # the latent models' range of t and schedule, on group-A validation faces
        f"celeba --n 200 --seed 1 --split id --model {model} --noise 32 --t-range {lo} {hi} --method cached"
        for model in ("faces32-latent", "faces32-latent-a") for lo, hi in ((0, 1000), (0, 500), (250, 1000), (500, 1000))
    ] + [
        f"celeba --n 200 --seed 1 --split id --model faces32-latent --noise 32 --schedule {s} --method eliminate"
        for s in ("8:2,12:1", "6:2,12:1", "10:1", "4:2,10:1", "8:1")
    ] + [  # the pixel model on the test faces from t = 250: 32 samples, and both schedules against cached
        f"celeba --n 200 --seed 0 --split {split} --noise 32 --t-range 250 1000 --method cached" for split in ("id", "ood")
    ] + [
        f"celeba --n 200 --seed 0 --split {split} --noise 16 --t-range 250 1000 --schedule {s} --method cached eliminate"
        for split in ("id", "ood") for s in ("4:2,7:1", "2:2,8:1")
    ],
    "celeba-t": [  # which noise levels: IGM's pixel model on validation faces (seed 1) over ranges of t
        f"celeba --n 100 --seed 1 --split {split} --noise 32 --t-range {lo} {hi} --method cached"
        for split in ("id", "ood")
        for lo, hi in ((0, 100), (0, 250), (0, 500), (0, 1000), (200, 1000), (250, 1000), (300, 1000), (350, 1000), (400, 1000), (500, 1000))
    ],
    "celeba-worlds": [  # chapter 3's grid: each world's seed 0 first, then the other seeds, then the pixel reference rows
        f"worlds --world {world} --train-seed {seed} --n 400 --seed 2"
        for seed, names in ((0, ("disjoint", "overlap", "cue", "prior", "celeba-like")), (1, ("disjoint", "celeba-like")),
                            (2, ("disjoint", "celeba-like")), (1, ("overlap", "cue", "prior")), (2, ("overlap", "cue", "prior")))
        for world in names
    ] + [f"worlds --world {world} --train-seed 0 --n 400 --seed 2 --readers pixel resnet" for world in ("disjoint", "celeba-like")] + [
        # the shortcut worlds (book/engineering.md, expectations 7-13), each IGM row under three draws of its noise (2: the
        # faces' seed): shortcut and shortcut-faint, where the ResNet did not take the cue, the latent reader of seed 0
        # and the ResNet of seeds 0-2; shortcut-total, both readers of seeds 0-2
        f"worlds --world {world} --train-seed {seed} --n 400 --seed 2" + (f" --noise-seed {noise}" if noise != 2 else "")
        + (" --readers resnet" if readers == "resnet" else "")
        for world, seeds in (("shortcut", (0,)), ("shortcut-faint", (0,)), ("shortcut-total", (0, 1, 2)))
        for seed in (0, 1, 2) for readers, noises in ((("latent", (2, 3, 4)),) if seed in seeds else (("resnet", (2,)),))
        for noise in noises
    ] + [  # two more draws of the IGM reader's noise in the worlds whose latent models were retrained (each reads the
        # grid's faces exactly as its row above; the ResNet reads no noise: each draw pairs with its seed's row there,
        # bench.with_resnet_pairs)
        f"worlds --world {world} --train-seed {seed} --n 400 --seed 2 --noise-seed {noise} --readers latent"
        for world, seeds in (("prior", (0, 1, 2)), ("celeba-like", (0, 1, 2)), ("disjoint", (0, 1, 2))) for seed in seeds for noise in (3, 4)
    ] + [  # label noise per attribute and value (expectations 14-15): both readers of seeds 0-2, IGM under three noise draws
        f"worlds --world celeba-calibrated --train-seed {seed} --n 400 --seed 2" + (f" --noise-seed {noise}" if noise != 2 else "")
        for seed in (0, 1, 2) for noise in (2, 3, 4)
    ] + [  # a prior for IGM in the prior world (expectation 16): the errors as log p(x | c), without and with group A's prior.
        # Seed 0 without the ResNet: retrained, seed 0's ResNet reads other faces right than the grid's row above (seeds 1
        # and 2 retrain to the same answers), so its IGM rows pair with that row (bench.with_resnet_pairs)
        f"worlds --world prior --train-seed {seed} --n 400 --seed 2" + (f" --noise-seed {noise}" if noise != 2 else "")
        + " --readers latent-elbo latent-prior" + (" resnet" if seed else "")
        for seed in (0, 1, 2) for noise in (2, 3, 4)
    ] + [  # more draws and seeds, each IGM row paired with its seed's ResNet row above (bench.with_resnet_pairs): the pixel
        # reference row of disjoint under two more draws of its noise
        f"worlds --world disjoint --train-seed 0 --n 400 --seed 2 --noise-seed {noise} --readers pixel" for noise in (3, 4)
    ] + [  # the latent readers of shortcut and shortcut-faint for training seeds 1 and 2, under three draws
        f"worlds --world {world} --train-seed {seed} --n 400 --seed 2" + (f" --noise-seed {noise}" if noise != 2 else "") + " --readers latent"
        for world in ("shortcut", "shortcut-faint") for seed in (1, 2) for noise in (2, 3, 4)
    ] + [  # overlap's and cue's latent readers, retrained (each reads the grid's faces exactly as its row above), two more draws
        f"worlds --world {world} --train-seed {seed} --n 400 --seed 2 --noise-seed {noise} --readers latent"
        for world in ("overlap", "cue") for seed in (0, 1, 2) for noise in (3, 4)
    ],
    "celeba-noise": [  # how many noise samples, and spaced how: the shipped celeba-like latent reader on group-A validation
        # faces (seed 1), five draws of the noise each (seeds 11-15): is the spread over draws below the interval over faces?
        f"celeba --world celeba-like --split id --n 400 --seed 1 --noise-seed {draw} --noise {n} --spacing {spacing} --method cached"
        for n in (16, 32, 64) for spacing in ("random", "even") for draw in (11, 12, 13, 14, 15)
    ] + [  # chapter 3b's exercise "A draw of your own": the same reader on the grid's group-B faces (seed 2) under three
        # more draws, at 32 and 64 samples, beside the world's shipped ResNet
        f"celeba --world celeba-like --split ood --n 400 --seed 2 --noise-seed {draw} --noise {n} --method cached resnet"
        for n in (32, 64) for draw in (5, 6, 7)
    ],
    "racing-validation": [  # racing's confidence, chosen on validation faces (seed 1) of every shipped face model
        f"celeba --n 200 --seed 1 --split {split} --model {model}{world} --method {methods} --confidence {c}"
        for model, world in _FACE_MODELS for split in ("id", "ood")
        for c, methods in ((0.9, "cached race"), (0.95, "race"), (0.99, "race"))
    ],
    "racing": [  # racing on the test faces: beside cached and staged elimination at each model's recorded settings (naive
        # makes cached's decisions with 4 times its rows, exactly), then with 4 times the recorded number of samples as its budget
        f"celeba --n 400 --seed 0 --split {split} --model {model}{world} {extra}"
        for model, world in _FACE_MODELS for split in ("id", "ood")
        for extra in ("--method cached eliminate race", f"--noise {4 * _RECORDED_SAMPLES[model]} --method race")
    ] + [  # chapter 4's canvases: racing against the cache over every K-set
        f"zeroshot --k {k} --n 100 --seed 0 --method igm race" for k in (2, 3)
    ],
    "memory": ["memory --chapters 01 02 03 03b 04 --profile cpu"],  # book/running.md: what a live session (Binder) must hold
    "zeroshot": [  # 32 noise samples, t in [100, 700): digits32's recorded settings (its inference.json), which the bench reads
        "zeroshot --k 1 --n 200 --seed 0 --method cached",
        "zeroshot --k 2 --n 200 --seed 0 --method cached dc-joint",
        "zeroshot --k 3 --n 200 --seed 0 --method cached",
        "zeroshot --k 3 --n 50 --seed 0 --method cached dc-joint",
        "zeroshot --k 2 --n 200 --seed 1 --method cached",  # validation canvases: which composition form to quote
        "zeroshot --k 1 --n 200 --seed 0 --noise 16 --method cached",  # the noise estimate's share of the error
        "zeroshot --k 2 --n 200 --seed 0 --noise 16 --method cached",
        "zeroshot --k 3 --n 200 --seed 0 --noise 16 --method cached",
    ] + [  # the cache against the official loop on the same noise: same decisions, the rows and seconds of each
        f"zeroshot --k {k} --m {m} --n {n} --seed 0 --noise 16 --method igm naive" for k, m, n in ((2, 5, 10), (2, 10, 5), (3, 10, 3))
    ],
}


def write_rows(out: Path, rows: list[dict]) -> None:
    """Write result rows to ``out`` (one JSON object per line), atomically."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tmp.replace(out)


def load_results(name: str, folder: Path | None = None) -> list[dict]:
    """The rows of a results file (``RESULTS/NAME.jsonl``)."""
    path = (folder or RESULTS) / f"{name}.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"no results file {path}; make it with `python -m igm_lite.bench results {name}`")
    rows = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}, line {i}: not a JSON row ({e.msg}); rewrite the file with "
                             f"`python -m igm_lite.bench results {name}`") from None
        if not isinstance(row, dict) or "command" not in row:
            raise ValueError(f"{path}, line {i}: a row must be a JSON object with its 'command'; rewrite the file with "
                             f"`python -m igm_lite.bench results {name}`")
        rows.append(row)
    return rows


def find(rows: list[dict], **match) -> dict:
    """The one row whose fields (or ``settings`` entries) equal ``match``, e.g. ``find(rows, method="cached",
    split="ood", model="faces32-latent")``; ``KeyError`` when none or several do."""
    def value(row, key):
        return row[key] if key in row else row.get("settings", {}).get(key)

    hits = [r for r in rows if all(value(r, k) == v for k, v in match.items())]
    if len(hits) != 1:
        raise KeyError(f"{len(hits)} rows match {match}")
    return hits[0]
