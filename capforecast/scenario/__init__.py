"""Scenarios: planning inputs changed as data, run, swept and compared."""
