"""Per-org settings: routing, budgets, rate limits and the response cache."""
