"""The kit's demonstration run: train handout model D on MNIST and compare with the handout.

    mnist-demo                         # the reference solution (solutions/mnist_tasks)
    mnist-demo --package .             # your own mnist_tasks/ (the directory that contains it)

It uses the package's own functions end to end, as a student's notebook would: normalize,
build_mlp((128,), "relu"), compile_model(optimizer="adam"), fit for the handout's 5 epochs at
batch 32, evaluate on the 10,000 test images (handout 000 §5.3, test accuracy 0.9744).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from mnist_kit import variants
from mnist_kit.data import MnistDataError, load_mnist
from mnist_kit.i18n import current_language
from mnist_kit.runtime import deterministic, quiet_tensorflow

REPO = Path(__file__).resolve().parent.parent

TEXT = {
    "ja": {
        "loading": "MNIST を読み込み中…",
        "training": "モデル {id} ({handout}) を {epochs} エポック学習中 (batch {batch})…",
        "result": "テスト精度 {accuracy:.4f}  (ハンドアウト: {handout_accuracy:.4f}, 差 {delta:+.4f})  {seconds:.1f} 秒",
        "missing": "この課題はまだ実装されていません: {error}",
    },
    "en": {
        "loading": "loading MNIST…",
        "training": "training model {id} ({handout}) for {epochs} epochs (batch {batch})…",
        "result": "test accuracy {accuracy:.4f}  (handout: {handout_accuracy:.4f}, difference {delta:+.4f})  {seconds:.1f} s",
        "missing": "a task this run needs is not implemented yet: {error}",
    },
}


def import_tasks(package_parent: Path):
    """Import the ``mnist_tasks`` package that lies in ``package_parent``."""
    sys.path.insert(0, str(package_parent.resolve()))
    for name in [name for name in sys.modules if name.split(".")[0] == "mnist_tasks"]:
        del sys.modules[name]
    return importlib.import_module("mnist_tasks")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mnist-demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--package", type=Path, default=REPO / "solutions",
                        help="directory containing the mnist_tasks package to run (default: the reference)")
    parser.add_argument("--data", help="a local Keras-format mnist.npz (default: $MNIST_NPZ, else download)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lang", choices=("ja", "en"))
    args = parser.parse_args(argv)
    text = TEXT[current_language(args.lang)]

    quiet_tensorflow()
    variant = variants.get("D")
    print(text["loading"], flush=True)
    try:
        (x_train, y_train), (x_test, y_test) = load_mnist(args.data)
    except MnistDataError as error:
        print(error, file=sys.stderr)
        return 2

    import_tasks(args.package)
    from mnist_tasks import models, preprocessing, training

    deterministic(args.seed)
    print(text["training"].format(id=variant.id, handout=variant.handout,
                                  epochs=variant.handout_epochs, batch=variant.handout_batch_size), flush=True)
    started = time.perf_counter()
    try:
        model = models.build_mlp(**variant.build_kwargs)
        training.compile_model(model, optimizer=variant.optimizer, one_hot_labels=False)
        model.fit(preprocessing.normalize(x_train), y_train, epochs=variant.handout_epochs,
                  batch_size=variant.handout_batch_size, verbose=2)
        _, accuracy = model.evaluate(preprocessing.normalize(x_test), y_test, verbose=0)
    except NotImplementedError as error:
        print(text["missing"].format(error=error), file=sys.stderr)
        return 1
    seconds = time.perf_counter() - started
    print(text["result"].format(accuracy=accuracy, handout_accuracy=variant.handout_accuracy,
                                delta=accuracy - variant.handout_accuracy, seconds=seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
