"""Keras 3 ``model.to_json()`` documents written by hand, so that the architecture tests need no Keras.

``VARIANT_A`` is a trimmed copy of what Keras 3 printed for the reference's variant A (only the
build_config entries dropped); the builders below write layers in the same format, and
``test_the_hand_written_json_matches_what_keras_printed`` keeps them honest against it.
"""

from __future__ import annotations

import json

from mnist_kit.variants import Variant

# keras.Sequential([keras.Input((28, 28)), Flatten(), Dense(64, activation="sigmoid"), Dense(10)]).to_json()
VARIANT_A = {
    "module": "keras", "class_name": "Sequential",
    "config": {
        "name": "sequential", "trainable": True,
        "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                  "registered_name": None},
        "layers": [
            {"module": "keras.layers", "class_name": "InputLayer",
             "config": {"batch_shape": [None, 28, 28], "dtype": "float32", "sparse": False, "ragged": False,
                        "name": "input_layer", "optional": False},
             "registered_name": None},
            {"module": "keras.layers", "class_name": "Flatten",
             "config": {"name": "flatten", "trainable": True,
                        "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                                  "registered_name": None},
                        "data_format": "channels_last"},
             "registered_name": None},
            {"module": "keras.layers", "class_name": "Dense",
             "config": {"name": "dense", "trainable": True,
                        "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                                  "registered_name": None},
                        "units": 64, "activation": "sigmoid", "use_bias": True,
                        "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                               "config": {"seed": None, "input_axes": None, "output_axes": None},
                                               "registered_name": None},
                        "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {},
                                             "registered_name": None},
                        "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None,
                        "bias_constraint": None, "quantization_config": None},
             "registered_name": None},
            {"module": "keras.layers", "class_name": "Dense",
             "config": {"name": "dense_1", "trainable": True,
                        "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                                  "registered_name": None},
                        "units": 10, "activation": "linear", "use_bias": True,
                        "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                               "config": {"seed": None, "input_axes": None, "output_axes": None},
                                               "registered_name": None},
                        "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {},
                                             "registered_name": None},
                        "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None,
                        "bias_constraint": None, "quantization_config": None},
             "registered_name": None},
        ],
        "build_input_shape": [None, 28, 28],
    },
    "registered_name": None,
    "build_config": {"input_shape": [None, 28, 28]},
    "compile_config": {},
}


def _dtype() -> dict:
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}


def initializer(class_name: str = "GlorotUniform", **config) -> dict:
    if class_name == "GlorotUniform" and not config:
        config = {"seed": None, "input_axes": None, "output_axes": None}
    return {"module": "keras.initializers", "class_name": class_name, "config": config, "registered_name": None}


def layer(class_name: str, **config) -> dict:
    return {"module": "keras.layers", "class_name": class_name,
            "config": {"name": class_name.lower(), "trainable": True, "dtype": _dtype(), **config},
            "registered_name": None}


def input_layer(shape) -> dict:
    return {"module": "keras.layers", "class_name": "InputLayer",
            "config": {"batch_shape": [None, *shape], "dtype": "float32", "sparse": False, "ragged": False,
                       "name": "input_layer", "optional": False},
            "registered_name": None}


def flatten() -> dict:
    return layer("Flatten", data_format="channels_last")


def dense(units: int, activation="linear", **overrides) -> dict:
    config = {"units": units, "activation": activation, "use_bias": True,
              "kernel_initializer": initializer(), "bias_initializer": initializer("Zeros"),
              "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None,
              "bias_constraint": None, "quantization_config": None}
    return layer("Dense", **{**config, **overrides})


def conv2d(filters: int, kernel=(3, 3), padding="valid", activation="linear", strides=(1, 1)) -> dict:
    return layer("Conv2D", filters=filters, kernel_size=list(kernel) if isinstance(kernel, tuple) else kernel,
                 strides=list(strides) if isinstance(strides, tuple) else strides, padding=padding,
                 data_format="channels_last", dilation_rate=[1, 1], groups=1, activation=activation,
                 use_bias=True, kernel_initializer=initializer(), bias_initializer=initializer("Zeros"),
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None)


def max_pooling(pool=(2, 2), strides=(2, 2), padding="valid") -> dict:
    return layer("MaxPooling2D", pool_size=list(pool), padding=padding,
                 strides=list(strides) if strides is not None else None, data_format="channels_last")


def dropout(rate: float) -> dict:
    return layer("Dropout", rate=rate, seed=None, noise_shape=None)


def activation(name) -> dict:
    return layer("Activation", activation=name)


def relu(max_value=None, negative_slope=0.0, threshold=0.0) -> dict:
    return layer("ReLU", max_value=max_value, negative_slope=negative_slope, threshold=threshold)


def softmax() -> dict:
    return layer("Softmax", axis=-1)


def sequential(input_shape, *layers: dict) -> dict:
    return {"module": "keras", "class_name": "Sequential",
            "config": {"name": "sequential", "trainable": True, "dtype": _dtype(),
                       "layers": [input_layer(input_shape), *layers], "build_input_shape": [None, *input_shape]},
            "registered_name": None, "build_config": {"input_shape": [None, *input_shape]}, "compile_config": {}}


def to_json(model: dict) -> str:
    return json.dumps(model)


def reference_model(variant: Variant) -> dict:
    """The model the reference's builder returns for a variant (solutions/mnist_tasks/models.py)."""
    if variant.builder == "build_cnn":
        return sequential((28, 28, 1),
                          conv2d(64, padding="same", activation="relu"), max_pooling(),
                          conv2d(128, activation="relu"), max_pooling(), dropout(0.5), flatten(),
                          dense(128, "relu"), dropout(0.25), dense(10, "softmax"))
    kwargs = variant.build_kwargs
    layers = [flatten()]
    for units in kwargs.get("hidden_units", (128,)):
        layers.append(dense(units, kwargs.get("activation", "relu")))
        if kwargs.get("dropout", 0.0) > 0:
            layers.append(dropout(kwargs["dropout"]))
    # Keras writes an activation of None as "linear".
    layers.append(dense(10, kwargs.get("output_activation") or "linear"))
    return sequential(kwargs.get("input_shape", (28, 28)), *layers)


def functional_mlp() -> dict:
    """A functional-API model (keras.Model(inputs, outputs)) in Keras 3's format: its layers link
    through ``__keras_tensor__`` objects."""
    def tensor(shape, source):
        return {"class_name": "__keras_tensor__",
                "config": {"shape": [None, *shape], "dtype": "float32", "keras_history": [source, 0, 0]}}

    flat, hidden, out = flatten(), dense(64, "relu"), dense(10)
    flat["name"], flat["inbound_nodes"] = "flatten", [{"args": [tensor((28, 28), "input_layer")], "kwargs": {}}]
    hidden["name"], hidden["inbound_nodes"] = "dense", [{"args": [tensor((784,), "flatten")], "kwargs": {}}]
    out["name"], out["inbound_nodes"] = "dense_1", [{"args": [tensor((64,), "dense")], "kwargs": {}}]
    source = input_layer((28, 28))
    source["name"], source["inbound_nodes"] = "input_layer", []
    return {"module": "keras.src.models.functional", "class_name": "Functional",
            "config": {"name": "functional", "trainable": True, "layers": [source, flat, hidden, out],
                       "input_layers": [["input_layer", 0, 0]], "output_layers": [["dense_1", 0, 0]]},
            "registered_name": "Functional", "build_config": {"input_shape": None}}
