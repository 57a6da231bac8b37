"""Regression alerts: rules evaluated from the analytics rollups after each aggregation, per org
and deployment-wide; each condition published to the alerts topic once, throttled, and followed
by one "resolved" message when it clears; their state and history kept (docs/operations.md)."""
