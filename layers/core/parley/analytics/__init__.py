"""Analytics: the read side of what Parley records.

Usage events (one per provider call, ``parley.state.usage``) and feedback records become
hourly and daily rollups per org and series (``rollup``, ``aggregation``, stored by
``store``); every figure the analytics API, the dashboard and the recommender give is computed
from rollups, so a query costs days x series, never the number of events.
"""
