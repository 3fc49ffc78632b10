"""The child process that runs student code (``python -I -m autograder.worker``). It reports plain data and decides nothing.

Started by ``autograder.sandbox.probes`` as ``python -I -m autograder.worker REQUEST_FD RESULT_FD``. The
request (JSON) names the directory holding the student's ``mnist_tasks``, a list of probes, the
modules set aside (``blocked``) and a secret token; for each probe the worker calls one student
function and writes JSON lines to the result pipe, each carrying the token: ``start``, ``calling``
(the module imported), ``done`` with the outcome. Arrays go to ``.npy`` files in the work directory
(the parent reads them with ``allow_pickle=False``), models as their Keras architecture JSON,
figures as a description. Anything the student function raises becomes ``{"status": "error", ...}``
for that probe alone.

Student code shares this process with the describers, so it could change them. Defences here, in
layers (docs/threat-model.md): the parent decides from data it can check itself wherever it can
(model JSON is vetted and retrained, early stopping is re-run from its settings); describers read
built-in classes only and call their methods through the class; a ``Guard`` records the identity
of everything the reports depend on before any student code runs and lists what changed after
each probe, which turns the probe into ``tampered`` and ends this worker; lines without the token
are ignored by the parent and taken as tampering.

Modules, by job: ``reading`` (reading student objects defensively), ``arguments`` (building a
probe's arguments), ``describe`` (describing what a student function returned), ``guard`` (what
student code must not change), ``loop`` (the request, the probe loop, the result lines). The
messages themselves are defined in ``autograder.protocol``. This package's ``__init__`` imports
nothing: student code that imports it gets no handle on the running worker. Offers only what
draws the reference's figures as a worker draws a student's (``arguments``, ``describe``:
``mnist_course.reference_figures``); the rest is the worker's own.
"""

__all__ = ["arguments", "describe"]
