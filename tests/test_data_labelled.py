import pytest
import torch
from PIL import Image

from igm_lite.data.labelled import LabelledImages


def _folder(tmp_path, csv_text, files=("a.png", "b.jpg")):
    for f in files:
        Image.new("RGB", (30, 20), (255, 0, 0)).save(tmp_path / f)
    (tmp_path / "labels.csv").write_text(csv_text)
    return tmp_path


def test_reads_labels_in_either_form_and_loads_square_images(tmp_path):
    ds = LabelledImages(_folder(tmp_path, "file,labels\na.png,cat;dog\nb.jpg,dog,rabbit\n"), size=16)
    assert len(ds) == 2 and ds.classes == ["cat", "dog", "rabbit"]
    assert ds.labels == [("cat", "dog"), ("dog", "rabbit")] and ds.label_sets() == [[0, 1], [1, 2]]
    x, labels = ds[0]
    assert x.shape == (3, 16, 16) and labels == ("cat", "dog")
    assert torch.allclose(x[0], torch.ones(16, 16)) and torch.allclose(x[1], -torch.ones(16, 16))


def test_bad_input_says_what_was_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match="file,label"):
        LabelledImages(tmp_path)
    with pytest.raises(ValueError, match="has no label"):
        LabelledImages(_folder(tmp_path, "a.png,\n"))
    with pytest.raises(FileNotFoundError, match="missing.png"):
        LabelledImages(_folder(tmp_path, "missing.png,cat\n"))
    ds = LabelledImages(_folder(tmp_path, "a.png,cat\n"))
    with pytest.raises(ValueError, match="not among the classes"):
        ds.label_sets(["dog"])
