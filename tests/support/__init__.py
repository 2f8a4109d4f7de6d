"""Shared helpers for the test suite (databases, factories)."""
