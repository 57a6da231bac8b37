"""Short-lived shared state behind one small interface, with memory, DynamoDB and Upstash
backends. Backends are imported on demand by ``create_hot_store``."""

from parley.hot.base import HotStore, WindowCount
from parley.hot.factory import create_hot_store, hot_backend_name

__all__ = ["HotStore", "WindowCount", "create_hot_store", "hot_backend_name"]
