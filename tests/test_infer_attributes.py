"""Reading a face's configurations as a posterior: the denoising error on the scale of log p(x | c), plus a log-prior."""
import math

import pytest
import torch

from igm_lite import ComposedDenoiser
from igm_lite.data import attrs_from_slots
from igm_lite.data.faces import face_test_set
from igm_lite.infer.attributes import attribute_log_prior, infer_faces, log_likelihoods
from igm_lite.infer.discrete import product_sets
from igm_lite.schedule import elbo_weights, make_scheduler


@pytest.fixture(scope="module")
def face_model():
    torch.manual_seed(0)
    unet = {"kind": "unet", "sample_size": 32, "in_channels": 3, "block_out_channels": [8, 8], "layers_per_block": 1,
            "down_block_types": ["DownBlock2D"] * 2, "up_block_types": ["UpBlock2D"] * 2, "norm_num_groups": 4}
    return ComposedDenoiser(unet, concept_dim=6, mode="mean").eval()


def test_log_likelihoods_are_the_weighted_sum_of_each_samples_error(face_model):
    """At one timestep every sample has the same weight w_t, so the log-likelihood is -(hi - lo) w_t numel times the
    cached engine's mean error: the same ranking; the estimate is the mean over samples, in nats of the whole latent."""
    faces = face_test_set("ood", 3)
    ll = log_likelihoods(faces.x, face_model, n_samples=4, t_range=(300, 301), seed=1)
    cached = infer_faces(faces.x, "cached", face_model, n_samples=4, t_range=(300, 301), seed=1)
    w = float(elbo_weights(make_scheduler(), 300))
    assert ll.shape == (3, 8)
    assert torch.allclose(ll, -1 * w * faces.x[0].numel() * cached.errors.double(), rtol=1e-4)
    elbo = infer_faces(faces.x, "elbo", face_model, n_samples=4, t_range=(300, 301), seed=1)
    assert torch.equal(elbo.attrs, cached.attrs) and torch.equal(elbo.network_evals, cached.network_evals)


def test_a_prior_is_added_to_the_log_likelihoods(face_model):
    """With a prior that outweighs any error, every face is read as the prior's most likely configuration; a uniform
    prior changes nothing; the prior's configurations sum to one."""
    faces = face_test_set("ood", 3)
    kw = dict(n_samples=3, t_range=(0, 1000), seed=0)
    plain = infer_faces(faces.x, "elbo", face_model, **kw)
    assert torch.equal(infer_faces(faces.x, "elbo", face_model, prior=(0.5, 0.5, 0.5), **kw).attrs, plain.attrs)
    forced = infer_faces(faces.x, "elbo", face_model, prior=(1e-300, 1 - 1e-12, 1e-300), **kw)
    assert forced.attrs.tolist() == [[0, 1, 0]] * 3
    lp = attribute_log_prior((0.3, 0.05, 0.5))
    assert math.isclose(float(lp.exp().sum()), 1.0, rel_tol=1e-9)
    configs = attrs_from_slots(product_sets([2, 2, 2]))
    none = int((configs == torch.tensor([0, 0, 0])).all(1).nonzero())
    assert math.isclose(float(lp[none]), math.log(0.7 * 0.95 * 0.5), rel_tol=1e-9)
    for bad in ((0.5, 0.5), (0.0, 0.5, 0.5), (0.5, 1.0, 0.5)):
        with pytest.raises(ValueError, match="prior must be 3 probabilities"):
            attribute_log_prior(bad)
    with pytest.raises(ValueError, match="method 'elbo' only"):
        infer_faces(faces.x, "cached", face_model, prior=(0.5, 0.05, 0.5), **kw)


def test_a_latent_models_engine_reads_one_face_image_as_the_batch_reads_it():
    """infer takes one face IMAGE, also for a model that denoises latents (the engine encodes it), and answers as
    infer_many does for that face: one AttributeResult per face."""
    from igm_lite.data.faces import face_test_set
    from igm_lite.infer.attributes import AttributeEngine, AttributeResult
    from igm_lite.pretrained import load_pretrained
    from igm_lite.schedule import make_scheduler

    faces = face_test_set("id", 2, 0).x
    engine = AttributeEngine(load_pretrained("faces32-latent"), make_scheduler(), n_samples=4)
    one, many = engine.infer(faces[1]), engine.infer_many(faces)
    assert isinstance(one, AttributeResult) and [type(r) for r in many] == [AttributeResult] * 2
    assert torch.equal(one.attrs, many[1].attrs) and one.network_evals == 24
    assert torch.allclose(one.errors, many[1].errors, rtol=1e-5)  # the face encoded alone or in a batch: equal to float rounding
