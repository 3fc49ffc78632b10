"""The graded checks, one module per part of the exercise contract.

Each module's ``checks()`` returns its ``Check`` objects; ``catalog()`` gathers them in the order
reports list them. Probes (calls of student functions) are described as data, run by the worker.
Offers ``catalog`` to the grading pipeline; ``plots`` (its panels, to the worker's hints) and
``variants`` (the variant checks, to the promise table) are read by name too (``__all__``).
"""

from __future__ import annotations

from autograder.checks import chain, compiling, models, plots, preprocessing, training, variants

__all__ = ["catalog", "plots", "variants"]


def catalog(secret=None) -> list:
    """Every check; the hidden ones (and the public ones' twins) only with the course's ``secret``
    (``autograder.secret.CourseSecret``), from which their inputs come."""
    return [*preprocessing.checks(secret), *training.checks(), *compiling.checks(), *plots.checks(), *chain.checks(),
            *models.checks(secret), *variants.checks()]
