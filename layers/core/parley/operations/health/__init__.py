"""Provider health: per provider and model, an hour's calls, errors, latency and time to first
token against the same hour a week earlier, with the circuit breaker's state and openings
(``job``, hourly), kept as health records (``store``), read and reset by an operator
(``health_api``, ``admin``). docs/operations.md#provider-health."""
