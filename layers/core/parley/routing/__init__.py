"""Routing: what a request needs (analysis), which models may answer it (chains, plan), and
keeping it answered when they fail (retry, breaker, failover)."""

from parley.routing.analysis import Analysis, analyse
from parley.routing.plan import Route, RouteRequest, plan_route

__all__ = ["Analysis", "Route", "RouteRequest", "analyse", "plan_route"]
