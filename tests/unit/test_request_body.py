import base64

import pytest

from voice_status.request_body import MAX_JSON_DEPTH, BodyRejected, body_text, check_depth, parse_json


def test_nesting_at_the_limit_parses_and_one_more_level_is_refused_before_parsing() -> None:
    assert parse_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
    with pytest.raises(BodyRejected, match="nests deeper"):
        parse_json("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))


@pytest.mark.parametrize(
    "text",
    [
        '["' + "[" * 100 + '"]',  # brackets inside a string do not nest
        '["\\"' + "[" * 100 + '"]',  # nor after an escaped quote
        '{"a": "\\\\", "b": "' + "{" * 100 + '"}',  # an escaped backslash ends before the quote
    ],
)
def test_brackets_inside_strings_do_not_count(text: str) -> None:
    check_depth(text)


def test_an_unterminated_string_of_escapes_hides_no_brackets() -> None:
    with pytest.raises(BodyRejected):
        check_depth('"' + '\\"' * 32_000 + "[" * 40)


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"p": -Infinity}', "9" * 5_000, "{", ""])
def test_what_is_not_json_is_refused(text: str) -> None:
    with pytest.raises(BodyRejected, match="not valid JSON"):
        parse_json(text)


def test_base64_bodies_must_be_valid_base64_of_utf8() -> None:
    assert body_text(base64.b64encode('{"a": "é"}'.encode()).decode(), True) == '{"a": "é"}'
    with pytest.raises(BodyRejected, match="not UTF-8"):
        body_text(base64.b64encode(b"\xff\xfe").decode(), True)
    with pytest.raises(BodyRejected, match="not valid base64"):
        body_text("e30", True)


def test_size_is_checked_before_decoding() -> None:
    with pytest.raises(BodyRejected) as rejected:
        body_text("x" * 101, False, max_bytes=100)
    assert rejected.value.status_code == 413
    assert body_text("x" * 100, False, max_bytes=100) == "x" * 100
