"""Scheduled jobs' Lambda handlers (EventBridge Scheduler targets; docs/operations.md)."""

from parley.jobs.handler import lambda_handler

learn_preferences = lambda_handler("learn-preferences")
