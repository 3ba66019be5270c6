"""Helpers shared by test modules: fabricated files in public layouts, subprocess runs, paths."""
