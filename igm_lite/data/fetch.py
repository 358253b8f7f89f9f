"""Getting the real datasets, and checking a folder before hours of training depend on it.

    check_clevr(root), check_celeba(root)   what the folder holds, or an error that lists everything missing
    fetch_clevr(root), fetch_celeba(root)   download what can be downloaded into root (nothing if it checks already)
    describe_stable_diffusion(model)        where a Stable Diffusion model comes from and whether a token is needed

Chapters 2 and 3 call ``fetch_*`` in their data cell when ``data_root`` is set; "Running on a GPU" in the book
gives the sizes and the places to put each dataset.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import urllib.request
import zipfile
from pathlib import Path

# The CLEVR page's v1.0 download (Johnson et al., 2017): about 18 GB zipped, CLEVR_v1.0/{images,scenes,questions}.
CLEVR_URL = "https://dl.fbaipublicfiles.com/clevr/CLEVR_v1.0.zip"
# CelebA's aligned and cropped faces and the two tables, on the authors' Google Drive (the ids torchvision's
# downloader uses); the Drive's daily quota often refuses them, hence the Kaggle copy (the tables as .csv, the
# images one folder deeper), which needs a Kaggle API token.
CELEBA_DRIVE = {"img_align_celeba.zip": "0B7EVK8r0v71pZjFTYXZWM3FlRnM", "list_attr_celeba.txt": "0B7EVK8r0v71pblRyaVFSWGxPY0U",
                "list_eval_partition.txt": "0B7EVK8r0v71pY0NSMzRuSXJEVkk"}
CELEBA_KAGGLE = "jessicali9530/celeba-dataset"
CELEBA_IMAGES = 202_599  # the official count of img_align_celeba/


def check_clevr(root, splits=("train", "val")) -> dict:
    """{split: {"scenes", "images"}} of a CLEVR_v1.0 folder; FileNotFoundError listing every missing part (a scenes
    file, an images folder, images the scenes file names)."""
    import json

    root, found, missing = Path(root), {}, []
    for split in splits:
        scenes, images = root / "scenes" / f"CLEVR_{split}_scenes.json", root / "images" / split
        if not scenes.is_file():
            missing.append(str(scenes))
        if not images.is_dir():
            missing.append(f"{images}/ (the {split} images)")
        if scenes.is_file() and images.is_dir():
            names = [s["image_filename"] for s in json.loads(scenes.read_text())["scenes"]]
            present = set(os.listdir(images))
            absent = [n for n in names if n not in present]
            if absent:
                missing.append(f"{len(absent)} of the {len(names)} images {scenes.name} names, e.g. {images / absent[0]}")
            found[split] = {"scenes": len(names), "images": len(present)}
    if missing:
        raise FileNotFoundError(f"{root} is not a complete CLEVR_v1.0 folder; missing: " + "; ".join(missing)
                                + f". Download {CLEVR_URL} (about 18 GB) and unzip it, or call fetch_clevr({str(root)!r}).")
    return found


def check_celeba(root) -> dict:
    """{"images", "attributes", "partition"} of a CelebA folder (img_align_celeba/ and the two tables, .txt or .csv);
    FileNotFoundError listing every missing part, and saying so when the images sit one folder deeper (the Kaggle copy).
    The folder is checked against its own tables: every image either table names is there (a partly unzipped folder
    does not pass), and a table that cannot be read whole (a partly downloaded one) is named."""
    root, missing, found = Path(root), [], {}
    images = root / "img_align_celeba"
    if (images / "img_align_celeba").is_dir():
        missing.append(f"the images are one folder too deep ({images / 'img_align_celeba'}): move them up into {images}/")
    elif not images.is_dir():
        missing.append(f"{images}/ (the aligned and cropped faces, 000001.jpg ...)")
    else:
        found["images"] = sum(1 for n in os.listdir(images) if n.endswith(".jpg"))
    for stem in ("list_attr_celeba", "list_eval_partition"):
        forms = [root / f"{stem}.{ext}" for ext in ("txt", "csv") if (root / f"{stem}.{ext}").is_file()]
        if forms:
            found["attributes" if stem == "list_attr_celeba" else "partition"] = forms[0].name
        else:
            missing.append(f"{root / stem}.txt (or .csv)")
    if not missing:
        for stem, name in (("list_attr_celeba", found["attributes"]), ("list_eval_partition", found["partition"])):
            damage = _table_damage(root, stem)
            if damage:
                missing.append(f"a whole {stem} table ({name} is damaged or cut short: {damage})")
        absent = _absent_images(root) if not missing else []
        if absent:
            missing.append(f"{len(absent)} of the {len(_named_images(root))} images the tables name, e.g. {images / absent[0]} "
                           "(a partly unzipped folder)")
    if missing:
        raise FileNotFoundError(f"{root} is not a complete CelebA folder; missing: " + "; ".join(missing)
                                + f". fetch_celeba({str(root)!r}) downloads it (Google Drive, else Kaggle).")
    return found


def _download(url: str, target: Path) -> Path:
    """``url`` to ``target``, through a temporary name (no half-written file under the final name)."""
    from tqdm.auto import tqdm

    tmp = target.with_name(target.name + ".part")
    with urllib.request.urlopen(url) as r, open(tmp, "wb") as f, \
            tqdm(total=int(r.headers.get("Content-Length") or 0) or None, unit="B", unit_scale=True, desc=target.name) as bar:
        while chunk := r.read(1 << 20):
            f.write(chunk)
            bar.update(len(chunk))
    os.replace(tmp, target)
    return target


def _unzip(archive: Path, into: Path) -> None:
    with zipfile.ZipFile(archive) as z:
        z.extractall(into)


def fetch_clevr(root, url: str = CLEVR_URL, keep_zip: bool = False) -> dict:
    """Make ``root`` a complete CLEVR_v1.0 folder: nothing if it checks already, else download ``url`` beside it and
    unzip it (the archive holds CLEVR_v1.0/). Returns ``check_clevr(root)``."""
    root = Path(root)
    try:
        return check_clevr(root)
    except FileNotFoundError:
        pass
    root.parent.mkdir(parents=True, exist_ok=True)
    archive = root.parent / "CLEVR_v1.0.zip"
    if not archive.is_file():
        print(f"downloading {url} (about 18 GB) to {archive}")
        _download(url, archive)
    _unzip(archive, root.parent)
    if root.name != "CLEVR_v1.0" and (root.parent / "CLEVR_v1.0").is_dir() and not root.exists():
        (root.parent / "CLEVR_v1.0").rename(root)
    if not keep_zip:
        archive.unlink()
    return check_clevr(root)


def _table_damage(root: Path, stem: str) -> str | None:
    """Why root/stem's table (.txt or .csv) does not read whole (a download cut short), or None when it does."""
    from .celeba import _read_table

    try:
        _read_table(root, stem)
        return None
    except (ValueError, IndexError) as e:
        return str(e)


