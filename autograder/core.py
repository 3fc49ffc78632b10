"""What a check is, what it concludes, and how the evidence from the worker is read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from autograder.exhibits import Exhibit
from autograder.training.findings import EarlyStoppingTrial, ModelEvidence
from autograder.protocol import Outcome, PlannedProbe
from mnist_kit.i18n import Text



OK = Text("OK", "OK")
MAX_ARRAY_FILE = 65 << 20   # the worker reports no array over 64 MB


@dataclass(frozen=True)
class Verdict:
    fraction: float          # share of the check's points earned, 0..1
    message: Text
    # The mistake behind it, when the check recognised one (dividing by 256): said once per task,
    # above its checks (autograder.feedback.render), however many checks it fails.
    diagnosis: Text | None = None
    exhibit: Exhibit | None = None   # what the feedback shows beside the words (autograder.exhibits)

    @classmethod
    def passed(cls, message: Text = OK) -> "Verdict":
        return cls(1.0, message)

    @classmethod
    def failed(cls, ja: str, en: str) -> "Verdict":
        return cls(0.0, Text(ja, en))


@dataclass
class Check:
    name: str                # begins with the contract function or "variant X", e.g. "one_hot: ..."
    subject: str             # the function name, or "variant X" (autograder.protocol.variant_subject)
    points: float
    probes: list[PlannedProbe]
    evaluate: Callable[["Evidence"], Verdict]
    hidden: bool = False     # hidden checks run at grading; students' pytest runs the public ones
    needs_training: bool = False
    # Probes that run only with the hidden checks, to confirm a public check on inputs nobody has
    # seen (answers hard-coded for the published inputs pass the public probe alone); built, like
    # the hidden checks, only from the course's secret.
    confirmations: list[PlannedProbe] = field(default_factory=list)
    title_ja: str | None = None   # the name in Japanese; ``name`` (English) stays the check's id

    @property
    def title(self) -> Text:
        """The check's name as people read it, in both languages."""
        return Text(self.title_ja or self.name, self.name)


@dataclass
class Evidence:
    """Everything a check may conclude from: the worker's reports keyed by probe id, and what the
    grader did with them itself (models read, vetted and trained; early stopping tried)."""
    results: dict[str, Outcome]
    workdir: Path
    models: dict[str, ModelEvidence] = field(default_factory=dict)      # by variant id
    trials: dict[str, EarlyStoppingTrial] = field(default_factory=dict)  # by probe id
    package: Path | None = None   # the submitted mnist_tasks/, for checks that read its source

    def result(self, probe_id: str) -> Outcome:
        return self.results.get(probe_id, {"status": "crashed", "message": "no report"})

    def failure(self, probe_id: str, expected_type: str | None = None) -> Verdict | None:
        """A verdict for a probe that did not return something usable, else None."""
        return failure_verdict(self.result(probe_id), expected_type)

    def array(self, probe_id: str, key: str = "npy") -> np.ndarray:
        """The array the worker saved for ``probe_id`` (its result, or under ``key`` another, as a picture)."""
        name = self.result(probe_id)[key]
        path = (self.workdir / name).resolve()
        if path.parent != self.workdir.resolve():
            raise ValueError(f"array file outside the work directory: {name}")
        if path.stat().st_size > MAX_ARRAY_FILE:
            raise ValueError(f"array file of {path.stat().st_size:,} bytes")
        return np.load(path, allow_pickle=False)


def failure_verdict(result: Outcome, expected_type: str | None = None) -> Verdict | None:
    status = result.get("status")
    if status == "not_implemented":
        return Verdict.failed("まだ実装されていません (NotImplementedError)。", "not implemented yet (NotImplementedError).")
    if status == "missing":
        return Verdict(0.0, _missing_message(result))
    if status == "unreadable":
        return Verdict(0.0, unreadable_message(result))
    if status == "import_error":
        return Verdict(0.0, _import_error_message(result))
    if status == "tampered":
        return Verdict(0.0, tampered_message(result))
    if status == "too_large":
        size, shape = result.get("bytes", 0), tuple(result.get("shape", ()))
        return Verdict.failed(f"返された配列が大きすぎます ({size:,} バイト、形 {shape})。答えよりはるかに大きな配列です。",
                              f"returned an array of {size:,} bytes (shape {shape}), far larger than any answer.")
    if status == "timeout":
        seconds = result.get("seconds")
        within = f"{seconds:.0f} s" if isinstance(seconds, (int, float)) else "its time limit"
        within_ja = f"{seconds:.0f} 秒" if isinstance(seconds, (int, float)) else "制限時間"
        return Verdict.failed(f"{within_ja}以内に終わりませんでした (無限ループ?)。",
                              f"did not finish within {within} (an endless loop?).")
    if status == "crashed":
        detail = result.get("message", "")
        return Verdict.failed(f"実行中にプロセスが終了しました ({detail})。sys.exit やメモリ不足を確認してください。",
                              f"the process ended while running it ({detail}); look for sys.exit or running out of memory.")
    if status == "error":
        where = f" ({result['where']})" if result.get("where") else ""
        kind, message = result.get("error_type", "Error"), result.get("message", "")
        hint = EXIT_HINT if kind in ("SystemExit", "KeyboardInterrupt") else Text("", "")
        return Verdict(0.0, Text(f"{kind} が発生しました{where}: {message}", f"raised {kind}{where}: {message}") + hint)
    if status != "ok":
        return Verdict.failed(f"不明な結果です ({status})。", f"unexpected outcome ({status}).")
    if expected_type is not None and result.get("type") != expected_type:
        actual = result.get("type")
        extra = " (dtype=object)" if result.get("object_dtype") else ""
        return Verdict.failed(f"戻り値の型が {actual}{extra} です (期待: {expected_type})。",
                              f"returned a {actual}{extra}, expected a {expected_type}.")
    return None


