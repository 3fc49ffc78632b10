"""The training memo (``autograder.training.memo``): a recalled training gives the verdict a real one gives.

Real trainings on real MNIST throughout; each memo lives in the test's own folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from autograder.training import architecture
from autograder.training import memo
from autograder.grade import grade
from autograder.training.memo import Memo
from tests.submissions import REFERENCE, REPO, describe, make_mutant

# The variants these tests train: D (an MLP of the handouts, 1-2 s) and F16 (early stopping).
SUBJECTS = ["D", "F16", "early_stopping"]


def _rows(report):
    return [(r.name, r.score, r.max_score, r.message.en, r.message.ja) for r in report.results]


@pytest.mark.slow
def test_a_recalled_training_gives_the_trained_verdict_word_for_word(tmp_path, mnist, warm_workers):
    training_memo = Memo(tmp_path / "memo")
    cold = grade(REFERENCE.parent, only=SUBJECTS, mnist=mnist, workers=warm_workers, memo=training_memo)
    warm = grade(REFERENCE.parent, only=SUBJECTS, mnist=mnist, workers=warm_workers, memo=training_memo)
    fresh = grade(REFERENCE.parent, only=SUBJECTS, mnist=mnist, workers=warm_workers)   # no memo at all
    assert cold.score == cold.max_score, describe(cold)
    assert _rows(cold) == _rows(warm) == _rows(fresh)   # accuracies included, to the last digit
    assert {v: s["source"] for v, s in cold.trainings.items()} == {"D": "trained", "F16": "trained"}
    assert {v: s["source"] for v, s in warm.trainings.items()} == {"D": "recalled", "F16": "recalled"}
    assert warm.trainings["D"]["run"] == cold.trainings["D"]["run"] == memo.RUN["id"]
    assert fresh.trainings["D"]["source"] == "trained" and fresh.trainings["D"]["key"] == ""


@pytest.mark.slow
@pytest.mark.parametrize("what, variant, replacements", [
    ("an activation", "D", [("models", "model.add(keras.layers.Dense(units, activation=activation))",
                             "model.add(keras.layers.Dense(units, activation=\"tanh\" if activation == \"relu\" "
                             "else activation))")]),
    ("a dropout rate", "D-drop20", [("models", "model.add(keras.layers.Dropout(dropout))",
                                     "model.add(keras.layers.Dropout(dropout + 0.05))")]),
    ("the layer order", "E", [("models", "    for units in hidden_units:\n", "    for units in reversed(hidden_units):\n")]),
])
def test_an_architecture_that_differs_in_one_attribute_is_trained_not_recalled(tmp_path, mnist, warm_workers, what,
                                                                              variant, replacements):
    training_memo = Memo(tmp_path / "memo")
    first = grade(REFERENCE.parent, only=[variant], mnist=mnist, workers=warm_workers, memo=training_memo)
    assert first.trainings[variant]["source"] == "trained"
    other = make_mutant(tmp_path, replacements)
    second = grade(other, only=[variant], mnist=mnist, workers=warm_workers, memo=training_memo)
    assert second.trainings[variant]["source"] == "trained", what
    assert second.trainings[variant]["key"] != first.trainings[variant]["key"]
    again = grade(other, only=[variant], mnist=mnist, workers=warm_workers, memo=training_memo)
    assert again.trainings[variant]["source"] == "recalled" and _rows(again) == _rows(second)


@pytest.mark.slow
def test_names_keras_ignores_share_one_training_and_train_alike(tmp_path, mnist, warm_workers):
    """A builder that names its model and layers differently is the same training: recalled from
    the memo, and, trained afresh, bit for bit the same accuracy (so the key may leave names out)."""
    renamed = make_mutant(tmp_path, [
        ("models", 'keras.Sequential(name="mlp")', 'keras.Sequential(name="my_network")'),
        ("models", "model.add(keras.layers.Dense(units, activation=activation))",
         "model.add(keras.layers.Dense(units, activation=activation, name=f\"hidden_{units}_{len(model.layers)}\"))"),
    ])
    training_memo = Memo(tmp_path / "memo")
    first = grade(REFERENCE.parent, only=["D"], mnist=mnist, workers=warm_workers, memo=training_memo)
    recalled = grade(renamed, only=["D"], mnist=mnist, workers=warm_workers, memo=training_memo)
    assert recalled.trainings["D"]["source"] == "recalled"
    trained = grade(renamed, only=["D"], mnist=mnist, workers=warm_workers)
    assert _rows(first) == _rows(recalled) == _rows(trained)


def test_the_training_form_names_layers_by_position_and_keeps_everything_else():
    import keras

    def functional(names):
        inputs = keras.Input((28, 28), name=names[0])
        hidden = keras.layers.Dense(16, activation="relu", name=names[2])(keras.layers.Flatten(name=names[1])(inputs))
        return keras.Model(inputs, keras.layers.Dense(10, name=names[3])(hidden), name=names[4])

    a = architecture.canonical_json(functional(["in", "flat", "hidden", "out", "mine"]).to_json())
    b = architecture.canonical_json(functional(["x", "f", "dense_7", "dense_8", "model_3"]).to_json())
    assert a != b and architecture.training_form(a) == architecture.training_form(b)
    wider = architecture.canonical_json(functional(["in", "flat", "hidden", "out", "mine"]).to_json()).replace(
        '"units": 16', '"units": 17')
    assert architecture.training_form(wider) != architecture.training_form(a)
    form = json.loads(architecture.training_form(a))
    assert form["config"]["output_layers"][0] == "layer3" and form["config"]["name"] == "model"


def test_two_writers_of_one_key_keep_one_entry_and_both_report_it(tmp_path):
    training_memo = Memo(tmp_path / "memo")
    key = "ab" + "0" * 62
    kept = []

    def write(accuracy):
        kept.append(training_memo.store(key, "training", {"accuracy": accuracy}))

    threads = [threading.Thread(target=write, args=(value,)) for value in (0.5, 0.6, 0.7, 0.8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    values = {entry["value"]["accuracy"] for entry in kept}
    assert len(values) == 1 and training_memo.recall(key)["value"]["accuracy"] in values
    assert [path.name for path in (tmp_path / "memo").rglob("*") if path.is_file() and ".partial" in path.name] == []


@pytest.mark.slow
@pytest.mark.command
def test_concurrent_gradings_share_the_memo_without_a_torn_entry_or_a_disagreement(tmp_path):
    """Two mnist-grade processes on one memo at once, as two nbgrader autogrades or Dask workers:
    both finish with the same verdicts; every entry is whole, one per key."""
    folder = tmp_path / "memo"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    command = [sys.executable, "-m", "autograder.cli", str(REPO / "solutions"), "--only", "A,B,F16",
               "--public-only", "--training-memo", str(folder)]
    runs = [subprocess.Popen([*command, "--json", str(tmp_path / f"r{index}.json")], env=env, cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for index in range(2)]
    for run in runs:
        out, err = run.communicate(timeout=600)
        assert run.returncode == 0, err[-2000:]
    results = [json.loads((tmp_path / f"r{index}.json").read_text()) for index in range(2)]
    assert [(t["name"], t["score"], t["output"]) for t in results[0]["tests"]] == \
        [(t["name"], t["score"], t["output"]) for t in results[1]["tests"]]
    keys = {source["key"] for result in results for source in result["extra_data"]["trainings"].values()}
    assert len(keys) == 3   # A, B, F16: one key each, whichever process trained it
    entries = [json.loads(path.read_text()) for path in folder.rglob("*.json") if path.name != "variants.json"]
    assert entries and all(entry["kind"] in ("training", "parameters", "early_stopping") for entry in entries)
    trainings = [entry for entry in entries if entry["kind"] == "training"]
    assert len(trainings) == 3
    # The second of two trainings of a key waits for the first and recalls it: each trained once.
    sources = [s["source"] for result in results for s in result["extra_data"]["trainings"].values()]
    assert sources.count("trained") == 3 and sources.count("recalled") == 3


@pytest.mark.command
def test_no_training_memo_trains_and_keeps_nothing(tmp_path):
    folder = tmp_path / "memo"
    done = subprocess.run([sys.executable, "-m", "autograder.cli", str(REPO / "solutions"), "--only", "A",
                           "--public-only", "--no-training-memo", "--json", str(tmp_path / "r.json")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600,
                          env=dict(os.environ, XDG_CACHE_HOME=str(folder)))
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((tmp_path / "r.json").read_text())["extra_data"]["trainings"]["A"]["source"] == "trained"
    assert not (folder / "mnist-tasks").exists()   # (matplotlib and fontconfig keep caches there too)


@pytest.mark.command
@pytest.mark.parametrize("first", ["an early-stopping trial", "a parameter count"])
def test_tensorflows_threads_are_pinned_whatever_starts_it_first(first):
    """A warm grading starts TensorFlow only for what it does not recall, so whatever runs its first
    operation (a trial, a count, a training) must pin the threads first, as a cold grading's
    import does: otherwise every training after it runs with the machine's default thread counts."""
    from mnist_kit.runtime import INTER_OP_THREADS, INTRA_OP_THREADS

    settings = (("monitor", "val_loss"), ("min_delta", 0), ("patience", 0), ("mode", "auto"), ("baseline", None),
                ("restore_best_weights", True), ("start_from_epoch", 0))
    model = ('{"module": "keras", "class_name": "Sequential", "config": {"name": "m", "layers": ['
             '{"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4], "name": "i"}}, '
             '{"module": "keras.layers", "class_name": "Dense", "config": {"units": 2, "name": "d"}}]}}')
    call = f"retraining.try_early_stopping({settings!r})" if first == "an early-stopping trial" \
        else f"retraining.rebuild({model!r}).count_params()"
    code = ("from autograder.training import retraining\n" + call + "\nimport tensorflow as tf\n"
            "print(tf.config.threading.get_intra_op_parallelism_threads(), "
            "tf.config.threading.get_inter_op_parallelism_threads())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == [str(INTRA_OP_THREADS), str(INTER_OP_THREADS)]
