"""Scenario reduction: many equally likely sample paths to a few weighted scenarios.

A stochastic plan over 200 paths is 200 copies of every second-stage variable. Fast
forward selection (Heitsch & Römisch, "Scenario reduction algorithms in stochastic
programming", Comput. Optim. Appl. 24, 2003; Dupačová, Gröwe-Kuska & Römisch, Math.
Program. 95, 2003) keeps ``K`` of the paths and gives each the probability of the paths
closest to it. It picks, one at a time, the path whose addition most reduces the
probability-weighted distance from every path to its nearest kept one; that distance
bounds the change in optimal cost for problems whose cost is Lipschitz in demand (as the
planning model is, through the shortfall and rent terms). The kept scenarios are real
paths, not averages, so their joint shape across workloads and periods is one that the
forecast produced. It is deterministic: ties go to the earlier path.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

from capforecast.core.errors import ParameterError


def forward_selection(
    points: np.ndarray, n_keep: int, probability: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Keep ``n_keep`` of ``points`` (one row per path) by fast forward selection.

    Returns the kept rows (in the order they were chosen) and their probabilities: the
    probability of every path goes to its nearest kept path (Euclidean distance).

    Examples
    --------
    >>> points = np.array([[0.0], [0.1], [0.2], [10.0]])
    >>> kept, probability = forward_selection(points, 2)
    >>> kept.tolist(), probability.tolist()
    ([1, 3], [0.75, 0.25])
    """
    points = np.asarray(points, dtype=float)
    n = len(points)
    if not 1 <= n_keep <= n:
        raise ParameterError(
            f"Cannot keep {n_keep} scenarios of {n} paths: choose between 1 and {n}."
        )
    weight = np.full(n, 1.0 / n) if probability is None else np.asarray(probability, float)
    distance = cdist(points, points)
    nearest = np.full(n, np.inf)  # distance of each path to its nearest kept path
    kept: list[int] = []
    for _ in range(n_keep):
        # Cost of keeping u: the weighted distance of every path to the kept set with u.
        cost = weight @ np.minimum(nearest[:, None], distance)
        cost[kept] = np.inf
        choice = int(np.argmin(cost))
        kept.append(choice)
        nearest = np.minimum(nearest, distance[:, choice])
    chosen = np.array(kept)
    owner = np.argmin(distance[:, chosen], axis=1)
    owner[chosen] = np.arange(len(chosen))  # a kept path owns itself, even on ties
    return chosen, np.bincount(owner, weights=weight, minlength=len(chosen))
