"""Latency distributions as DDSketches: mergeable, 1% relative accuracy.

A quantile of any span (an hour, thirty days, one model or all) is read off the merge of its
hours' sketches, never averaged from their quantiles. Sketches are stored in DDSketch's own
protobuf form (``ddsketch.pb``), which keeps the bins; count and sum are kept beside them by
the rollup, since the protobuf form does not carry them.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ddsketch.ddsketch import BaseDDSketch

__all__ = [
    "RELATIVE_ACCURACY",
    "decode_sketch",
    "encode_sketch",
    "merge_sketch",
    "new_sketch",
    "quantile",
]

RELATIVE_ACCURACY = 0.01


def new_sketch() -> BaseDDSketch:
    from ddsketch import DDSketch

    return DDSketch(relative_accuracy=RELATIVE_ACCURACY)


def encode_sketch(sketch: BaseDDSketch) -> bytes:
    """DDSketch's protobuf message, with each store's bins cut to those in use (the library's
    own ``to_proto`` writes whole 128-bin chunks, most of them zeros)."""
    from ddsketch.pb.ddsketch_pb2 import DDSketch as SketchMessage
    from ddsketch.pb.ddsketch_pb2 import Store as StoreMessage
    from ddsketch.pb.proto import KeyMappingProto

    def store(dense: Any) -> StoreMessage:
        if dense.count == 0:
            return StoreMessage()
        start = dense.min_key - dense.offset
        bins = dense.bins[start : dense.max_key - dense.offset + 1]
        return StoreMessage(contiguousBinCounts=bins, contiguousBinIndexOffset=dense.min_key)

    message = SketchMessage(
        mapping=KeyMappingProto.to_proto(sketch._mapping),  # type: ignore[no-untyped-call]
        positiveValues=store(sketch._store),
        negativeValues=store(sketch._negative_store),
        zeroCount=sketch._zero_count,
    )
    return bytes(message.SerializeToString())


def decode_sketch(data: bytes) -> BaseDDSketch:
    """The sketch ``encode_sketch`` (or the library's ``to_proto``) wrote. Each store takes
    its bins whole: the library's ``from_proto`` adds them one call at a time, which made
    decoding most of an analytics query's time and grow with the bins a sketch holds."""
    from ddsketch.ddsketch import BaseDDSketch
    from ddsketch.pb.ddsketch_pb2 import DDSketch as SketchMessage
    from ddsketch.pb.proto import KeyMappingProto
    from ddsketch.store import DenseStore

    def store(message: Any) -> DenseStore:
        # What the library's from_proto leaves: every bin of the message, zeros included,
        # from its offset on, and their sum as the count.
        dense = DenseStore()
        bins = list(message.contiguousBinCounts)
        if bins:
            dense.bins = bins
            dense.offset = dense.min_key = message.contiguousBinIndexOffset
            dense.max_key = dense.offset + len(bins) - 1
            dense.count = sum(bins)
        return dense

    message = SketchMessage()
    message.ParseFromString(data)
    return BaseDDSketch(
        mapping=KeyMappingProto.from_proto(message.mapping),  # type: ignore[no-untyped-call]
        store=store(message.positiveValues),
        negative_store=store(message.negativeValues),
        zero_count=message.zeroCount,
    )


def merge_sketch(into: BaseDDSketch | None, other: BaseDDSketch | None) -> BaseDDSketch | None:
    """``into`` with ``other`` merged in (a new sketch when ``into`` is None; ``into`` as it
    was when ``other`` holds nothing): the library's ``merge``, with each store's bins added
    a slice at a time rather than one bin per step of a Python loop, since an analytics query
    is mostly merges."""
    from ddsketch.store import DenseStore

    if other is None or other.count == 0:
        return into
    if into is None:
        into = new_sketch()
    stores = (into._store, into._negative_store, other._store, other._negative_store)
    if into.count == 0 or not all(type(store) is DenseStore for store in stores):
        into.merge(other)  # a copy, or a store this does not know: the library's own way
        return into
    if into._mapping.gamma != other._mapping.gamma:
        raise ValueError("Cannot merge two DDSketches of different relative accuracies.")
    _add_bins(into._store, other._store)
    _add_bins(into._negative_store, other._negative_store)
    into._zero_count += other._zero_count
    into._count += other._count
    into._sum += other._sum
    into._min = min(into._min, other._min)
    into._max = max(into._max, other._max)
    return into


def _add_bins(mine: Any, theirs: Any) -> None:
    """``DenseStore.merge``, adding the bins by slices."""
    if theirs.count == 0:
        return
    if mine.count == 0:
        mine.copy(theirs)
        return
    if theirs.min_key < mine.min_key or theirs.max_key > mine.max_key:
        mine._extend_range(theirs.min_key, theirs.max_key)
    added = theirs.bins[theirs.min_key - theirs.offset : theirs.max_key - theirs.offset + 1]
    start = theirs.min_key - mine.offset
    end = start + len(added)
    mine.bins[start:end] = map(operator.add, mine.bins[start:end], added)
    mine.count += theirs.count


def quantile(sketch: BaseDDSketch | None, q: float) -> float | None:
    """The ``q`` quantile (0 to 1) of the values in ``sketch``; None when it holds none."""
    if sketch is None or sketch.count == 0:
        return None
    value = sketch.get_quantile_value(q)
    return None if value is None else float(value)
