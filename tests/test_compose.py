import pytest
import torch

from igm_lite import MODES, ComposedDenoiser, coefficients


def explicit_loop(model, x_t, t, concepts, mask):
    """The composition written out as a loop over scenes and concepts (the book's equation)."""
    out = []
    for b in range(x_t.shape[0]):
        ks = [k for k in range(concepts.shape[1]) if mask[b, k]]
        eps_k = [model.predict(x_t[b:b + 1], t[b:b + 1], concepts[b, k:k + 1]) for k in ks]
        eps_u = model.predict_null(x_t[b:b + 1], t[b:b + 1])
        K, w = len(ks), model.weight
        if model.mode == "mean":
            e = sum(eps_k) / K
        elif model.mode == "sum":
            e = sum(eps_k)
        else:
            e = eps_u + w * sum(ek - eps_u for ek in eps_k)
        out.append(e)
    return torch.cat(out)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [(2,), (7, 2)])  # single points, and clouds of 7 points
def test_composed_prediction_equals_explicit_loop(toy_model, mode, shape):
    model = toy_model(mode, weight=0.7, learned_null=True)
    with torch.no_grad():
        model.encoder.null.normal_()
    g = torch.Generator().manual_seed(0)
    B, K, D = 5, 3, 4
    x_t, t = torch.randn(B, *shape, generator=g), torch.randint(0, 1000, (B,), generator=g)
    concepts = torch.randn(B, K, D, generator=g)
    mask = torch.tensor([[1, 1, 1], [1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=torch.bool)
    with torch.no_grad():
        got = model(x_t, t, concepts, mask)
        want = explicit_loop(model, x_t, t, concepts, mask)
    assert got.shape == (B, *shape)
    assert torch.allclose(got, want, atol=1e-5)


def test_one_batched_backbone_call(toy_model):
    model = toy_model("weighted")
    calls = []
    model.backbone.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]], dtype=torch.bool)
    model(torch.randn(2, 2), torch.tensor([3, 4]), torch.randn(2, 3, 4), mask)
    assert calls == [5 + 2]  # 5 active concepts + 2 unconditional rows, in one call
    assert model.network_evals == 7


def test_official_clevr_form_is_the_mean():
    """eps_u + sum_k (1/K)(eps_k - eps_u) has the same coefficients as the mean (module docstring)."""
    n = torch.tensor([1, 2, 5])
    a_u, a = coefficients("weighted", n, weight=1.0)
    assert torch.equal(a_u, 1 - n.float()) and torch.equal(a, torch.ones(3))
    a_u_mean, a_mean = coefficients("mean", n)
    # with weight 1/K per scene the weighted form's coefficients are (0, 1/K)
    assert torch.allclose(1 - (1 / n.float()) * n, a_u_mean) and torch.allclose(1 / n.float(), a_mean)


def test_uncond_flag_gives_the_null_prediction(toy_model):
    for mode in MODES:
        model = toy_model(mode)
        x, t = torch.randn(3, 2), torch.tensor([1, 500, 900])
        c, m = torch.randn(3, 2, 4), torch.ones(3, 2, dtype=torch.bool)
        drop = torch.tensor([True, False, True])
        with torch.no_grad():
            out = model(x, t, c, m, uncond=drop)
            null = model.predict_null(x, t)
            cond = model(x, t, c, m)
        assert torch.allclose(out[drop], null[drop], atol=1e-6)
        assert torch.allclose(out[~drop], cond[~drop], atol=1e-6)


@pytest.mark.parametrize("bad, match", [
    (dict(concepts=torch.randn(2, 4)), r"shape \(B, K, D\)"),
    (dict(concepts=torch.randn(2, 0, 4)), "K = 0"),
    (dict(concepts=torch.randn(2, 3, 5)), "concept_dim = 4"),
    (dict(concepts=torch.ones(2, 3, 4, dtype=torch.long)), "floating-point"),
    (dict(mask=torch.ones(2, 2, dtype=torch.bool)), "mask must have shape"),
    (dict(mask=torch.zeros(2, 3, dtype=torch.bool)), "no active concept"),
    (dict(concepts=torch.full((2, 3, 4), float("nan"))), "NaN"),
    (dict(x_t=torch.full((2, 2), float("nan"))), "NaN"),
    (dict(x_t=torch.randn(3, 2)), "batch size"),
    (dict(t=torch.tensor([0.5, 1.0])), "integer timesteps"),
    (dict(t=torch.tensor([1, 2, 3])), r"shape \(B,\)"),
    (dict(x_t=torch.randn(2)), "at least 2 axes"),
])
def test_bad_input_raises_clear_error(toy_model, bad, match):
    model = toy_model("mean")
    args = dict(x_t=torch.randn(2, 2), t=torch.tensor([1, 2]), concepts=torch.randn(2, 3, 4), mask=torch.ones(2, 3, dtype=torch.bool))
    args.update(bad)
    with pytest.raises((ValueError, TypeError), match=match):
        model(**args)


