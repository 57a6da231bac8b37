"""Budgets: token balances, reservations, daily spend caps and rate limits."""
