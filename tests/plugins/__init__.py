"""Tiny strategies used by the tests."""
