"""autograder.feedback.render: how one check's verdict reads, and the catalogue around the checks' messages."""

from __future__ import annotations

import string

import pytest

from autograder.feedback.render import CATALOGUE, REASON_INDENT, WRAP, Verdict, block, check_lines, say

PROSE = ("the function returned an array of shape (60000, 10) whose rows do not sum to one; every row of a "
         "one-hot encoding holds a single 1.0 at the label's index and 0.0 everywhere else, so check the "
         "indices you write into and whether the array was created with zeros before filling it in, "
         "because np.empty leaves whatever was in memory")
INDENT = " " * REASON_INDENT


@pytest.mark.parametrize("message", ["OK", "", None, "  OK  "])
def test_a_passed_check_with_nothing_to_add_is_one_line(message):
    assert check_lines(Verdict("one_hot: values", 1.0, 1.0, message)) == ["✓ 1/1  one_hot: values"]


def test_a_passed_check_that_says_more_puts_it_after_a_dash():
    assert check_lines(Verdict("variant D: accuracy", 2.0, 2.0, "accuracy 0.931")) == \
        ["✓ 2/2  variant D: accuracy — accuracy 0.931"]


def test_a_failed_check_has_a_head_line_and_its_reason_indented_below():
    lines = check_lines(Verdict("one_hot: dtype", 0.0, 0.5, "dtype float64, expected float32."))
    assert lines == ["✗ 0/0.5  one_hot: dtype", INDENT + "dtype float64, expected float32."]


def test_partial_points_count_as_failed():
    assert check_lines(Verdict("x", 0.5, 1.0, "half"))[0] == "✗ 0.5/1  x"


@pytest.mark.parametrize("prose", [PROSE, PROSE * 3, "short\n" + PROSE + "\n" + PROSE[:50]])
def test_english_reasons_wrap_within_the_box(prose):
    lines = check_lines(Verdict("one_hot: values", 0.0, 1.0, prose))
    reason = lines[1:]
    assert len(reason) > 1
    assert all(len(line) <= WRAP + REASON_INDENT and line.startswith(INDENT) for line in reason)
    # Wrapping moves words between lines; it never drops or splits one.
    assert " ".join(line.strip() for line in reason).split() == prose.split()


def test_each_line_of_a_reason_starts_a_line_of_its_own():
    lines = check_lines(Verdict("x", 0.0, 1.0, "first sentence.\nsecond sentence."))
    assert lines[1:] == [INDENT + "first sentence.", INDENT + "second sentence."]


def test_table_lines_keep_their_columns_however_long():
    table = ["   expected / 期待                          | actual / 実際",
             " ✗ Dense(units=64, activation=relu)         | Dense(units=64, activation=sigmoid)" + " " * 80 + "|",
             "   Flatten()                                | Flatten()"]
    lines = check_lines(Verdict("variant B: layers", 0.0, 1.0, "differs in 1 layer(s):\n" + "\n".join(table)))
    assert lines[2:] == [INDENT + row for row in table]


def test_an_indented_line_is_kept_whole_like_a_table_row():
    row = "    " + "   ".join(f"{n:6.3f}" for n in range(20))     # a printed array, wider than the box
    lines = check_lines(Verdict("x", 0.0, 1.0, "got:\n" + row))
    assert lines[2:] == [INDENT + row]


def test_a_word_longer_than_the_box_is_kept_whole_on_its_own_line():
    path = "/home/student/" + "very_long_directory_name/" * 5 + "mnist_tasks/preprocessing.py"
    lines = check_lines(Verdict("x", 0.0, 1.0, f"could not read {path} at all"))
    assert INDENT + path in lines


def test_a_block_is_every_checks_lines_in_order():
    verdicts = [Verdict("a", 1.0, 1.0, "OK"), Verdict("b", 0.0, 1.0, "wrong"), Verdict("c", 1.0, 1.0, "OK")]
    assert block(verdicts) == ["✓ 1/1  a", "✗ 0/1  b", INDENT + "wrong", "✓ 1/1  c"]


# --- the catalogue -----------------------------------------------------------------------------------------

def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_both_languages_of_a_catalogue_entry_take_the_same_values(key):
    assert _fields(CATALOGUE[key].ja) == _fields(CATALOGUE[key].en)
    assert CATALOGUE[key].ja != CATALOGUE[key].en


