"""Building a probe's arguments (``autograder.protocol.ArgSpec``) in the worker."""

from __future__ import annotations

import os

import keras
import numpy as np


def load_argument(spec, workdir):
    if "npy" in spec:
        return np.load(os.path.join(workdir, spec["npy"]), allow_pickle=False)
    if "value" in spec:
        value = spec["value"]
        return tuple(value) if spec.get("tuple") else value
    if "history" in spec:
        return spec["history"]
    if "keras_history" in spec:
        history = keras.callbacks.History()
        history.history = {key: list(values) for key, values in spec["keras_history"].items()}
        history.epoch = list(range(len(spec["keras_history"]["loss"])))
        return history
    if "dense_model" in spec:
        return trusted_dense_model(spec["dense_model"], workdir)
    if "no_dense_model" in spec:
        return no_dense_model(spec["no_dense_model"])
    if "small_model" in spec:
        return small_model(spec["small_model"])
    if "keras_optimizer" in spec:
        optimizer = spec["keras_optimizer"]
        return {"SGD": keras.optimizers.SGD, "Adam": keras.optimizers.Adam}[optimizer["name"]](
            learning_rate=float(optimizer["learning_rate"]))
    raise ValueError(f"unknown argument spec {sorted(spec)}")


def small_model(ending):
    """A 784-16-10 model whose output ends as ``ending`` says, for compile_model's checks."""
    last = {
        "logits": [keras.layers.Dense(10)],
        "softmax": [keras.layers.Dense(10, activation="softmax")],
        "softmax_layer": [keras.layers.Dense(10), keras.layers.Softmax()],
        "activation_softmax": [keras.layers.Dense(10), keras.layers.Activation("softmax")],
    }[ending]
    return keras.Sequential([keras.Input((784,)), keras.layers.Dense(16, activation="relu"), *last])


def trusted_dense_model(spec, workdir):
    """A model with known first-layer weights, for plot_first_layer_weights."""
    layers = [keras.Input(shape=tuple(spec["input_shape"]))]
    if len(spec["input_shape"]) > 1:
        layers.append(keras.layers.Flatten())
    layers += [keras.layers.Dense(spec["units"], activation="sigmoid"), keras.layers.Dense(10)]
    model = keras.Sequential(layers)
    kernel = np.load(os.path.join(workdir, spec["kernel"]), allow_pickle=False)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)][0]
    dense.set_weights([kernel, np.zeros(spec["units"], np.float32)])
    return model


def no_dense_model(input_shape):
    """A convolutional model without any Dense layer: no first-layer weights to draw."""
    return keras.Sequential([keras.Input(shape=tuple(input_shape)), keras.layers.Conv2D(4, (3, 3)),
                             keras.layers.Flatten()])
