"""Checks of build_mlp and build_cnn beyond the handouts' variants: every parameter of the contract.

The variant checks (``autograder.checks.variants``) try the builders only with the eleven
handouts' arguments, so a ``build_mlp`` wrong for a combination no handout uses (several widths
with dropout, three hidden layers, an activation the handouts never take) would keep every point.
These checks call each builder with other arguments and compare the architecture alone with the
contract's layer table (``autograder.training.architecture.contract_rows``): no training, no rebuilding.
The public calls are listed here; the hidden ones are drawn from the course's secret, so that a
builder written for the published calls earns nothing at grading.
"""

from __future__ import annotations

from autograder.training import architecture
from autograder.checks.variants import MODEL, call_of, layers_verdict, model_probe
from autograder.core import Check, Evidence, Verdict
from autograder.secret import CourseSecret
from mnist_kit.i18n import Text

# Each a combination no handout variant uses, each trying something the variants never do.
PUBLIC_MLPS: tuple[dict, ...] = (
    # three hidden layers, a Dropout after each, an activation the handouts never use
    # (a list: "a sequence of int")
    {"hidden_units": [256, 128, 64], "activation": "tanh", "dropout": 0.3},
    # several widths with dropout, softmax, flattened inputs
    {"hidden_units": (32, 32), "activation": "sigmoid", "dropout": 0.5, "output_activation": "softmax",
     "input_shape": (784,)},
    # a non-ReLU activation on every one of several layers, images with a channel axis
    {"hidden_units": (100, 50), "activation": "elu", "output_activation": "softmax", "input_shape": (28, 28, 1)},
)
PUBLIC_CNNS: tuple[dict, ...] = ({"input_shape": (32, 32, 3)},)   # colour images of another size

HIDDEN_WIDTHS = (8, 16, 24, 32, 48, 64, 96, 128, 256)
HIDDEN_ACTIVATIONS = ("relu", "sigmoid", "tanh", "elu", "selu", "gelu")
HIDDEN_RATES = (0.1, 0.2, 0.25, 0.3, 0.5)
INPUT_SHAPES = ((28, 28), (28, 28, 1), (784,))
HIDDEN = Text("（非公開の引数）", " (hidden arguments)")


def hidden_mlps(secret: CourseSecret) -> list[dict]:
    """Two build_mlp calls from the ``secret``: several widths with dropout, then any combination."""
    rng = secret.rng("models.hidden.build_mlp")
    calls = []
    for index in range(2):
        widths = tuple(int(w) for w in rng.choice(HIDDEN_WIDTHS, size=int(rng.integers(2, 5))))
        rate = float(rng.choice(HIDDEN_RATES)) if index == 0 or rng.random() < 0.5 else 0.0
        call = {"hidden_units": widths, "activation": str(rng.choice(HIDDEN_ACTIVATIONS)), "dropout": rate,
                "output_activation": None if rng.random() < 0.5 else "softmax",
                "input_shape": INPUT_SHAPES[int(rng.integers(len(INPUT_SHAPES)))]}
        calls.append(call)
    return calls


def hidden_cnn(secret: CourseSecret) -> dict:
    """A build_cnn input shape from the ``secret``: square or not, one to three channels."""
    rng = secret.rng("models.hidden.build_cnn")
    return {"input_shape": (int(rng.integers(16, 41)), int(rng.integers(16, 41)), int(rng.integers(1, 4)))}


def _layers_check(builder: str, kwargs: dict, probe_id: str, hidden: bool, number: int) -> Check:
    call = call_of(builder, kwargs)
    probe = model_probe(probe_id, builder, kwargs)
    expected_rows = architecture.contract_rows(builder, kwargs)
    expected_shape = architecture.contract_input_shape(builder, kwargs)

    def evaluate(evidence: Evidence) -> Verdict:
        failure = evidence.failure(probe_id, MODEL)
        if failure:
            return Verdict(0.0, Text(f"{call}: ", f"{call}: ") + failure.message)
        return layers_verdict(architecture.read_model(evidence.result(probe_id)["json"]), call, expected_rows,
                              expected_shape, where=f"{call}: ")

    if hidden:   # the same name under every secret: it says nothing of the arguments
        name = Text(f"{builder}: 非公開の引数 {number} の層と入力の形",
                    f"{builder}: layers and input shape for hidden arguments #{number}")
    else:
        name = Text(f"{builder}: {call} の層と入力の形", f"{builder}: layers and input shape of {call}")
    return Check(name.en, builder, 1.0, [probe], evaluate, hidden=hidden, title_ja=name.ja)


def checks(secret: CourseSecret | None = None) -> list[Check]:
    """The public calls; with the course's ``secret``, the hidden ones too."""
    result = [_layers_check("build_mlp", kwargs, f"build_mlp.public.{index}", False, index + 1)
              for index, kwargs in enumerate(PUBLIC_MLPS)]
    result += [_layers_check("build_cnn", kwargs, f"build_cnn.public.{index}", False, index + 1)
               for index, kwargs in enumerate(PUBLIC_CNNS)]
    if secret is not None:
        result += [_layers_check("build_mlp", kwargs, f"build_mlp.hidden.{index}", True, index + 1)
                   for index, kwargs in enumerate(hidden_mlps(secret))]
        result.append(_layers_check("build_cnn", hidden_cnn(secret), "build_cnn.hidden.0", True, 1))
    return result
