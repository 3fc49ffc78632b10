"""The grader is sharp: stubs score zero, and each wrong implementation (mutant) loses points.

Every mutant is the reference with one function broken in a way students break it. It is graded
on its own, on the subjects it touches (hidden checks included), and must lose points on a check
whose English message names the problem (``fragment``, matched with runs of whitespace collapsed
to one space, so that it can quote a line of the layer table). Mistakes in setting a model up (layers,
activations, optimizer, loss) are graded WITHOUT the accuracy checks: a model with sigmoid instead
of ReLU, or trained with SGD instead of Adam, still learns, so accuracy alone would not catch it.

A mutant is an ``edit`` of the reference's text where that gives the very program shown to lose
points; the others (``mutant``) splice in whole functions, written in another style than the reference's.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.grade import grade, select
from tests.submissions import STUBS, TEST_SECRET, check_names, describe, make_mutant, make_submission


def mutant(name, module, source, subjects, fragment, caught_by=None):
    """``caught_by``: a part of the name of every check that must catch it (e.g. only hidden ones)."""
    return pytest.param({module: source}, subjects, fragment, caught_by, id=name)


def edit(name, replacements, subjects, fragment, caught_by=None):
    """``replacements``: (module, right, wrong) triples for ``make_mutant``; ``caught_by`` as above."""
    return pytest.param(replacements, subjects, fragment, caught_by, id=name)


def _public_one_hot_answers() -> str:
    """Source of the list of public one_hot inputs (labels, num_classes), as a student could copy them:
    those with an answer (not the out-of-range labels), short enough to copy (not MNIST's 60,000)."""
    answers = set()
    for check in select(only=["one_hot"]):
        if check.hidden:
            continue
        for probe in check.probes:
            labels = next(iter(probe["arrays"].values()))
            classes = probe.get("kwargs", {}).get("num_classes", {}).get("value", 10)
            if len(labels) <= 1000 and 0 <= labels.min() and labels.max() < classes:
                answers.add((tuple(int(label) for label in labels), classes))
    return repr(sorted(answers))


def _published_scores_at_size() -> tuple[str, str]:
    """The public labels_from_scores input at MNIST's size, as a student could copy it: its hash, and
    the answer as base64 bytes."""
    import base64
    import hashlib

    (check,) = [check for check in select(only=["labels_from_scores"]) if AT_SIZE in check.name]
    (scores,) = check.probes[0]["arrays"].values()
    answer = base64.b64encode(scores.argmax(axis=1).astype(np.uint8).tobytes()).decode()
    return hashlib.sha256(scores.tobytes()).hexdigest(), answer


# Replaced whole because their mutants were written otherwise: a smaller edit would be another program.
NORMALIZE = "np.asarray(images, dtype=np.float32) / np.float32(255.0)"
FLATTEN = "count = images.shape[0]\n    return images.reshape(count, int(np.prod(images.shape[1:])))"
ONE_HOT_RANGE_CHECK = """\
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"ラベルは 0..{num_classes - 1} の範囲である必要があります / "
            f"labels must lie in 0..{num_classes - 1}; got {labels.min()}..{labels.max()}"
        )
"""
NO_DENSE_CHECK = """\
    if dense is None:
        raise ValueError("Dense 層がありません / the model has no Dense layer")
"""
WIDTH_CHECK = """\
    if kernel.shape[0] != IMAGE_SIDE * IMAGE_SIDE:
        raise ValueError(
            f"最初の Dense 層の入力が {kernel.shape[0]} 個です (784 が必要) / "
            f"the first Dense layer takes {kernel.shape[0]} inputs, not 784"
        )
"""
# Right on small inputs, wrong on as many as the course uses: only the checks at MNIST's size catch them.
AT_SIZE = "at MNIST's size"

MUTANTS = [
    # --- normalize ---------------------------------------------------------------------------------
    edit("normalize returns float64 (images / 255.0)", [("preprocessing", NORMALIZE, "images / 255.0")],
         ["normalize"], "dtype float64, expected float32"),
    edit("normalize divides by 256", [("preprocessing", NORMALIZE, "images.astype(np.float32) / 256")],
         ["normalize"], "divided by 256"),
    edit("normalize modifies its input in place",
         [("preprocessing", f"return {NORMALIZE}", "scaled = images.astype(np.float32) / 255\n"
                                                   '    images[...] = 0   # "free" the raw pixels\n'
                                                   "    return scaled")],
         ["normalize"], "the input array was modified"),
    edit("normalize returns uint8", [("preprocessing", NORMALIZE, "(images / 255).astype(np.uint8)")],
         ["normalize"], "dtype uint8, expected float32"),
    edit("normalize returns float16 for large arrays",
         [("preprocessing", f"return {NORMALIZE}",
           "if images.size > 1_000_000:   # a large array in half precision, to save memory\n"
           "        return (images / 255).astype(np.float16)\n"
           f"    return {NORMALIZE}")],
         ["normalize"], f"{AT_SIZE} (10,000 images (10000, 28, 28) uint8): dtype float16, expected float32",
         caught_by=AT_SIZE),

    # --- flatten / add_channel_axis ----------------------------------------------------------------
    edit("flatten reads each image column by column (Fortran order)",
         [("preprocessing", FLATTEN, 'return np.array([image.flatten(order="F") for image in images])')],
         ["flatten"], "column by column (Fortran order)"),
    edit("flatten returns one long vector", [("preprocessing", FLATTEN, "return images.reshape(-1)")],
         ["flatten"], ", 784)"),
    edit("add_channel_axis puts the channel first (N, 1, 28, 28)",
         [("preprocessing", "images[..., np.newaxis]", "images[:, np.newaxis]")],
         ["add_channel_axis"], ", 1, 28, 28), expected ("),
    edit("flatten keeps only the first 1000 images of a large array",
         [("preprocessing", "count = images.shape[0]\n",
           "count = images.shape[0]\n"
           "    if count > 1000:   # a sample is enough to look at\n"
           "        images, count = images[:1000], 1000\n")],
         ["flatten"], f"{AT_SIZE} (10,000 images (10000, 28, 28) uint8): shape (1000, 784), expected (10000, 784)",
         caught_by=AT_SIZE),
    edit("add_channel_axis turns large arrays into float32",
         [("preprocessing", "return images[..., np.newaxis]",
           "if len(images) > 1000:   # ready for training\n"
           "        return images.reshape(-1, 28, 28, 1).astype(np.float32)\n"
           "    return images[..., np.newaxis]")],
         ["add_channel_axis"], f"{AT_SIZE} (10,000 images (10000, 28, 28) uint8): dtype float32, expected uint8",
         caught_by=AT_SIZE),

    # --- one_hot -----------------------------------------------------------------------------------
    # Splices: their one_hot has no range check on the labels, and two of them add module-level code.
    mutant("one_hot calls to_categorical", "preprocessing", '''
import keras


def one_hot(labels, num_classes=10):
    return keras.utils.to_categorical(labels, num_classes).astype(np.float32)
''', ["one_hot"], "to_categorical was called"),
    mutant("one_hot returns integers", "preprocessing", '''
def one_hot(labels, num_classes=10):
    return np.eye(num_classes, dtype=int)[labels]
''', ["one_hot"], "expected float32"),
    mutant("one_hot is off by one (label k sets column k-1)", "preprocessing", '''
def one_hot(labels, num_classes=10):
    encoded = np.zeros((len(labels), num_classes), dtype=np.float32)
    for row, label in enumerate(labels):
        encoded[row, int(label) - 1] = 1.0
    return encoded
''', ["one_hot"], "one column off (off by one)"),
    edit("one_hot without the range check", [("preprocessing", ONE_HOT_RANGE_CHECK, "")],
         ["one_hot"], "label 10 (num_classes=10): raised IndexError (preprocessing.py:", caught_by="ValueError"),
    edit("one_hot checks labels past the end only (a negative label wraps round)",
         [("preprocessing", "labels.min() < 0 or labels.max() >= num_classes", "labels.max() >= num_classes")],
         ["one_hot"], "label -1 (num_classes=10): returned normally, expected a ValueError. NumPy's indexing",
         caught_by="ValueError"),
    edit("one_hot's range check is off by one (labels.max() > num_classes)",
         [("preprocessing", "labels.max() >= num_classes", "labels.max() > num_classes")],
         ["one_hot"], "label 10 (num_classes=10): raised IndexError", caught_by="ValueError"),
    edit("one_hot raises IndexError for labels outside the range",
         [("preprocessing", "        raise ValueError(\n            f\"ラベルは", "        raise IndexError(\n            f\"ラベルは")],
         ["one_hot"], "label 10 (num_classes=10): raised IndexError (preprocessing.py:", caught_by="ValueError"),
    edit("one_hot raises a class of its own named ValueError",
         [("preprocessing", "import numpy as np\n",
           "import numpy as np\n\n\nclass ValueError(Exception):   # the module's own, in place of Python's\n"
           '    """Bad input."""\n')],
         ["one_hot"], "raised a class of its own named ValueError (preprocessing.py:", caught_by="ValueError"),
    edit("one_hot raises ValueError whatever it is given", [("preprocessing", ONE_HOT_RANGE_CHECK, """\
    raise ValueError("not done yet")
""")], ["one_hot"], "for valid labels in 0..9 too: raise ValueError for labels outside 0..num_classes-1, and only"),
    edit("one_hot returns uint8 for large arrays",
         [("preprocessing", "np.zeros((labels.shape[0], num_classes), dtype=np.float32)",
           "np.zeros((labels.shape[0], num_classes), dtype=np.uint8 if len(labels) > 1000 else np.float32)")],
         ["one_hot"], f"{AT_SIZE} (all 60,000 training labels): dtype uint8, expected float32", caught_by=AT_SIZE),
    mutant("one_hot hard-coded for the public inputs", "preprocessing", f'''
PUBLIC_INPUTS = {_public_one_hot_answers()}


def one_hot(labels, num_classes=10):
    if (tuple(int(label) for label in labels), num_classes) in PUBLIC_INPUTS:
        return np.eye(num_classes, dtype=np.float32)[labels]
    return np.zeros((len(labels), num_classes), dtype=np.float32)
''', ["one_hot"], "answers hard-coded for the published inputs"),

    # --- labels_from_scores ------------------------------------------------------------------------
    edit("labels_from_scores takes argmax over axis 0",
         [("preprocessing", "np.argmax(scores, axis=1)", "np.argmax(scores, axis=0)")],
         ["labels_from_scores"], "shape (10,), expected ("),
    edit("labels_from_scores returns floats",
         [("preprocessing", "np.argmax(scores, axis=1)", "np.argmax(scores, axis=1).astype(np.float32)")],
         ["labels_from_scores"], "expected an integer dtype"),
    edit("labels_from_scores returns the max score, not its index",
         [("preprocessing", "np.argmax(scores, axis=1)", "np.max(scores, axis=1)")],
         ["labels_from_scores"], "expected an integer dtype"),
    mutant("labels_from_scores wrong at MNIST's size, with the published answer at that size hard-coded",
           "preprocessing", f'''
import base64
import hashlib

PUBLISHED = {dict([_published_scores_at_size()])!r}


def labels_from_scores(scores):
    key = hashlib.sha256(np.ascontiguousarray(scores).tobytes()).hexdigest()
    if key in PUBLISHED:
        return np.frombuffer(base64.b64decode(PUBLISHED[key]), np.uint8).astype(np.int64)
    if len(scores) > 1000:
        return np.argmax(scores[:-1], axis=1)
    return np.argmax(scores, axis=1)
''', ["labels_from_scores"], "answers hard-coded for the published inputs?): at MNIST's size (scores (10000, 10)): "
                              "shape (9999,), expected (10000,)", caught_by=AT_SIZE),
    edit("labels_from_scores drops the last batch of a large array",
         [("preprocessing", "return np.argmax(scores, axis=1)",
           "if len(scores) > 1000:   # in batches of 1000, to spare memory\n"
           "        return np.concatenate([np.argmax(scores[start:start + 1000], axis=1)\n"
           "                               for start in range(0, len(scores) - 1000, 1000)])\n"
           "    return np.argmax(scores, axis=1)")],
         ["labels_from_scores"], f"{AT_SIZE} (scores (10000, 10)): shape (9000,), expected (10000,)",
         caught_by=AT_SIZE),

    # --- build_mlp (no accuracy checks: each of these models still learns) -------------------------
    # Splices: an unnamed Sequential built from a list; the reference's is named "mlp", built layer by layer.
    mutant("build_mlp ignores dropout", "models", '''
def build_mlp(hidden_units=(128,), activation="relu", dropout=0.0, output_activation=None,
              input_shape=(28, 28)):
    model = keras.Sequential([keras.Input(shape=input_shape), keras.layers.Flatten()])
    for units in hidden_units:
        model.add(keras.layers.Dense(units, activation=activation))
    model.add(keras.layers.Dense(10, activation=output_activation))
    return model
''', ["D-drop20", "D-drop40"], "✗ Dropout(rate=0.2) | —"),
    mutant("build_mlp puts Dropout before Dense", "models", '''
def build_mlp(hidden_units=(128,), activation="relu", dropout=0.0, output_activation=None,
              input_shape=(28, 28)):
    model = keras.Sequential([keras.Input(shape=input_shape), keras.layers.Flatten()])
    for units in hidden_units:
        if dropout > 0:
            model.add(keras.layers.Dropout(dropout))
        model.add(keras.layers.Dense(units, activation=activation))
    model.add(keras.layers.Dense(10, activation=output_activation))
    return model
''', ["D-drop20", "D-drop40"], "✗ — | Dropout(rate=0.2)"),
    mutant("build_mlp always uses relu (ignores activation)", "models", '''
def build_mlp(hidden_units=(128,), activation="relu", dropout=0.0, output_activation=None,
              input_shape=(28, 28)):
    model = keras.Sequential([keras.Input(shape=input_shape), keras.layers.Flatten()])
    for units in hidden_units:
        model.add(keras.layers.Dense(units, activation="relu"))
        if dropout > 0:
            model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(10, activation=output_activation))
    return model
''', ["A", "F16"], "✗ Dense(units=64, activation=sigmoid) | Dense(units=64, activation=relu)"),
    mutant("build_mlp uses sigmoid where relu is asked", "models", '''
def build_mlp(hidden_units=(128,), activation="relu", dropout=0.0, output_activation=None,
              input_shape=(28, 28)):
    model = keras.Sequential([keras.Input(shape=input_shape), keras.layers.Flatten()])
    for units in hidden_units:
        model.add(keras.layers.Dense(units, activation="sigmoid"))
        if dropout > 0:
            model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(10, activation=output_activation))
    return model
''', ["B", "D", "E"], "✗ Dense(units=128, activation=relu) | Dense(units=128, activation=sigmoid)"),
    mutant("build_mlp output layer reuses the hidden width", "models", '''
def build_mlp(hidden_units=(128,), activation="relu", dropout=0.0, output_activation=None,
              input_shape=(28, 28)):
    model = keras.Sequential([keras.Input(shape=input_shape), keras.layers.Flatten()])
    for units in hidden_units:
        model.add(keras.layers.Dense(units, activation=activation))
        if dropout > 0:
            model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(units, activation=output_activation))
    return model
''', ["D", "M64"], "parameters, expected 101,770"),
    mutant("build_mlp always ends with softmax", "models", '''
def build_mlp(hidden_units=(128,), activation="relu", dropout=0.0, output_activation=None,
              input_shape=(28, 28)):
    model = keras.Sequential([keras.Input(shape=input_shape), keras.layers.Flatten()])
    for units in hidden_units:
        model.add(keras.layers.Dense(units, activation=activation))
        if dropout > 0:
            model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(10, activation="softmax"))
    return model
''', ["D", "E"], "✗ Dense(units=10, activation=linear) | Dense(units=10, activation=softmax)"),
    mutant("build_mlp adds an extra hidden layer", "models", '''
def build_mlp(hidden_units=(128,), activation="relu", dropout=0.0, output_activation=None,
              input_shape=(28, 28)):
    model = keras.Sequential([keras.Input(shape=input_shape), keras.layers.Flatten()])
    for units in (*hidden_units, 32):
        model.add(keras.layers.Dense(units, activation=activation))
        if dropout > 0:
            model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(10, activation=output_activation))
    return model
''', ["D"], "parameters, expected 101,770"),
    mutant("build_mlp has no Flatten and a fixed (784,) input", "models", '''
def build_mlp(hidden_units=(128,), activation="relu", dropout=0.0, output_activation=None,
              input_shape=(28, 28)):
    model = keras.Sequential([keras.Input(shape=(784,))])
    for units in hidden_units:
        model.add(keras.layers.Dense(units, activation=activation))
        if dropout > 0:
            model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(10, activation=output_activation))
    return model
''', ["D", "M64"], "✗ Flatten() | —"),

    # --- build_cnn ---------------------------------------------------------------------------------
    # Splices: an unnamed Sequential, MaxPooling2D((2, 2)); the reference's is named "cnn", pool_size=(2, 2).
    mutant("build_cnn without padding='same'", "models", '''
def build_cnn(input_shape=(28, 28, 1)):
    return keras.Sequential([
        keras.Input(shape=input_shape),
        keras.layers.Conv2D(64, (3, 3), activation="relu"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Conv2D(128, (3, 3), activation="relu"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Dropout(0.5),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.25),
        keras.layers.Dense(10, activation="softmax"),
    ])
''', ["CNN"], "✗ Conv2D(filters=64, kernel=(3, 3), padding=same, strides=(1, 1), activation=relu) "
             "| Conv2D(filters=64, kernel=(3, 3), padding=valid"),
    mutant("build_cnn with the dropout rates swapped", "models", '''
def build_cnn(input_shape=(28, 28, 1)):
    return keras.Sequential([
        keras.Input(shape=input_shape),
        keras.layers.Conv2D(64, (3, 3), padding="same", activation="relu"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Conv2D(128, (3, 3), activation="relu"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Dropout(0.25),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(10, activation="softmax"),
    ])
''', ["CNN"], "✗ Dropout(rate=0.5) | Dropout(rate=0.25)"),
    mutant("build_cnn with 64 filters in the second Conv2D", "models", '''
def build_cnn(input_shape=(28, 28, 1)):
    return keras.Sequential([
        keras.Input(shape=input_shape),
        keras.layers.Conv2D(64, (3, 3), padding="same", activation="relu"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Conv2D(64, (3, 3), activation="relu"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Dropout(0.5),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.25),
        keras.layers.Dense(10, activation="softmax"),
    ])
''', ["CNN"], "parameters, expected 665,738"),
    mutant("build_cnn with AveragePooling2D", "models", '''
def build_cnn(input_shape=(28, 28, 1)):
    return keras.Sequential([
        keras.Input(shape=input_shape),
        keras.layers.Conv2D(64, (3, 3), padding="same", activation="relu"),
        keras.layers.AveragePooling2D((2, 2)),
        keras.layers.Conv2D(128, (3, 3), activation="relu"),
        keras.layers.AveragePooling2D((2, 2)),
        keras.layers.Dropout(0.5),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.25),
        keras.layers.Dense(10, activation="softmax"),
    ])
''', ["CNN"], "✗ MaxPooling2D(pool=(2, 2), strides=(2, 2), padding=valid) | AveragePooling2D()"),

    edit("build_mlp regularizes its hidden layers (kernel_regularizer='l2')",
         [("models", "keras.layers.Dense(units, activation=activation)",
                     'keras.layers.Dense(units, activation=activation, kernel_regularizer="l2")')],
         ["build_mlp", "D"], "kernel_regularizer=L2"),
    edit("build_cnn dilates its second convolution (dilation_rate=2)",
         [("models", 'keras.layers.Conv2D(128, (3, 3), activation="relu")',
                     'keras.layers.Conv2D(128, (3, 3), activation="relu", dilation_rate=2)')],
         ["build_cnn"], "dilation_rate=(2, 2)"),

    # --- choose_loss -------------------------------------------------------------------------------
    edit("choose_loss swaps sparse and categorical",
         [("training", "return keras.losses.CategoricalCrossentropy(from_logits=from_logits)\n"
                       "    return keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)",
                       "return keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)\n"
                       "    return keras.losses.CategoricalCrossentropy(from_logits=from_logits)")],
         ["choose_loss"], "one-hot labels take Categorical, integer labels Sparse"),
    edit("choose_loss ignores from_logits",
         [("training", "losses.CategoricalCrossentropy(from_logits=from_logits)", "losses.CategoricalCrossentropy()"),
          ("training", "SparseCategoricalCrossentropy(from_logits=from_logits)", "SparseCategoricalCrossentropy()")],
         ["choose_loss"], "outputs without softmax are logits: from_logits=True"),
    edit("choose_loss smooths the one-hot labels (label_smoothing=0.1)",
         [("training", "losses.CategoricalCrossentropy(from_logits=from_logits)",
                       "losses.CategoricalCrossentropy(from_logits=from_logits, label_smoothing=0.1)")],
         ["choose_loss"], "has settings label_smoothing=0.1 that differ from Keras's defaults"),

    # --- compile_model (no accuracy checks: SGD and Adam both learn) -------------------------------
    # Splices: softmax found in one expression, from_logits passed by position; the reference branches.
    mutant("compile_model ignores optimizer and always uses sgd", "training", '''
def compile_model(model, optimizer="adam", one_hot_labels=False):
    last = model.layers[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", "")
    softmax = isinstance(last, keras.layers.Softmax) or "softmax" in activation
    model.compile(optimizer="sgd", loss=choose_loss(one_hot_labels, not softmax), metrics=["accuracy"])
    return model
''', ["compile_model", "D", "M64", "CNN"], "optimizer SGD, expected adam"),
    mutant("compile_model ignores optimizer and always uses adam", "training", '''
def compile_model(model, optimizer="adam", one_hot_labels=False):
    last = model.layers[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", "")
    softmax = isinstance(last, keras.layers.Softmax) or "softmax" in activation
    model.compile(optimizer="adam", loss=choose_loss(one_hot_labels, not softmax), metrics=["accuracy"])
    return model
''', ["compile_model", "A", "B", "C"], "optimizer Adam, expected sgd"),
    mutant("compile_model changes the learning rate", "training", '''
def compile_model(model, optimizer="adam", one_hot_labels=False):
    last = model.layers[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", "")
    softmax = isinstance(last, keras.layers.Softmax) or "softmax" in activation
    optimizer = keras.optimizers.get(optimizer)
    optimizer.learning_rate = 0.05
    model.compile(optimizer=optimizer, loss=choose_loss(one_hot_labels, not softmax), metrics=["accuracy"])
    return model
''', ["compile_model", "B", "D"], "learning rate 0.05"),
    mutant("compile_model always uses from_logits=True", "training", '''
def compile_model(model, optimizer="adam", one_hot_labels=False):
    model.compile(optimizer=optimizer, loss=choose_loss(one_hot_labels, True), metrics=["accuracy"])
    return model
''', ["compile_model", "M64", "F16", "CNN"],
           "(from_logits=True), expected SparseCategoricalCrossentropy(from_logits=False). "
           "outputs that end in softmax are probabilities: from_logits=False."),
    mutant("compile_model ignores one_hot_labels", "training", '''
def compile_model(model, optimizer="adam", one_hot_labels=False):
    last = model.layers[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", "")
    softmax = isinstance(last, keras.layers.Softmax) or "softmax" in activation
    model.compile(optimizer=optimizer, loss=choose_loss(False, not softmax), metrics=["accuracy"])
    return model
''', ["compile_model", "F16", "CNN"], "one-hot labels take Categorical"),
    mutant("compile_model misses a separate Softmax layer", "training", '''
def compile_model(model, optimizer="adam", one_hot_labels=False):
    softmax = getattr(model.layers[-1], "activation", None) is keras.activations.softmax
    model.compile(optimizer=optimizer, loss=choose_loss(one_hot_labels, not softmax), metrics=["accuracy"])
    return model
''', ["compile_model", "M64"], "the loss is SparseCategoricalCrossentropy(from_logits=True), "
                              "expected SparseCategoricalCrossentropy(from_logits=False). "
                              "outputs that end in softmax are probabilities"),
    mutant("compile_model without metrics", "training", '''
def compile_model(model, optimizer="adam", one_hot_labels=False):
    last = model.layers[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", "")
    softmax = isinstance(last, keras.layers.Softmax) or "softmax" in activation
    model.compile(optimizer=optimizer, loss=choose_loss(one_hot_labels, not softmax))
    return model
''', ["compile_model", "D", "CNN"], 'metrics=["accuracy"] is missing'),
    # Exact settings (#30): a near miss that changes what the student's next function receives.
    edit("compile_model names its metric 'acc' (History keys acc, val_acc: plot_history reads accuracy)",
         [("training", '        metrics=["accuracy"],', '        metrics=["acc"],')],
         ["compile_model", "D"], "the metrics are named 'acc': History's keys take these names"),
    edit("compile_model always measures SparseCategoricalAccuracy, one-hot labels too",
         [("training", '        metrics=["accuracy"],', '        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],')],
         ["compile_model", "F16"], "the metrics raised"),
    edit("compile_model adds momentum to sgd",
         [("training", "        optimizer=optimizer,",
                       '        optimizer=keras.optimizers.SGD(momentum=0.9) if optimizer == "sgd" else optimizer,')],
         ["compile_model", "A"], "optimizer settings momentum=0.9 differ from Keras's defaults"),
    mutant("compile_model returns None", "training", '''
def compile_model(model, optimizer="adam", one_hot_labels=False):
    last = model.layers[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", "")
    softmax = isinstance(last, keras.layers.Softmax) or "softmax" in activation
    model.compile(optimizer=optimizer, loss=choose_loss(one_hot_labels, not softmax), metrics=["accuracy"])
''', ["compile_model", "D"], "compile_model must return the model it was given"),

    # --- early_stopping ----------------------------------------------------------------------------
    edit("early_stopping monitors val_accuracy by default",
         [("training", 'monitor="val_loss"', 'monitor="val_accuracy"')],
         ["early_stopping"], "monitor='val_accuracy' (≠ 'val_loss')"),
    edit("early_stopping ignores restore_best_weights",
         [("training", "\n        restore_best_weights=restore_best_weights,", "")],
         ["early_stopping"], "the weights of the best epoch were not restored"),
    edit("early_stopping ignores patience", [("training", "\n        patience=patience,", "")],
         ["early_stopping"], "patience=0 (≠ 3)"),
    edit("early_stopping returns a ModelCheckpoint",
         [("training", "EarlyStopping(\n        monitor=monitor,\n        patience=patience,\n"
                       "        restore_best_weights=restore_best_weights,",
                       'ModelCheckpoint(\n        "best.keras",\n        monitor=monitor,\n'
                       "        save_best_only=restore_best_weights,")],
         ["early_stopping"], "expected a keras.callbacks.EarlyStopping"),

    # --- plot_history ------------------------------------------------------------------------------
    # Splices: a Figure() of default size, without the reference's titles, markers, colours and grid.
    mutant("plot_history draws one panel", "plots", '''
def plot_history(history):
    logs = getattr(history, "history", history)
    figure = Figure()
    axes = figure.subplots()
    for key, values in logs.items():
        axes.plot(np.arange(1, len(values) + 1), values, label=key)
    axes.set_xlabel("epoch")
    axes.set_ylabel("value")
    axes.legend()
    return figure
''', ["plot_history"], "1 panels, expected 2"),
    mutant("plot_history without legends", "plots", '''
def plot_history(history):
    logs = getattr(history, "history", history)
    figure = Figure()
    for axes, metric in zip(figure.subplots(1, 2), ("loss", "accuracy")):
        epochs = np.arange(1, len(logs[metric]) + 1)
        axes.plot(epochs, logs[metric], label="train")
        if f"val_{metric}" in logs:
            axes.plot(epochs, logs[f"val_{metric}"], label="validation")
        axes.set_xlabel("epoch")
        axes.set_ylabel(metric)
    return figure
''', ["plot_history"], "lacks a legend"),
    mutant("plot_history draws validation lines without validation data", "plots", '''
def plot_history(history):
    logs = getattr(history, "history", history)
    figure = Figure()
    for axes, metric in zip(figure.subplots(1, 2), ("loss", "accuracy")):
        epochs = np.arange(1, len(logs[metric]) + 1)
        axes.plot(epochs, logs[metric], label="train")
        axes.plot(epochs[:len(logs.get(f"val_{metric}", []))], logs.get(f"val_{metric}", []), label="validation")
        axes.set_xlabel("epoch")
        axes.set_ylabel(metric)
        axes.legend()
    return figure
''', ["plot_history"], "with no validation data"),
    mutant("plot_history takes only a History, not its dict", "plots", '''
def plot_history(history):
    logs = history.history
    figure = Figure()
    for axes, metric in zip(figure.subplots(1, 2), ("loss", "accuracy")):
        epochs = np.arange(1, len(logs[metric]) + 1)
        axes.plot(epochs, logs[metric], label="train")
        if f"val_{metric}" in logs:
            axes.plot(epochs, logs[f"val_{metric}"], label="validation")
        axes.set_xlabel("epoch")
        axes.set_ylabel(metric)
        axes.legend()
    return figure
''', ["plot_history"], "passes the history as a plain dict"),
    mutant("plot_history without x labels", "plots", '''
def plot_history(history):
    logs = getattr(history, "history", history)
    figure = Figure()
    for axes, metric in zip(figure.subplots(1, 2), ("loss", "accuracy")):
        epochs = np.arange(1, len(logs[metric]) + 1)
        axes.plot(epochs, logs[metric], label="train")
        if f"val_{metric}" in logs:
            axes.plot(epochs, logs[f"val_{metric}"], label="validation")
        axes.set_ylabel(metric)
        axes.legend()
    return figure
''', ["plot_history"], "x label ''"),

    edit("plot_history draws accuracy on the left and loss on the right",
         [("plots", '((loss_axes, "loss", "Loss"), (accuracy_axes, "accuracy", "Accuracy"))',
                    '((accuracy_axes, "loss", "Loss"), (loss_axes, "accuracy", "Accuracy"))')],
         ["plot_history"], "expected loss on the left, accuracy on the right"),
    edit("plot_history labels both lines of a panel with the metric's name",
         [("plots", 'label="train"', "label=metric"), ("plots", 'label="validation"', "label=metric")],
         ["plot_history"], "legend does not name its validation line apart from the other"),
    # The chain (autograder/checks/chain.py): a callback whose settings are right, and which the
    # grader's own trial (rebuilt from those settings) finds right, but which does nothing in a fit.
    edit("early_stopping's callback never acts in the student's own fit",
         [("training", "    return keras.callbacks.EarlyStopping(", "    callback = keras.callbacks.EarlyStopping("),
          ("training", "        restore_best_weights=restore_best_weights,\n    )",
                       "        restore_best_weights=restore_best_weights,\n    )\n"
                       "    callback.on_epoch_end = lambda epoch, logs=None: None\n    return callback")],
         ["plot_history", "early_stopping"], "the early_stopping() callback passed to fit did not stop training",
         caught_by="notebook's chain"),

    # --- plot_predictions --------------------------------------------------------------------------
    # Splices: a Figure() of default size, and 28 for the reference's IMAGE_SIDE.
    mutant("plot_predictions without the red background", "plots", '''
def plot_predictions(images, predicted, true, count=50, columns=5):
    shown = min(count, len(images))
    rows = max(1, math.ceil(shown / columns))
    figure = Figure()
    for index in range(shown):
        axes = figure.add_subplot(rows, columns, index + 1)
        guess, answer = int(predicted[index]), int(true[index])
        axes.set_title(str(guess) if guess == answer else f"{guess}({answer})")
        axes.imshow(np.reshape(images[index], (28, 28)), cmap="gray")
        axes.axis("off")
    return figure
''', ["plot_predictions"], "a mistake without a red background"),
    mutant("plot_predictions titles a mistake without the true label", "plots", '''
def plot_predictions(images, predicted, true, count=50, columns=5):
    shown = min(count, len(images))
    rows = max(1, math.ceil(shown / columns))
    figure = Figure()
    for index in range(shown):
        axes = figure.add_subplot(rows, columns, index + 1)
        guess, answer = int(predicted[index]), int(true[index])
        axes.set_title(str(guess), backgroundcolor=None if guess == answer else "red")
        axes.imshow(np.reshape(images[index], (28, 28)), cmap="gray")
        axes.axis("off")
    return figure
''', ["plot_predictions"], "is titled '2', expected '2(5)'"),
    mutant("plot_predictions draws (N, 784) images without reshaping them", "plots", '''
def plot_predictions(images, predicted, true, count=50, columns=5):
    shown = min(count, len(images))
    rows = max(1, math.ceil(shown / columns))
    figure = Figure()
    for index in range(shown):
        axes = figure.add_subplot(rows, columns, index + 1)
        guess, answer = int(predicted[index]), int(true[index])
        if guess == answer:
            axes.set_title(str(guess))
        else:
            axes.set_title(f"{guess}({answer})", backgroundcolor="red")
        axes.imshow(images[index], cmap="gray")
        axes.axis("off")
    return figure
''', ["plot_predictions"], "passes the images flattened, shape (N, 784)"),
    edit("plot_predictions draws in viridis (no cmap)",
         [("plots", '(IMAGE_SIDE, IMAGE_SIDE)), cmap="gray")', "(IMAGE_SIDE, IMAGE_SIDE)))")],
         ["plot_predictions"], "panel 0 is drawn with the colormap 'viridis', not in gray levels. Draw it with "
                               'a gray colormap such as cmap="gray"'),
    mutant("plot_predictions ignores columns", "plots", '''
def plot_predictions(images, predicted, true, count=50, columns=5):
    shown = min(count, len(images))
    rows = max(1, math.ceil(shown / 5))
    figure = Figure()
    for index in range(shown):
        axes = figure.add_subplot(rows, 5, index + 1)
        guess, answer = int(predicted[index]), int(true[index])
        if guess == answer:
            axes.set_title(str(guess))
        else:
            axes.set_title(f"{guess}({answer})", backgroundcolor="red")
        axes.imshow(np.reshape(images[index], (28, 28)), cmap="gray")
        axes.axis("off")
    return figure
''', ["plot_predictions"], "grid [3, 5], expected [3, 4]"),

    # --- plot_first_layer_weights ------------------------------------------------------------------
    # Splices: no check of the first Dense layer, a Figure() of default size, 28 for the reference's IMAGE_SIDE.
    mutant("plot_first_layer_weights draws the last layer", "plots", '''
def plot_first_layer_weights(model, columns=4):
    kernel = model.layers[-1].get_weights()[0]
    units = kernel.shape[1]
    figure = Figure()
    for unit in range(units):
        axes = figure.add_subplot(math.ceil(units / columns), columns, unit + 1)
        axes.imshow(kernel[:, unit].reshape(28, 28), cmap="gray")
        axes.axis("off")
    return figure
''', ["plot_first_layer_weights"], "draw the weights (784, 16) of its first Dense layer"),
    mutant("plot_first_layer_weights draws each image transposed", "plots", '''
def plot_first_layer_weights(model, columns=4):
    kernel = next(layer for layer in model.layers if isinstance(layer, keras.layers.Dense)).get_weights()[0]
    units = kernel.shape[1]
    figure = Figure()
    for unit in range(units):
        axes = figure.add_subplot(math.ceil(units / columns), columns, unit + 1)
        axes.imshow(kernel[:, unit].reshape(28, 28).T, cmap="gray")
        axes.axis("off")
    return figure
''', ["plot_first_layer_weights"], "reshaped row by row"),
    mutant("plot_first_layer_weights leaves the grid's spare Axes (switched off)", "plots", '''
def plot_first_layer_weights(model, columns=4):
    dense = next((layer for layer in model.layers if isinstance(layer, keras.layers.Dense)), None)
    if dense is None or dense.get_weights()[0].shape[0] != 784:
        raise ValueError("plot_first_layer_weights needs a first Dense layer over the 784 pixels")
    kernel = dense.get_weights()[0]
    units = kernel.shape[1]
    figure = Figure()
    grid = figure.subplots(math.ceil(units / columns), columns, squeeze=False)
    for unit, axes in enumerate(grid.flat):
        if unit < units:
            axes.imshow(kernel[:, unit].reshape(28, 28), cmap="gray")
        axes.axis("off")
    return figure
''', ["plot_first_layer_weights"], "12 images, expected 10 (one per unit). Remove the grid's spare Axes",
           caught_by="no spare ones"),
    edit("plot_first_layer_weights draws in coolwarm",
         [("plots", 'reshape(IMAGE_SIDE, IMAGE_SIDE), cmap="gray")', 'reshape(IMAGE_SIDE, IMAGE_SIDE), cmap="coolwarm")')],
         ["plot_first_layer_weights"], "unit 0 is drawn with the colormap 'coolwarm', not in gray levels"),
    edit("plot_first_layer_weights without the check for a Dense layer", [("plots", NO_DENSE_CHECK, "")],
         ["plot_first_layer_weights"], "a model with no Dense layer (Input(28, 28, 1) → Conv2D(4, 3×3) → Flatten): "
                                       "raised AttributeError (plots.py:", caught_by="ValueError"),
    edit("plot_first_layer_weights draws a first Dense layer of any width, resized to 28×28",
         [("plots", WIDTH_CHECK, ""),
          ("plots", "kernel[:, unit].reshape(IMAGE_SIDE, IMAGE_SIDE)", "np.resize(kernel[:, unit], (IMAGE_SIDE, IMAGE_SIDE))")],
         ["plot_first_layer_weights"], "a model whose first Dense layer takes 100 inputs (Input(10, 10) → Flatten → "
                                       "Dense(16) → Dense(10)): returned normally, expected a ValueError",
         caught_by="ValueError"),

    # --- promises no handout variant tries (autograder/promises.py): each mutant breaks one, and
    # the variants it is graded with (layers, parameters, compile) must not catch it ---------------
    edit("labels_from_scores sends ties to the highest index (argsort's last column)",
         [("preprocessing", "return np.argmax(scores, axis=1)", "return np.argsort(scores, axis=1)[:, -1]")],
         ["labels_from_scores"], "ties went to the highest index", caught_by="ties"),
    edit("build_mlp builds at most two hidden layers",
         [("models", "    for units in hidden_units:\n", "    for units in hidden_units[:2]:\n")],
         ["build_mlp", "A", "E", "D-drop20"], "Dense(units=64, activation=tanh)", caught_by="build_mlp: layers"),
    edit("build_mlp puts a Dropout only after the last hidden layer",
         [("models", "        if dropout > 0:\n            model.add(keras.layers.Dropout(dropout))\n",
           "    if dropout > 0:\n        model.add(keras.layers.Dropout(dropout))\n")],
         ["build_mlp", "D-drop20", "D-drop40"], "Dropout(rate=0.3)", caught_by="build_mlp: layers"),
    edit("build_mlp gives the first hidden layer the activation, the others relu",
         [("models", "    for units in hidden_units:\n        model.add(keras.layers.Dense(units, activation=activation))",
           "    for index, units in enumerate(hidden_units):\n"
           "        model.add(keras.layers.Dense(units, activation=activation if index == 0 else \"relu\"))")],
         ["build_mlp", "A", "B", "E"], "activation=tanh", caught_by="build_mlp: layers"),
    edit("build_mlp that drops dropout for widths it was not shown (right on every published call)",
         [("models", "    for units in hidden_units:\n",
           "    if tuple(hidden_units) not in ((128,), (256, 128, 64), (32, 32), (100, 50)):\n        dropout = 0.0\n"
           "    for units in hidden_units:\n")],
         ["build_mlp", "D-drop20", "D-drop40"], "Dropout(rate=", caught_by="hidden arguments"),
    edit("build_cnn ignores input_shape",
         [("models", "            keras.Input(shape=input_shape),\n            keras.layers.Conv2D(64",
           "            keras.Input(shape=(28, 28, 1)),\n            keras.layers.Conv2D(64")],
         ["build_cnn", "CNN"], "input shape (28, 28, 1), expected (32, 32, 3)", caught_by="build_cnn: layers"),
    edit("compile_model lower-cases the optimizer (an optimizer object breaks it)",
         [("training", "        optimizer=optimizer,\n", "        optimizer=optimizer.lower(),\n")],
         ["compile_model", "A", "D"], "with optimizer=keras.optimizers.SGD(learning_rate=0.05): raised AttributeError",
         caught_by="an object"),
    edit("early_stopping always watches for a decrease (mode='min')",
         [("training", "        restore_best_weights=restore_best_weights,\n    )",
           "        restore_best_weights=restore_best_weights,\n        mode=\"min\",\n    )")],
         ["early_stopping"], "mode='min' (≠ 'auto' / 'max')", caught_by="val_accuracy"),
    edit("plot_predictions draws count panels, however many images there are",
         [("plots", "    shown = min(count, len(images))\n", "    shown = count\n")],
         ["plot_predictions"], "this check passes 7 images for count=10", caught_by="7 images"),
]


def test_there_are_at_least_30_mutants():
    assert len(MUTANTS) >= 30


def test_the_stubs_score_zero_with_not_implemented_messages(warm_workers, training_memo, unchanged):
    """The repository's own mnist_tasks/ (generated stubs), every check, accuracy and hidden included."""
    report = grade(STUBS, secret=TEST_SECRET, workers=warm_workers, memo=training_memo)
    assert len(report.results) == len(select(secret=TEST_SECRET))
    assert report.max_score > 0 and report.score == 0
    silent = [(r.name, r.message.en) for r in report.results if "not implemented yet" not in r.message.en]
    assert not silent, silent
    unchanged(report)


@pytest.mark.parametrize("replacements, subjects, fragment, caught_by", MUTANTS)
def test_a_mutant_loses_points_with_a_message_naming_the_problem(tmp_path, replacements, subjects, fragment,
                                                                  caught_by, warm_workers, training_memo, unchanged):
    build = make_submission if isinstance(replacements, dict) else make_mutant
    submission = build(tmp_path, replacements)
    names = check_names(subjects)   # never the accuracy checks: set-up mistakes must be caught without them
    report = grade(submission, only=subjects, names=names, secret=TEST_SECRET, workers=warm_workers, memo=training_memo)
    assert {result.name for result in report.results} == names
    lost = [result for result in report.results if result.score < result.max_score]
    print(f"caught by {len(lost)} of {len(report.results)} checks:",
          *(f"  {result.name}: {result.message.en}" for result in lost), sep="\n")
    assert report.score < report.max_score, "the mutant lost no points"
    # What the student reads of a failed check: its message, and the mistake named above the task's checks.
    said = [" ".join(f"{result.message.en} {result.diagnosis.en if result.diagnosis else ''}".split()) for result in lost]
    assert any(fragment in words for words in said), f"no failing message mentions {fragment!r}:\n{describe(report)}"
    if caught_by is not None:
        assert all(caught_by in result.name for result in lost), describe(report)
    unchanged(report)
