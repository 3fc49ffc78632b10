"""What the grader finds out itself, in its own process, from a worker's outcomes: a builder's model
read, vetted, counted and trained (``ModelEvidence``, ``TrainingResult``), a student's early
stopping tried (``EarlyStoppingTrial``). ``autograder.training.retraining`` makes them; the checks read them
through ``autograder.core.Evidence``. Plain data, in a module of their own so that the two import
it and not each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from autograder.training.architecture import ModelReading
from mnist_kit.i18n import Text


@dataclass
class TrainingResult:
    """A training's result (a probe's outcome is ``autograder.protocol.Outcome``)."""
    accuracy: float
    epochs_run: int
    seconds: float


@dataclass
class ModelEvidence:
    """What the grader made of one builder's model, once, before any check reads it."""
    reading: ModelReading                   # layer rows, input shape, vetting (autograder.training.architecture)
    parameters: int | Text | None = None    # the rebuilt model's count, or why it could not be rebuilt
    training: TrainingResult | Text | None = None   # the grader's training of it (accuracy checks only)


@dataclass(frozen=True)
class EarlyStoppingTrial:
    """The grader's own training run with a student's EarlyStopping settings (autograder.training.retraining)."""
    run: dict | None = None          # epochs_run, val_loss per epoch, final_val_loss
    unusable: str | None = None      # a setting that cannot be tried
    error: str | None = None         # what Keras raised when trying it
