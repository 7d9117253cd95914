"""Helpers shared by test modules (tests import these, never from conftest modules)."""
