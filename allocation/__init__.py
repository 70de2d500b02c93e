"""Allocation of delivery routes to vehicles over a rolling window."""
