"""The box: where student code runs, and everything that keeps it there.

Owns the bubblewrap box (``jail``), the workers that run probes in it and where they come from
(``workers``: fresh, forked, kept; ``forkbox``: a fork server inside a box, lent to a class or to a
warm grader), running a list of probes and surviving whatever they do (``probes.run_probes``), the
limits a worker starts with (``limits``) and its processes' supervision (``supervision``,
``processes``); private to it: the submission's staged copy and the work directory's watch
(``workspace``). docs/threat-model.md says what the box keeps out.

Offers the grading pipeline, the nbgrader plug-in and the warm grader the modules ``__all__``
lists; the worker (``autograder.worker``, the process inside the box) uses ``processes`` to sweep
what student code left behind. Other subpackages import those modules only
(``tests/unit/test_layers.py``).
"""

__all__ = ["jail", "probes", "workers", "forkbox", "limits", "supervision", "processes"]
