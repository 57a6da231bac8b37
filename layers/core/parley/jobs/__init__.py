"""Scheduled jobs: the registry by name, one invocation run exactly once within its time
budget, and the Lambda handler (see docs/operations.md)."""
