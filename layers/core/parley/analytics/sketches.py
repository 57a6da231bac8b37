"""Latency distributions as DDSketches: mergeable, 1% relative accuracy.

A quantile of any span (an hour, thirty days, one model or all) is read off the merge of its
hours' sketches, never averaged from their quantiles. Sketches are stored in DDSketch's own
protobuf form (``ddsketch.pb``), which keeps the bins; count and sum are kept beside them by
the rollup, since the protobuf form does not carry them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ddsketch.ddsketch import BaseDDSketch

__all__ = ["RELATIVE_ACCURACY", "decode_sketch", "encode_sketch", "new_sketch", "quantile"]

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
    from ddsketch.pb.ddsketch_pb2 import DDSketch as SketchMessage
    from ddsketch.pb.proto import DDSketchProto

    message = SketchMessage()
    message.ParseFromString(data)
    sketch: BaseDDSketch = DDSketchProto.from_proto(message)  # type: ignore[no-untyped-call]
    return sketch


def quantile(sketch: BaseDDSketch | None, q: float) -> float | None:
    """The ``q`` quantile (0 to 1) of the values in ``sketch``; None when it holds none."""
    if sketch is None or sketch.count == 0:
        return None
    value = sketch.get_quantile_value(q)
    return None if value is None else float(value)