def raises_value_error(evidence: Evidence, valid: tuple[str, Text], cases: list[tuple[str, Text, Text | None]],
                       rule: Text) -> Verdict:
    """A docstring's promise of a ValueError, kept: each of ``cases`` ((probe id, its input as a message
    names it, a hint when it returned normally or None)) raised a ValueError (or a subclass: the worker
    reads the error's real classes), and the ``valid`` probe (its id, its input) did not raise, since a
    function that raises whatever it is given keeps no promise. ``rule``: when to raise, for the messages."""
    valid_id, valid_input = valid
    result = evidence.result(valid_id)
    if result.get("status") == "error":
        where = f" ({result['where']})" if result.get("where") else ""
        kind = result.get("error_type", "Error")
        return Verdict(0.0, Text(f"{valid_input.ja}でも {kind} が発生しました{where}。", f"raised {kind}{where} for "
                                 f"{valid_input.en} too: ") + rule)
    problem = failure_verdict(result)
    if problem:
        return problem
    for probe_id, case, hint in cases:
        verdict = _value_error_verdict(evidence.result(probe_id), case, hint, rule)
        if verdict.fraction < 1:
            return verdict
    return Verdict.passed()


def _value_error_verdict(result: Outcome, case: Text, hint: Text | None, rule: Text) -> Verdict:
    status = result.get("status")
    if status == "ok":
        return Verdict(0.0, Text(f"{case.ja} で例外が発生せず、値が返されました (期待: ValueError)。",
                                 f"{case.en}: returned normally, expected a ValueError. ") + (hint or rule))
    if status == "error":
        builtin = result.get("error_builtins")
        if isinstance(builtin, list) and "ValueError" in builtin:
            return Verdict.passed()
        where = f" ({result['where']})" if result.get("where") else ""
        kind = result.get("error_type", "Error")
        if kind == "ValueError":
            return Verdict.failed(f"{case.ja} で独自に定義した ValueError という名前のクラスが送出されました{where}。"
                                  "Python の ValueError (またはその派生クラス) を送出してください。",
                                  f"{case.en}: raised a class of its own named ValueError{where}, which is not "
                                  "Python's ValueError nor derived from it.")
        return Verdict(0.0, Text(f"{case.ja} で {kind} が発生しました{where} (期待: ValueError)。",
                                 f"{case.en}: raised {kind}{where}, expected a ValueError. ") + rule)
    problem = failure_verdict(result) or Verdict.failed(f"不明な結果です ({status})。", f"unexpected outcome ({status}).")
    return Verdict(0.0, Text(f"{case.ja}: ", f"{case.en}: ") + problem.message)


EXIT_HINT = Text(" (sys.exit() や exit() はプログラムを終了させます。値を return してください。)",
                 " (sys.exit() and exit() end the program: return a value instead.)")


def _missing_message(result: dict) -> Text:
    task, module = result.get("task", "?"), result.get("module", "?")
    if result.get("not_callable"):
        kind = result["not_callable"]
        return Text(f"mnist_tasks/{module}.py の {task} が関数ではありません ({kind})。def {task}(...) で定義してください。",
                    f"{task} in mnist_tasks/{module}.py is a {kind}, not a function; define it with def {task}(...).")
    return Text(f"mnist_tasks/{module}.py に関数 {task} が見つかりません。名前を確認してください (期待: def {task}(...))。",
                f"the function {task} is missing from mnist_tasks/{module}.py; check its name (expected: def {task}(...)).")


