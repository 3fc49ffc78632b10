"""``mnist-grade``: grade a submission from the command line.

    mnist-grade                       # ./mnist_tasks
    mnist-grade path/to/submission --json results.json --lang ja
    mnist-grade solutions --only one_hot,D        # a subset of tasks or variants

Exits 0 whenever grading completed, whatever the score; 2 when it could not run at all.
"""

from __future__ import annotations

import argparse
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
    parser.add_argument("--public-only", action="store_true", help="skip hidden checks (what students see)")
    args = parser.parse_args(argv)
    language = current_language(args.lang)
    from autograder.sandbox import protect_grader_process

    protect_grader_process()   # student code in the workers must not reach this process's output

    # TensorFlow is imported by grade(), quietly, once its worker has started: both imports then
    # take their ~5 s at the same time.
    from autograder.grade import grade
    from autograder.report import table, write_json
    from mnist_kit.data import MnistDataError

    try:
        report = grade(args.submission, only=args.only.split(",") if args.only else None,
                       include_hidden=not args.public_only)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    except MnistDataError as error:
        print(error, file=sys.stderr)
        return 2
    print(table(report, language))
    if args.json:
        write_json(report, args.json, language)
    return 0


if __name__ == "__main__":
    sys.exit(main())