def _named_images(root: Path) -> set:
    """The image files the two tables name (both readable)."""
    from .celeba import _read_table

    return set(_read_table(root, "list_attr_celeba")[1]) | set(_read_table(root, "list_eval_partition")[1])


def _absent_images(root: Path) -> list[str]:
    """The images the tables name that img_align_celeba/ lacks, sorted."""
    return sorted(_named_images(root) - set(os.listdir(root / "img_align_celeba")))


def _images_complete(root: Path) -> bool:
    """Whether ``root``'s img_align_celeba/ holds every image its tables name (or, without two readable tables, all
    ``CELEBA_IMAGES``): a partly unzipped folder is unzipped again, not kept."""
    images = root / "img_align_celeba"
    if not images.is_dir():
        return False
    tables = all(any((root / f"{stem}.{ext}").is_file() for ext in ("txt", "csv")) and not _table_damage(root, stem)
                 for stem in ("list_attr_celeba", "list_eval_partition"))
    if tables:
        return not _absent_images(root)
    return sum(1 for n in os.listdir(images) if n.endswith(".jpg")) >= CELEBA_IMAGES


def _kaggle_token() -> bool:
    return bool(os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY")) or (Path.home() / ".kaggle" / "kaggle.json").is_file()


def fetch_celeba(root) -> dict:
    """Make ``root`` a complete CelebA folder: nothing if it checks already; else the authors' Google Drive files
    (with ``gdown``), and where the Drive refuses (its daily quota), the Kaggle copy (with the ``kaggle`` command and
    a token). Returns ``check_celeba(root)``; RuntimeError saying what to do when neither source can be used."""
    root = Path(root)
    try:
        return check_celeba(root)
    except FileNotFoundError:
        pass
    root.mkdir(parents=True, exist_ok=True)
    tried = []
    try:
        import gdown

        for name, file_id in CELEBA_DRIVE.items():
            if name.endswith(".txt") and (root / name).is_file() and _table_damage(root, name[:-4]):
                (root / name).unlink()  # a table cut short is downloaded again, not kept
            if not (root / name).is_file() and not (name.endswith(".zip") and _images_complete(root)):
                if gdown.download(id=file_id, output=str(root / name), quiet=False) is None:
                    raise OSError(f"Google Drive refused {name} (often its daily quota)")
        if (root / "img_align_celeba.zip").is_file():
            _unzip(root / "img_align_celeba.zip", root)
            (root / "img_align_celeba.zip").unlink()
        return check_celeba(root)
    except ImportError:
        tried.append("Google Drive: the gdown package is missing (pip install gdown)")
    except Exception as e:  # gdown raises its own errors when the quota is reached
        tried.append(f"Google Drive: {e}")
    if _kaggle_token() and shutil.which("kaggle"):
        subprocess.run(["kaggle", "datasets", "download", "-d", CELEBA_KAGGLE, "-p", str(root), "--unzip"], check=True)
        deeper = root / "img_align_celeba" / "img_align_celeba"
        if deeper.is_dir():  # the Kaggle copy nests the images one folder deeper
            tmp = root / "img_align_celeba.tmp"
            deeper.rename(tmp)
            (root / "img_align_celeba").rmdir()
            tmp.rename(root / "img_align_celeba")
        return check_celeba(root)
    tried.append(f"Kaggle: {'no kaggle command (pip install kaggle)' if not shutil.which('kaggle') else 'no API token'}")
    raise RuntimeError(f"could not download CelebA into {root} ({'; '.join(tried)}). Either retry later (the Drive quota "
                       f"resets daily), or give Kaggle a token (kaggle.com > Settings > API > Create New Token; on Colab set "
                       f"KAGGLE_USERNAME and KAGGLE_KEY) and pip install kaggle, or download img_align_celeba.zip, "
                       f"list_attr_celeba.txt and list_eval_partition.txt yourself into {root} and unzip the images there.")


def describe_stable_diffusion(model: str) -> str:
    """Where ``model`` (a Hub id or a folder in the diffusers layout) comes from, and whether a token is needed."""
    path = Path(model)
    if path.is_dir():
        if not (path / "model_index.json").is_file():
            raise FileNotFoundError(f"{path} is not a diffusers pipeline folder: no model_index.json (save one with "
                                    f"StableDiffusionPipeline.save_pretrained, or give a Hub id)")
        return f"Stable Diffusion from the folder {path}"
    token = "a token is set" if os.environ.get("HF_TOKEN") else "no token is needed for a public model"
    return (f"Stable Diffusion {model!r} downloads from the Hugging Face Hub on first use (a few GB, cached after); {token}; "
            f"a gated model needs one: huggingface_hub.login(), or on Colab a secret named HF_TOKEN")
