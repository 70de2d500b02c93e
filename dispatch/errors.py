"""Errors of the dispatch domain.

DispatchError              base; carries ``signal_id`` when one is known
 ├── PublishError          the publisher could not hand orders to the transport
 └── ConfigurationError    a strategy was configured with impossible parameters
"""

from __future__ import annotations


class DispatchError(Exception):
    """A dispatch could not proceed as asked."""

    def __init__(self, message: str, *, signal_id: str | None = None) -> None:
        super().__init__(message if signal_id is None else f"{message} (signal {signal_id})")
        self.signal_id = signal_id


class PublishError(DispatchError):
    """Orders could not be handed to the transport (broker away, queue closed)."""


class ConfigurationError(DispatchError, ValueError):
    """A dispatcher, fallback or manager parameter is out of range."""
