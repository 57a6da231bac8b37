"""Scheduled jobs' machinery: the registry by name, what one invocation is asked to do, and
one invocation run exactly once within its time budget (see docs/operations.md). The Lambda
handler that runs them is ``parley.apps.jobs``."""
