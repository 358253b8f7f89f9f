"""The engines' one protocol (igm_lite/infer/base.py): every setting read or refused, one call shape, one result
contract, one precedence rule."""
import dataclasses
import inspect
import re

import pytest
import torch

from igm_lite.infer import (
    AttributeEngine,
    AttributeResult,
    DescentEngine,
    DescentResult,
    DiscreteEngine,
    DiscreteResult,
    InferenceResult,
    PositionEngine,
    PositionResult,
    ZeroShot,
)
from igm_lite.infer.base import ENGINE_CONFIGS, Engine
from igm_lite.io import ENGINE_KINDS
from igm_lite.schedule import make_scheduler

from test_infer_continuous import oracle, scene  # noqa: F401  (the exact position denoiser, a fixture)

SCHED = make_scheduler()
ENGINES = (DiscreteEngine, AttributeEngine, ZeroShot, PositionEngine, DescentEngine)


def fields(config) -> set:
    """Every field of a configuration, a nested configuration's by their own names (as the engines take them)."""
    out = set()
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        out |= fields(value) if dataclasses.is_dataclass(value) else {f.name}
    return out


class Counter:
    """Backbone calls and the largest batch of one, counted by a hook: the cost that ``max_rows`` changes."""

    def __init__(self, model):
        self.calls, self.largest = 0, 0
        model.backbone.register_forward_pre_hook(self.hook)

    def hook(self, module, args):
        self.calls, self.largest = self.calls + 1, max(self.largest, args[0].shape[0])


def observed(result, counter) -> tuple:
    """All a result says (its answer, errors, candidates, rows, samples, ...) and the backbone's calls, comparable."""
    results = result if isinstance(result, list) else [result]
    parts = [(counter.calls, counter.largest)]
    for r in results:
        for name, value in vars(r).items():
            if name == "seconds":
                continue
            parts.append((name, repr(value.tolist()) if isinstance(value, torch.Tensor) else repr(value)))  # repr: NaN equals NaN
    return tuple(parts)


# Each engine: how to build a model and run it, a base of settings small enough for a test, and each field's change.
# A change may be refused (the engine does not read that field with the base's method): the error must name the field.
def discrete_case(toy_model):
    model = toy_model("mean", concept_dim=4)
    return model, lambda e: e.infer(torch.tensor([0.3, -0.2]), torch.eye(4))


def attribute_case(toy_model):
    model = toy_model("mean", concept_dim=6)
    return model, lambda e: e.infer_many(torch.tensor([[0.3, -0.2], [0.1, 0.4]]))


def zeroshot_case(toy_model):
    model = toy_model("mean", concept_dim=4)
    return model, lambda e: e.infer(torch.tensor([0.3, -0.2]), torch.eye(4), k=2)


def position_case(oracle):  # noqa: F811
    model, _ = oracle
    x = torch.stack([scene([[0.3, 0.3], [0.7, 0.6]]), scene([[0.5, 0.4]])])
    return model, lambda e: e.infer_many(x)


def descent_case(oracle):  # noqa: F811  (K scanned, or given where one initialisation cannot compare Ks)
    model, _ = oracle
    x = torch.stack([scene([[0.3, 0.3], [0.7, 0.6]]), scene([[0.5, 0.4]])])
    return model, lambda e: e.infer_many(x, k=None if e.config.inits > 1 else [2, 1])


