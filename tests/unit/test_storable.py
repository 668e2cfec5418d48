"""The projector replaces the NULs a message encodes, and nothing that only looks like one."""

import json

from execflow_projector.storable import without_nul


def test_encoded_nuls_become_replacement_characters() -> None:
    text = json.dumps({"k\u0000": ["\u0000\u0000", "a\u0000b"]}).encode()
    assert json.loads(without_nul(text)) == {"k\ufffd": ["\ufffd\ufffd", "a\ufffdb"]}


def test_escaped_backslashes_before_u0000_are_text_and_stay() -> None:
    for value in ["\\u0000", "\\\\u0000", "x\\u0000\u0000"]:
        text = json.dumps(value).encode()
        expected = value.replace("\u0000", "\ufffd")
        assert json.loads(without_nul(text)) == expected


def test_text_without_nul_is_returned_as_it_is() -> None:
    text = json.dumps({"a": "plain"}).encode()
    assert without_nul(text) is text
