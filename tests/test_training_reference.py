"""The reference training set-up: losses, compilation and early stopping."""

import keras
import numpy as np
import pytest


@pytest.mark.parametrize("one_hot_labels", [False, True])
@pytest.mark.parametrize("from_logits", [False, True])
def test_choose_loss(reference, one_hot_labels, from_logits):
    loss = reference.training.choose_loss(one_hot_labels, from_logits)
    expected = keras.losses.CategoricalCrossentropy if one_hot_labels else keras.losses.SparseCategoricalCrossentropy
    assert type(loss) is expected
    assert loss.get_config()["from_logits"] is from_logits


@pytest.mark.parametrize(
    "output_layer, from_logits",
    [
        (lambda: keras.layers.Dense(10), True),
        (lambda: keras.layers.Dense(10, activation="softmax"), False),
        (lambda: keras.layers.Dense(10, activation=keras.activations.softmax), False),
        (lambda: keras.layers.Softmax(), False),
        (lambda: keras.layers.Activation("softmax"), False),
        (lambda: keras.layers.Dense(10, activation="sigmoid"), True),
    ],
    ids=["logits", "dense-softmax", "softmax-function", "Softmax-layer", "Activation-softmax", "sigmoid"],
)
@pytest.mark.parametrize("one_hot_labels", [False, True])
def test_compile_model_detects_softmax(reference, output_layer, from_logits, one_hot_labels):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(10), output_layer()])
    result = reference.training.compile_model(model, optimizer="sgd", one_hot_labels=one_hot_labels)
    assert result is model
    assert model.loss.get_config()["from_logits"] is from_logits
    assert isinstance(model.loss, keras.losses.CategoricalCrossentropy if one_hot_labels
                      else keras.losses.SparseCategoricalCrossentropy)
    assert isinstance(model.optimizer, keras.optimizers.SGD)


def test_compile_model_tracks_accuracy_and_trains(reference):
    keras.utils.set_random_seed(0)
    model = reference.training.compile_model(reference.models.build_mlp((8,), input_shape=(4,)))
    history = model.fit(np.random.rand(32, 4), np.arange(32) % 10, epochs=1, verbose=0)
    assert set(history.history) == {"loss", "accuracy"}
    assert isinstance(model.optimizer, keras.optimizers.Adam)


def test_early_stopping_configuration(reference):
    callback = reference.training.early_stopping(patience=3, monitor="val_accuracy", restore_best_weights=False)
    assert isinstance(callback, keras.callbacks.EarlyStopping)
    assert (callback.patience, callback.monitor, callback.restore_best_weights) == (3, "val_accuracy", False)
    defaults = reference.training.early_stopping()
    assert (defaults.patience, defaults.monitor, defaults.restore_best_weights) == (0, "val_loss", True)


def test_early_stopping_stops_and_restores_best_weights(reference):
    """Real training whose validation loss worsens after epoch 1: the callback must stop and restore."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    # Training pulls the weight towards 1; validation rewards a weight of 0, so val_loss only
    # rises once training moves the weight away from its start.
    model.layers[0].set_weights([np.zeros((1, 1), np.float32)])
    x = np.ones((8, 1), np.float32)
    best = model.get_weights()[0].copy()
    history = model.fit(x, x, validation_data=(x, np.zeros_like(x)), epochs=20, verbose=0,
                        callbacks=[reference.training.early_stopping(patience=0)])
    assert len(history.history["loss"]) == 2   # epoch 2 failed to improve on epoch 1 with patience 0
    first_epoch_weight = model.get_weights()[0]
    assert not np.array_equal(first_epoch_weight, best)  # trained for an epoch...
    val = history.history["val_loss"]
    assert val[1] > val[0]
    # ...and kept epoch 1's weights, not epoch 2's: val_loss of the restored model is epoch 1's.
    assert model.evaluate(x, np.zeros_like(x), verbose=0) == pytest.approx(val[0], rel=1e-5)
