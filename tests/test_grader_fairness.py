"""The grader is fair: the reference and other correct ways of writing each task score full marks.

Each alternative is the reference with one or more functions rewritten in another correct style
(functional API, keras.Input, activation objects or layers instead of strings, pyplot instead of
Figure, other NumPy idioms). It is graded, hidden checks included, on the subjects it touches;
the accuracy checks are left out (they train) except for one functional-API model, which shows
that the grader's own training takes such a model too.
"""

from __future__ import annotations

import pytest

from autograder.grade import grade
from autograder.grade import select
from tests.submissions import (OTHER_SECRET, REFERENCE, TEST_SECRET, accuracy_names, check_names, describe,
                               make_submission)

MLP_VARIANTS = ["A", "B", "C", "D", "E", "D10", "D-drop20", "D-drop40", "M64", "F16"]
ALL_VARIANTS = [*MLP_VARIANTS, "CNN"]
PREPROCESSING = ["normalize", "flatten", "add_channel_axis", "one_hot", "labels_from_scores"]


def alternative(name, replacements, subjects, train=()):
    return pytest.param(replacements, subjects, tuple(train), id=name)


ALTERNATIVES = [
    # --- preprocessing: other NumPy idioms -----------------------------------------------------
    alternative("preprocessing: astype*(1/255), np.reshape(-1), expand_dims, np.eye[labels], .argmax(1)", {
        "preprocessing": '''
def normalize(images):
    return images.astype("float32") * (1 / 255)


def flatten(images):
    return np.reshape(images, (len(images), -1))


def add_channel_axis(images):
    return np.expand_dims(images, -1)


def one_hot(labels, num_classes=10):
    if np.any((labels < 0) | (labels >= num_classes)):
        raise ValueError(f"labels must be in 0..{num_classes - 1}")
    return np.eye(num_classes, dtype=np.float32)[labels]


def labels_from_scores(scores):
    return scores.argmax(1)
'''}, PREPROCESSING),
    alternative("preprocessing: np.divide(dtype), ravel per row, reshape(+1), broadcast ==, list of argmax", {
        "preprocessing": '''
def normalize(images):
    return np.divide(images, 255, dtype=np.float32)


def flatten(images):
    return np.array([image.ravel() for image in images], dtype=images.dtype)


def add_channel_axis(images):
    return images.reshape(*images.shape, 1)


def one_hot(labels, num_classes=10):
    if not np.all((0 <= labels) & (labels < num_classes)):
        raise ValueError("label out of range")
    return (labels[:, None] == np.arange(num_classes)).astype(np.float32)


def labels_from_scores(scores):
    return np.array([int(np.argmax(row)) for row in scores])
'''}, PREPROCESSING),
    alternative("preprocessing: in-place on a copy, reshape(N, 28 * 28), shape + (1,), a loop, int32 classes", {
        "preprocessing": '''
def normalize(images):
    scaled = images.astype(np.float32)   # a copy: dividing it in place leaves the input alone
    scaled /= 255
    return scaled


def flatten(images):
    return images.reshape(images.shape[0], 28 * 28)


def add_channel_axis(images):
    return np.reshape(images, images.shape + (1,))


class LabelError(ValueError):
    """A ValueError of the module's own: what the docstring promises, more precisely."""


def one_hot(labels, num_classes=10):
    encoded = np.zeros((len(labels), num_classes), dtype="float32")
    for row, label in enumerate(labels):
        if not 0 <= label < num_classes:
            raise LabelError(f"label {label} at row {row} is not in 0..{num_classes - 1}")
        encoded[row, int(label)] = 1
    return encoded


def labels_from_scores(scores):
    return np.argmax(np.asarray(scores), axis=-1).astype(np.int32)
'''}, PREPROCESSING),
    alternative("normalize: (images / 255).astype(float32)", {
        "preprocessing": '''
def normalize(images):
    return (images / 255).astype(np.float32)
'''}, ["normalize"]),

    # --- models ------------------------------------------------------------------------------------
    alternative("build_mlp: functional API with keras.Input and keras.activations.get, trained as D", {
        "models": '''
def build_mlp(hidden_units=(128,), activation="relu", dropout=0.0, output_activation=None,
              input_shape=(28, 28)):
    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Flatten()(inputs)
    for units in hidden_units:
        x = keras.layers.Dense(units, activation=keras.activations.get(activation))(x)
        if dropout:
            x = keras.layers.Dropout(rate=dropout)(x)
    outputs = keras.layers.Dense(10, activation=output_activation)(x)
    return keras.Model(inputs=inputs, outputs=outputs)
'''}, MLP_VARIANTS, train=["D"]),
    alternative("build_mlp: Flatten(input_shape=...), linear Dense + separate Activation layers", {
        "models": '''
def build_mlp(hidden_units=(128,), activation="relu", dropout=0.0, output_activation=None,
              input_shape=(28, 28)):
    layers = [keras.layers.Flatten(input_shape=input_shape)]   # the older Keras style
    for units in hidden_units:
        layers += [keras.layers.Dense(units), keras.layers.Activation(activation)]
        if dropout > 0:
            layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(10))
    if output_activation is not None:
        layers.append(keras.layers.Activation(output_activation))
    return keras.Sequential(layers)
'''}, MLP_VARIANTS),
    alternative("build_mlp: activation objects (ReLU() layer, tf.nn.sigmoid, tf.nn.softmax), tf.keras", {
        "models": '''
import tensorflow as tf


def _activation_object(name):
    if name is None:
        return None
    return {"relu": lambda: keras.layers.ReLU(), "sigmoid": lambda: tf.nn.sigmoid,
            "softmax": lambda: tf.nn.softmax}[name]()


def build_mlp(hidden_units=(128,), activation="relu", dropout=0.0, output_activation=None,
              input_shape=(28, 28)):
    model = tf.keras.Sequential()
    model.add(tf.keras.Input(shape=input_shape))
    model.add(tf.keras.layers.Flatten())
    for units in hidden_units:
        model.add(tf.keras.layers.Dense(units, activation=_activation_object(activation)))
        if dropout > 0:
            model.add(tf.keras.layers.Dropout(dropout))
    model.add(tf.keras.layers.Dense(10, activation=_activation_object(output_activation)))
    return model
'''}, MLP_VARIANTS),
    alternative("build_mlp: keras.activations.relu / sigmoid / softmax functions", {
        "models": '''
def build_mlp(hidden_units=(128,), activation="relu", dropout=0.0, output_activation=None,
              input_shape=(28, 28)):
    functions = {"relu": keras.activations.relu, "sigmoid": keras.activations.sigmoid,
                 "softmax": keras.activations.softmax, None: None}
    model = keras.Sequential([keras.Input(input_shape), keras.layers.Flatten()])
    for units in hidden_units:
        model.add(keras.layers.Dense(units, activation=functions[activation]))
        if dropout > 0:
            model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(10, activation=functions[output_activation]))
    return model
'''}, MLP_VARIANTS),
    alternative("build_cnn: functional API, tuple sizes, explicit strides, MaxPool2D alias", {
        "models": '''
def build_cnn(input_shape=(28, 28, 1)):
    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Conv2D(filters=64, kernel_size=(3, 3), strides=(1, 1), padding="same",
                            activation="relu")(inputs)
    x = keras.layers.MaxPool2D(pool_size=(2, 2), strides=(2, 2))(x)
    x = keras.layers.Conv2D(filters=128, kernel_size=(3, 3), padding="valid", activation="relu")(x)
    x = keras.layers.MaxPool2D((2, 2))(x)
    x = keras.layers.Dropout(0.5)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(128, activation="relu")(x)
    x = keras.layers.Dropout(0.25)(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="cnn")
'''}, ["CNN"]),
    alternative("build_cnn: .add, Conv2D(input_shape=...), int sizes, ReLU / Activation / Softmax layers", {
        "models": '''
def build_cnn(input_shape=(28, 28, 1)):
    model = keras.Sequential()
    model.add(keras.layers.Conv2D(64, 3, padding="same", input_shape=input_shape))
    model.add(keras.layers.ReLU())
    model.add(keras.layers.MaxPooling2D(2))
    model.add(keras.layers.Conv2D(128, 3))
    model.add(keras.layers.Activation("relu"))
    model.add(keras.layers.MaxPooling2D())
    model.add(keras.layers.Dropout(0.5))
    model.add(keras.layers.Flatten())
    model.add(keras.layers.Dense(128))
    model.add(keras.layers.Activation(keras.activations.relu))
    model.add(keras.layers.Dropout(0.25))
    model.add(keras.layers.Dense(10))
    model.add(keras.layers.Softmax())
    return model
'''}, ["CNN"]),

    # --- training ----------------------------------------------------------------------------------
    alternative("choose_loss: the loss's name when from_logits is False; early_stopping: explicit mode", {
        "training": '''
def choose_loss(one_hot_labels, from_logits):
    if not from_logits:
        return "categorical_crossentropy" if one_hot_labels else "sparse_categorical_crossentropy"
    if one_hot_labels:
        return keras.losses.CategoricalCrossentropy(from_logits=True)
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def early_stopping(patience=0, monitor="val_loss", restore_best_weights=True):
    mode = "min" if "loss" in monitor else "max"
    return keras.callbacks.EarlyStopping(monitor, 0, patience, mode=mode,
                                         restore_best_weights=restore_best_weights)
'''}, ["choose_loss", "early_stopping", "compile_model", *ALL_VARIANTS]),
    alternative("compile_model: optimizer passed through, softmax found by activation.__name__", {
        "training": '''
def compile_model(model, optimizer="adam", one_hot_labels=False):
    last = model.layers[-1]
    if isinstance(last, keras.layers.Softmax):
        logits = False
    else:
        logits = last.activation.__name__ != "softmax"
    model.compile(optimizer, choose_loss(one_hot_labels, logits), metrics=["accuracy"])
    return model
'''}, ["compile_model", *ALL_VARIANTS]),
    # Exact settings (#30): what Keras resolves to the contract's settings is the contract's settings.
    alternative("compile_model: the accuracy metric as the class Keras picks, named 'accuracy'; keras.optimizers.get; "
                "a tuple of metrics", {
        "training": '''
def compile_model(model, optimizer="adam", one_hot_labels=False):
    last = model.layers[-1]
    softmax = isinstance(last, keras.layers.Softmax) or getattr(last, "activation", None) is keras.activations.softmax
    accuracy = keras.metrics.CategoricalAccuracy if one_hot_labels else keras.metrics.SparseCategoricalAccuracy
    model.compile(optimizer=keras.optimizers.get(optimizer), loss=choose_loss(one_hot_labels, not softmax),
                  metrics=(accuracy(name="accuracy"),))
    return model
'''}, ["compile_model", "plot_history", *ALL_VARIANTS]),
    alternative("compile_model: optimizer instance from its name, loss config read, tf.keras", {
        "training": '''
import tensorflow as tf


def compile_model(model, optimizer="adam", one_hot_labels=False):
    if isinstance(optimizer, str):
        optimizer = {"adam": tf.keras.optimizers.Adam, "sgd": tf.keras.optimizers.SGD}[optimizer.lower()]()
    last = model.get_config()["layers"][-1]
    softmax = last["class_name"] == "Softmax" or last["config"].get("activation") == "softmax"
    loss = choose_loss(one_hot_labels=one_hot_labels, from_logits=not softmax)
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    return model
'''}, ["compile_model", *ALL_VARIANTS]),
    # --- plots -------------------------------------------------------------------------------------
    alternative("plots with pyplot: plt.subplots / plt.figure, dict or History, axes removed, kernel.T", {
        "plots": '''
import matplotlib.pyplot as plt


def plot_history(history):
    logs = history.history if isinstance(history, keras.callbacks.History) else dict(history)
    fig, axes = plt.subplots(nrows=1, ncols=2, figsize=(10, 4))
    for ax, key in zip(axes, ["loss", "accuracy"]):
        epochs = range(1, len(logs[key]) + 1)
        ax.plot(epochs, logs[key], "o-", label="training " + key)
        if "val_" + key in logs:
            ax.plot(epochs, logs["val_" + key], "v--", label="validation " + key)
        ax.set_title(key.title())
        ax.set_xlabel("Epochs")
        ax.set_ylabel(key.title())
        ax.legend()
    return fig


def plot_predictions(images, predicted, true, count=50, columns=5):
    shown = min(count, len(images))
    rows = -(-shown // columns)
    fig, grid = plt.subplots(rows, columns, figsize=(columns, 1.3 * rows), squeeze=False)
    for index, ax in enumerate(grid.flat):
        if index >= shown:
            ax.remove()
            continue
        ax.imshow(images[index].reshape(28, 28), cmap=plt.cm.gray)
        if predicted[index] == true[index]:
            ax.set_title(f"{predicted[index]}")
        else:
            ax.set_title(f"{predicted[index]}({true[index]})", backgroundcolor="r")
        ax.set_axis_off()
    return fig


def plot_first_layer_weights(model, columns=4):
    layer = next(layer for layer in model.layers if layer.get_weights())
    kernel = layer.get_weights()[0]
    units = kernel.shape[1]
    rows = (units + columns - 1) // columns
    fig = plt.figure(figsize=(columns * 1.5, rows * 1.5))
    for unit, image in enumerate(kernel.T.reshape(units, 28, 28)):
        ax = fig.add_subplot(rows, columns, unit + 1)
        ax.imshow(image, cmap="gray")
        ax.set_xticks([])
        ax.set_yticks([])
    return fig
'''}, ["plot_history", "plot_predictions", "plot_first_layer_weights"]),
    # The docstrings ask for images in gray levels: any gray colormap, reversed or not, set in any way.
    alternative("plots on pyplot's current figure: plt.subplot, plt.imshow, cmap 'binary' / 'Greys' with vmin/vmax", {
        "plots": '''
import matplotlib.pyplot as plt


def plot_predictions(images, predicted, true, count=50, columns=5):
    shown = min(count, len(images))
    rows = (shown + columns - 1) // columns
    for i in range(shown):
        plt.subplot(rows, columns, i + 1)
        plt.imshow(images[i].reshape(28, 28), cmap="binary")   # black digits on white
        if predicted[i] == true[i]:
            plt.title(str(predicted[i]))
        else:
            plt.title(f"{predicted[i]}({true[i]})", backgroundcolor="red")
        plt.axis("off")
    return plt.gcf()


def plot_first_layer_weights(model, columns=4):
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    if not dense:
        raise ValueError("the model has no Dense layer")
    weights = dense[0].get_weights()[0]
    if weights.shape[0] != 784:
        raise ValueError(f"the first Dense layer takes {weights.shape[0]} inputs, not 784")
    limit = np.abs(weights).max()   # zero in the middle of the gray scale
    units = weights.shape[1]
    for unit in range(units):
        plt.subplot(-(-units // columns), columns, unit + 1)
        plt.imshow(weights[:, unit].reshape(28, 28), cmap="Greys", vmin=-limit, vmax=limit)
        plt.xticks([])
        plt.yticks([])
    return plt.gcf()
'''}, ["plot_predictions", "plot_first_layer_weights"]),
    alternative("plots: fig.add_subplot with 'gray_r' and vmin=0, vmax=1; plt.subplots and matshow with colormaps['gray']", {
        "plots": '''
import matplotlib
import matplotlib.pyplot as plt


def plot_predictions(images, predicted, true, count=50, columns=5):
    images = np.asarray(images).reshape(-1, 28, 28)
    shown = min(count, len(images))
    fig = plt.figure(figsize=(columns, 1.2 * math.ceil(shown / columns)))
    for i in range(shown):
        ax = fig.add_subplot(math.ceil(shown / columns), columns, i + 1)
        ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=1)
        wrong = int(predicted[i]) != int(true[i])
        ax.set_title(f"{predicted[i]}({true[i]})" if wrong else f"{predicted[i]}",
                     backgroundcolor="red" if wrong else None)
        ax.axis("off")
    return fig


def plot_first_layer_weights(model, columns=4):
    layer = next((layer for layer in model.layers if isinstance(layer, keras.layers.Dense)), None)
    if layer is None or layer.kernel.shape[0] != 28 * 28:
        raise ValueError("plot_first_layer_weights needs a first Dense layer over the 784 pixels")
    kernel = np.asarray(layer.kernel)
    units = kernel.shape[1]
    fig, axes = plt.subplots(-(-units // columns), columns, squeeze=False)
    for unit, ax in enumerate(axes.flat):
        if unit < units:
            ax.matshow(kernel[:, unit].reshape(28, 28), cmap=matplotlib.colormaps["gray"])
            ax.set_axis_off()
        else:
            ax.remove()
    return fig
'''}, ["plot_predictions", "plot_first_layer_weights"]),
    alternative("plots: plt.gray() then imshow without cmap; a hand-made ListedColormap of grays", {
        "plots": '''
import matplotlib.pyplot as plt
from matplotlib.colors import ListedColormap

GRAYS = ListedColormap([(level, level, level) for level in np.linspace(0.0, 1.0, 256)], name="my_grays")


def plot_predictions(images, predicted, true, count=50, columns=5):
    shown = min(count, len(images))
    fig, axes = plt.subplots(math.ceil(shown / columns), columns, squeeze=False)
    plt.gray()   # every image from now on in gray
    for ax in axes.flat[shown:]:
        fig.delaxes(ax)
    for i, ax in enumerate(axes.flat[:shown]):
        ax.imshow(np.reshape(images[i], (28, 28)))
        if predicted[i] != true[i]:
            ax.set_title("%d(%d)" % (predicted[i], true[i]), backgroundcolor="#ff0000")
        else:
            ax.set_title("%d" % predicted[i])
        ax.axis("off")
    return fig


def plot_first_layer_weights(model, columns=4):
    dense = [layer for layer in model.layers if type(layer).__name__ == "Dense"]
    if not dense or dense[0].get_weights()[0].shape[0] != 784:
        raise ValueError("no first Dense layer over the 784 pixels")
    kernel = dense[0].get_weights()[0]
    figure = plt.figure()
    for unit in range(kernel.shape[1]):
        axes = figure.add_subplot(math.ceil(kernel.shape[1] / columns), columns, unit + 1)
        axes.imshow(kernel[:, unit].reshape(28, 28), cmap=GRAYS)
        axes.axis("off")
    return figure
'''}, ["plot_predictions", "plot_first_layer_weights"]),
]


