"""The population generator of bench/preference_learning.py, without a server: the kinds and
sizes asked for, and truths that are what each kind's messages say they are."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench" / "preference_learning.py"
OPTIONS = {
    "defaultStyle": ("modern", "watercolor", "ink", "flat", "anime", "oil", "pencil", "3d"),
    "defaultProvider": ("flux", "dalle", "ideogram", "midjourney", "imagen", "stable-diffusion"),
}


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_preference_learning", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bench = _load()


def _share(messages: list[Any], field: str, value: str) -> float:
    return sum(message.choices[field] == value for message in messages) / len(messages)


@pytest.mark.parametrize("name", sorted(bench.POPULATIONS))
@pytest.mark.parametrize("users", [6, 80, 200])
def test_every_kind_is_there_in_its_share(name: str, users: int) -> None:
    spec = bench.POPULATIONS[name]
    population = bench.generate(spec, users, seed=3, options=OPTIONS)
    counts = Counter(user.kind for user in population)
    assert len(population) == users
    assert set(counts) == set(bench.KINDS)
    for kind, share in spec.mix.items():
        assert abs(counts[kind] - users * share) <= 1 + len(bench.KINDS), (kind, counts)
    assert len({user.user_id for user in population}) == users


@pytest.mark.parametrize("name", sorted(bench.POPULATIONS))
def test_sizes_and_truths_follow_each_kind(name: str) -> None:
    spec = bench.POPULATIONS[name]
    population = bench.generate(spec, 120, seed=7, options=OPTIONS)
    for user in population:
        count = len(user.messages)
        low, high = spec.sparse_messages if user.kind == "sparse" else spec.messages
        assert low <= count <= high, (user.kind, count)
        assert set(user.truth) == set(OPTIONS)
        for field, truth in user.truth.items():
            assert truth in OPTIONS[field]
            assert all(message.choices[field] in OPTIONS[field] for message in user.messages)
            clean = [message for message in user.messages if not message.noise]
            if field in user.explicit:
                # They set it, and keep choosing something else.
                assert user.explicit[field] == truth
                assert all(message.choices[field] != truth for message in clean)
            elif user.kind == "noisy":
                assert 0.2 < _share(user.messages, field, truth) < 0.8
            elif user.kind == "drifted":
                # The switch comes between 40% and 60% of their messages (50% by default).
                third = round(len(user.messages) * 0.35)
                late = [message for message in user.messages[-third:] if not message.noise]
                early = [message for message in user.messages[:third] if not message.noise]
                assert all(message.choices[field] == truth for message in late)
                assert all(message.choices[field] != truth for message in early)
            else:
                assert all(message.choices[field] == truth for message in clean)
            if user.kind in ("steady", "raters", "explicit"):
                assert len(clean) > 0.5 * len(user.messages)  # noise is per field
        assert bool(user.explicit) == (user.kind == "explicit")
        assert len(user.explicit) <= 1
        rated = [message for message in user.messages if message.thumbs is not None]
        if user.kind == "raters":
            assert len(rated) > len(user.messages) / 2
            assert all(message.thumbs == -1 for message in user.messages if message.noise)
            assert all(message.thumbs == 1 for message in rated if not message.noise)
        else:
            assert not rated


def test_the_same_seed_gives_the_same_population_and_another_seed_another() -> None:
    spec = bench.POPULATIONS["default"]
    first = bench.generate(spec, 40, seed=1, options=OPTIONS)
    assert bench.generate(spec, 40, seed=1, options=OPTIONS) == first
    assert bench.generate(spec, 40, seed=2, options=OPTIONS) != first


def test_the_held_out_population_differs_from_the_default() -> None:
    default, alternate = bench.POPULATIONS["default"], bench.POPULATIONS["alternate"]
    assert default.options != alternate.options
    assert default.noise != alternate.noise
    assert default.messages != alternate.messages


def test_too_few_users_for_the_kinds_is_refused() -> None:
    with pytest.raises(ValueError, match="kinds"):
        bench.allocate(len(bench.KINDS) - 1, bench.POPULATIONS["default"].mix)
