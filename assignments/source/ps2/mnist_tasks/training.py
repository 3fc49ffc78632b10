"""学習の設定: 損失関数・コンパイル・早期終了 / training set-up: loss, compile, early stopping.

Handouts: 000 (sparse labels, logits: ``SparseCategoricalCrossentropy(from_logits=True)``),
001 (sparse labels, softmax), 002 and 003 (one-hot labels, softmax:
``categorical_crossentropy``), 002 In[17] (``EarlyStopping(patience=0)``).
"""

import keras


def choose_loss(one_hot_labels, from_logits):
    """ラベル形式と出力に合うクロスエントロピー損失を返す / the cross-entropy that fits the labels and outputs.

    ===============  ===============  ==============================================
    one_hot_labels   from_logits      loss
    ===============  ===============  ==============================================
    False (0..9)     True  (logits)   SparseCategoricalCrossentropy(from_logits=True)
    False            False (softmax)  SparseCategoricalCrossentropy(from_logits=False)
    True  (one-hot)  True             CategoricalCrossentropy(from_logits=True)
    True             False            CategoricalCrossentropy(from_logits=False)
    ===============  ===============  ==============================================

    Parameters
    ----------
    one_hot_labels : bool
        True when labels are (N, 10) one-hot rows, False when they are (N,) integers.
    from_logits : bool
        True when the model outputs raw scores (no softmax on its last layer).

    Returns
    -------
    keras.losses.Loss
        an instance with ``from_logits`` set. (Keras reads a loss's name, such as
        "sparse_categorical_crossentropy", as ``from_logits=False``: the same loss only then.)
    """
    # YOUR CODE HERE / ここにコードを書く
    raise NotImplementedError('choose_loss: まだ実装されていません (mnist_tasks/training.py) / choose_loss: not implemented yet (mnist_tasks/training.py)')


def compile_model(model, optimizer="adam", one_hot_labels=False):
    """モデルをコンパイルして返す / compile the model and return it.

    Uses ``choose_loss(one_hot_labels, from_logits=...)`` where ``from_logits`` is True exactly
    when the model's last layer does not apply softmax, and ``metrics=["accuracy"]``.
    最後の層が softmax でなければ出力はロジット (from_logits=True)。

    Parameters
    ----------
    model : keras.Model
        e.g. from ``models.build_mlp`` or ``models.build_cnn``.
    optimizer : str or keras.optimizers.Optimizer, default "adam"
        "sgd" for 000 models A-C, "adam" from 000 §5.3 on.
    one_hot_labels : bool, default False

    Returns
    -------
    keras.Model
        the same ``model`` object, compiled.
    """
    # YOUR CODE HERE / ここにコードを書く
    raise NotImplementedError('compile_model: まだ実装されていません (mnist_tasks/training.py) / compile_model: not implemented yet (mnist_tasks/training.py)')


def early_stopping(patience=0, monitor="val_loss", restore_best_weights=True):
    """検証損失が改善しなくなったら学習を止めるコールバック / a callback that stops when validation stops improving.

    Handout 002 In[17]: ``EarlyStopping(patience=0)`` ends training as soon as ``val_loss``
    fails to improve. With ``restore_best_weights=True`` the model keeps the weights of its
    best epoch rather than its last.

    Parameters
    ----------
    patience : int, default 0
        Epochs without improvement to wait before stopping.
    monitor : str, default "val_loss"
        The logged quantity to watch; needs validation data (``validation_split``).
    restore_best_weights : bool, default True

    Returns
    -------
    keras.callbacks.EarlyStopping
        configured with exactly these three settings (mode chosen by Keras from ``monitor``).
    """
    # YOUR CODE HERE / ここにコードを書く
    raise NotImplementedError('early_stopping: まだ実装されていません (mnist_tasks/training.py) / early_stopping: not implemented yet (mnist_tasks/training.py)')