def test_there_are_a_dozen_alternatives():
    assert len(ALTERNATIVES) >= 12


def test_the_reference_scores_full_marks(warm_workers, training_memo, unchanged):
    """Every check but the accuracy ones (which the calibration covers), hidden checks included."""
    names = check_names()
    report = grade(REFERENCE.parent, names=names, secret=TEST_SECRET, workers=warm_workers, memo=training_memo)
    assert report.sandbox == "bwrap" and warm_workers.kept_in_box()   # graded in the box students' work is
    assert len(report.results) == len(names)
    assert report.score == report.max_score, describe(report)
    unchanged(report)


@pytest.mark.parametrize("replacements, subjects, train", ALTERNATIVES)
def test_a_correct_alternative_scores_full_marks(tmp_path, replacements, subjects, train, warm_workers, training_memo, unchanged):
    submission = make_submission(tmp_path, replacements)
    names = check_names(subjects) | accuracy_names(list(train))
    report = grade(submission, only=subjects, names=names, secret=TEST_SECRET, workers=warm_workers, memo=training_memo)
    assert {result.name for result in report.results} == names
    assert report.score == report.max_score, describe(report)
    unchanged(report)


@pytest.mark.parametrize("replacements, subjects, train",
                         [pytest.param({}, None, (), id="the reference"),
                          *(pytest.param(*alternative.values, id=alternative.id) for alternative in ALTERNATIVES)])
