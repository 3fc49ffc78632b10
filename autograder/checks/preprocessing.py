"""Checks of mnist_tasks.preprocessing: values, shapes, dtypes, untouched inputs (contract table 1).

Inputs are random but seeded, so a grading run is repeatable and hard-coded answers fail. The
hidden checks, and the twins that confirm each public check on its inputs reordered, draw theirs
from the course's secret (``autograder.secret``): without it they are not built at all.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np

from autograder import sources
from autograder.checks import arrays
from autograder.checks.arrays import (HARD_CODED, HIDDEN, array_probe, array_verdict, derangement, random_images,
                                      twin_of)
from autograder.core import Check, Evidence, Text, Verdict, raises_value_error
from autograder.secret import CourseSecret

PUBLIC_SEED = 2024


BY_256 = Text("255 ではなく 256 で割っています。最大の画素値 255 が 1.0 になるよう 255 で割ってください。",
              "divided by 256, not 255: divide by 255, so that the largest pixel value 255 becomes 1.0.")
COLUMN_ORDER = Text("各画像を列ごとに (Fortran 順で) 読んでいます。行ごとに (C 順で) つなげてください。",
                    "each image was read column by column (Fortran order); join its rows in C order.")
OFF_BY_ONE = Text("1.0 が 1 列ずれています (off by one)。ラベル k は k 列目 (0 始まり) に置きます。",
                  "every 1.0 is one column off (off by one): label k goes in column k, counting from 0.")


HIGHEST_ON_TIES = Text("同点のとき大きい番号を返しています。np.argmax と同じく、最大値が複数ある行では最も小さい番号を"
                       "返してください。",
                       "ties went to the highest index: as np.argmax does, return the lowest index of a row's equal maxima.")
# Rows whose largest score is shared: by the first two, by columns apart, by all ten, by the last two,
# among negative scores; as float32 softmax-like scores.
PUBLIC_TIES = np.array([
    [0.5, 0.5, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0.25, 0, 0, 0, 0.25, 0, 0.1],
    [0.1] * 10,
    [0, 0, 0, 0, 0, 0, 0, 0, 0.5, 0.5],
    [-2, -1, -1, -3, -1, -4, -5, -6, -7, -8],
], np.float32)


def _normalize_mistakes(images):
    return [(images.astype(np.float32) / np.float32(256), BY_256)]


def _flatten_mistakes(images):
    return [(images.transpose(0, 2, 1).reshape(images.shape[0], -1), COLUMN_ORDER)]


def _one_hot_mistakes(encoded):
    return [(np.roll(encoded, shift, axis=1), OFF_BY_ONE) for shift in (-1, 1)]


def checks(secret: CourseSecret | None = None) -> list[Check]:
    """The public checks; with the course's ``secret``, the hidden ones and the public ones' twins too."""
    result = []
    at_course_size = {check.subject: check for check in _course_size_checks(secret)}
    rounds = [(False, np.random.default_rng(PUBLIC_SEED))]
    if secret is not None:
        rounds.append((True, secret.rng("preprocessing.hidden")))
    for hidden, rng in rounds:
        tag = "hidden" if hidden else "public"
        # A public check's twin (its inputs reordered) comes from the secret too.
        array_check = functools.partial(arrays.array_check, secret=None if hidden else secret)
        count = int(rng.integers(7, 40))

        # normalize
        images = random_images(rng, count)
        probe = array_probe(f"normalize.{tag}.images", "normalize", {"images": images})
        result.append(array_check(Text("ランダムな画像 → [0, 1] の float32、入力は変えない", "random images → float32 in [0, 1], input unchanged"), "normalize",
                                   probe, images.astype(np.float32) / np.float32(255), hidden,
                                   mistakes=_normalize_mistakes(images), exact_dtype=np.float32))
        if not hidden:
            fixed = np.array([[0, 1, 51, 127, 128, 254, 255]], np.uint8)
            probe = array_probe("normalize.fixed", "normalize", {"images": fixed})
            twin = None
            if secret is not None:   # one row: its twin has the pixels in the secret's order instead
                reordered = fixed[:, derangement(secret.rng("normalize.fixed.twin"), fixed.shape[1])]
                twin = twin_of(probe, {"images": reordered}, reordered.astype(np.float32) / np.float32(255))
            result.append(array_check(Text("0, 51, 255 → 0.0, 0.2, 1.0 (float32)", "0, 51, 255 → 0.0, 0.2, 1.0 (float32)"), "normalize", probe,
                                       fixed.astype(np.float32) / np.float32(255),
                                       mistakes=_normalize_mistakes(fixed), exact_dtype=np.float32, twin=twin))
        other_shape = rng.integers(0, 256, size=tuple(int(n) for n in rng.integers(2, 6, size=3))).astype(np.uint8)
        probe = array_probe(f"normalize.{tag}.shape", "normalize", {"images": other_shape})
        result.append(array_check(Text("どんな形もそのまま保つ", "any shape is kept"), "normalize", probe,
                                   other_shape.astype(np.float32) / np.float32(255), hidden,
                                   mistakes=_normalize_mistakes(other_shape), exact_dtype=np.float32))
        if not hidden:
            result.append(at_course_size["normalize"])

        # flatten
        images = random_images(rng, count)
        probe = array_probe(f"flatten.{tag}.uint8", "flatten", {"images": images})
        result.append(array_check(Text("(N, 28, 28) → (N, 784)、行ごとに C 順でつなぐ", "(N, 28, 28) → (N, 784), rows in C order"), "flatten", probe,
                                   images.reshape(count, 784), hidden, mistakes=_flatten_mistakes(images),
                                   exact_dtype=np.uint8))
        floats = rng.random((count, 28, 28), dtype=np.float32)
        probe = array_probe(f"flatten.{tag}.float32", "flatten", {"images": floats})
        result.append(array_check(Text("float32 は float32 のまま", "float32 stays float32"), "flatten", probe,
                                   floats.reshape(count, 784), hidden, mistakes=_flatten_mistakes(floats),
                                   exact_dtype=np.float32))
        if not hidden:
            result.append(at_course_size["flatten"])

        # add_channel_axis
        images = random_images(rng, count)
        probe = array_probe(f"add_channel_axis.{tag}.uint8", "add_channel_axis", {"images": images})
        result.append(array_check(Text("(N, 28, 28) → (N, 28, 28, 1)", "(N, 28, 28) → (N, 28, 28, 1)"), "add_channel_axis", probe,
                                   images[..., np.newaxis], hidden, exact_dtype=np.uint8))
        probe = array_probe(f"add_channel_axis.{tag}.float32", "add_channel_axis", {"images": floats})
        result.append(array_check(Text("float32 は float32 のまま", "float32 stays float32"), "add_channel_axis", probe,
                                   floats[..., np.newaxis], hidden, exact_dtype=np.float32))
        if not hidden:
            result.append(at_course_size["add_channel_axis"])

        # one_hot
        labels = rng.integers(0, 10, size=count).astype(np.uint8)
        probe = labels_probe = array_probe(f"one_hot.{tag}.labels", "one_hot", {"labels": labels}, track_to_categorical=True)
        expected = np.eye(10, dtype=np.float32)[labels]
        result.append(array_check(Text("ランダムなラベル → 1.0 を 1 つずつ持つ (N, 10) の float32", "random labels → (N, 10) float32 rows with one 1.0"), "one_hot",
                                   probe, expected, hidden, mistakes=_one_hot_mistakes(expected),
                                   exact_dtype=np.float32))
        classes = int(rng.integers(11, 16))
        many = rng.integers(0, classes, size=count).astype(np.int64)
        probe = array_probe(f"one_hot.{tag}.classes", "one_hot", {"labels": many}, track_to_categorical=True,
                       kwargs={"num_classes": {"value": classes}})
        expected = np.eye(classes, dtype=np.float32)[many]
        # A hidden check's name is the same under every secret: it says nothing of its inputs.
        shape = "num_classes > 10 → (N, num_classes)" if hidden else f"num_classes={classes} → (N, {classes})"
        classes_check = array_check(Text(shape, shape), "one_hot", probe,
                                    expected, hidden, mistakes=_one_hot_mistakes(expected), exact_dtype=np.float32)
        result.append(classes_check)
        # Its own generator: drawing from rng here would change the inputs of the checks below.
        result.append(_out_of_range_check(secret.rng("one_hot.hidden.out_of_range") if hidden else None, tag,
                                          hidden, labels_probe, count))
        if not hidden:
            fixed = np.array([5, 0, 9], np.uint8)
            handout_probe = array_probe("one_hot.fixed", "one_hot", {"labels": fixed}, track_to_categorical=True)
            expected = np.eye(10, dtype=np.float32)[fixed]
            handout_check = array_check(Text("5 → (0, 0, 0, 0, 0, 1, 0, 0, 0, 0) (ハンドアウト 002)", "5 → (0, 0, 0, 0, 0, 1, 0, 0, 0, 0) (handout 002)"), "one_hot",
                                         handout_probe, expected, mistakes=_one_hot_mistakes(expected),
                                         exact_dtype=np.float32)
            result.append(handout_check)
            result.append(_without_to_categorical([handout_check, classes_check]))
            result.append(at_course_size["one_hot"])

        # labels_from_scores
        logits = rng.normal(size=(count, 10)).astype(np.float32)
        probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        probe = array_probe(f"labels_from_scores.{tag}.probabilities", "labels_from_scores", {"scores": probabilities})
        result.append(array_check(Text("softmax の確率 → (N,) の整数クラス", "softmax probabilities → (N,) integer classes"), "labels_from_scores",
                                   probe, probabilities.argmax(axis=1), hidden, integer_dtype=True))
        wide = (rng.normal(size=(count, 7)) - 5).astype(np.float64)
        probe = array_probe(f"labels_from_scores.{tag}.logits", "labels_from_scores", {"scores": wide})
        result.append(array_check(Text("負のロジット、7 クラス", "negative logits, 7 classes"), "labels_from_scores", probe,
                                   wide.argmax(axis=1), hidden, integer_dtype=True))
        encoded = np.eye(10, dtype=np.float32)[labels]
        probe = array_probe(f"labels_from_scores.{tag}.one_hot", "labels_from_scores", {"scores": encoded})
        result.append(array_check(Text("one-hot の行をラベルに戻す", "one-hot rows back to labels"), "labels_from_scores", probe,
                                   labels, hidden, integer_dtype=True))
        # The docstring's tie rule: votes of a few levels tie often; the public rows tie everywhere a row can.
        tied = rng.integers(0, 3, size=(count, int(rng.integers(3, 11)))) if hidden else PUBLIC_TIES
        probe = array_probe(f"labels_from_scores.{tag}.ties", "labels_from_scores", {"scores": tied})
        result.append(array_check(Text("同点は小さい番号 (np.argmax と同じ)", "ties go to the lowest index, as with np.argmax"),
                                   "labels_from_scores", probe, tied.argmax(axis=1), hidden, integer_dtype=True,
                                   mistakes=[(tied.shape[1] - 1 - tied[:, ::-1].argmax(axis=1), HIGHEST_ON_TIES)]))
        if not hidden:
            result.append(at_course_size["labels_from_scores"])
    return result


# The sizes the course feeds these functions (ps1–ps4): all 60,000 training labels, the 10,000 test
# images, a model's (10000, 10) scores for them. The data is seeded random data of MNIST's shapes and
# dtypes, not MNIST itself: grading preprocessing then needs no data file (students grade offline; the
# grader reads MNIST only to train), and random pixels take every value 0..255 everywhere, where MNIST's
# are mostly 0. The images are the 10,000 test images rather than the 60,000 training ones: normalize's
# answer for those is 188 MB of float32, beyond what a worker reports (describe.MAX_RESULT_BYTES,
# 64 MB), and comparing 47 million values would cost the grader gigabytes. flatten and add_channel_axis
# get the same 10,000 images, as they do x_test in the course.
COURSE_SEED = 60_000
TEST_IMAGES, TRAINING_LABELS = 10_000, 60_000
AT_COURSE_SIZE = Text("MNIST の大きさ ", "at MNIST's size ")
# Outcomes that say nothing about the size (nor does one repeated from an earlier probe): the message
# is the one every other check of the function gives.
NOT_ABOUT_SIZE = frozenset({"not_implemented", "missing", "unreadable", "import_error", "tampered"})


@functools.lru_cache(maxsize=2)
def _course_data(secret: CourseSecret | None = None) -> dict[str, np.ndarray]:
    """Made once per process, as the catalog is built anew for every selection of checks; with a
    ``secret``, the twins' data: no row where it was, in the secret's order."""
    if secret is not None:
        return {name: array[derangement(secret.rng(f"course_size.{name}.twin"), len(array))]
                for name, array in _course_data().items()}
    rng = np.random.default_rng(COURSE_SEED)
    logits = rng.normal(scale=3.0, size=(TEST_IMAGES, 10))
    scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return {"images": random_images(rng, TEST_IMAGES), "labels": rng.integers(0, 10, size=TRAINING_LABELS).astype(np.uint8),
            "scores": scores.astype(np.float32)}


def _course_size_checks(secret: CourseSecret | None) -> list[Check]:
    """Each function once at the size the course uses it, public, with its twin (from the ``secret``) at grading."""
    shape = f"({TEST_IMAGES}, 28, 28) uint8"
    images_ja, images_en = f"画像 {TEST_IMAGES:,} 枚 {shape}", f"{TEST_IMAGES:,} images {shape}"
    images_where = Text(f"({images_ja}) で: ", f"({images_en}): ")
    return [
        _course_size_check(Text(f"MNIST の大きさで、{images_ja} → float32", f"at MNIST's size, {images_en} → float32"),
                           "normalize", "images", lambda images: images.astype(np.float32) / np.float32(255),
                           images_where, _normalize_mistakes, secret, exact_dtype=np.float32),
        _course_size_check(Text(f"MNIST の大きさで、{images_ja} → ({TEST_IMAGES}, 784)",
                                f"at MNIST's size, {images_en} → ({TEST_IMAGES}, 784)"),
                           "flatten", "images", lambda images: images.reshape(TEST_IMAGES, 784),
                           images_where, _flatten_mistakes, secret, exact_dtype=np.uint8),
        _course_size_check(Text(f"MNIST の大きさで、{images_ja} → ({TEST_IMAGES}, 28, 28, 1)",
                                f"at MNIST's size, {images_en} → ({TEST_IMAGES}, 28, 28, 1)"),
                           "add_channel_axis", "images", lambda images: images[..., np.newaxis],
                           images_where, secret=secret, exact_dtype=np.uint8),
        _course_size_check(Text(f"MNIST の大きさで、学習用ラベル {TRAINING_LABELS:,} 個すべて ({TRAINING_LABELS},) uint8 "
                                f"→ ({TRAINING_LABELS}, 10) float32",
                                f"at MNIST's size, all {TRAINING_LABELS:,} training labels ({TRAINING_LABELS},) uint8 "
                                f"→ ({TRAINING_LABELS}, 10) float32"),
                           "one_hot", "labels", lambda labels: np.eye(10, dtype=np.float32)[labels],
                           Text(f"(学習用ラベル {TRAINING_LABELS:,} 個) で: ", f"(all {TRAINING_LABELS:,} training labels): "),
                           lambda labels: _one_hot_mistakes(np.eye(10, dtype=np.float32)[labels]), secret,
                           exact_dtype=np.float32),
        _course_size_check(Text(f"MNIST の大きさで、テスト画像 {TEST_IMAGES:,} 枚分の softmax の確率 ({TEST_IMAGES}, 10) float32 "
                                f"→ ({TEST_IMAGES},) の整数クラス",
                                f"at MNIST's size, softmax probabilities for {TEST_IMAGES:,} test images ({TEST_IMAGES}, 10) "
                                f"float32 → ({TEST_IMAGES},) integer classes"),
                           "labels_from_scores", "scores", lambda scores: scores.argmax(axis=1),
                           Text(f"(スコア ({TEST_IMAGES}, 10)) で: ", f"(scores ({TEST_IMAGES}, 10)): "),
                           secret=secret, integer_dtype=True),
    ]


def _course_size_check(name: Text, task, data, answer, where: Text, mistakes=lambda _: [],
                       secret: CourseSecret | None = None, **compare) -> Check:
    """``data``: which of _course_data() the function is given. ``answer(input)`` and ``mistakes(input)``
    are computed when the check concludes, not whenever the catalog is built."""
    probe = array_probe(f"{task}.course_size", task, {data: _course_data()[data]})
    twin = twin_of(probe, {data: _course_data(secret)[data]}, None)[0] if secret is not None else None

    def at_size(evidence: Evidence, checked, hinted: bool) -> Verdict:
        given = next(iter(checked["arrays"].values()))

        def hints():   # made only for a wrong answer
            yield from mistakes(given) if hinted else ()
        verdict = array_verdict(evidence, checked, answer(given), True, hints(), compare)
        result = evidence.result(checked["id"])
        if verdict.fraction == 1 or result.get("status") in NOT_ABOUT_SIZE or result.get("repeated"):
            return verdict
        return replace(verdict, message=AT_COURSE_SIZE + where + verdict.message)

    def evaluate(evidence: Evidence) -> Verdict:
        verdict = at_size(evidence, probe, hinted=True)
        if verdict.fraction < 1 or twin is None or twin["id"] not in evidence.results:
            return verdict
        confirmed = at_size(evidence, twin, hinted=False)
        return verdict if confirmed.fraction == 1 else Verdict(0.0, HARD_CODED + confirmed.message)
    return Check(f"{task}: {name.en}", task, 1.0, [probe], evaluate, confirmations=[twin] if twin else [],
                 title_ja=f"{task}: {name.ja}")


def _out_of_range_check(rng, tag, hidden, valid_probe, count) -> Check:
    """The docstring's promise: a label outside 0..num_classes-1 raises ValueError. The public check
    tries the first label past the end (10) and -1, which NumPy's indexing would wrap round to the last
    column without a word; the hidden one a random num_classes, at random positions."""
    if hidden:
        classes = int(rng.integers(11, 16))
        past_end = rng.integers(0, classes, size=count).astype(np.int64)
        past_end[rng.integers(count)] = classes
        negative = rng.integers(0, classes, size=count).astype(np.int64)
        negative[rng.integers(count)] = -int(rng.integers(1, 4))
    else:
        classes = 10
        past_end, negative = np.array([3, 10, 1], np.uint8), np.array([2, -1, 5], np.int64)
    kwargs = {"kwargs": {"num_classes": {"value": classes}}} if hidden else {}
    cases = []
    for name, labels in (("past_end", past_end), ("negative", negative)):
        probe = array_probe(f"one_hot.{tag}.{name}", "one_hot", {"labels": labels}, **kwargs)
        bad = int(labels.max()) if name == "past_end" else int(labels.min())
        case = Text(f"ラベル {bad} (num_classes={classes})", f"label {bad} (num_classes={classes})")
        hint = None if name == "past_end" else Text(
            f"NumPy の添字では {bad} が後ろから数えた列になり、黙って 1.0 が置かれます。負のラベルも確かめてください。",
            f"NumPy's indexing takes {bad} for a column counted from the end and sets it without a word: "
            "check for negative labels too.")
        cases.append((probe, case, hint))
    rule = Text("0..num_classes-1 の範囲外のラベルにだけ ValueError を送出してください。",
                "raise ValueError for labels outside 0..num_classes-1, and only for those.")
    valid_input = Text("0..9 の正しいラベル", "valid labels in 0..9")

    def evaluate(evidence: Evidence) -> Verdict:
        # valid_probe is the value check's own (same id): the student's code is not called again.
        return raises_value_error(evidence, (valid_probe["id"], valid_input),
                                  [(probe["id"], case, hint) for probe, case, hint in cases], rule)
    if hidden:
        name = Text("0..num_classes-1 の範囲外のラベルは ValueError",
                    "labels outside 0..num_classes-1 raise ValueError") + HIDDEN
    else:
        name = Text("0..num_classes-1 の範囲外のラベル (10 と -1) は ValueError",
                    "labels outside 0..num_classes-1 (10 and -1) raise ValueError")
    return Check(f"one_hot: {name.en}", "one_hot", 1.0, [valid_probe, *(probe for probe, _, _ in cases)], evaluate,
                 hidden=hidden, title_ja=f"one_hot: {name.ja}")


def _without_to_categorical(value_checks: list[Check]) -> Check:
    """one_hot is written with NumPy: right answers, keras' to_categorical never called (the worker's
    count) and never named in the source (the grader's own reading, which student code cannot reach)."""
    probes = [probe for check in value_checks for probe in check.probes]
    confirmations = [probe for check in value_checks for probe in check.confirmations]

    def evaluate(evidence: Evidence) -> Verdict:
        for check in value_checks:
            verdict = check.evaluate(evidence)
            if verdict.fraction < 1:
                return replace(verdict, fraction=0.0, message=Text("one_hot の答えが正しくなるまで、この検査も 0 点です: ",
                                                                   "no points until one_hot's answers are right: ")
                               + verdict.message)
        ran = [probe for probe in probes + confirmations if probe["id"] in evidence.results]
        if any(evidence.result(probe["id"]).get("to_categorical_calls") for probe in ran):
            return Verdict.failed("to_categorical が呼ばれました。NumPy だけで書いてください (例: np.eye や添字代入)。",
                                  "to_categorical was called; write one_hot with NumPy alone (e.g. np.eye or index assignment).")
        uses = sources.forbidden_uses(evidence.package, "preprocessing", "to_categorical") \
            if evidence.package is not None else []
        if uses:
            use = uses[0]
            return Verdict.failed(
                f"{use.file}:{use.line} に {use.what} があります。to_categorical や、呼ぶものを隠す書き方 "
                "(getattr・eval・importlib など) を使わず、NumPy だけで書いてください。",
                f"{use.file}:{use.line} has {use.what}: write one_hot with NumPy alone, without to_categorical "
                "or code that hides what it calls (getattr, eval, importlib...).")
        return Verdict.passed()
    # Shares the value checks' probes (same ids): the student's code is not called again.
    return Check("one_hot: written with NumPy, not to_categorical", "one_hot", 1.0, probes, evaluate,
                 confirmations=confirmations, title_ja="one_hot: to_categorical を使わず NumPy で書く")
