"""Scheduled jobs' Lambda handlers (EventBridge Scheduler targets; docs/operations.md)."""

from parley.apps.jobs import lambda_handler

learn_preferences = lambda_handler("learn-preferences")
aggregate_usage = lambda_handler("aggregate-usage")
provider_health = lambda_handler("provider-health")
