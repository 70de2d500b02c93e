"""Tests of the charge scheduler."""
