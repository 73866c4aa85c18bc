"""Storage: tables, engine and typed queries. No rules and no commits live here."""