NOISE = {"n_samples": 5, "t_range": (100, 900), "spacing": "even", "seed": 3}
DISCRETE = {**NOISE, "method": "naive", "max_rows": 7}
CASES = {  # engine: (case, base settings, {field: changed value}, [(base settings, {field: changed value}) for other methods])
    DiscreteEngine: (discrete_case, {"n_samples": 4}, {**DISCRETE, "schedule": ((2, 1),), "confidence": 0.9, "max_sets": 5, "k_max": 2},
                     [({"n_samples": 4, "max_sets": 5}, {"swaps": False}),  # the search's (more sets than max_sets)
                      ({"n_samples": 4, "method": "eliminate"}, {"schedule": ((1, 3), (4, 1))}),
                      ({"n_samples": 16, "method": "race"}, {"confidence": 0.6})]),
    AttributeEngine: (attribute_case, {"n_samples": 4}, {**DISCRETE, "schedule": ((2, 1),), "confidence": 0.9, "max_sets": 5, "k_max": 2,
                                                          "swaps": False},
                      [({"n_samples": 4, "method": "eliminate"}, {"schedule": ((1, 3), (4, 1))}),
                       ({"n_samples": 16, "method": "race"}, {"confidence": 0.6})]),
    ZeroShot: (zeroshot_case, {"n_samples": 4}, {**DISCRETE, "schedule": ((2, 1),), "confidence": 0.9, "max_sets": 5, "k_max": 2,
                                                  "swaps": False, "reader": "dc", "mode": "weighted"},
               [({"n_samples": 4, "method": "eliminate"}, {"schedule": ((1, 3), (4, 1))}),
                ({"n_samples": 16, "method": "race"}, {"confidence": 0.6})]),
    PositionEngine: (position_case, {"grid": 5, "n_samples": 2, "refine_steps": 2, "prune_samples": 3, "k_max": 4},
                     {**NOISE, "grid": 6, "refine_steps": 3, "refine_lr": 0.05, "prune": False, "prune_samples": 4, "k_max": 3,
                      "overshoot": False, "min_separation": 0.5, "region": (0.2, 0.8, 0.2, 0.8), "max_rows": 7}, []),
    DescentEngine: (descent_case, {"inits": 2, "steps": 2, "k_range": (1, 2), "n_samples": 2},
                    {**NOISE, "inits": 3, "steps": 3, "lr": 0.05, "k_range": (1, 3)},
                    [({"inits": 1, "steps": 2, "k_range": (1, 2)}, {"n_samples": 3, "spacing": "even"})]),
}


@pytest.mark.parametrize("engine", ENGINES, ids=lambda e: e.__name__)
def test_every_setting_changes_the_answer_or_the_cost_or_is_refused(engine, toy_model, oracle):  # noqa: F811
    """Each engine built with each field of its configuration changed in turn, the others at a base: the answer, an
    error, the candidates, the rows, the samples or the backbone's calls change, or the engine refuses the setting by
    name. No engine accepts a setting it ignores."""
    case, base, changes, others = CASES[engine]
    assert set(changes).union(*(c for _, c in others)) == fields(engine.Config()), "every field of the configuration is changed"
    model, run = case(oracle if engine in (PositionEngine, DescentEngine) else toy_model)
    counter = Counter(model)

    def outcome(settings):
        counter.calls = counter.largest = 0
        return observed(run(engine(model, SCHED, **settings)), counter)

    refused = []
    for start, fields_changed in [(base, changes), *others]:
        before = outcome(start)
        assert outcome(start) == before, "the same settings give the same result (the test can see a change)"
        for name, value in fields_changed.items():
            try:
                after = outcome({**start, name: value})
            except (ValueError, TypeError) as e:
                assert re.search(rf"\b{name}\b", str(e)), f"{engine.__name__}: refusing {name}={value!r} must name it: {e}"
                refused.append(name)
                continue
            assert after != before, f"{engine.__name__} ignored {name}={value!r} (from {start})"
    unread = {DiscreteEngine: set(), AttributeEngine: {"max_sets", "k_max", "swaps"}, ZeroShot: {"max_sets", "k_max", "swaps"}}
    if engine in unread:  # with the base's method "cached", what only another method reads is refused, and so is what the engine never reads
        assert set(refused) == {"schedule", "confidence"} | unread[engine]
    elif engine is DescentEngine:  # one initialisation compares nothing: the fixed samples are refused
        assert set(refused) == {"n_samples", "spacing"}
    else:
        assert refused == []


