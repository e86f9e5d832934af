"""How the service runs, and the bounds it puts on what one key may ask of it.

Every request the service takes is small, but a small request may name large work: a
forecast of 198 bytes can ask for 68 MB of results, and a job can run, or hold memory,
until the machine gives out. Each bound below is checked before the work starts when it
can be (a ``422`` naming the bound), and enforced while it runs otherwise (the job
fails, naming the bound). The library's own bounds (``capforecast.core.limits``) apply
too; these are tighter, for a server shared by several callers. ``capforecast serve``
sets the ones an operator most often changes (docs/service.md).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from capforecast.core.limits import LIMITS

MIB = 2**20
DAY_S = 86_400.0


class Settings(BaseModel):
    """The service's settings (every size in bytes, every time in seconds)."""

    model_config = ConfigDict(frozen=True)

    db: Path
    keys: tuple[str, ...]
    #: Jobs run at once (processes).
    workers: int = Field(2, ge=1)
    #: A request body over this gets 413.
    max_body_bytes: int = Field(20 * MIB, ge=1)
    #: A key with this many jobs queued or running gets 429.
    max_active_jobs_per_key: int = Field(8, ge=1)
    #: Wall-clock seconds a job of any kind may run; the runner stops it after that.
    #: A plan's ``time_limit_s`` may not ask for more.
    job_time_limit_s: float = Field(900.0, gt=0)
    #: Address space of a job's process (``RLIMIT_AS``; its solver processes get their
    #: own). Prophet, NumPy and HiGHS reserve more than they use: the sample jobs reach
    #: 0.7 GB (plan, comparison) to 1.9 GB (a forecast with prophet) of address space.
    job_memory_bytes: int = Field(4096 * MIB, ge=256 * MIB)
    #: Values of one forecast: series x horizon x models x (1 + 2 x levels).
    max_forecast_values: int = Field(2_000_000, ge=1)
    #: Rows of one page of a result table (also the default page).
    max_table_rows: int = Field(10_000, ge=1)
    #: Scenario changes of one comparison, all scenarios together.
    max_scenario_changes: int = Field(LIMITS.scenario_changes, ge=1)
    #: Bytes of results one job may keep.
    max_result_bytes: int = Field(200 * MIB, ge=1)
    #: Bytes of inputs and results one key may keep (507 beyond).
    quota_bytes: int = Field(1024 * MIB, ge=1)
    #: Finished jobs (with their results) and inputs unused for this long are removed.
    retention_s: float = Field(30 * DAY_S, gt=0)

    @property
    def sweep_every_s(self) -> float:
        """How often the runner removes what is past retention: every minute, or ten
        times per retention period when that is shorter."""
        return min(60.0, self.retention_s / 10)


__all__ = ["DAY_S", "MIB", "Settings"]
