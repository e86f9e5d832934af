"""Requirement: forecast paths to capacity per workload and period in reference units."""

from capforecast.requirement.aggregate import (
    regions_of,
    requirement,
    requirement_paths,
    requirement_scenarios,
)

__all__ = ["regions_of", "requirement", "requirement_paths", "requirement_scenarios"]