def test_full_marks_hold_under_another_courses_secret(tmp_path, replacements, subjects, train, warm_workers, training_memo):
    """Another course's secret draws other hidden inputs (build_mlp's arguments, ties, labels...):
    the reference and every correct alternative keep full marks on them too (no training)."""
    submission = make_submission(tmp_path, replacements) if replacements else REFERENCE.parent
    names = {check.name for check in select(only=subjects, secret=OTHER_SECRET) if not check.needs_training}
    report = grade(submission, only=subjects, names=names, secret=OTHER_SECRET, workers=warm_workers, memo=training_memo)
    assert names and {result.name for result in report.results} == names
    assert report.score == report.max_score, describe(report)


def test_make_submission_replaces_only_the_named_functions(tmp_path):
    submission = make_submission(tmp_path, {"preprocessing": '''
def flatten(images):
    return np.reshape(images, (len(images), -1))
'''})
    source = (submission / "mnist_tasks" / "preprocessing.py").read_text(encoding="utf-8")
    reference = (REFERENCE / "preprocessing.py").read_text(encoding="utf-8")
    assert source.count("def flatten(") == 1 and "np.reshape(images, (len(images), -1))" in source
    assert "int(np.prod(images.shape[1:]))" not in source             # the reference body is gone
    before, after = reference.split("def flatten(")[0], reference.split("def add_channel_axis(")[1]
    assert source.startswith(before) and source.endswith(after)      # everything else is kept
    assert (submission / "mnist_tasks" / "models.py").read_text() == (REFERENCE / "models.py").read_text()
