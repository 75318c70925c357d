"""Vocabulary, settings, errors and the translation catalogue shared by every layer.

The bottom of the house: imports nothing of the project.
"""
