"""The course's secret: where the hidden checks' inputs come from.

The hidden checks (and the twins that confirm public checks on reordered inputs) call the
student's functions on inputs nobody has seen. Their code is public, in every install of the kit;
what keeps the inputs unseen is a random secret created once per course, in the course directory
(beside ``nbgrader_config.py``), that nbgrader never releases (it copies ``source/<assignment>/``
only) and no wheel contains (``autograder`` and ``mnist_kit`` are the only packages):

    mnist-course secret                 # creates <course>/.mnist-hidden-secret (once; never replaced)

Who reads it: ``mnist-grade`` (``--course DIR``, else the course around the current directory),
``pytest autograder/ --hidden`` (the same), nbgrader's ``autograde`` through
``IsolatedGrades`` and ``mnist-course autograde`` (the course they run in). The grading process
receives it on its standard input, never in its arguments or environment, which the sandbox's
workers (student code) could read from ``/proc``. Without a secret the hidden checks do not run,
and asking for them is refused (:class:`MissingSecret`).

The secret decides inputs, never points: the reference gets full marks under any secret
(tests/test_secret.py), so a course may create it whenever it likes — but once students are
graded, keep it (and back it up with the gradebook): another secret gives other hidden inputs.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_kit.i18n import Text

SECRET_FILE = ".mnist-hidden-secret"
COURSE_MARKER = "nbgrader_config.py"


@dataclass(frozen=True)
class CourseSecret:
    token: str    # 64 hex digits (secrets.token_hex(32))

    def __post_init__(self):
        if len(self.token) < 32 or any(c not in "0123456789abcdef" for c in self.token):
            raise ValueError("a course secret is at least 32 lowercase hex digits")

    def __repr__(self) -> str:   # never printed in a log or a traceback
        return f"CourseSecret(fingerprint={self.fingerprint})"

    @property
    def fingerprint(self) -> str:
        """Names the secret (cache keys, results) without giving it away."""
        return hashlib.sha256(b"mnist-tasks fingerprint\0" + self.token.encode()).hexdigest()[:16]

    def rng(self, purpose: str) -> np.random.Generator:
        """A generator for one use (``purpose``, e.g. a probe id): independent streams, so that adding
        a check never changes another check's inputs."""
        digest = hashlib.sha256(f"mnist-tasks inputs\0{self.token}\0{purpose}".encode()).digest()
        return np.random.default_rng(np.random.SeedSequence(int.from_bytes(digest, "big")))

    @classmethod
    def generate(cls) -> "CourseSecret":
        return cls(secrets.token_hex(32))


class MissingSecret(Exception):
    """Hidden checks were asked for where no course secret is: the message says where to get one."""

    def __init__(self, message: Text):
        super().__init__(f"{message.ja}\n{message.en}")
        self.text = message


def find_course(start: Path) -> Path | None:
    """The nbgrader course directory at or above ``start`` (the one holding ``nbgrader_config.py``)."""
    start = Path(start).resolve()
    for directory in (start, *start.parents):
        if (directory / COURSE_MARKER).is_file():
            return directory
    return None


def course_of(named: Path | str | None) -> Path | None:
    """The course a command works for: the one it was given (``--course DIR``), else the one around
    the current directory (None: there is none)."""
    return Path(named).resolve() if named else find_course(Path.cwd())


def secret_path(course: Path) -> Path:
    return Path(course) / SECRET_FILE


def read(path: Path) -> CourseSecret:
    try:
        token = Path(path).read_text(encoding="ascii").strip()
        return CourseSecret(token)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise MissingSecret(Text(f"コースの秘密 {path} を読めません ({error})。",
                                 f"cannot read the course secret {path} ({error}).")) from None


def for_course(course: Path | None) -> CourseSecret:
    """The secret of ``course``; :class:`MissingSecret` with what to do if there is none."""
    if course is None:
        raise MissingSecret(Text(
            "非公開チェックにはコースの秘密が必要です。nbgrader のコースディレクトリ (nbgrader_config.py の"
            "あるところ) で実行するか、--course DIR で指定してください (秘密はそこで `mnist-course secret` が"
            "一度だけ作ります)。学生の環境では非公開チェックは動きません。",
            "the hidden checks need the course secret: run this in the nbgrader course directory (where "
            "nbgrader_config.py is) or name it with --course DIR (`mnist-course secret` creates the secret there, "
            "once). Hidden checks do not run where students work."))
    path = secret_path(course)
    if not path.is_file():
        raise MissingSecret(Text(
            f"コース {course} に秘密 ({SECRET_FILE}) がありません。コースディレクトリで一度だけ "
            "`mnist-course secret` を実行して作ってください。",
            f"course {course} has no secret ({SECRET_FILE}): create it once with `mnist-course secret` "
            "in the course directory."))
    return read(path)


def optional_for_course(course: Path | None) -> CourseSecret | None:
    """The course's secret if it has one (no course, or no secret in it: None)."""
    if course is None or not secret_path(course).is_file():
        return None
    return read(secret_path(course))


def create(course: Path, secret: CourseSecret | None = None) -> tuple[Path, bool]:
    """Create ``course``'s secret (``secret``, or a new one) unless it exists; (its path, whether it
    was created now). Never replaced: grades already given depend on it."""
    path = secret_path(course)
    if path.exists():
        existing = read(path)   # a broken file is reported, not silently kept
        if secret is not None and existing != secret:
            raise ValueError(f"{path} holds another secret; it is never replaced")
        return path, False
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as stream:
        stream.write((secret or CourseSecret.generate()).token + "\n")
    return path, True
