"""Choosing the model and provider for each request."""

from parley.routing.selection import Mode, Selection, select_model

__all__ = ["Mode", "Selection", "select_model"]
