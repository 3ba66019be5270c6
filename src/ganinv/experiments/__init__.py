"""Experiment steps of the thesis: each function is the body of one workflow rule."""
