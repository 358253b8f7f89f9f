import pytest
import torch

from igm_lite import ComposedDenoiser


@pytest.fixture
def toy_model():
    """A small untrained 2-D composed denoiser factory: toy_model(mode, **kw)."""
    def make(mode="mean", concept_dim=4, **kw):
        torch.manual_seed(0)
        return ComposedDenoiser({"kind": "mlp", "data_dim": 2, "hidden": 32, "depth": 1, "embed_dim": 16},
                                concept_dim=concept_dim, mode=mode, **kw).eval()
    return make
