"""Which vehicles are already committed to a dispatch, and for when.

The manager reserves a vehicle before its first order leaves and releases it when the vehicle
refuses, stays silent, or the period ends; a second signal whose period overlaps never sees a
reserved vehicle as eligible. Asyncio runs one coroutine at a time, so check-then-reserve with
no ``await`` in between is atomic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Commitment:
    """A vehicle booked for a signal's period."""

    signal_id: str
    start: datetime
    end: datetime


class Commitments(Protocol):
    """Read side of the ledger, as filters see it."""

    def is_committed(self, site_id: str, vehicle_id: str, start: datetime, end: datetime) -> bool:
        """True when the vehicle is booked for a period overlapping ``[start, end)``."""
        ...

    def busy(self, site_id: str, start: datetime, end: datetime) -> set[str]:
        """Every vehicle at ``site_id`` booked for a period overlapping ``[start, end)``."""
        ...


class CommitmentLedger:
    """Bookings per (site, vehicle)."""

    def __init__(self) -> None:
        self._book: dict[tuple[str, str], list[Commitment]] = {}

    def is_committed(self, site_id: str, vehicle_id: str, start: datetime, end: datetime) -> bool:
        """True when an existing booking overlaps ``[start, end)``."""
        return any(
            c.start < end and start < c.end for c in self._book.get((site_id, vehicle_id), ())
        )

    def busy(self, site_id: str, start: datetime, end: datetime) -> set[str]:
        """Every vehicle at ``site_id`` booked for a period overlapping ``[start, end)``."""
        return {
            vid
            for (site, vid), entries in self._book.items()
            if site == site_id and any(c.start < end and start < c.end for c in entries)
        }

    def holds(self, site_id: str, vehicle_id: str, signal_id: str) -> bool:
        """True when the vehicle is booked for ``signal_id``."""
        return any(c.signal_id == signal_id for c in self._book.get((site_id, vehicle_id), ()))

    def reserve(
        self,
        site_id: str,
        vehicle_ids: Iterable[str],
        signal_id: str,
        start: datetime,
        end: datetime,
    ) -> None:
        """Book the vehicles for the signal's period (idempotent per signal)."""
        booking = Commitment(signal_id, start, end)
        book = self._book
        for vid in vehicle_ids:
            entries = book.get((site_id, vid))
            if entries is None:
                book[(site_id, vid)] = [booking]
            elif all(c.signal_id != signal_id for c in entries):
                entries.append(booking)

    def release(self, site_id: str, vehicle_ids: Iterable[str], signal_id: str) -> None:
        """Drop the vehicles' bookings for ``signal_id``."""
        for vid in vehicle_ids:
            key = (site_id, vid)
            entries = [c for c in self._book.get(key, ()) if c.signal_id != signal_id]
            if entries:
                self._book[key] = entries
            else:
                self._book.pop(key, None)

    def prune(self, now: datetime) -> int:
        """Forget bookings that ended before ``now``; returns how many were dropped."""
        dropped = 0
        for key in list(self._book):
            keep = [c for c in self._book[key] if c.end > now]
            dropped += len(self._book[key]) - len(keep)
            if keep:
                self._book[key] = keep
            else:
                del self._book[key]
        return dropped

    def __len__(self) -> int:
        return sum(len(v) for v in self._book.values())
