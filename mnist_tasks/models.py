"""モデルの構築 / building the handouts' models.

Each function returns an *uncompiled* ``keras.Model``; ``training.compile_model`` compiles it.
Handouts: 000 §3-5 (models A-E and dropout), 001 §7 (model ``m``), 002 In[16] (16 sigmoid
units), 003 §7.2 (the CNN).
"""

import keras


def build_mlp(hidden_units=(128,), activation="relu", dropout=0.0, output_activation=None,
              input_shape=(28, 28)):
    """全結合ネットワーク (多層パーセプトロン) を作る / build a fully connected network (MLP).

    Layers, in order / 層の順序::

        Flatten
        for each width in hidden_units:  Dense(width, activation) [+ Dropout(dropout) if dropout > 0]
        Dense(10, output_activation)

    Handout 000 model A is ``build_mlp((64,), "sigmoid")``: 784 → 64 → 10, 50,890 parameters
    (784·64 + 64 + 64·10 + 10). ``output_activation=None`` leaves the 10 outputs as logits, as
    000 does (``from_logits=True``); 001 and 002 use ``"softmax"``.

    Parameters
    ----------
    hidden_units : sequence of int
        Width of each hidden Dense layer, first to last, e.g. (128, 64) for model E.
    activation : str
        Activation of every hidden layer, a Keras name ("relu", "sigmoid", "tanh", ...).
    dropout : float in [0, 1)
        Rate of the Dropout layer after each hidden layer; 0 adds no Dropout layer (000 §5.6).
    output_activation : str or None
        Activation of the 10-unit output layer; None means linear outputs (logits).
    input_shape : tuple of int
        Shape of one sample without the batch axis: (28, 28), (28, 28, 1) or (784,).

    Returns
    -------
    keras.Model, uncompiled
        input (None, *input_shape) → output (None, 10).
    """
    # YOUR CODE HERE / ここにコードを書く
    raise NotImplementedError('build_mlp: まだ実装されていません (mnist_tasks/models.py) / build_mlp: not implemented yet (mnist_tasks/models.py)')


def build_cnn(input_shape=(28, 28, 1)):
    """畳み込みニューラルネットワークを作る / build the handout's convolutional network.

    Handout 003 §7.2, layer by layer / 層ごとに::

        Conv2D(64, 3×3, padding="same", relu)   (None, 28, 28, 64)      640
        MaxPooling2D(2×2)                       (None, 14, 14, 64)        0
        Conv2D(128, 3×3, relu)                  (None, 12, 12, 128)  73,856
        MaxPooling2D(2×2)                       (None, 6, 6, 128)         0
        Dropout(0.5)
        Flatten                                 (None, 4608)              0
        Dense(128, relu)                        (None, 128)         589,952
        Dropout(0.25)
        Dense(10, softmax)                      (None, 10)            1,290
                                                total               665,738

    Parameters
    ----------
    input_shape : tuple of int, default (28, 28, 1)
        (height, width, channels) of one image; see ``preprocessing.add_channel_axis``.

    Returns
    -------
    keras.Model, uncompiled
        input (None, *input_shape) → output (None, 10) softmax probabilities; the layers are the
        same for every input shape (the shapes and counts above are for the default).
    """
    # YOUR CODE HERE / ここにコードを書く
    raise NotImplementedError('build_cnn: まだ実装されていません (mnist_tasks/models.py) / build_cnn: not implemented yet (mnist_tasks/models.py)')
