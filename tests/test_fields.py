"""The option field toolkit (``ortsession._fields``), and one message per mistake everywhere.

Session options, ``configure()`` and run options check their fields with the same toolkit, so
the same bad value gets the same words through ``session(...)``, ``configure(...)``,
``run_options(...)``, a run-options setter, the CLI's ``-O KEY=VALUE`` and the Lua module.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
import pytest

import ortsession as ort
from ortsession import OptionError
from ortsession._fields import (
    Subject,
    boolean,
    choice,
    field_checks,
    integer,
    option,
    parse_fields,
    path,
    str_mapping,
    text,
)

DEMO = ort.models.path("demo/model.onnx")
AT = Subject("thing", "f")


def message(call: Callable[[], Any]) -> str:
    with pytest.raises(OptionError) as info:
        call()
    return str(info.value)


# --- the checks ----------------------------------------------------------------------------------


def test_subject_names_the_option_and_its_parts() -> None:
    assert str(AT) == "thing 'f'"
    assert str(AT.part("[0]").part(".by")) == "thing 'f[0].by'"
    assert str(AT.expected("a bool", 1)) == "thing 'f': expected a bool, got 1 (int)"
    assert str(AT.expected("an integer from 0 to 4", 9, with_type=False)) == (
        "thing 'f': expected an integer from 0 to 4, got 9")
    assert str(AT.refuse("missing 'value'")) == "thing 'f': missing 'value'"


def test_boolean() -> None:
    assert boolean()(False, AT) is False
    for bad in (1, 0, "true", None, np.bool_(True)):
        assert message(lambda bad=bad: boolean()(bad, AT)).startswith(
            "thing 'f': expected a bool (True or False), got ")


def test_integer() -> None:
    check = integer(-1, 4)
    assert check(np.int64(3), AT) == 3
    assert type(check(np.int8(-1), AT)) is int
    assert message(lambda: check(5, AT)) == "thing 'f': expected an integer from -1 to 4, got 5"
    assert message(lambda: check(True, AT)) == (
        "thing 'f': expected an integer from -1 to 4, got True (bool)")
    assert message(lambda: check(2.0, AT)).endswith("got 2.0 (float)")
    assert message(lambda: integer(0)(-3, AT)) == "thing 'f': expected an integer >= 0, got -3"
    assert message(lambda: integer(0, expected="a mask")("1", AT)) == (
        "thing 'f': expected a mask, got '1' (str)")


def test_text_and_path() -> None:
    assert text()("", AT) == ""
    assert message(lambda: text()(5, AT)) == "thing 'f': expected a string, got 5 (int)"
    assert message(lambda: text(empty=False)("", AT)) == (
        "thing 'f': expected a non-empty string, got '' (str)")
    assert message(lambda: text()("a\x00b", AT)) == (
        "thing 'f': expected a string without NUL characters, got 'a\\x00b' (str)")
    assert path()(os.path.join("a", "b"), AT) == os.path.join("a", "b")
    assert message(lambda: path()("", AT)) == "thing 'f': expected a non-empty path, got ''"
    assert message(lambda: path()(b"p", AT)).startswith(
        "thing 'f': expected a path (str or os.PathLike), got b'p'")


class _Color(Enum):
    RED = "red"
    DARK_BLUE = "dark_blue"


def test_choice_by_any_of_its_names_ignoring_case() -> None:
    check = choice(_Color, lambda c: (c.value, c.name), hint=" (or the upper-case names)")
    assert check(" Dark_Blue ", AT) is _Color.DARK_BLUE
    assert check("RED", AT) is _Color.RED
    assert check(_Color.RED, AT) is _Color.RED
    assert message(lambda: check("green", AT)) == (
        "thing 'f': expected one of 'red', 'dark_blue' (or the upper-case names), "
        "got 'green' (str)")


def test_str_mapping_is_frozen_and_names_the_entry() -> None:
    entries = str_mapping()({"a": "b"}, AT)
    with pytest.raises(TypeError):
        entries["a"] = "c"  # type: ignore[index]
    assert message(lambda: str_mapping()({"a": 1}, AT)) == (
        "thing \"f['a']\": expected a string, got 1 (int)")
    assert message(lambda: str_mapping()({"": "x"}, AT)).startswith(
        "thing 'f key': expected a non-empty string")


@dataclass(frozen=True)
class _Spec:
    level: int = option(2, integer(0, 4))
    name: str | None = option(None, text())
    table: Any = option({}, str_mapping())
    plain: int = 0  # not an option: no check, not accepted


def test_option_fields_carry_their_checks() -> None:
    assert list(field_checks(_Spec)) == ["level", "name", "table"]
    first, second = _Spec(), _Spec()
    assert first.table == {} and first.table is not second.table
    assert dataclasses.replace(first, level=3).level == 3


def test_parse_fields() -> None:
    assert parse_fields(_Spec, {"level": np.int32(1), "name": None}, what="thing") == {"level": 1}
    assert message(lambda: parse_fields(_Spec, {"level": None}, what="thing")) == (
        "thing 'level': expected an integer from 0 to 4, got None (NoneType)")
    # unknown names are refused before any value is checked, with the closest accepted name
    assert message(lambda: parse_fields(_Spec, {"level": -1, "nam": "x"}, what="thing")) == (
        "unknown thing 'nam' (did you mean 'name'?); accepted: level, name, table")
    assert message(lambda: parse_fields(_Spec, {"plain": 1}, what="thing")).startswith(
        "unknown thing 'plain'")
    table = {"x": integer(0)}
    assert parse_fields(table, {"x": None}, what="thing") == {}
    aliases = {"lvl": integer(0, 4)}
    assert parse_fields(_Spec, {"lvl": 4}, what="thing", aliases=aliases) == {"lvl": 4}


# --- one mistake, one message -------------------------------------------------------------------

def _session(field: str, value: Any) -> Callable[[], Any]:
    return lambda: ort.session(DEMO, {field: value})


def _configure(field: str, value: Any) -> Callable[[], Any]:
    return lambda: ort.configure({field: value})  # refused before any state changes


def _run_options(field: str, value: Any) -> Callable[[], Any]:
    return lambda: ort.run_options({field: value})


def _run_setter(field: str, value: Any) -> Callable[[], Any]:
    return lambda: getattr(ort.run_options(), field)(value)


# (bad value, what it must say after "<kind> '<field>': ", [(surface, field), ...])
SAME: list[tuple[Any, str, list[tuple[Callable[[str, Any], Callable[[], Any]], str]]]] = [
    (5, "expected a string, got 5 (int)",
     [(_session, "log_id"), (_configure, "log_id"), (_run_options, "tag"), (_run_setter, "tag")]),
    ("a\x00b", "expected a string without NUL characters, got 'a\\x00b' (str)",
     [(_session, "log_id"), (_configure, "log_id"), (_run_options, "tag"), (_run_setter, "tag")]),
    (True, "expected an integer from 0 to 4, got True (bool)",
     [(_session, "session_log_severity_level"), (_configure, "log_severity_level")]),
    (7, "expected an integer from 0 to 4, got 7",
     [(_session, "session_log_severity_level"), (_configure, "log_severity_level")]),
    (-1, "expected an integer from 0 to 2147483647, got -1",
     [(_session, "session_log_verbosity_level"), (_run_options, "log_verbosity_level"),
      (_run_setter, "log_verbosity_level")]),
    (1.5, "expected an integer from 0 to 2147483647, got 1.5 (float)",
     [(_session, "session_log_verbosity_level"), (_run_options, "log_verbosity_level"),
      (_run_setter, "log_verbosity_level")]),
    (2000, "expected an integer from 0 to 1024, got 2000",
     [(_session, "intra_op_num_threads"), (_configure, "global_intra_op_num_threads")]),
    ("yes", "expected a bool (True or False), got 'yes' (str)",
     [(_session, "fallback_to_cpu"), (_configure, "use_global_thread_pools")]),
]
_KIND = {_session: "session option", _configure: "configure option",
         _run_options: "run option", _run_setter: "run option"}


@pytest.mark.parametrize(("value", "said", "surfaces"), SAME)
def test_same_mistake_same_message(value: Any, said: str, surfaces: list[Any]) -> None:
    for surface, field in surfaces:
        assert message(surface(field, value)) == f"{_KIND[surface]} {field!r}: {said}"


def test_unknown_names_are_told_alike() -> None:
    said = [message(lambda: ort.session(DEMO, log_idd="x")),
            message(lambda: ort.configure(log_idd="x")),
            message(lambda: ort.run_options(tagg="x"))]
    assert said[0].startswith("unknown session option 'log_idd' (did you mean 'log_id'?); "
                              "accepted: ")
    assert said[1] == ("unknown configure option 'log_idd' (did you mean 'log_id'?); accepted: "
                       "global_inter_op_num_threads, global_intra_op_num_threads, log_id, "
                       "log_severity_level, use_global_thread_pools")
    assert said[2] == ("unknown run option 'tagg' (did you mean 'tag'?); accepted: "
                       "log_severity_level, log_verbosity_level, tag")


def test_cli_option_gets_the_library_message() -> None:
    # -O KEY=VALUE goes through the library's parser: the words are the same
    cases = [("log_id=5", "log_id", 5), ("session_log_verbosity_level=-1",
                                         "session_log_verbosity_level", -1)]
    for flag, field, value in cases:
        expected = message(_session(field, value))
        proc = subprocess.run([sys.executable, "-m", "ortsession", "inspect", DEMO, "-O", flag],
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip() == f"ortsession: error: {expected}"


LUA = r"""
local ort = require("onnxruntime")
local said = {}
local function add(_, err) said[#said + 1] = err end
add(ort.session(arg[1], {log_id = 5}))
add(ort.configure({log_id = 5}))
add(ort.run_options({tag = 5}))
add(ort.run_options():tag(5))
add(ort.session(arg[1], {session_log_verbosity_level = -1}))
add(ort.run_options({log_verbosity_level = -1}))
add(ort.session(arg[1], {fallback_to_cpu = "yes"}))
add(ort.configure({use_global_thread_pools = "yes"}))
print(json_of(said))
"""


def test_lua_gets_the_same_messages_in_lua_terms() -> None:
    pytest.importorskip("lupa.lua54")
    from ortsession import lua as ortlua

    out = io.StringIO()
    runtime = ortlua.new_runtime(stdout=out)
    runtime.globals()[b"json_of"] = lambda table: json.dumps(
        list(ortlua.to_python(runtime, table)))
    assert ortlua.run_source(LUA, [DEMO], runtime=runtime) == 0
    assert json.loads(out.getvalue()) == [
        "session option 'log_id': expected a string, got 5 (number)",
        "configure option 'log_id': expected a string, got 5 (number)",
        "run option 'tag': expected a string, got 5 (number)",
        "run option 'tag': expected a string, got 5 (number)",
        "session option 'session_log_verbosity_level': expected an integer from 0 to "
        "2147483647, got -1",
        "run option 'log_verbosity_level': expected an integer from 0 to 2147483647, got -1",
        "session option 'fallback_to_cpu': expected a bool (True or False), got 'yes' (string)",
        "configure option 'use_global_thread_pools': expected a bool (True or False), "
        "got 'yes' (string)",
    ]
