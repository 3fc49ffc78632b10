"""The grader's own training: nothing here runs student code.

Owns reading a student's model from its vetted Keras JSON (``architecture``: an allowlist of
built-in layers, the layer table), retraining it briefly on MNIST with the variant table's seed and
budget and trying its early-stopping settings (``retraining``), what those trainings found
(``findings``), the memo that recalls a training already done (``memo``) and the course's cache of
graded results (``cache``).

Offers all five modules (``__all__``): the checks read architectures and findings, the grading
pipeline retrains, the nbgrader plug-in, the warm grader and the class-scale autograde share the
memo and the cache.
"""

__all__ = ["architecture", "retraining", "findings", "memo", "cache"]
