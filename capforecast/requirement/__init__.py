"""Requirement: forecast paths to capacity per workload and period in reference units."""

from capforecast.requirement.aggregate import (
    DEFAULT_UTILIZATION_TARGET,
    regions_of,
    requirement,
    requirement_paths,
    requirement_scenarios,
)

__all__ = [
    "DEFAULT_UTILIZATION_TARGET",
    "regions_of",
    "requirement",
    "requirement_paths",
    "requirement_scenarios",
]
