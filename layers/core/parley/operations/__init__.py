"""Operations: provider health, regression alerts and their delivery (docs/operations.md)."""
