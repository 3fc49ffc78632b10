"""The reference plots: the structure of each figure (panels, lines, legends, labels, colours)."""

import keras
import matplotlib.colors as mcolors
import numpy as np
import pytest
from matplotlib.figure import Figure


def test_history_with_validation(reference):
    logs = {"loss": [0.5, 0.3, 0.2], "accuracy": [0.8, 0.9, 0.95],
            "val_loss": [0.4, 0.35, 0.36], "val_accuracy": [0.85, 0.9, 0.9]}
    figure = reference.plots.plot_history(logs)
    assert isinstance(figure, Figure)
    loss, accuracy = figure.axes
    for axes, metric in ((loss, "loss"), (accuracy, "accuracy")):
        assert axes.get_xlabel() == "epoch" and axes.get_ylabel() == metric
        train, validation = axes.get_lines()
        np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])
        np.testing.assert_allclose(train.get_ydata(), logs[metric])
        np.testing.assert_allclose(validation.get_ydata(), logs[f"val_{metric}"])
        assert [t.get_text() for t in axes.get_legend().get_texts()] == ["train", "validation"]


def test_history_without_validation_and_from_keras(reference):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(10)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    history = model.fit(np.zeros((4, 2)), np.zeros(4), epochs=2, verbose=0)
    figure = reference.plots.plot_history(history)
    assert len(figure.axes) == 2
    for axes in figure.axes:
        assert len(axes.get_lines()) == 1
        assert [t.get_text() for t in axes.get_legend().get_texts()] == ["train"]


def test_predictions_grid_and_red_mistakes(reference):
    images = np.random.default_rng(0).random((60, 784)).astype(np.float32)
    true = np.arange(60) % 10
    predicted = true.copy()
    predicted[[3, 17]] = [9, 0]
    figure = reference.plots.plot_predictions(images, predicted, true)
    assert len(figure.axes) == 50
    assert figure.axes[0].get_subplotspec().get_gridspec().get_geometry() == (10, 5)
    titles = [axes.title for axes in figure.axes]
    assert titles[3].get_text() == "9(3)" and titles[17].get_text() == "0(7)"
    assert titles[4].get_text() == "4"
    red = mcolors.to_rgba("red")
    for index, title in enumerate(titles):
        background = title.get_bbox_patch()
        is_red = background is not None and mcolors.to_rgba(background.get_facecolor()) == red
        assert is_red == (index in (3, 17))
    image = figure.axes[0].get_images()[0]
    assert image.get_array().shape == (28, 28) and image.get_cmap().name == "gray"
    assert not figure.axes[0].axison


def test_predictions_fewer_images_than_count(reference):
    figure = reference.plots.plot_predictions(np.zeros((7, 28, 28)), np.zeros(7, int), np.zeros(7, int), count=50)
    assert len(figure.axes) == 7


def test_first_layer_weights(reference):
    model = reference.models.build_mlp((16,), "sigmoid", output_activation="softmax", input_shape=(784,))
    figure = reference.plots.plot_first_layer_weights(model)
    assert len(figure.axes) == 16
    assert figure.axes[0].get_subplotspec().get_gridspec().get_geometry() == (4, 4)
    kernel = model.layers[1].get_weights()[0]
    for unit, axes in enumerate(figure.axes):
        shown = axes.get_images()[0]
        assert shown.get_cmap().name == "gray"
        np.testing.assert_array_equal(shown.get_array(), kernel[:, unit].reshape(28, 28))


def test_first_layer_weights_rejects_a_cnn(reference):
    with pytest.raises(ValueError, match="784"):
        reference.plots.plot_first_layer_weights(reference.models.build_cnn())
