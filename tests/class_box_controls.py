"""``python class_box_controls.py FOLDER``: the class box's defences, each shown to matter.

Run by tests/test_class_box.py as root and as a real instructor account (so it imports only the
kit, never tests/: the account's Python is the hub's venv, and this file is copied beside the
submissions). FOLDER holds ``attacker/``, ``looker/`` and ``both/`` (tests/box_attempts.py). Each
is graded for ``normalize`` in a class box, one after another, with the defences and without them:

- ``defended``: ``autograder.sandbox.forkbox.BoxedForkServer`` as a class is graded;
- ``undefended``: the class box as it was before #29: bwrap's own init as the box's pid 1 beside
  the server, the kernel's keyrings open to workers, and a sweep that leaves POSIX message queues.

Prints one JSON object: {"defended": {name: [score, max_score, messages]}, "undefended": {...}}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from autograder.sandbox import jail
from autograder.sandbox.forkbox import BoxedForkServer
from autograder.grade import grade
from autograder.sandbox.limits import Limits

# Not run as ``-m autograder.worker``: no keyring filter (autograder.worker.syscalls) in it or its workers.
UNDEFENDED_SERVER = (
    "import sys\n"
    "from autograder.worker import forkserver\n"
    "forkserver.MQUEUE = '/no-message-queues-swept'\n"
    "forkserver.serve_in_box(int(sys.argv[1]))\n"
    "# --fork-server: what the submissions look for in their parent's command line\n")


class Undefended(BoxedForkServer):
    def _server_command(self, socket_fd: int) -> list[str]:
        argv = [sys.executable, "-I", "-c", UNDEFENDED_SERVER, str(socket_fd), "--fork-server"]
        return jail.command(jail.Box(None, self.folder, self.uid), argv)   # bwrap's init as pid 1


def main(folder: Path) -> dict:
    limits = Limits(probe_seconds=8.0, startup_seconds=60.0)
    seen = {}
    for kind, server_class in (("defended", BoxedForkServer), ("undefended", Undefended)):
        server = server_class()
        try:
            seen[kind] = {}
            for name in ("both", "attacker", "looker"):
                report = grade(folder / name, only=["normalize"], limits=limits, workers=server, secret=None)
                seen[kind][name] = [report.score, report.max_score,
                                    sorted({r.message.en for r in report.results if r.score < r.max_score})]
        finally:
            server.close()
    return seen


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