@pytest.mark.parametrize("language, text", [
    ("en", "total 7.5 / 10 points (3.1 s)"),
    ("ja", "合計 7.5 / 10 点 (3.1 秒)"),
])
def test_say_fills_in_a_catalogue_entry_in_the_language_asked(language, text):
    assert say("total", language, score=7.5, max_score=10.0, seconds=3.14) == text


def test_say_falls_back_to_english_for_an_unknown_language():
    assert say("could_not_grade", "fr", reason="no mnist_tasks/") == "could not grade: no mnist_tasks/"


def test_say_refuses_a_key_that_is_not_in_the_catalogue():
    with pytest.raises(KeyError):
        say("no_such_entry", "en")


# --- Japanese: widths, line breaking, the English name beside ------------------------------------------------

from autograder.feedback.render import LINE, width, wrap  # noqa: E402

JAPANESE = ("テスト精度 0.8087 (基準 0.883、ハンドアウト 0.941、3 エポック、バッチ 128) — 基準に届きません。"
            "学習率と最適化手法を確かめ、出力層の活性化関数が損失の from_logits と合っているか見直してください。")


def test_wide_characters_take_two_columns():
    assert width("abc") == 3 and width("日本語") == 6 and width("（）") == 4 and width("✗ 0/1") == 5


def test_japanese_reasons_wrap_by_display_width_without_spaces():
    lines = check_lines(Verdict("variant F16: accuracy", 0.0, 2.0, JAPANESE))
    assert len(lines) > 2
    assert all(width(line) <= LINE + 2 for line in lines)   # + a closing mark kept on its line
    assert "".join(line.strip() for line in lines[1:]).replace(" ", "") == JAPANESE.replace(" ", "")


def test_no_line_starts_with_closing_punctuation():
    for text in (JAPANESE, "あ" * 40 + "。" + "い" * 40 + "）" + "う" * 40, "（非公開の入力）" * 12):
        for line in wrap(text, "", 40)[1:]:
            assert line[0] not in "）)」』、。，．,.ー", line


def test_english_words_and_numbers_are_never_cut():
    words = ("restore_best_weights=False " * 10 + "0.123456789 " * 8).split()
    lines = wrap(" ".join(words), "", 30)
    assert [word for line in lines for word in line.split()] == words


def test_under_japanese_a_failed_check_shows_its_english_name_beside_and_a_passed_one_does_not():
    failed = check_lines(Verdict("one_hot: 値", 0.0, 1.0, "違います", english="one_hot: values"))
    assert failed == ["✗ 0/1  one_hot: 値", INDENT + "(one_hot: values)", INDENT + "違います"]
    assert check_lines(Verdict("one_hot: 値", 1.0, 1.0, "OK", english="one_hot: values")) == ["✓ 1/1  one_hot: 値"]


def test_a_passed_check_whose_message_does_not_fit_puts_it_on_the_next_line():
    lines = check_lines(Verdict("variant D: 採点器の短い学習の後のテスト精度 ≥ 0.899", 2.0, 2.0, JAPANESE[:60]))
    assert lines[0] == "✓ 2/2  variant D: 採点器の短い学習の後のテスト精度 ≥ 0.899"
    assert lines[1].startswith(INDENT) and all(width(line) <= LINE + 2 for line in lines)


def test_a_long_name_wraps_under_itself_after_the_points():
    name = "early_stopping: early_stopping(patience=3, monitor='val_accuracy', restore_best_weights=False) is configured"
    lines = check_lines(Verdict(name, 0.0, 1.0, "wrong"))
    assert lines[0].startswith("✗ 0/1  early_stopping:") and lines[1].startswith(" " * len("✗ 0/1  ") + "restore")
    assert all(width(line) <= LINE for line in lines)


def test_a_passed_check_with_a_long_name_wraps_it_too():
    name = "variant F16: build_mlp(hidden_units=(16,), activation='relu', output_activation=None, input_shape=(784,)) の層"
    lines = check_lines(Verdict(name, 1.0, 1.0, "OK"))
    assert len(lines) == 2 and lines[0].startswith("✓ 1/1  variant F16:") and all(width(line) <= LINE for line in lines)