def _import_error_message(result: dict) -> Text:
    module = result.get("module", "?")
    where = f" ({result['where']})" if result.get("where") else ""
    kind, message = result.get("error_type", "Error"), result.get("message", "")
    if kind == "ModuleNotFoundError" and result.get("missing_module") == f"mnist_tasks.{module}":
        return Text(f"mnist_tasks/{module}.py がありません。このファイルの関数はすべて採点できません。",
                    f"mnist_tasks/{module}.py is missing; none of its functions can be graded.")
    return Text(f"mnist_tasks/{module}.py を読み込めませんでした。{kind}{where}: {message} "
                "(関数を採点するには、モジュールがエラーなく import できる必要があります)",
                f"mnist_tasks/{module}.py could not be imported: {kind}{where}: {message} "
                "(its functions can be graded only once the module imports without errors).")


def unreadable_message(result: dict) -> Text:
    """A source file the grader would not hand to a worker (see ``autograder.sources``)."""
    file, reason, limit = result.get("file", "?"), result.get("reason"), result.get("limit", 0)
    if reason == "too_large":
        size = result.get("bytes", 0)
        return Text(f"{file} が大きすぎます ({size:,} バイト、上限 {limit:,} バイト)。手書きのコードはずっと小さいはずです。"
                    "データや答えの表をソースに埋め込まないでください。",
                    f"{file} is too large ({size:,} bytes; the limit is {limit:,}). Hand-written code is far "
                    "smaller: do not embed data or answer tables in the source.")
    if reason == "not_utf8":
        return Text(f"{file} が UTF-8 ではありません。エディタで文字コード UTF-8 を選んで保存し直してください。",
                    f"{file} is not UTF-8 text; save it again with the encoding UTF-8.")
    return Text(f"{file} が通常のファイルではありません (デバイスや FIFO へのリンクなど)。",
                f"{file} is not a regular file (a link to a device, a FIFO, ...).")


def tampered_message(result: dict) -> Text:
    changes = "; ".join(str(change) for change in result.get("changes", [])[:5]) or "?"
    if result.get("repeated"):
        return Text(f"このモジュールは採点の仕組みを書き換えたため、残りの検査は実行されませんでした ({changes})。",
                    f"not run: this module tampered with the grader earlier ({changes}).")
    return Text(f"実行中に採点の仕組み (採点プログラム、それが使う NumPy・Keras・matplotlib、結果の通信路やプロセス) "
                f"への干渉がありました: {changes}。この検査とこのモジュールの残りの検査は 0 点です。",
                f"the grader was tampered with while this ran (its code, a library it relies on, its result channel "
                f"or its process): {changes}. This check and the module's remaining checks score 0.")


def compare_arrays(actual: np.ndarray, expected: np.ndarray, *, exact_dtype=None, integer_dtype=False,
                   atol: float = 0.0) -> Verdict:
    """Shape, dtype, then values; the message names the first difference."""
    if actual.shape != expected.shape:
        return Verdict.failed(f"形が {actual.shape} です (期待: {expected.shape})。",
                              f"shape {actual.shape}, expected {expected.shape}.")
    if exact_dtype is not None and actual.dtype != np.dtype(exact_dtype):
        return Verdict.failed(f"dtype が {actual.dtype} です (期待: {np.dtype(exact_dtype)})。",
                              f"dtype {actual.dtype}, expected {np.dtype(exact_dtype)}.")
    if integer_dtype and not np.issubdtype(actual.dtype, np.integer):
        return Verdict.failed(f"dtype が {actual.dtype} です (期待: 整数型)。",
                              f"dtype {actual.dtype}, expected an integer dtype.")
    if actual.dtype.kind not in "biuf":
        return Verdict.failed(f"dtype {actual.dtype} は数値ではありません。", f"dtype {actual.dtype} is not numeric.")
    if np.array_equal(actual, expected):
        # Equal values are close: the float64 copies below cost MNIST-sized answers hundreds of megabytes.
        return Verdict.passed()
    wrong = ~np.isclose(actual.astype(np.float64), expected.astype(np.float64), rtol=1e-6, atol=atol)
    if wrong.any():
        first = tuple(int(i) for i in np.argwhere(wrong)[0])
        count, total = int(wrong.sum()), wrong.size
        # NumPy's str of a scalar (0.3372549, 72), not its repr (np.float32(0.3372549)): the dtype
        # was checked above, and a student reads a number.
        return Verdict.failed(
            f"値が {total} 個中 {count} 個違います。例: 位置 {first} は {actual[first]!s} (期待: {expected[first]!s})。",
            f"{count} of {total} values differ; e.g. at {first}: got {actual[first]!s}, expected {expected[first]!s}.")
    return Verdict.passed()
