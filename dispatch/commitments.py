"""Which vehicles are already committed to a dispatch, and for when.

The manager books a vehicle before its first order leaves and releases it when the vehicle
refuses, stays silent, or the period ends; a second signal whose period overlaps never sees a
booked vehicle as eligible. Asyncio runs one coroutine at a time, so check-then-book with no
``await`` in between is atomic.

Bookings are kept per site and signal (a period and a set of vehicle ids), so booking ten
thousand vehicles for one signal creates one set, not ten thousand records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass
class Booking:
    """The vehicles booked for one signal's period."""

    start: datetime
    end: datetime
    vehicle_ids: set[str] = field(default_factory=set)

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """True when ``[start, end)`` overlaps the booked period."""
        return self.start < end and start < self.end


class Commitments(Protocol):
    """Read side of the ledger, as filters see it."""

    def is_committed(self, site_id: str, vehicle_id: str, start: datetime, end: datetime) -> bool:
        """True when the vehicle is booked for a period overlapping ``[start, end)``."""
        ...

    def busy(self, site_id: str, start: datetime, end: datetime) -> set[str]:
        """Every vehicle at ``site_id`` booked for a period overlapping ``[start, end)``."""
        ...


class CommitmentLedger:
    """Bookings per site and signal."""

    def __init__(self) -> None:
        self._sites: dict[str, dict[str, Booking]] = {}

    def is_committed(self, site_id: str, vehicle_id: str, start: datetime, end: datetime) -> bool:
        """True when an existing booking overlaps ``[start, end)``."""
        return any(
            vehicle_id in b.vehicle_ids and b.overlaps(start, end)
            for b in self._sites.get(site_id, {}).values()
        )

    def busy(
        self, site_id: str, start: datetime, end: datetime, *, ignore_signal: str | None = None
    ) -> set[str]:
        """Every vehicle at ``site_id`` booked for a period overlapping ``[start, end)``,
        leaving out the bookings of ``ignore_signal`` (a dispatch's own)."""
        out: set[str] = set()
        for signal_id, b in self._sites.get(site_id, {}).items():
            if signal_id != ignore_signal and b.overlaps(start, end):
                out |= b.vehicle_ids
        return out

    def holds(self, site_id: str, vehicle_id: str, signal_id: str) -> bool:
        """True when the vehicle is booked for ``signal_id``."""
        booking = self._sites.get(site_id, {}).get(signal_id)
        return booking is not None and vehicle_id in booking.vehicle_ids

    def reserve(
        self,
        site_id: str,
        vehicle_ids: Iterable[str],
        signal_id: str,
        start: datetime,
        end: datetime,
    ) -> None:
        """Book the vehicles for the signal's period (idempotent per signal)."""
        bookings = self._sites.setdefault(site_id, {})
        booking = bookings.get(signal_id)
        if booking is None:
            booking = bookings[signal_id] = Booking(start, end)
        booking.vehicle_ids.update(vehicle_ids)

    def release(self, site_id: str, vehicle_ids: Iterable[str], signal_id: str) -> None:
        """Drop the vehicles' bookings for ``signal_id``."""
        bookings = self._sites.get(site_id, {})
        booking = bookings.get(signal_id)
        if booking is None:
            return
        booking.vehicle_ids.difference_update(vehicle_ids)
        if not booking.vehicle_ids:
            del bookings[signal_id]

    def drop(self, site_id: str, signal_id: str) -> None:
        """Forget every booking of ``signal_id`` (a dispatch that failed)."""
        self._sites.get(site_id, {}).pop(signal_id, None)

    def prune(self, now: datetime) -> int:
        """Forget bookings whose period ended before ``now``; returns how many were dropped."""
        dropped = 0
        for bookings in self._sites.values():
            for signal_id in [s for s, b in bookings.items() if b.end <= now]:
                dropped += len(bookings.pop(signal_id).vehicle_ids)
        return dropped

    def __len__(self) -> int:
        return sum(len(b.vehicle_ids) for bs in self._sites.values() for b in bs.values())
