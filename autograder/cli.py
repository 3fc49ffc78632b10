"""``mnist-grade``: grade a submission from the command line.

    mnist-grade                       # ./mnist_tasks
    mnist-grade path/to/submission --json results.json --lang ja
    mnist-grade solutions --only one_hot,D        # a subset of tasks or variants
    mnist-grade submitted/alice/ps1 --course .    # hidden checks too, from the course's secret

The hidden checks run when the course's secret is found (``autograder.secret``: ``--course DIR``,
else the nbgrader course around the current directory); ``--hidden`` insists on them.
Exits 0 whenever grading completed, whatever the score; 2 when it could not run at all.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mnist_kit.i18n import current_language


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mnist-grade", description=__doc__.split("\n\n")[0])
    parser.add_argument("submission", nargs="?", default=".", type=Path,
                        help="directory containing mnist_tasks/ (default: the current directory)")
    parser.add_argument("--json", type=Path, help="write Gradescope's results.json here")
    parser.add_argument("--lang", choices=("ja", "en"), help="language of the messages (default: from the locale)")
    parser.add_argument("--only", help="comma-separated tasks or variant ids, e.g. one_hot,build_cnn,D,CNN")
    parser.add_argument("--course", type=Path,
                        help="the nbgrader course whose secret chooses the hidden checks' inputs "
                             "(default: the course around the current directory, if any)")
    parser.add_argument("--sandbox", choices=("bwrap", "none"),
                        help="where student code runs: bwrap (a box that sees only this submission; the default, "
                             "required for a course's grading) or none (only where each grading is already "
                             "isolated, e.g. one container per submission); default from $MNIST_SANDBOX, which is "
                             "how a deployment sets it for nbgrader's autograde and the grade cells")
    memo = parser.add_mutually_exclusive_group()
    memo.add_argument("--training-memo", type=Path, metavar="DIR",
                      help="where the grader's own trainings are kept and recalled (autograder.training.memo; default: the "
                           "course's .mnist-grade-cache/training-memo, else ~/.cache/mnist-tasks/training-memo)")
    memo.add_argument("--no-training-memo", action="store_true",
                      help="train every model now: recall nothing, keep nothing")
    hidden = parser.add_mutually_exclusive_group()
    hidden.add_argument("--hidden", action="store_true", help="insist on the hidden checks: refuse without the course's secret")
    hidden.add_argument("--public-only", action="store_true", help="skip hidden checks (what students see)")
    # How run_grader hands this process the secret: on stdin, never in argv or the environment,
    # which student code in the workers could read from /proc.
    hidden.add_argument("--secret-stdin", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sandbox is None and os.environ.get("MNIST_SANDBOX"):
        # The grade cells and nbgrader's autograde start this command themselves: a deployment
        # that isolates each grading already says so once, in the environment.
        if os.environ["MNIST_SANDBOX"] not in ("bwrap", "none"):
            parser.error(f"MNIST_SANDBOX must be bwrap or none, not {os.environ['MNIST_SANDBOX']!r}")
        args.sandbox = os.environ["MNIST_SANDBOX"]
    language = current_language(args.lang)
    from autograder import secret as course_secret

    try:
        secret = _secret(args, course_secret)
    except course_secret.MissingSecret as error:
        print(error.text.get(language), file=sys.stderr)
        return 2
    from autograder.sandbox.supervision import protect_grader_process

    protect_grader_process()   # student code in the workers must not reach this process's output

    # TensorFlow is imported by grade(), quietly, once its worker has started: both imports then
    # take their ~5 s at the same time.
    from autograder.grade import grade
    from autograder.sandbox.jail import SandboxUnavailable
    from autograder.feedback.report import table, write_json
    from mnist_kit.data import MnistDataError

    # A boxed fork server the caller gave this process (mnist-course autograde: one per Dask
    # worker), for its workers without a TensorFlow import each; None: fresh boxed workers.
    workers = None
    if os.environ.get("MNIST_FORK_SERVER") and args.sandbox != "none":
        from autograder.sandbox.forkbox import BoxedForkServer

        workers = BoxedForkServer.attached()
    try:
        report = grade(args.submission, only=args.only.split(",") if args.only else None,
                       secret=secret, sandbox=args.sandbox, memo=_memo(args, course_secret), workers=workers)
    except SandboxUnavailable as error:
        print(error.message.get(language), file=sys.stderr)
        return 2
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    except MnistDataError as error:
        print(error, file=sys.stderr)
        return 2
    finally:
        if workers is not None:
            workers.close()
    print(table(report, language))
    if report.sandbox_missing is not None:
        from autograder.feedback import render

        print(render.say("no_sandbox", language, reason=report.sandbox_missing))
    if secret is None and not args.public_only:
        from autograder.feedback import render

        print(render.say("no_secret", language))
    if args.json:
        write_json(report, args.json, language)
    return 0


def _memo(args, course_secret):
    from autograder.training import memo

    if args.no_training_memo:
        return None
    if args.training_memo is not None:
        return memo.Memo(args.training_memo.resolve())
    return memo.for_grading(course_secret.course_of(args.course))


def _secret(args, course_secret):
    if args.public_only:
        return None
    if args.secret_stdin:
        try:
            return course_secret.CourseSecret(sys.stdin.readline().strip())
        except ValueError as error:
            raise course_secret.MissingSecret(course_secret.Text(
                f"標準入力のコースの秘密が正しくありません ({error})。", f"the course secret on stdin is not valid ({error}).")) from None
    course = course_secret.course_of(args.course)
    if args.hidden:
        return course_secret.for_course(course)
    return course_secret.optional_for_course(course)


def run() -> None:
    """The ``mnist-grade`` command: ``main()``, then an exit that skips the interpreter's teardown
    where TensorFlow was loaded. Its clean-up takes ~0.9 s on the 2-core machine and does nothing a
    grading needs: by then every result is written, renamed into place and closed, and every
    temporary folder and memo lock released by the ``with`` blocks that made them."""
    code = main()
    if "tensorflow" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
