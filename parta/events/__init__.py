"""The event log, the bus that publishes it after commit, and sync."""
