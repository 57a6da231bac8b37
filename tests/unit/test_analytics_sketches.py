"""Sketches read back from their stored form and merged: the same sketches the library's own
decoding and merging give (count, every quantile, and what later merges and additions make of
them), with bins taken whole and added by slices rather than one by one."""

from __future__ import annotations

import random

import pytest
from ddsketch import DDSketch
from ddsketch.pb.ddsketch_pb2 import DDSketch as SketchMessage
from ddsketch.pb.proto import DDSketchProto

from parley.analytics.sketches import (
    decode_sketch,
    encode_sketch,
    merge_sketch,
    new_sketch,
    quantile,
)

QUANTILES = (0.0, 0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)


def library_decode(data: bytes):  # type: ignore[no-untyped-def]
    message = SketchMessage()
    message.ParseFromString(data)
    return DDSketchProto.from_proto(message)


def sketch_of(values: list[float]):  # type: ignore[no-untyped-def]
    sketch = new_sketch()
    for value in values:
        sketch.add(value)
    return sketch


@pytest.mark.parametrize("seed", range(6))
def test_decoding_gives_the_sketch_the_library_decodes(seed: int) -> None:
    rng = random.Random(seed)
    values = [rng.lognormvariate(6.5, rng.uniform(0.1, 1.5)) for _ in range(rng.randint(1, 3000))]
    values += [0.0] * rng.randint(0, 3)  # zero latencies land in the zero count
    data = encode_sketch(sketch_of(values))
    mine, theirs = decode_sketch(data), library_decode(data)
    assert mine.count == theirs.count == len(values)
    for q in QUANTILES:
        assert quantile(mine, q) == quantile(theirs, q), q

    # Merged with others (wider, narrower, empty) and added to, they stay the same.
    others = [
        sketch_of([rng.uniform(1, 100_000) for _ in range(50)]),
        sketch_of([values[0] * 1.01]),
        new_sketch(),
        decode_sketch(encode_sketch(sketch_of([5.0, 50_000.0]))),
    ]
    for other in others:
        mine.merge(other)
        theirs.merge(other)
    for value in (0.5, 123.0, 10**6):
        mine.add(value)
        theirs.add(value)
    assert mine.count == theirs.count
    for q in QUANTILES:
        assert quantile(mine, q) == quantile(theirs, q), q

    # Into an empty sketch, as a window's merges start.
    total, expected = new_sketch(), new_sketch()
    total.merge(decode_sketch(data))
    expected.merge(library_decode(data))
    assert total.count == expected.count
    for q in QUANTILES:
        assert quantile(total, q) == quantile(expected, q), q


def test_an_empty_sketch_decodes_empty() -> None:
    empty = decode_sketch(encode_sketch(new_sketch()))
    assert empty.count == 0
    assert quantile(empty, 0.5) is None


@pytest.mark.parametrize("seed", range(6))
def test_merging_gives_the_sketch_the_library_merges(seed: int) -> None:
    rng = random.Random(seed)
    parts = [
        decode_sketch(
            encode_sketch(sketch_of([rng.lognormvariate(rng.uniform(3, 9), 0.8) for _ in range(n)]))
        )
        for n in (rng.randint(0, 400) for _ in range(12))
    ]
    mine = None
    theirs = new_sketch()
    for part in parts:
        mine = merge_sketch(mine, part)
        theirs.merge(part)
    assert mine is not None
    assert mine.count == theirs.count
    for q in QUANTILES:
        assert quantile(mine, q) == quantile(theirs, q), q
    # The parts are left as they were.
    assert [part.count for part in parts] == [
        decode_sketch(encode_sketch(part)).count for part in parts
    ]
    assert merge_sketch(mine, None) is mine
    assert merge_sketch(None, None) is None


def test_sketches_of_another_accuracy_are_refused() -> None:
    coarse = DDSketch(relative_accuracy=0.05)
    coarse.add(10.0)
    fine = sketch_of([1.0, 2.0])
    with pytest.raises(ValueError, match="different"):
        merge_sketch(fine, coarse)
