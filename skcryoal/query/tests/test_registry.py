import importlib
import sys

import pytest
from modAL.uncertainty import entropy_sampling

from skcryoal.query import _registry
from skcryoal.query._badge import BADGEQuery
from skcryoal.query._balanced import ClassBalancedQuery
from skcryoal.query._coreset import CoreSetQuery
from skcryoal.query._ema_deviation import EMADeviationQuery
from skcryoal.query._mc_dropout import MCDropoutQuery
from skcryoal.query._random import RandomQuery
from skcryoal.query._registry import available_strategies, describe_strategies, get_strategy
from skcryoal.query._typiclust import TypiClustQuery
from skcryoal.query._uncertainty import EntropyQuery, LeastConfidentQuery, MarginQuery

ALL = [
    "badge",
    "balanced",
    "bald",
    "coreset",
    "ema",
    "entropy",
    "least_confident",
    "ll4al",
    "margin",
    "mc_dropout",
    "probcover",
    "random",
    "typiclust",
    "vaal",
]


def test_names_and_descriptions():
    assert available_strategies() == ALL
    descriptions = describe_strategies()
    assert list(descriptions) == ALL
    assert all(isinstance(d, str) and d for d in descriptions.values())


@pytest.mark.parametrize(
    "name, cls",
    [
        ("coreset", CoreSetQuery),
        ("ema", EMADeviationQuery),
        ("entropy", EntropyQuery),
        ("least_confident", LeastConfidentQuery),
        ("margin", MarginQuery),
        ("mc_dropout", MCDropoutQuery),
        ("random", RandomQuery),
        ("badge", BADGEQuery),
        ("bald", MCDropoutQuery),
        ("balanced", ClassBalancedQuery),
        ("typiclust", TypiClustQuery),
    ],
)
def test_returns_a_new_instance_with_params(name, cls):
    a, b = get_strategy(name, random_state=3), get_strategy(name, random_state=3)
    assert type(a) is cls and a is not b
    assert a.random_state == 3


def test_names_are_normalized():
    assert type(get_strategy("MC-Dropout", n_passes=5)) is MCDropoutQuery
    assert type(get_strategy(" Least-Confident ")) is LeastConfidentQuery


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ValueError) as info:
        get_strategy("entropi")
    message = str(info.value)
    assert message.startswith("unknown strategy 'entropi'; did you mean 'entropy'? Valid names: ")
    assert all(repr(n) in message for n in ALL)
    with pytest.raises(ValueError, match=r"unknown strategy 'zzz'\. Valid names"):
        get_strategy("zzz")


def test_unknown_parameter_lists_the_accepted_ones():
    with pytest.raises(
        TypeError,
        match=r"got unexpected parameter\(s\) \['n_pases'\].*"
        r"Did you mean 'n_passes'\?",
    ):
        get_strategy("mc_dropout", n_pases=3)


def test_callables_pass_through():
    strategy = EntropyQuery(batch_size=2)
    assert get_strategy(strategy) is strategy
    assert get_strategy(entropy_sampling) is entropy_sampling
    with pytest.raises(TypeError, match="cannot be applied to a strategy instance"):
        get_strategy(strategy, random_state=0)
    with pytest.raises(TypeError, match=r"the class EntropyQuery\. Pass an instance"):
        get_strategy(EntropyQuery)
    with pytest.raises(TypeError, match="got 3 of type int"):
        get_strategy(3)


@pytest.fixture
def fake_entry(monkeypatch, tmp_path):
    """Register 'fake' -> module skcryoal_fake_strategy in tmp_path (not written yet)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    entry = ("skcryoal_fake_strategy", "FakeQuery", "a test strategy")
    monkeypatch.setitem(_registry._REGISTRY, "fake", entry)
    yield tmp_path / "skcryoal_fake_strategy.py"
    sys.modules.pop("skcryoal_fake_strategy", None)


def test_missing_module_is_a_clear_error_and_is_picked_up_once_it_lands(fake_entry):
    with pytest.raises(ImportError, match=r"strategy 'fake' \(FakeQuery\) is not available"):
        get_strategy("fake")
    fake_entry.write_text(
        "class FakeQuery:\n"
        "    def __init__(self, random_state=None):\n"
        "        self.random_state = random_state\n"
    )
    importlib.invalidate_caches()
    assert get_strategy("fake", random_state=1).random_state == 1


def test_a_broken_import_inside_the_module_is_not_hidden(fake_entry):
    fake_entry.write_text("import skcryoal_no_such_dependency\n")
    importlib.invalidate_caches()
    with pytest.raises(ModuleNotFoundError, match="skcryoal_no_such_dependency"):
        get_strategy("fake")


def test_missing_class_in_module(fake_entry):
    fake_entry.write_text("X = 1\n")
    importlib.invalidate_caches()
    with pytest.raises(ImportError, match="defines no FakeQuery"):
        get_strategy("fake")
