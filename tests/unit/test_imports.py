"""The unit tests' premise: the grader's pure modules import without TensorFlow or Keras (~8 s)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PURE_MODULES = ["autograder.training.architecture", "autograder.sources", "autograder.core", "autograder.training.findings", "autograder.sandbox.probes",
                "autograder.sandbox.limits", "autograder.sandbox.supervision", "autograder.sandbox.workspace", "autograder.sandbox.workers",
                "autograder.feedback.render", "autograder.protocol", "autograder.training.retraining"]
# matplotlib too: not as slow, but no pure module has a reason to import it either.
HEAVY = ["tensorflow", "keras", "matplotlib"]
REPO = Path(__file__).resolve().parents[2]


def test_the_pure_modules_import_without_tensorflow_or_keras():
    # A fresh interpreter: whatever this session imported must not hide an import chain.
    script = (f"import json, sys\nfor name in {PURE_MODULES!r}:\n    __import__(name)\n"
              f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
