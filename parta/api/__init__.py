"""HTTP routes under /api/v1: parse, authenticate, call one action, serialize."""
