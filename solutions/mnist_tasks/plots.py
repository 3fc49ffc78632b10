"""学習結果の可視化 / plotting training results.

Each function returns a ``matplotlib.figure.Figure`` and never calls ``plt.show()``: the
notebook displays the returned figure, and the grader inspects it.
図を返すだけで plt.show() は呼ばないこと。
Handouts: 002 In[19] and 003 §7.3 (learning curves), 002 In[21] (predictions), 002 In[22]
(first-layer weights).
"""

import math

import keras
import numpy as np
from matplotlib.figure import Figure

IMAGE_SIDE = 28


def plot_history(history):
    """損失と精度の学習曲線を 2 枚のパネルに描く / loss and accuracy learning curves in two panels.

    Handout 002 In[19] (train and validation, side by side), 003 §7.3. Over-fitting shows as a
    validation loss that rises while the training loss keeps falling.

    Parameters
    ----------
    history : keras.callbacks.History or dict[str, list[float]]
        what ``model.fit`` returns, or its ``.history`` dict, with keys "loss", "accuracy" and,
        when validation data was used, "val_loss", "val_accuracy".

    Returns
    -------
    matplotlib.figure.Figure with two Axes
        left: "loss", right: "accuracy"; x axis "epoch"; one line labelled "train" and, only
        when validation values exist, one labelled "validation"; a legend on each panel that
        tells the two apart. 検証データがないときは validation の線を描かない。
    """
    ### BEGIN SOLUTION
    logs = getattr(history, "history", history)
    figure = Figure(figsize=(10, 4), layout="constrained")
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    for axes, metric, title in ((loss_axes, "loss", "Loss"), (accuracy_axes, "accuracy", "Accuracy")):
        train = logs[metric]
        epochs = np.arange(1, len(train) + 1)
        axes.plot(epochs, train, marker="o", color="black", label="train")
        validation = logs.get(f"val_{metric}")
        if validation:
            axes.plot(epochs, validation, marker="v", linestyle="--", color="dodgerblue",
                      label="validation")
        axes.set_title(title)
        axes.set_xlabel("epoch")
        axes.set_ylabel(metric)
        axes.grid(True)
        axes.legend(loc="best")
    return figure
    ### END SOLUTION


def plot_predictions(images, predicted, true, count=50, columns=5):
    """予測を画像の上に表示し、誤りを赤で示す / show each image titled with its prediction, mistakes in red.

    Handout 002 In[21]: the first 50 test images in a grid of 5 columns; a correct prediction is
    titled with the predicted digit, a mistake ``"pred(true)"`` on a red background.
    正解はその数字、誤りは「予測(正解)」を赤背景で表示する。

    Parameters
    ----------
    images : np.ndarray, shape (N, 28, 28), (N, 784) or (N, 28, 28, 1)
    predicted : np.ndarray, shape (N,), integer class indices (see ``labels_from_scores``)
    true : np.ndarray, shape (N,), integer class indices
    count : int, default 50
        How many images to draw, from the first; fewer if there are fewer images.
    columns : int, default 5

    Returns
    -------
    matplotlib.figure.Figure
        ``min(count, N)`` Axes in ``ceil(min(count, N) / columns)`` rows, each showing a 28×28 grayscale
        image.
    """
    ### BEGIN SOLUTION
    shown = min(count, len(images))
    rows = max(1, math.ceil(shown / columns))
    figure = Figure(figsize=(columns * 1.0, rows * 1.3), layout="constrained")
    for index in range(shown):
        axes = figure.add_subplot(rows, columns, index + 1)
        guess, answer = int(predicted[index]), int(true[index])
        if guess == answer:
            axes.set_title(str(guess))
        else:
            axes.set_title(f"{guess}({answer})", backgroundcolor="red")
        axes.imshow(np.reshape(images[index], (IMAGE_SIDE, IMAGE_SIDE)), cmap="gray")
        axes.axis("off")
    return figure
    ### END SOLUTION


def plot_first_layer_weights(model, columns=4):
    """最初の Dense 層の重みをユニットごとに 28×28 画像で描く / draw each first-layer unit's weights as a 28×28 image.

    Handout 002 In[22]: ``weights = model.layers[0].get_weights()[0]`` has shape (784, units);
    column i, reshaped to 28×28, shows which pixels excite (white) or inhibit (black) unit i.

    Parameters
    ----------
    model : keras.Model
        a trained MLP whose first Dense layer takes the 784 pixels (after Flatten, if any).
    columns : int, default 4

    Returns
    -------
    matplotlib.figure.Figure
        one Axes per unit of that layer, in ``ceil(units / columns)`` rows, each a 28×28
        grayscale image; no spare Axes where the last row is not full.

    Raises
    ------
    ValueError
        the model has no Dense layer, or its first one does not take 784 inputs.
    """
    ### BEGIN SOLUTION
    dense = next((layer for layer in model.layers if isinstance(layer, keras.layers.Dense)), None)
    if dense is None:
        raise ValueError("Dense 層がありません / the model has no Dense layer")
    kernel = dense.get_weights()[0]
    if kernel.shape[0] != IMAGE_SIDE * IMAGE_SIDE:
        raise ValueError(
            f"最初の Dense 層の入力が {kernel.shape[0]} 個です (784 が必要) / "
            f"the first Dense layer takes {kernel.shape[0]} inputs, not 784"
        )
    units = kernel.shape[1]
    rows = math.ceil(units / columns)
    figure = Figure(figsize=(columns * 1.5, rows * 1.5), layout="constrained")
    for unit in range(units):
        axes = figure.add_subplot(rows, columns, unit + 1)
        axes.imshow(kernel[:, unit].reshape(IMAGE_SIDE, IMAGE_SIDE), cmap="gray")
        axes.axis("off")
    return figure
    ### END SOLUTION