def test_every_engine_has_one_call_shape_and_one_result_contract(toy_model, oracle):  # noqa: F811
    """infer(x0, *inputs, k=None) for one image, infer_many(x0, *inputs, k=None) for a batch: a list with one result
    per image, each a subclass of InferenceResult, the same as that image's answer alone; k is keyword-only, None
    by default, everywhere; every field a result adds to InferenceResult is documented in its class."""
    results = {DiscreteEngine: DiscreteResult, AttributeEngine: AttributeResult, ZeroShot: DiscreteResult,
               PositionEngine: PositionResult, DescentEngine: DescentResult}
    cases = {DiscreteEngine: (toy_model("mean", concept_dim=4), torch.randn(3, 2), (torch.eye(4),), 2),
             AttributeEngine: (toy_model("mean", concept_dim=6), torch.randn(3, 2), (), None),
             ZeroShot: (toy_model("mean", concept_dim=4), torch.randn(3, 2), (torch.eye(4),), 2),
             PositionEngine: (oracle[0], torch.stack([scene([[0.3, 0.3]]), scene([[0.6, 0.6], [0.3, 0.7]])]), (), [1, 2]),
             DescentEngine: (oracle[0], torch.stack([scene([[0.3, 0.3]]), scene([[0.6, 0.6], [0.3, 0.7]])]), (), [1, 2])}
    small = {PositionEngine: {"grid": 5, "n_samples": 2, "refine_steps": 2}, DescentEngine: {"inits": 2, "steps": 2}}
    for engine, (model, batch, inputs, k) in cases.items():
        for method in (engine.infer, engine.infer_many):
            p = inspect.signature(method).parameters["k"]
            assert p.kind == p.KEYWORD_ONLY and p.default is None, f"{engine.__name__}.{method.__name__}: k keyword-only, None by default"
        e = engine(model, SCHED, **small.get(engine, {"n_samples": 3}))
        many = e.infer_many(batch, *inputs, k=k)
        assert isinstance(many, list) and len(many) == len(batch)
        for i, r in enumerate(many):
            assert type(r) is results[engine] and isinstance(r, InferenceResult)
            alone = e.infer(batch[i], *inputs, k=k[i] if isinstance(k, list) else k)
            assert torch.equal(alone.answer, r.answer) and alone.network_evals == r.network_evals, f"{engine.__name__}: image {i} alone"
    for cls in set(results.values()):
        own = {f.name for f in dataclasses.fields(cls)} - {f.name for f in dataclasses.fields(cls.__mro__[1])}  # beyond its parent's
        documented = set(re.findall(r"^\s+(\w+):", cls.__doc__ or "", re.M)) | set(re.findall(r"``(\w+)``", cls.__doc__ or ""))
        assert own <= documented, f"{cls.__name__} documents every field it adds: missing {own - documented}"


def test_each_engine_reads_only_its_own_kinds_recorded_settings(toy_model):
    """One precedence rule: config > the model's recorded block for the engine's kind > the dataclass's defaults, overrides
    last. A block recorded for another kind of engine is not read; a method's own block applies with that method."""
    assert set(ENGINE_CONFIGS) == set(ENGINE_KINDS) and {e.kind for e in ENGINES} == set(ENGINE_KINDS)
    model = toy_model("mean", concept_dim=4)
    model.inference = {"positions": {"n_samples": 7}, "descent": {"steps": 5}, "discrete": {"n_samples": 6, "t_range": [10, 900],
                                                                                            "eliminate": {"n_samples": 6, "schedule": [[3, 2], [6, 1]]}}}
    assert DiscreteEngine(model, SCHED).config.noise.n_samples == 6 and DiscreteEngine(model, SCHED).config.schedule is None
    assert DiscreteEngine(model, SCHED, method="eliminate").config.stages == [(3, 2), (6, 1)]
    assert ZeroShot(model, SCHED).config.noise.t_range == (10, 900)
    assert DescentEngine(model, SCHED).config.steps == 5 and DescentEngine(model, SCHED).config.noise.n_samples == 8  # not the grid's 7
    assert DiscreteEngine(model, SCHED, n_samples=9).config.noise.n_samples == 9  # an override wins
    explicit = DiscreteEngine(model, SCHED).Config()
    assert DiscreteEngine(model, SCHED, explicit).config == explicit  # an explicit config replaces the record
    assert not hasattr(Engine, "reads_recorded") and not hasattr(Engine, "defaults")
