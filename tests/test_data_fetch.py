"""Getting and checking the real datasets (igm_lite.data.fetch), on folders written in their real formats."""
import os
import shutil
import sys
import zipfile

import pytest
from real_formats import write_celeba, write_clevr

from igm_lite.data import fetch
from igm_lite.sd import DEFAULT_MODEL_ID


def test_check_clevr_counts_a_complete_folder_and_lists_what_a_broken_one_lacks(tmp_path):
    root = tmp_path / "CLEVR_v1.0"
    write_clevr(root, counts=(3, 4, 6), splits=("train", "val"))
    assert fetch.check_clevr(root) == {"train": {"scenes": 3, "images": 3}, "val": {"scenes": 3, "images": 3}}
    (root / "images" / "val" / "CLEVR_val_000001.png").unlink()
    (root / "scenes" / "CLEVR_train_scenes.json").unlink()
    with pytest.raises(FileNotFoundError) as e:
        fetch.check_clevr(root)
    assert "CLEVR_train_scenes.json" in str(e.value) and "1 of the 3 images CLEVR_val_scenes.json names" in str(e.value)
    assert fetch.CLEVR_URL in str(e.value)


def test_fetch_clevr_downloads_and_unzips_only_when_the_folder_is_incomplete(tmp_path, monkeypatch):
    src = tmp_path / "src" / "CLEVR_v1.0"
    write_clevr(src, counts=(3, 7), splits=("train", "val"))
    archive = tmp_path / "CLEVR_v1.0.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in src.rglob("*"):
            z.write(path, path.relative_to(src.parent))
    root = tmp_path / "data" / "CLEVR_v1.0"
    assert fetch.fetch_clevr(root, url=archive.as_uri())["val"] == {"scenes": 2, "images": 2}
    assert not (root.parent / "CLEVR_v1.0.zip").exists() and not list(root.parent.glob("*.part"))
    monkeypatch.setattr(fetch, "_download", lambda *a: pytest.fail("a complete folder is not downloaded again"))
    assert fetch.fetch_clevr(root)["train"]["scenes"] == 2


def test_check_celeba_accepts_both_table_forms_and_names_the_kaggle_nesting(tmp_path):
    for form in ("txt", "csv"):
        write_celeba(tmp_path / form, form)
        assert fetch.check_celeba(tmp_path / form) == {"images": 7, "attributes": f"list_attr_celeba.{form}",
                                                      "partition": f"list_eval_partition.{form}"}
    nested = tmp_path / "nested"
    write_celeba(nested)
    (nested / "img_align_celeba").rename(tmp_path / "inner")
    (nested / "img_align_celeba").mkdir()
    (tmp_path / "inner").rename(nested / "img_align_celeba" / "img_align_celeba")
    (nested / "list_eval_partition.txt").unlink()
    with pytest.raises(FileNotFoundError, match="one folder too deep.*list_eval_partition.txt"):
        fetch.check_celeba(nested)


def test_a_partly_unzipped_or_cut_short_celeba_fails_its_check_and_the_fetch_completes_it(tmp_path, monkeypatch):
    """The check reads the folder against its own tables: an image they name that is not there (an unzip cut short),
    or a table that does not read whole (a download cut short), fails it; fetch_celeba then unzips the images again
    and downloads the damaged table again instead of keeping them."""
    import types

    src = tmp_path / "src"
    write_celeba(src)
    root = tmp_path / "celeba"
    shutil.copytree(src, root)
    first = sorted((root / "img_align_celeba").iterdir())[0]
    first.unlink()
    with pytest.raises(FileNotFoundError, match=rf"1 of the 7 images the tables name, e.g. .*{first.name} \(a partly unzipped folder\)"):
        fetch.check_celeba(root)
    table = root / "list_attr_celeba.txt"
    table.write_text("\n".join(table.read_text().splitlines()[:-2]) + "\n")
    with pytest.raises(FileNotFoundError, match="list_attr_celeba.txt is damaged or cut short"):
        fetch.check_celeba(root)
    with zipfile.ZipFile(tmp_path / "img.zip", "w") as z:  # what the Drive serves
        for path in (src / "img_align_celeba").iterdir():
            z.write(path, f"img_align_celeba/{path.name}")
    fetched = []

    def download(id, output, quiet):  # noqa: A002  (gdown's names)
        name = {v: k for k, v in fetch.CELEBA_DRIVE.items()}[id]
        fetched.append(name)
        shutil.copy(tmp_path / "img.zip" if name.endswith(".zip") else src / name, output)
        return output

    monkeypatch.setitem(sys.modules, "gdown", types.SimpleNamespace(download=download))
    assert fetch.fetch_celeba(root)["images"] == 7
    assert sorted(fetched) == ["img_align_celeba.zip", "list_attr_celeba.txt"]  # the partition table was whole: kept
    assert first.is_file() and not (root / "img_align_celeba.zip").exists()


def test_fetch_celeba_falls_back_to_kaggle_and_says_what_to_do_when_it_cannot(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gdown", None)  # not installed
    monkeypatch.delenv("KAGGLE_USERNAME", raising=False)
    monkeypatch.setattr(fetch.Path, "home", lambda: tmp_path / "home")
    with pytest.raises(RuntimeError, match="gdown.*Kaggle.*list_attr_celeba.txt"):
        fetch.fetch_celeba(tmp_path / "celeba")
    # a kaggle command that writes the Kaggle copy's layout: .csv tables, the images one folder deeper
    src = tmp_path / "kaggle-copy"
    write_celeba(src, "csv")
    (src / "img_align_celeba").rename(tmp_path / "imgs")
    (src / "img_align_celeba").mkdir()
    shutil.move(str(tmp_path / "imgs"), str(src / "img_align_celeba" / "img_align_celeba"))
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    (bin_ / "kaggle").write_text(f"#!/bin/sh\ncp -r {src}/. \"$6\"\n")  # kaggle datasets download -d ID -p DIR --unzip
    (bin_ / "kaggle").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("KAGGLE_USERNAME", "reader")
    monkeypatch.setenv("KAGGLE_KEY", "secret")
    assert fetch.fetch_celeba(tmp_path / "celeba") == {"images": 7, "attributes": "list_attr_celeba.csv", "partition": "list_eval_partition.csv"}


def test_describe_stable_diffusion_says_where_it_comes_from(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    text = fetch.describe_stable_diffusion(DEFAULT_MODEL_ID)
    assert "Hugging Face Hub" in text and "no token is needed" in text and "HF_TOKEN" in text
    with pytest.raises(FileNotFoundError, match="model_index.json"):
        fetch.describe_stable_diffusion(str(tmp_path))
    (tmp_path / "model_index.json").write_text("{}")
    assert str(tmp_path) in fetch.describe_stable_diffusion(str(tmp_path))
