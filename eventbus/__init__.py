"""Typed in-process asynchronous publish/subscribe."""

from eventbus.bus import EventBus, Handler

__all__ = ["EventBus", "Handler"]
