"""Requirement: forecast paths to capacity per workload and period in reference units."""

from capforecast.requirement.aggregate import requirement, requirement_scenarios

__all__ = ["requirement", "requirement_scenarios"]