def test_unknown_mode_and_backbone():
    with pytest.raises(ValueError, match="composition mode"):
        ComposedDenoiser({"kind": "mlp"}, concept_dim=2, mode="product")
    with pytest.raises(ValueError, match="unknown backbone"):
        ComposedDenoiser({"kind": "transformer"}, concept_dim=2)


def test_unet_backbone_composes_images():
    torch.manual_seed(0)
    model = ComposedDenoiser({"kind": "unet", "sample_size": 8, "in_channels": 3, "block_out_channels": [8, 16],
                              "down_block_types": ["DownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "UpBlock2D"],
                              "layers_per_block": 1, "norm_num_groups": 4}, concept_dim=2, mode="weighted").eval()
    x, t = torch.randn(2, 3, 8, 8), torch.tensor([10, 900])
    c, m = torch.rand(2, 3, 2), torch.tensor([[1, 1, 0], [1, 1, 1]], dtype=torch.bool)
    with torch.no_grad():
        out = model(x, t, c, m)
        want = explicit_loop(model, x, t, c, m)
    assert out.shape == x.shape and torch.allclose(out, want, atol=1e-4)


def test_unet_backbone_layouts_agree_and_save_contiguous(tmp_path):
    """Channels-last is the default layout (faster on CPU); both layouts give the same predictions, and the
    saved folder holds ordinary contiguous tensors that load into either."""
    torch.manual_seed(0)
    model = ComposedDenoiser({"kind": "unet", "sample_size": 8, "in_channels": 3, "block_out_channels": [8, 16],
                              "down_block_types": ["DownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "UpBlock2D"],
                              "layers_per_block": 1, "norm_num_groups": 4, "position_maps": 0.1}, concept_dim=3, mode="weighted").eval()
    conv = model.backbone.unet.conv_in.weight
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    x, t, c = torch.randn(4, 3, 8, 8), torch.tensor([10, 200, 500, 900]), torch.rand(4, 3)
    with torch.no_grad():
        nhwc = model.predict(x, t, c)
        model.backbone.set_memory_format(torch.contiguous_format)
        nchw = model.predict(x, t, c)
    assert nhwc.is_contiguous() and torch.allclose(nhwc, nchw, atol=1e-5)
    model.backbone.set_memory_format(torch.channels_last)
    model.save_pretrained(tmp_path / "m")
    again = ComposedDenoiser.from_pretrained(tmp_path / "m")
    assert again.backbone.unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        assert torch.equal(again.predict(x, t, c), nhwc)


def test_checkpoint_round_trip_and_mismatch(toy_model, tmp_path):
    model = toy_model("weighted", learned_null=True)
    model.save_pretrained(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "diffusion_pytorch_model.safetensors"]
    again = ComposedDenoiser.from_pretrained(tmp_path / "m", concept_dim=4, mode="weighted")
    for (k, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), k
    with pytest.raises(ValueError, match="concept_dim: checkpoint has 4, expected 6"):
        ComposedDenoiser.from_pretrained(tmp_path / "m", concept_dim=6)
    with pytest.raises(FileNotFoundError, match="not a model folder"):
        ComposedDenoiser.from_pretrained(tmp_path / "nothing")
    # weights that do not fit the config
    cfg = (tmp_path / "m" / "config.json").read_text().replace('"hidden": 32', '"hidden": 48')
    (tmp_path / "m" / "config.json").write_text(cfg)
    with pytest.raises(ValueError, match="do not fit"):
        ComposedDenoiser.from_pretrained(tmp_path / "m")


def test_save_is_atomic(toy_model, tmp_path, monkeypatch):
    model = toy_model("mean")
    model.save_pretrained(tmp_path / "m")
    before = (tmp_path / "m" / "diffusion_pytorch_model.safetensors").read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("igm_lite.io.save_file", boom)
    with torch.no_grad():
        model.backbone.out[-1].bias.add_(1.0)
    with pytest.raises(OSError):
        model.save_pretrained(tmp_path / "m")
    assert (tmp_path / "m" / "diffusion_pytorch_model.safetensors").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no half-written folder left behind


def test_composed_as_is_a_view_that_composes_otherwise_and_leaves_the_model_as_it_was(toy_model):
    """Another composition per call (mode=, weight=) or as a view (composed_as): the same per-concept denoisers and
    count of rows, another combination; the model itself holds no composition state and never changes."""
    model = toy_model("mean", concept_dim=3)
    x, t = torch.randn(2, 2), torch.tensor([5, 500])
    c, m = torch.eye(3)[:2].unsqueeze(0).expand(2, -1, -1), torch.ones(2, 2, dtype=torch.bool)
    summed = model.composed_as("sum")
    assert summed.mode == "sum" and model.mode == "mean"
    before = model.network_evals
    out = summed(x, t, c, m)
    assert model.network_evals == before + 4 and summed.network_evals == model.network_evals  # one counter, the model's
    assert torch.allclose(out, 2 * model(x, t, c, m), atol=1e-6)
    assert torch.allclose(out, model(x, t, c, m, mode="sum"), atol=1e-6)
    assert torch.allclose(model.composed_as("weighted", 0.5)(x, t, c, m), model(x, t, c, m, mode="weighted", weight=0.5), atol=1e-6)
    with pytest.raises(ValueError, match="unknown composition mode"):
        model.composed_as("max")
    assert model.config["mode"] == "mean" and model.mode == "mean"  # the config never changed


def test_a_model_built_from_a_pretrained_backbone_calls_the_constructor_and_is_not_written(toy_model, tmp_path):
    """A built backbone (a pretrained network, as Stable Diffusion's) goes through the same constructor; its config
    names its kind, and writing it to a folder is refused: its weights are the pretrained network's."""
    from igm_lite.concepts import ConceptEncoder

    inner = toy_model("mean", concept_dim=3).backbone
    inner.kind = "borrowed"
    model = ComposedDenoiser(inner, concept_dim=3, encoder=ConceptEncoder(3, inner.embed_dim))
    assert model.config["backbone"] == {"kind": "borrowed"} and model.built_from_parts
    assert model(torch.randn(2, 2), 5, torch.eye(3)[None, :2].expand(2, -1, -1)).shape == (2, 2)
    with pytest.raises(NotImplementedError, match="pretrained borrowed backbone"):
        model.save_pretrained(tmp_path / "m")
    assert not (tmp_path / "m").exists()
    with pytest.raises(TypeError, match="must name its kind"):
        ComposedDenoiser(torch.nn.Linear(2, 2), concept_dim=3)


def test_a_models_config_is_read_only_after_construction(toy_model, tmp_path):
    """The config is what the model was built with: no entry, nested or not, can be changed in place or replaced;
    register_to_config replaces entries as a whole; the folder written from it loads back equal."""
    model = toy_model("mean", concept_dim=3)
    with pytest.raises(TypeError):
        model.config["mode"] = "sum"
    with pytest.raises(TypeError):
        model.config["backbone"]["hidden"] = 1
    with pytest.raises(AttributeError, match="fixed when it is built"):
        model.config = {**model.config, "mode": "sum"}
    model.save_pretrained(tmp_path / "m")
    again = ComposedDenoiser.from_pretrained(tmp_path / "m")
    assert again.config == model.config and again.config["backbone"] == dict(model.config["backbone"])
    model.register_to_config(weight=0.5)
    assert model.config["weight"] == 0.5 and model.weight == 0.5 and again.config["weight"] == 1.0


def test_linear_concept_encoder_is_an_embedding_bag(tmp_path):
    from igm_lite.concepts import ConceptEncoder

    enc = ConceptEncoder(5, 8, kind="linear")
    c = torch.tensor([[1.0, 0, 0, 1, 0]])
    assert torch.allclose(enc(c), enc.net.weight[:, 0] + enc.net.weight[:, 3])
    assert 0.5 < float(enc.net.weight.detach().std()) < 1.5  # embedding-table scale
    model = ComposedDenoiser({"kind": "mlp", "hidden": 8, "depth": 1, "embed_dim": 8}, concept_dim=5, encoder="linear")
    model.save_pretrained(tmp_path / "m")
    again = ComposedDenoiser.from_pretrained(tmp_path / "m")
    assert again.config["encoder"] == "linear" and torch.equal(again.encoder.net.weight, model.encoder.net.weight)
    assert "encoder" not in ComposedDenoiser({"kind": "mlp"}, concept_dim=5).config  # older folders load unchanged
    with pytest.raises(ValueError, match="unknown concept encoder"):
        ConceptEncoder(5, 8, kind="attention")


def test_unet_upsamplers_skip_diffusers_nchw_copy_with_the_same_outputs():
    """``UNetBackbone`` switches diffusers' ``Upsample2D`` to ``NearestUpsample2D`` (no NHWC -> NCHW copy for
    batches of 64 or more on CPU); the predictions are those of diffusers' own module, and the output stays NHWC."""
    from diffusers.models.upsampling import Upsample2D

    from igm_lite.backbones import NearestUpsample2D

    torch.manual_seed(0)
    model = ComposedDenoiser({"kind": "unet", "sample_size": 8, "in_channels": 3, "block_out_channels": [8, 16],
                              "down_block_types": ["DownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "UpBlock2D"],
                              "layers_per_block": 1, "norm_num_groups": 4}, concept_dim=2).eval()
    ups = [m for m in model.backbone.unet.modules() if isinstance(m, Upsample2D)]
    assert ups and all(type(m) is NearestUpsample2D for m in ups)
    x, t, c = torch.randn(64, 3, 8, 8), torch.randint(0, 1000, (64,)), torch.rand(64, 2)
    h = torch.randn(64, 16, 4, 4).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        fast, out = model.predict(x, t, c), ups[0](h)
        assert out.is_contiguous(memory_format=torch.channels_last)
        for m in ups:
            m.__class__ = Upsample2D
        slow, ref = model.predict(x, t, c), ups[0](h)
    assert torch.allclose(fast, slow, atol=1e-5) and torch.equal(out, ref)
    assert NearestUpsample2D.adopt(model.backbone.unet) == len(ups)
