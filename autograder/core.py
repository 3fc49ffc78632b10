"""What a check is, what it concludes, and how the evidence from the worker is read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Text:
    """A message in both of the kit's languages."""
    ja: str
    en: str

    def get(self, language: str) -> str:
        return self.ja if language == "ja" else self.en

    def __add__(self, other: "Text") -> "Text":
        return Text(self.ja + other.ja, self.en + other.en)


OK = Text("OK", "OK")


@dataclass(frozen=True)
class Verdict:
    fraction: float          # share of the check's points earned, 0..1
    message: Text

    @classmethod
    def passed(cls, message: Text = OK) -> "Verdict":
        return cls(1.0, message)

    @classmethod
    def failed(cls, ja: str, en: str) -> "Verdict":
        return cls(0.0, Text(ja, en))


@dataclass
class Check:
    name: str                # begins with the contract function or "variant X", e.g. "one_hot: ..."
    subject: str             # the function name, or "variant X"
    points: float
    probes: list[dict]
    evaluate: Callable[["Evidence"], Verdict]
    hidden: bool = False     # hidden checks run at grading; students' pytest runs the public ones
    needs_training: bool = False


@dataclass
class Evidence:
    """The worker's reports, keyed by probe id, and the grader's own trained outcomes."""
    results: dict[str, dict]
    workdir: Path
    trained: dict[str, object] = field(default_factory=dict)

    def result(self, probe_id: str) -> dict:
        return self.results.get(probe_id, {"status": "crashed", "message": "no report"})

    def failure(self, probe_id: str, expected_type: str | None = None) -> Verdict | None:
        """A verdict for a probe that did not return something usable, else None."""
        return failure_verdict(self.result(probe_id), expected_type)

    def array(self, probe_id: str) -> np.ndarray:
        name = self.result(probe_id)["npy"]
        path = (self.workdir / name).resolve()
        if path.parent != self.workdir.resolve():
            raise ValueError(f"array file outside the work directory: {name}")
        return np.load(path, allow_pickle=False)


def failure_verdict(result: dict, expected_type: str | None = None) -> Verdict | None:
    status = result.get("status")
    if status == "not_implemented":
        return Verdict.failed("まだ実装されていません (NotImplementedError)。", "not implemented yet (NotImplementedError).")
    if status == "missing":
        return Verdict.failed("関数が見つかりません。名前を確認してください。",
                              "the function is missing from the module; check its name.")
    if status == "timeout":
        seconds = result.get("seconds")
        return Verdict.failed(f"{seconds:.0f} 秒以内に終わりませんでした (無限ループ?)。",
                              f"did not finish within {seconds:.0f} s (an endless loop?).")
    if status == "crashed":
        detail = result.get("message", "")
        return Verdict.failed(f"実行中にプロセスが終了しました ({detail})。sys.exit やメモリ不足を確認してください。",
                              f"the process ended while running it ({detail}); look for sys.exit or running out of memory.")
    if status == "error":
        where = f" ({result['where']})" if result.get("where") else ""
        kind, message = result.get("error_type", "Error"), result.get("message", "")
        return Verdict.failed(f"{kind} が発生しました{where}: {message}", f"raised {kind}{where}: {message}")
    if status != "ok":
        return Verdict.failed(f"不明な結果です ({status})。", f"unexpected outcome ({status}).")
    if expected_type is not None and result.get("type") != expected_type:
        actual = result.get("type")
        extra = " (dtype=object)" if result.get("object_dtype") else ""
        return Verdict.failed(f"戻り値の型が {actual}{extra} です (期待: {expected_type})。",
                              f"returned a {actual}{extra}, expected a {expected_type}.")
    return None


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
    wrong = ~np.isclose(actual.astype(np.float64), expected.astype(np.float64), rtol=1e-6, atol=atol)
    if wrong.any():
        first = tuple(int(i) for i in np.argwhere(wrong)[0])
        count, total = int(wrong.sum()), wrong.size
        return Verdict.failed(
            f"値が {total} 個中 {count} 個違います。例: 位置 {first} は {actual[first]!r} (期待: {expected[first]!r})。",
            f"{count} of {total} values differ; e.g. at {first}: got {actual[first]!r}, expected {expected[first]!r}.")
    return Verdict.passed()
