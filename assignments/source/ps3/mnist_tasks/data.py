"""MNIST の読み込み (提供済み・課題ではありません) / loading MNIST (provided, not a task).

    from mnist_tasks.data import load_mnist
    (x_train, y_train), (x_test, y_test) = load_mnist()

オンラインでは Keras の ``mnist.load_data()`` を使い、オフラインでは環境変数 ``MNIST_NPZ``
または引数で指定した Keras 形式の mnist.npz を読みます (handout 000 §2)。
Online it uses Keras's ``mnist.load_data()``; offline it reads the Keras-format mnist.npz named
by ``MNIST_NPZ`` or by its argument (handout 000 §2).
"""

from mnist_kit.data import MnistDataError, load_mnist

__all__ = ["MnistDataError", "load_mnist"]
