"""Redaction of tokens, passwords and known secrets out of text."""

from __future__ import annotations

import json

import pytest

from worker.pbx.redaction import REDACTED, redact, redact_values


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "GET http://pbx/openapi/v1.0/trunk/list?access_token=abc123&page=2",
            "GET http://pbx/openapi/v1.0/trunk/list?access_token=***&page=2",
        ),
        ("url?page=1&access_token=abc123", "url?page=1&access_token=***"),
        ("refresh_token=r3fr3sh next", "refresh_token=*** next"),
        ("password=hunter2&x=1", "password=***&x=1"),
        ("ACCESS_TOKEN=abc", "ACCESS_TOKEN=***"),
        ("URL('http://h/p?access_token=abc')", "URL('http://h/p?access_token=***')"),
        ('"http://h/p?access_token=abc"', '"http://h/p?access_token=***"'),
        ("access_token=", "access_token=***"),
        ("nothing to hide here", "nothing to hide here"),
        ("token=abc: only named parameters", "token=abc: only named parameters"),
    ],
)
def test_token_and_password_parameters_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_explicit_secrets_are_redacted_wherever_they_appear() -> None:
    text = "login with s3cr3t failed; body={'password': 's3cr3t'}; tok=T0KEN"
    result = redact(text, ["s3cr3t", "T0KEN"])
    assert "s3cr3t" not in result
    assert "T0KEN" not in result
    assert (
        result == f"login with {REDACTED} failed; body={{'password': '{REDACTED}'}}; tok={REDACTED}"
    )


def test_empty_secrets_are_ignored() -> None:
    # An empty string would otherwise "match" between every character.
    assert redact("abc", ["", ""]) == "abc"


def test_a_secret_containing_another_is_redacted_whole() -> None:
    # The token may contain the client secret's text (or the reverse): no tail may survive.
    result = redact("token=XYZabc123 secret=abc", ["abc", "XYZabc123"])
    assert "XYZ" not in result
    assert "123" not in result
    assert "abc" not in result


def test_secrets_and_parameters_together() -> None:
    text = "Cannot connect: http://h/x?access_token=tok-1 (client secret cs-9)"
    assert redact(text, ["tok-1", "cs-9"]) == (
        "Cannot connect: http://h/x?access_token=*** (client secret ***)"
    )


@pytest.mark.parametrize(
    "password", ['aB1"cdefghij', "aB1\\cdefghij", "aB1cdéfghij", "aB1cdefghij"]
)
def test_parsed_values_are_redacted_whatever_json_would_escape(password: str) -> None:
    # A PBX's invalid_param_list may echo the password; as JSON text, a quote or a backslash in it
    # is escaped, so only a walk over the parsed values finds it.
    detail = [{"field": "password", "value": password, "note": f"rejected {password}"}, 7, None]
    scrubbed = redact_values(detail, [password])
    assert scrubbed == [
        {"field": "password", "value": REDACTED, "note": f"rejected {REDACTED}"},
        7,
        None,
    ]
    assert password not in json.dumps(scrubbed, ensure_ascii=False)


def test_keys_and_nested_values_are_redacted() -> None:
    assert redact_values({"s3cr3t": {"list": ["x s3cr3t"]}}, ["s3cr3t"]) == {
        REDACTED: {"list": [f"x {REDACTED}"]}
    }
