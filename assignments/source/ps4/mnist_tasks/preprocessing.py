"""前処理: 正規化・平坦化・チャンネル軸・one-hot / preprocessing: scaling, flattening, channels, one-hot.

Handouts: 000 §2 (normalisation), 002 In[3]-[9] (flatten to 784, one-hot labels),
003 §7.1 (4-D tensors for the CNN, one-hot), 001 / 002 In[21] / 004 (class from scores).
"""

import numpy as np


def normalize(images):
    """画素値 0..255 を 0.0..1.0 の float32 に変換する / scale pixel values to [0, 1] as float32.

    Handout 000 §2 (``x_train / 255.0``), 002 In[4], 003 §7.1 (``astype('float32') / 255.0``).

    Parameters
    ----------
    images : np.ndarray, uint8, any shape, values 0..255
        e.g. (60000, 28, 28) from ``load_mnist``.

    Returns
    -------
    np.ndarray, float32, the same shape as ``images``, values in [0.0, 1.0]
        A new array: ``images`` itself must be left unchanged.
        新しい配列を返し、入力は変更しないこと。
    """
    # YOUR CODE HERE / ここにコードを書く
    raise NotImplementedError('normalize: まだ実装されていません (mnist_tasks/preprocessing.py) / normalize: not implemented yet (mnist_tasks/preprocessing.py)')


def flatten(images):
    """各画像の行を順につなげて 1 行にする / join each image's rows into one vector.

    Handout 002 In[4]: ``X_train.reshape(-1, 784)``. 28 × 28 = 784 inputs for a Dense layer.

    Parameters
    ----------
    images : np.ndarray, shape (N, 28, 28), any dtype

    Returns
    -------
    np.ndarray, shape (N, 784), the same dtype
        Row i is ``images[i]`` read row by row (C order): pixel (r, c) lands at ``r * 28 + c``.
        行 i は images[i] を行ごとに (C 順で) 読んだもの。
    """
    # YOUR CODE HERE / ここにコードを書く
    raise NotImplementedError('flatten: まだ実装されていません (mnist_tasks/preprocessing.py) / flatten: not implemented yet (mnist_tasks/preprocessing.py)')


def add_channel_axis(images):
    """チャンネル軸を末尾に加える / add a trailing channel axis for Conv2D.

    Handout 003 §7.1: ``x_train.reshape(x_train.shape[0], 28, 28, 1)`` — a CNN takes a 4-D
    tensor (samples, height, width, channels); grayscale MNIST has one channel.

    Parameters
    ----------
    images : np.ndarray, shape (N, 28, 28), any dtype

    Returns
    -------
    np.ndarray, shape (N, 28, 28, 1), the same dtype and the same pixel values
    """
    # YOUR CODE HERE / ここにコードを書く
    raise NotImplementedError('add_channel_axis: まだ実装されていません (mnist_tasks/preprocessing.py) / add_channel_axis: not implemented yet (mnist_tasks/preprocessing.py)')


def one_hot(labels, num_classes=10):
    """整数ラベルを one-hot ベクトルにする (NumPy で書くこと) / one-hot encode integer labels with NumPy.

    Handout 002 In[8], 003 §7.1: ``5 → (0, 0, 0, 0, 0, 1, 0, 0, 0, 0)``. The handouts call
    ``to_categorical``; here you write it yourself with NumPy (``to_categorical`` is not allowed).
    ``to_categorical`` は使わず NumPy で書くこと。

    Parameters
    ----------
    labels : np.ndarray, shape (N,), integers in 0..num_classes-1 (e.g. uint8 from load_mnist)
    num_classes : int, default 10

    Returns
    -------
    np.ndarray, shape (N, num_classes), float32
        Row i is all 0.0 except a single 1.0 at column ``labels[i]``.
        各行は labels[i] 列だけが 1.0、他は 0.0。

    Raises
    ------
    ValueError
        A label outside 0..num_classes-1 (NumPy's negative indexing would silently wrap it).
    """
    # YOUR CODE HERE / ここにコードを書く
    raise NotImplementedError('one_hot: まだ実装されていません (mnist_tasks/preprocessing.py) / one_hot: not implemented yet (mnist_tasks/preprocessing.py)')


def labels_from_scores(scores):
    """各行で最大の値を持つクラス番号を返す / the class index with the largest score in each row.

    Handout 001 (``m.predict(...).argmax(axis=1)``), 002 In[21] (``np.argmax``), 004
    (``np.argmax(predictions[0])``). Works the same for logits, softmax probabilities and one-hot
    rows, so it also turns one-hot labels back into integers.

    Parameters
    ----------
    scores : np.ndarray, shape (N, C), any real dtype

    Returns
    -------
    np.ndarray, shape (N,), integer dtype, values in 0..C-1
        ties go to the lowest index, as with ``np.argmax``. 同点は小さい番号。
    """
    # YOUR CODE HERE / ここにコードを書く
    raise NotImplementedError('labels_from_scores: まだ実装されていません (mnist_tasks/preprocessing.py) / labels_from_scores: not implemented yet (mnist_tasks/preprocessing.py)')
