"""The JSON Schema of every input and output file, by name.

Each issue adds its file formats here; ``v2g schema`` prints them all as one JSON object.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from allocation import AllocationResult, DepotDay
from scheduling import ChargePlan, ScheduleProblem

SCHEMAS: dict[str, type[BaseModel]] = {
    "schedule-scenario": ScheduleProblem,
    "schedule-plan": ChargePlan,
    "allocation-day": DepotDay,
    "allocation-result": AllocationResult,
}


def all_schemas() -> dict[str, dict[str, Any]]:
    """Name -> JSON Schema of every registered file format."""
    return {name: model.model_json_schema() for name, model in SCHEMAS.items()}
