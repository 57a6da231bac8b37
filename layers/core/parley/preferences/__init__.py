"""Per-user preferences: panel schemas, storage, the API and smart defaults for chat."""
