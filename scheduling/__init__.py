"""Charge scheduling of depot vehicles in 30-minute slots."""
