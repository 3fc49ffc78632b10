"""Two installs: the student's (what Colab already has, and the kit) and the instructor's extra."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib import metadata

import pytest

from tests.conftest import REPO

# What Google Colab's image has already: the student's install must need nothing more.
COLAB_HAS = {"tensorflow", "keras", "numpy", "matplotlib", "pytest"}


def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def name(requirement: str) -> str:
    return requirement.split(";")[0].split("[")[0].split("=")[0].split("<")[0].split(">")[0].strip().lower()


def test_the_students_install_needs_only_what_colab_has_and_the_instructors_adds_nbgrader():
    assert {name(r) for r in project()["dependencies"]} == COLAB_HAS
    assert {"nbgrader", "dask", "tqdm", "psycopg"} <= {name(r) for r in project()["optional-dependencies"]["instructor"]}


def test_the_student_side_imports_without_the_instructors_packages():
    # nbgrader, Jupyter's server side and Dask made unimportable: the loader, the grade cells, the
    # self-check and the grader itself still import.
    code = """
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in {"nbgrader", "dask", "distributed", "tqdm", "psycopg", "jupyter_server", "nbclient"}:
            raise ImportError(f"{name} is not installed (student install)")
sys.meta_path.insert(0, Absent())
import mnist_kit.data, mnist_kit.runtime, mnist_kit.i18n
import autograder.nbgrader.cells, autograder.conftest, autograder.grade, autograder.cli, autograder.feedback.report
print("ok")
"""
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0 and completed.stdout.strip() == "ok", completed.stderr[-2000:]


@pytest.mark.slow
def test_installing_the_kit_where_colabs_packages_are_installs_nothing_else(tmp_path):
    # A fresh environment with exactly the versions this one has of what Colab provides (and what
    # they need), then pip's own plan for installing the kit: the kit alone.
    pins = [f"{package}=={metadata.version(package)}" for package in sorted(COLAB_HAS)]
    environment = tmp_path / "colab-like"
    subprocess.run([sys.executable, "-m", "venv", str(environment)], check=True)
    python = environment / "bin" / "python"
    installed = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *pins],
                               capture_output=True, text=True, timeout=1800)
    assert installed.returncode == 0, installed.stderr[-2000:]
    report = tmp_path / "plan.json"
    planned = subprocess.run([str(python), "-m", "pip", "install", "--dry-run", "--quiet", "--report", str(report),
                              str(REPO)], capture_output=True, text=True, timeout=900)
    assert planned.returncode == 0, planned.stderr[-2000:]
    plan = json.loads(report.read_text(encoding="utf-8"))["install"]
    assert [item["metadata"]["name"] for item in plan] == ["mnist-tasks"], [i["metadata"]["name"] for i in plan]
