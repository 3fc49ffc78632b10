"""Every promise the exercise contract makes, and the checks that grade it.

For each contract function (``../shared/spec/exercise-contract.md``, the docstrings in
``solutions/mnist_tasks/``), each thing its docstring or the contract promises is one row: what
it says and which checks grade it, by their names. ``tests/unit/test_promises.py`` walks the table:
every name is a check of the catalog, every check is named by some row, and every function has a
row for its ``Returns``, each of its ``Raises`` and each of its ``Parameters``. A promise with no
check is a defect of the grader (a wrong implementation keeps its points); so is a check that
grades no promise (a right one may lose them).

``NOT_PROMISED`` lists what the table leaves out on purpose, and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mnist_kit.variants import VARIANTS

Section = Literal["Parameters", "Returns", "Raises", "contract"]


@dataclass(frozen=True)
class Promise:
    function: str            # the contract function
    section: Section         # where the promise is made: a docstring section, or the contract's table
    about: str               # the parameter (Parameters), the exception (Raises), or what of the result
    says: str                # the promise, in the docstring's or the contract's words
    checks: tuple[str, ...]  # the names of the checks that grade it, hidden ones included


def _variant(kind: str, *ids: str) -> tuple[str, ...]:
    """The names of the variant checks of ``kind`` ("layers", "parameters", "compile", "accuracy")."""
    from autograder.checks import variants

    starts = {"layers": "layers of", "parameters": "exactly", "compile": "compile_model(", "accuracy": "test accuracy"}
    wanted = set(ids) or {variant.id for variant in VARIANTS}
    return tuple(check.name for check in variants.checks()
                 if check.subject.removeprefix("variant ") in wanted
                 and check.name.split(": ", 1)[1].startswith(starts[kind]))


H = " (hidden inputs)"
HA = " (hidden arguments #"

NORMALIZE_RANDOM = "normalize: random images → float32 in [0, 1], input unchanged"
NORMALIZE_FIXED = "normalize: 0, 51, 255 → 0.0, 0.2, 1.0 (float32)"
NORMALIZE_SHAPE = "normalize: any shape is kept"
NORMALIZE_SIZE = "normalize: at MNIST's size, 10,000 images (10000, 28, 28) uint8 → float32"
FLATTEN_ROWS = "flatten: (N, 28, 28) → (N, 784), rows in C order"
FLATTEN_FLOAT = "flatten: float32 stays float32"
FLATTEN_SIZE = "flatten: at MNIST's size, 10,000 images (10000, 28, 28) uint8 → (10000, 784)"
CHANNEL = "add_channel_axis: (N, 28, 28) → (N, 28, 28, 1)"
CHANNEL_FLOAT = "add_channel_axis: float32 stays float32"
CHANNEL_SIZE = "add_channel_axis: at MNIST's size, 10,000 images (10000, 28, 28) uint8 → (10000, 28, 28, 1)"
ONE_HOT_RANDOM = "one_hot: random labels → (N, 10) float32 rows with one 1.0"
ONE_HOT_CLASSES = "one_hot: num_classes=14 → (N, 14)"
ONE_HOT_CLASSES_HIDDEN = "one_hot: num_classes > 10 → (N, num_classes) (hidden inputs)"
ONE_HOT_HANDOUT = "one_hot: 5 → (0, 0, 0, 0, 0, 1, 0, 0, 0, 0) (handout 002)"
ONE_HOT_NUMPY = "one_hot: written with NumPy, not to_categorical"
ONE_HOT_SIZE = "one_hot: at MNIST's size, all 60,000 training labels (60000,) uint8 → (60000, 10) float32"
ONE_HOT_RANGE = "one_hot: labels outside 0..num_classes-1 (10 and -1) raise ValueError"
ONE_HOT_RANGE_HIDDEN = "one_hot: labels outside 0..num_classes-1 raise ValueError (hidden inputs)"
SCORES_PROBABILITIES = "labels_from_scores: softmax probabilities → (N,) integer classes"
SCORES_LOGITS = "labels_from_scores: negative logits, 7 classes"
SCORES_ONE_HOT = "labels_from_scores: one-hot rows back to labels"
SCORES_TIES = "labels_from_scores: ties go to the lowest index, as with np.argmax"
SCORES_SIZE = ("labels_from_scores: at MNIST's size, softmax probabilities for 10,000 test images (10000, 10) "
               "float32 → (10000,) integer classes")
MLP_THREE = "build_mlp: layers and input shape of build_mlp(hidden_units=[256, 128, 64], activation='tanh', dropout=0.3)"
MLP_DROPOUT = ("build_mlp: layers and input shape of build_mlp(hidden_units=(32, 32), activation='sigmoid', dropout=0.5, "
               "output_activation='softmax', input_shape=(784,))")
MLP_CHANNEL = ("build_mlp: layers and input shape of build_mlp(hidden_units=(100, 50), activation='elu', "
               "output_activation='softmax', input_shape=(28, 28, 1))")
MLP_HIDDEN = ("build_mlp: layers and input shape for hidden arguments #1",
              "build_mlp: layers and input shape for hidden arguments #2")
CNN_SHAPE = "build_cnn: layers and input shape of build_cnn(input_shape=(32, 32, 3))"
CNN_HIDDEN = "build_cnn: layers and input shape for hidden arguments #1"
LOSS_SPARSE = "choose_loss: integer labels (sparse), logits and softmax"
LOSS_CATEGORICAL = "choose_loss: one-hot labels (categorical), logits and softmax"
COMPILE_CASES = ("compile_model: Dense(10) (logits) output, one-hot labels, adam → from_logits=True",
                 "compile_model: Dense(10) + Softmax() output, integer labels, sgd → from_logits=False",
                 "compile_model: Dense(10) + Activation('softmax') output, one-hot labels, adam → from_logits=False")
COMPILE_OBJECT = "compile_model: optimizer=keras.optimizers.SGD(learning_rate=0.05), an object, is used as given"
STOP_DEFAULTS = "early_stopping: early_stopping() is configured as asked"
STOP_ARGUMENTS = ("early_stopping: early_stopping(patience=3, monitor='val_accuracy', restore_best_weights=False) "
                  "is configured as asked")
STOP_RUN = "early_stopping: really stops training and restores the best weights"
HISTORY_PANELS = "plot_history: two panels, loss and accuracy, train and validation lines"
HISTORY_LABELS = "plot_history: 'epoch' x labels, y labels and legends"
HISTORY_TRAIN_ONLY = "plot_history: no validation line without validation data (a dict, not a History)"
CHAIN = "plot_history: the History of fit with compile_model and early_stopping() (the notebook's chain)"
PREDICTIONS_GRID = "plot_predictions: the first 50 images in 10 rows × 5 columns, grayscale 28×28"
PREDICTIONS_TITLES = "plot_predictions: titled with the prediction, mistakes 'pred(true)' on red"
PREDICTIONS_FLAT = "plot_predictions: flattened (N, 784) images, count=12, columns=4 → 3 × 4"
PREDICTIONS_FEW = "plot_predictions: 7 images (N, 28, 28, 1), count=10 → 7 panels in 2 rows × 5 columns"
WEIGHTS_UNITS = "plot_first_layer_weights: each of 16 units as its 28×28 weights, 4 columns"
WEIGHTS_COLUMNS = "plot_first_layer_weights: columns=8 → 2 × 8"
WEIGHTS_SPARE = "plot_first_layer_weights: 10 units, columns=4 → 10 Axes in 3 × 4, no spare ones"
WEIGHTS_RAISES = ("plot_first_layer_weights: a model with no Dense layer, or a first Dense layer not taking 784 "
                  "inputs, raises ValueError")

P = Promise
PROMISES: tuple[Promise, ...] = (
    # --- preprocessing ---------------------------------------------------------------------------------
    P("normalize", "Parameters", "images", "uint8, any shape, values 0..255",
      (NORMALIZE_RANDOM, NORMALIZE_FIXED, NORMALIZE_SHAPE, NORMALIZE_SIZE, NORMALIZE_RANDOM + H, NORMALIZE_SHAPE + H)),
    P("normalize", "Returns", "dtype", "float32", (NORMALIZE_RANDOM, NORMALIZE_FIXED, NORMALIZE_SIZE)),
    P("normalize", "Returns", "shape", "the same shape as images", (NORMALIZE_SHAPE, NORMALIZE_SIZE, NORMALIZE_SHAPE + H)),
    P("normalize", "Returns", "values", "values in [0.0, 1.0]: 0 → 0.0, 255 → 1.0 (divided by 255)",
      (NORMALIZE_FIXED, NORMALIZE_RANDOM, NORMALIZE_RANDOM + H)),
    P("normalize", "Returns", "input", "a new array: images itself is left unchanged",
      (NORMALIZE_RANDOM, NORMALIZE_RANDOM + H)),
    P("flatten", "Parameters", "images", "shape (N, 28, 28), any dtype",
      (FLATTEN_ROWS, FLATTEN_FLOAT, FLATTEN_SIZE, FLATTEN_ROWS + H, FLATTEN_FLOAT + H)),
    P("flatten", "Returns", "shape", "(N, 784)", (FLATTEN_ROWS, FLATTEN_SIZE)),
    P("flatten", "Returns", "dtype", "the same dtype", (FLATTEN_ROWS, FLATTEN_FLOAT, FLATTEN_FLOAT + H)),
    P("flatten", "Returns", "values", "row i is images[i] read row by row (C order)",
      (FLATTEN_ROWS, FLATTEN_ROWS + H, FLATTEN_SIZE)),
    P("add_channel_axis", "Parameters", "images", "shape (N, 28, 28), any dtype",
      (CHANNEL, CHANNEL_FLOAT, CHANNEL_SIZE, CHANNEL + H, CHANNEL_FLOAT + H)),
    P("add_channel_axis", "Returns", "shape", "(N, 28, 28, 1)", (CHANNEL, CHANNEL_SIZE, CHANNEL + H)),
    P("add_channel_axis", "Returns", "dtype and values", "the same dtype and the same pixel values",
      (CHANNEL, CHANNEL_FLOAT, CHANNEL_FLOAT + H)),
    P("one_hot", "Parameters", "labels", "shape (N,), integers in 0..num_classes-1 (uint8 from load_mnist)",
      (ONE_HOT_RANDOM, ONE_HOT_CLASSES, ONE_HOT_SIZE, ONE_HOT_RANDOM + H, ONE_HOT_CLASSES_HIDDEN)),
    P("one_hot", "Parameters", "num_classes", "int, default 10: the width of each row",
      (ONE_HOT_RANDOM, ONE_HOT_HANDOUT, ONE_HOT_CLASSES, ONE_HOT_CLASSES_HIDDEN)),
    P("one_hot", "Returns", "shape and dtype", "(N, num_classes), float32",
      (ONE_HOT_RANDOM, ONE_HOT_CLASSES, ONE_HOT_SIZE, ONE_HOT_CLASSES_HIDDEN)),
    P("one_hot", "Returns", "values", "all 0.0 except a single 1.0 at column labels[i]",
      (ONE_HOT_HANDOUT, ONE_HOT_RANDOM, ONE_HOT_RANDOM + H)),
    P("one_hot", "Raises", "ValueError", "a label outside 0..num_classes-1 (NumPy's negative index would wrap it)",
      (ONE_HOT_RANGE, ONE_HOT_RANGE_HIDDEN)),
    P("one_hot", "contract", "NumPy", "written with NumPy, not to_categorical", (ONE_HOT_NUMPY,)),
    P("labels_from_scores", "Parameters", "scores", "shape (N, C): logits, probabilities or one-hot rows, any real dtype",
      (SCORES_PROBABILITIES, SCORES_LOGITS, SCORES_ONE_HOT, SCORES_SIZE, SCORES_TIES + H)),
    P("labels_from_scores", "Returns", "shape and dtype", "(N,), an integer dtype",
      (SCORES_PROBABILITIES, SCORES_LOGITS, SCORES_SIZE, SCORES_PROBABILITIES + H)),
    P("labels_from_scores", "Returns", "values", "in 0..C-1: the index of each row's largest score",
      (SCORES_PROBABILITIES, SCORES_LOGITS, SCORES_ONE_HOT, SCORES_LOGITS + H, SCORES_ONE_HOT + H)),
    P("labels_from_scores", "Returns", "ties", "ties go to the lowest index, as with np.argmax",
      (SCORES_TIES, SCORES_TIES + H)),
    # --- models ----------------------------------------------------------------------------------------
    P("build_mlp", "Parameters", "hidden_units", "a sequence of int: one hidden Dense per width, first to last",
      (*_variant("layers", "A", "C", "E"), MLP_THREE, MLP_DROPOUT, *MLP_HIDDEN)),
    P("build_mlp", "Parameters", "activation", "a Keras name: the activation of every hidden layer",
      (*_variant("layers", "A", "B"), MLP_THREE, MLP_DROPOUT, MLP_CHANNEL, *MLP_HIDDEN)),
    P("build_mlp", "Parameters", "dropout", "in [0, 1): a Dropout of that rate after each hidden layer; 0 adds none",
      (*_variant("layers", "D", "D10", "D-drop20", "D-drop40"), MLP_THREE, MLP_DROPOUT, MLP_CHANNEL, MLP_HIDDEN[0])),
    P("build_mlp", "Parameters", "output_activation", "the 10-unit output's activation; None: linear (logits)",
      (*_variant("layers", "D", "M64", "F16"), MLP_THREE, MLP_DROPOUT, *MLP_HIDDEN)),
    P("build_mlp", "Parameters", "input_shape", "one sample's shape: (28, 28), (28, 28, 1) or (784,)",
      (*_variant("layers", "D", "M64", "F16"), MLP_DROPOUT, MLP_CHANNEL, *MLP_HIDDEN)),
    P("build_mlp", "contract", "layer settings", "each layer's other settings at Keras's defaults: bias, no "
      "regularizer or constraint (initializers are free)", (*_variant("layers", *(v.id for v in VARIANTS
                                                                                  if v.builder == "build_mlp")),
                                                            MLP_THREE, MLP_DROPOUT, MLP_CHANNEL, *MLP_HIDDEN)),
    P("build_mlp", "Returns", "compiled", "an uncompiled keras.Model",
      _variant("compile", *(v.id for v in VARIANTS if v.builder == "build_mlp"))),
    P("build_mlp", "Returns", "shapes", "input (None, *input_shape) → output (None, 10)",
      (*_variant("layers", "D", "M64", "F16"), MLP_DROPOUT, MLP_CHANNEL, *MLP_HIDDEN)),
    P("build_mlp", "contract", "parameters", "each handout model's exact parameter count (784-64-10: 50,890)",
      _variant("parameters", *(v.id for v in VARIANTS if v.builder == "build_mlp"))),
    P("build_mlp", "contract", "learns", "each handout model learns: test accuracy after the grader's brief training",
      _variant("accuracy", *(v.id for v in VARIANTS if v.builder == "build_mlp"))),
    P("build_cnn", "Parameters", "input_shape", "(height, width, channels) of one image, default (28, 28, 1)",
      (*_variant("layers", "CNN"), CNN_SHAPE, CNN_HIDDEN)),
    P("build_cnn", "Returns", "compiled", "an uncompiled keras.Model", _variant("compile", "CNN")),
    P("build_cnn", "contract", "layer settings", "each layer's other settings at Keras's defaults: bias, no "
      "regularizer, constraint or dilation, channels last (initializers are free)",
      (*_variant("layers", "CNN"), CNN_SHAPE, CNN_HIDDEN)),
    P("build_cnn", "Returns", "shapes", "input (None, *input_shape) → output (None, 10) softmax probabilities; "
      "the handout's layers", (*_variant("layers", "CNN"), CNN_SHAPE, CNN_HIDDEN)),
    P("build_cnn", "contract", "parameters", "665,738 parameters", _variant("parameters", "CNN")),
    P("build_cnn", "contract", "learns", "it learns: test accuracy after the grader's brief training",
      _variant("accuracy", "CNN")),
    # --- training --------------------------------------------------------------------------------------
    P("choose_loss", "Parameters", "one_hot_labels", "True: (N, 10) one-hot rows, categorical; False: (N,), sparse",
      (LOSS_SPARSE, LOSS_CATEGORICAL)),
    P("choose_loss", "Parameters", "from_logits", "True when the model outputs raw scores",
      (LOSS_SPARSE, LOSS_CATEGORICAL)),
    P("choose_loss", "Returns", "loss", "a keras.losses.Loss with from_logits set (a name only where it means the same)",
      (LOSS_SPARSE, LOSS_CATEGORICAL)),
    P("choose_loss", "contract", "settings", "the matching cross-entropy as Keras makes it: no other setting changed "
      "(label_smoothing, reduction, axis, ignore_class)", (LOSS_SPARSE, LOSS_CATEGORICAL)),
    P("compile_model", "Parameters", "model", "a keras.Model, e.g. from build_mlp or build_cnn",
      (*COMPILE_CASES, *_variant("compile"))),
    P("compile_model", "Parameters", "optimizer", 'a name or a keras.optimizers.Optimizer, default "adam"',
      (*COMPILE_CASES, COMPILE_OBJECT, *_variant("compile", "A", "D"))),
    P("compile_model", "Parameters", "one_hot_labels", "bool, default False: which cross-entropy",
      (*COMPILE_CASES, *_variant("compile", "D", "F16"))),
    P("compile_model", "Returns", "model", "the same model object, compiled", (*COMPILE_CASES, COMPILE_OBJECT)),
    P("compile_model", "contract", "from_logits", "True exactly when the model's last layer applies no softmax",
      (*COMPILE_CASES, *_variant("compile"))),
    P("compile_model", "contract", "metrics", 'metrics=["accuracy"]: one metric, named "accuracy" (History\'s keys '
      '"accuracy" and "val_accuracy", what plot_history reads), measuring the accuracy that fits the labels',
      (*COMPILE_CASES, COMPILE_OBJECT, *_variant("compile"))),
    P("compile_model", "contract", "optimizer settings", "a name compiles Keras's optimizer at its defaults; an "
      "object is used with its own settings", (*COMPILE_CASES, COMPILE_OBJECT, *_variant("compile", "A", "D"))),
    P("early_stopping", "Parameters", "patience", "int, default 0: epochs without improvement before stopping",
      (STOP_DEFAULTS, STOP_ARGUMENTS, STOP_RUN)),
    P("early_stopping", "Parameters", "monitor", 'str, default "val_loss"', (STOP_DEFAULTS, STOP_ARGUMENTS)),
    P("early_stopping", "Parameters", "restore_best_weights", "bool, default True",
      (STOP_DEFAULTS, STOP_ARGUMENTS, STOP_RUN)),
    P("early_stopping", "Returns", "callback", "a keras.callbacks.EarlyStopping with exactly these three settings "
      "(mode chosen by Keras from monitor)", (STOP_DEFAULTS, STOP_ARGUMENTS)),
    P("early_stopping", "contract", "stops", "ends training once monitor stops improving", (STOP_RUN,)),
    P("early_stopping", "contract", "learns", "F16 with early_stopping(patience=0) learns",
      _variant("accuracy", "F16")),
    # --- plots -----------------------------------------------------------------------------------------
    P("plot_history", "Parameters", "history", "a keras History or its .history dict", (HISTORY_PANELS,
                                                                                          HISTORY_TRAIN_ONLY)),
    P("plot_history", "Returns", "panels", 'a Figure with two Axes: left "loss", right "accuracy"',
      (HISTORY_PANELS,)),
    P("plot_history", "Returns", "lines", 'a "train" line, and a "validation" one only when validation values exist',
      (HISTORY_PANELS, HISTORY_TRAIN_ONLY)),
    P("plot_history", "Returns", "labels", 'x axis "epoch", a legend on each panel naming the train and the '
      'validation line apart', (HISTORY_LABELS,)),
    P("plot_history", "contract", "chain", "draws the History that fit returns for a model compiled by compile_model, "
      "with the early_stopping() callback stopping it (002 In[17]-In[19])", (CHAIN,)),
    P("plot_predictions", "Parameters", "images", "(N, 28, 28), (N, 784) or (N, 28, 28, 1)",
      (PREDICTIONS_GRID, PREDICTIONS_FLAT, PREDICTIONS_FEW)),
    P("plot_predictions", "Parameters", "predicted", "(N,) class indices: each panel's title", (PREDICTIONS_TITLES,)),
    P("plot_predictions", "Parameters", "true", "(N,) class indices: a mistake is titled pred(true) on red",
      (PREDICTIONS_TITLES,)),
    P("plot_predictions", "Parameters", "count", "how many images, from the first; fewer if there are fewer",
      (PREDICTIONS_GRID, PREDICTIONS_FLAT, PREDICTIONS_FEW)),
    P("plot_predictions", "Parameters", "columns", "int, default 5", (PREDICTIONS_GRID, PREDICTIONS_FLAT)),
    P("plot_predictions", "Returns", "grid", "min(count, N) Axes in ceil(count / columns) rows, each a 28×28 "
      "grayscale image", (PREDICTIONS_GRID, PREDICTIONS_FLAT, PREDICTIONS_FEW)),
    P("plot_predictions", "contract", "titles", "a correct prediction titled with the digit, a mistake pred(true) "
      "on a red background", (PREDICTIONS_TITLES,)),
    P("plot_first_layer_weights", "Parameters", "model", "a model whose first Dense layer takes the 784 pixels",
      (WEIGHTS_UNITS, WEIGHTS_COLUMNS)),
    P("plot_first_layer_weights", "Parameters", "columns", "int, default 4", (WEIGHTS_UNITS, WEIGHTS_COLUMNS)),
    P("plot_first_layer_weights", "Returns", "grid", "one Axes per unit in ceil(units / columns) rows, each the "
      "unit's 784 weights as a 28×28 grayscale image; no spare Axes", (WEIGHTS_UNITS, WEIGHTS_COLUMNS, WEIGHTS_SPARE)),
    P("plot_first_layer_weights", "Raises", "ValueError", "no Dense layer, or a first one not taking 784 inputs",
      (WEIGHTS_RAISES,)),
)

# Left out on purpose: (function, what, why).
NOT_PROMISED: tuple[tuple[str, str, str], ...] = (
    ("normalize, flatten, add_channel_axis, one_hot, labels_from_scores", "an empty batch (N = 0)",
     "the course never passes one, and idioms a correct program uses (reshape(len(images), -1), a list "
     "comprehension) fail on it; the docstrings' N means a batch of images"),
    ("one_hot", "num_classes below 10",
     "the course uses 10 (and the checks more than 10); a program right for 10 and above is right below"),
    ("compile_model", "a sigmoid output layer",
     "the contract's rule would call it logits, but a student who reads sigmoid outputs as probabilities is not "
     "wrong about the handouts (autograder/checks/compiling.py)"),
    ("plot_predictions, plot_first_layer_weights", "axis lines", "looks, not the contract: no longer in the docstrings"),
)


def rows_of(function: str) -> list[Promise]:
    return [promise for promise in PROMISES if promise.function == function]
