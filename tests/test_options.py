"""Session option parsing (``ortsession._options``): every field, every way it can be wrong."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ortsession import (
    CustomOpLibrary,
    DimensionBy,
    ExecutionMode,
    FreeDimensionOverride,
    GraphOptimizationLevel,
    OptionError,
    SessionOptions,
)
from ortsession._coreml import coreml_field_names
from ortsession._fields import merge_fields, option_string
from ortsession._options import parse_session_options

CPU = "CPUExecutionProvider"
COREML = "CoreMLExecutionProvider"


def parse(opts: dict[str, Any] | None = None, **fields: Any) -> SessionOptions:
    return parse_session_options(opts, fields)


def _options() -> list[dataclasses.Field[Any]]:
    """The fields of SessionOptions that are options (not computed from them)."""
    return [field for field in dataclasses.fields(SessionOptions) if field.init]


# --- merge_fields --------------------------------------------------------------------------------


def test_merge_dict_and_keywords() -> None:
    assert merge_fields({"a": 1}, {"b": 2}, what="thing") == {"a": 1, "b": 2}
    assert merge_fields(None, {}, what="thing") == {}
    assert merge_fields(MappingProxyType({"a": 1}), {}, what="thing") == {"a": 1}


def test_merge_same_field_both_ways() -> None:
    with pytest.raises(OptionError, match="thing 'a' is given twice"):
        merge_fields({"a": 1}, {"a": 1}, what="thing")


@pytest.mark.parametrize("opts", [[("a", 1)], "a=1", 3, {"a"}])
def test_merge_rejects_non_mappings(opts: Any) -> None:
    with pytest.raises(OptionError, match=r"things: expected a dict"):
        merge_fields(opts, {}, what="thing")


def test_merge_rejects_non_string_names() -> None:
    with pytest.raises(OptionError, match="thing names must be strings, got 1"):
        merge_fields({1: "a"}, {}, what="thing")


def test_session_option_given_twice() -> None:
    with pytest.raises(OptionError, match="session option 'log_id' is given twice"):
        parse({"log_id": "a"}, log_id="b")


# --- defaults and every field accepted ----------------------------------------------------------


def test_defaults() -> None:
    options = parse()
    assert options == SessionOptions()
    assert options.providers == (CPU,)
    assert options.fallback_to_cpu is True
    assert options.graph_optimization_level is GraphOptimizationLevel.ALL
    assert options.execution_mode is ExecutionMode.SEQUENTIAL
    assert options.enable_cpu_mem_arena is True
    assert options.enable_mem_pattern is True
    assert options.coreml_fields() == {}
    assert dict(options.config_entries) == {}


def test_every_field_has_a_docstring_stating_its_default() -> None:
    source = pathlib.Path(__file__).parents[1] / "src" / "ortsession" / "_options.py"
    text = source.read_text()
    for field in _options():
        match = re.search(rf"\n    {field.name}: .*?\n    \"\"\"(.*?)\"\"\"", text, re.S)
        assert match, f"{field.name} has no docstring"
        assert "Default" in match.group(1), f"{field.name}'s docstring states no default"


def test_all_fields_parse(tmp_path: pathlib.Path) -> None:
    handle = CustomOpLibrary(str(tmp_path / "b.so"))
    options = parse(
        {"providers": ["coreml", "CPU"], "fallback_to_cpu": False, "intra_op_num_threads": 2},
        inter_op_num_threads=3,
        log_id="abc",
        session_log_severity_level=4,
        session_log_verbosity_level=1,
        optimized_model_path=tmp_path / "opt.onnx",
        profile_file_prefix=str(tmp_path / "prof"),
        free_dimension_overrides=[{"by": "name", "key": "N", "value": 3},
                                  {"by": "DENOTATION", "key": "DATA_BATCH", "value": 0}],
        config_entries={"session.intra_op.allow_spinning": "0"},
        graph_optimization_level="Extended",
        execution_mode="parallel",
        deterministic_compute=True,
        disable_per_session_threads=True,
        enable_cpu_mem_arena=False,
        enable_mem_pattern=False,
        custom_op_libraries=["a.so", handle, pathlib.Path("a.so")],
        coreml_compute_units="CPUAndGPU",
        coreml_create_mlprogram=True,
        coreml_require_static_input_shapes=True,
        coreml_enable_on_subgraph=False,
        coreml_flags=0x020,
        coreml_use_cpu_only=False,
        coreml_use_cpu_and_gpu=True,
        coreml_only_enable_device_with_ane=False,
        provider_options={"cpu": {"x": 1, "y": True, "z": 0.5, "p": pathlib.Path("q")}},
    )
    assert options.providers == (COREML, CPU)
    assert options.fallback_to_cpu is False
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (2, 3)
    assert options.log_id == "abc"
    assert options.session_log_severity_level == 4
    assert options.session_log_verbosity_level == 1
    assert options.optimized_model_path == str(tmp_path / "opt.onnx")
    assert options.profile_file_prefix == str(tmp_path / "prof")
    assert options.free_dimension_overrides == (
        FreeDimensionOverride(DimensionBy.NAME, "N", 3),
        FreeDimensionOverride(DimensionBy.DENOTATION, "DATA_BATCH", 0),
    )
    assert dict(options.config_entries) == {"session.intra_op.allow_spinning": "0"}
    assert options.graph_optimization_level is GraphOptimizationLevel.EXTENDED
    assert options.execution_mode is ExecutionMode.PARALLEL
    assert options.deterministic_compute is True
    assert options.disable_per_session_threads is True
    assert options.enable_cpu_mem_arena is False
    assert options.enable_mem_pattern is False
    assert options.custom_op_libraries == (os.path.abspath("a.so"), handle.path)
    assert options.coreml_compute_units == "cpu_and_gpu"
    assert options.coreml_options() == {"MLComputeUnits": "CPUAndGPU", "ModelFormat": "MLProgram",
                                        "RequireStaticInputShapes": "1", "EnableOnSubgraphs": "0"}
    assert options.provider_options == {CPU: {"x": "1", "y": "1", "z": "0.5", "p": "q"}}


def test_options_are_frozen_and_read_only() -> None:
    options = parse(config_entries={"a": "b"}, provider_options={"cpu": {"k": "v"}})
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.log_id = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        options.config_entries["a"] = "c"  # type: ignore[index]
    with pytest.raises(TypeError):
        options.provider_options[CPU]["k"] = "w"  # type: ignore[index]


def test_provider_alias_and_single_string() -> None:
    assert parse(provider="CoreMLExecutionProvider").providers == (COREML,)
    assert parse(providers=[]).providers == (CPU,)
    assert parse(providers=None).providers == (CPU,)
    with pytest.raises(OptionError, match="'providers' and 'provider' are the same option"):
        parse({"providers": "cpu"}, provider="cpu")


def test_none_means_default_for_optional_fields() -> None:
    options = parse(optimized_model_path=None, profile_file_prefix=None,
                    session_log_severity_level=None, coreml_flags=None)
    assert options == SessionOptions()


def test_enum_members_are_accepted_as_values() -> None:
    options = parse(graph_optimization_level=GraphOptimizationLevel.BASIC,
                    execution_mode=ExecutionMode.PARALLEL,
                    free_dimension_overrides=[FreeDimensionOverride(DimensionBy.NAME, "N", 1)])
    assert options.graph_optimization_level is GraphOptimizationLevel.BASIC
    assert repr(GraphOptimizationLevel.BASIC) == "<GraphOptimizationLevel.BASIC: 'basic'>"


@pytest.mark.parametrize(("key", "level"), [("disable", "ORT_DISABLE_ALL"),
                                            ("basic", "ORT_ENABLE_BASIC"),
                                            ("extended", "ORT_ENABLE_EXTENDED"),
                                            ("all", "ORT_ENABLE_ALL")])
def test_optimization_levels(key: str, level: str) -> None:
    assert parse(graph_optimization_level=key).graph_optimization_level.ort == level


def test_custom_op_library_single_path_and_handle(tmp_path: pathlib.Path) -> None:
    assert parse(custom_op_libraries="lib.so").custom_op_libraries == (os.path.abspath("lib.so"),)
    handle = CustomOpLibrary(str(tmp_path / "x.so"))
    assert parse(custom_op_libraries=handle).custom_op_libraries == (handle.path,)
    assert parse(custom_op_libraries=()).custom_op_libraries == ()


def test_provider_options_merge_aliases_of_one_provider() -> None:
    options = parse(provider_options={"cpu": {"a": "1"}, "CPUExecutionProvider": {"b": 2}})
    assert options.provider_options == {CPU: {"a": "1", "b": "2"}}


def test_option_string() -> None:
    assert option_string("x", True) == "1"
    assert option_string("x", False) == "0"
    assert option_string("x", 3) == "3"
    assert option_string("x", "s") == "s"
    assert option_string("x", pathlib.Path("/a")) == "/a"
    with pytest.raises(OptionError, match=r"x: expected a str, int, float, bool or path, got None"):
        option_string("x", None)


# --- every field's validation error -------------------------------------------------------------

BAD: list[tuple[dict[str, Any], str]] = [
    ({"external_initializers": {"w": "x"}}, "session option \"external_initializers['w']\": "
                                            "expected a Tensor or an array, got 'x' (str)"),
    ({"external_data": {"w.bin": 1}}, "session option \"external_data['w.bin']\": expected "
                                      "bytes, bytearray, memoryview or a uint8 array, got 1"),
    ({"providers": 3}, "'providers': expected a provider name or a list"),
    ({"providers": ["gpu"]}, "unknown execution provider 'gpu'"),
    ({"provider": ["cpu", 1]}, "'provider': item 1 must be a provider name"),
    ({"fallback_to_cpu": 1}, "session option 'fallback_to_cpu': expected a bool (True or False), "
                             "got 1 (int)"),
    ({"fallback_to_cpu": None}, "'fallback_to_cpu': expected a bool"),
    ({"intra_op_num_threads": -1}, "'intra_op_num_threads': expected an integer from 0 to 1024, got -1"),
    ({"intra_op_num_threads": True}, "'intra_op_num_threads': expected an integer from 0 to 1024, got True"),
    ({"intra_op_num_threads": 1.0}, "'intra_op_num_threads': expected an integer from 0 to 1024, got 1.0"),
    ({"inter_op_num_threads": "2"}, "'inter_op_num_threads': expected an integer from 0 to 1024, got '2'"),
    ({"inter_op_num_threads": -5}, "'inter_op_num_threads': expected an integer from 0 to 1024, got -5"),
    ({"log_id": 5}, "'log_id': expected a string, got 5 (int)"),
    ({"session_log_severity_level": 5},
     "'session_log_severity_level': expected an integer from 0 to 4, got 5"),
    ({"session_log_severity_level": -1}, "expected an integer from 0 to 4, got -1"),
    ({"session_log_severity_level": False}, "expected an integer from 0 to 4, got False"),
    ({"session_log_verbosity_level": -1},
     "'session_log_verbosity_level': expected an integer from 0 to 2147483647, got -1"),
    ({"optimized_model_path": 1}, "'optimized_model_path': expected a path (str or os.PathLike)"),
    ({"optimized_model_path": ""}, "'optimized_model_path': expected a non-empty path"),
    ({"profile_file_prefix": b"p"}, "'profile_file_prefix': expected a path"),
    ({"free_dimension_overrides": {"by": "name"}}, "'free_dimension_overrides': expected a list"),
    ({"free_dimension_overrides": ["N"]}, "'free_dimension_overrides[0]': expected {\"by\""),
    ({"free_dimension_overrides": [{"by": "name", "key": "N", "value": 1, "extra": 2}]},
     "'free_dimension_overrides[0]': unknown key 'extra'"),
    ({"free_dimension_overrides": [{"by": "name", "key": "N"}]},
     "'free_dimension_overrides[0]': missing 'value'"),
    ({"free_dimension_overrides": [{"by": "size", "key": "N", "value": 1}]},
     "'free_dimension_overrides[0].by': expected one of 'name', 'denotation', got 'size'"),
    ({"free_dimension_overrides": [{"by": "name", "key": "", "value": 1}]},
     "'free_dimension_overrides[0].key': expected a non-empty string"),
    ({"free_dimension_overrides": [{"by": "name", "key": 3, "value": 1}]},
     "'free_dimension_overrides[0].key': expected a non-empty string, got 3"),
    ({"free_dimension_overrides": [{"by": "name", "key": "N", "value": 1},
                                   {"by": "name", "key": "M", "value": -2}]},
     "'free_dimension_overrides[1].value': expected an integer from 0 to 9223372036854775807, got -2"),
    ({"free_dimension_overrides": [{"by": "name", "key": "N", "value": True}]},
     "'free_dimension_overrides[0].value': expected an integer from 0 to 9223372036854775807, got True"),
    ({"config_entries": [("a", "b")]}, "'config_entries': expected a dict of str to str"),
    ({"config_entries": {"a": 1}}, "\"config_entries['a']\": expected a string, got 1"),
    ({"config_entries": {1: "a"}}, "'config_entries key': expected a non-empty string, got 1"),
    ({"graph_optimization_level": "max"},
     "'graph_optimization_level': expected one of 'disable', 'basic', 'extended', 'all', "
     "got 'max'"),
    ({"graph_optimization_level": 99}, "'graph_optimization_level': expected one of"),
    ({"execution_mode": "serial"},
     "'execution_mode': expected one of 'sequential', 'parallel', got 'serial'"),
    ({"execution_mode": ["parallel"]}, "'execution_mode': expected one of"),
    ({"deterministic_compute": "yes"}, "'deterministic_compute': expected a bool"),
    ({"disable_per_session_threads": 0}, "'disable_per_session_threads': expected a bool"),
    ({"enable_cpu_mem_arena": 1}, "'enable_cpu_mem_arena': expected a bool"),
    ({"enable_mem_pattern": "false"}, "'enable_mem_pattern': expected a bool"),
    ({"custom_op_libraries": 3}, "'custom_op_libraries': expected a path"),
    ({"custom_op_libraries": ["a.so", 3]}, "'custom_op_libraries[1]': expected a path"),
    ({"custom_op_libraries": [""]}, "'custom_op_libraries[0]': expected a non-empty path"),
    ({"providers": ["coreml"], "coreml_compute_units": "gpu"},
     "'coreml_compute_units': expected one of 'all', 'cpu_only'"),
    ({"providers": ["coreml"], "coreml_create_mlprogram": 1},
     "'coreml_create_mlprogram': expected a bool"),
    ({"providers": ["coreml"], "coreml_require_static_input_shapes": "1"},
     "'coreml_require_static_input_shapes': expected a bool"),
    ({"providers": ["coreml"], "coreml_enable_on_subgraph": 1},
     "'coreml_enable_on_subgraph': expected a bool"),
    ({"providers": ["coreml"], "coreml_flags": True},
     "session option 'coreml_flags': expected an integer bit mask of COREML_FLAG_* values, "
     "got True (bool)"),
    ({"providers": ["coreml"], "coreml_flags": -3},
     "session option 'coreml_flags': expected a bit mask >= 0, got -3"),
    ({"providers": ["coreml"], "coreml_flags": 0x80}, "'coreml_flags': 0x080 has bits that"),
    ({"providers": ["coreml"], "coreml_use_cpu_only": 1}, "'coreml_use_cpu_only': expected a bool"),
    ({"providers": ["coreml"], "coreml_use_cpu_and_gpu": "no"},
     "'coreml_use_cpu_and_gpu': expected a bool"),
    ({"providers": ["coreml"], "coreml_only_enable_device_with_ane": 1},
     "'coreml_only_enable_device_with_ane': expected a bool"),
    ({"providers": ["coreml"], "coreml_compute_units": "all", "coreml_use_cpu_only": True},
     "conflicting CoreML options: coreml_compute_units='all' and coreml_use_cpu_only=True"),
    ({"providers": ["coreml", "cpu"], "coreml_only_enable_device_with_ane": True,
      "coreml_compute_units": "cpu_and_gpu"},
     "coreml_compute_units='cpu_and_gpu' and coreml_only_enable_device_with_ane=True"),
    ({"coreml_compute_units": "all"},
     "session option 'coreml_compute_units' applies to the CoreML provider, which is not in "
     "providers (cpu): add 'coreml' to providers"),
    ({"providers": ["cpu"], "coreml_flags": 1, "coreml_use_cpu_only": True},
     "session options 'coreml_flags', 'coreml_use_cpu_only' apply to the CoreML provider"),
    ({"provider_options": [("cpu", {})]}, "'provider_options': expected a dict of provider name"),
    ({"provider_options": {"gpu": {}}}, "'provider_options': unknown execution provider 'gpu'"),
    ({"provider_options": {1: {}}}, "'provider_options key': expected a provider name"),
    ({"provider_options": {"cpu": "a=1"}}, "\"provider_options['cpu']\": expected a dict"),
    ({"provider_options": {"cpu": {"": "1"}}}, "expected a non-empty string"),
    ({"provider_options": {"cpu": {"a": None}}},
     "session option \"provider_options['cpu']['a']\": expected a str, int, float, bool or path"),
    ({"provider_options": {"cuda": {"device_id": 0}}},
     "session option 'provider_options' has options for 'cuda', which is not in providers (cpu)"),
    ({"providers": ["coreml"], "provider_options": {"coreml": {"MLComputeUnits": "CPUOnly"}},
      "coreml_compute_units": "all"},
     "coreml_compute_units='all' and provider_options['coreml']['MLComputeUnits']='CPUOnly'"),
]


@pytest.mark.parametrize(("opts", "message"), BAD)
def test_validation_errors(opts: dict[str, Any], message: str) -> None:
    with pytest.raises(OptionError) as info:
        parse(opts)
    assert message in str(info.value)


def test_every_field_has_a_validation_error_case() -> None:
    covered = {name for opts, _ in BAD for name in opts}
    fields = {field.name for field in _options()} | {"provider"}
    assert fields - covered == set()


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [("intra_op_num_thread", "intra_op_num_threads"), ("provders", "providers"),
     ("fallback_to_gpu", "fallback_to_cpu"), ("coreml_compute_unit", "coreml_compute_units"),
     ("graph_optimisation_level", "graph_optimization_level"), ("config_entry", "config_entries")],
)
def test_unknown_field_suggests_the_closest(name: str, suggestion: str) -> None:
    with pytest.raises(OptionError) as info:
        parse({name: 1})
    message = str(info.value)
    assert f"unknown session option {name!r} (did you mean {suggestion!r}?)" in message
    assert "accepted: " in message


def test_unknown_field_without_close_match() -> None:
    with pytest.raises(OptionError, match="unknown session option 'zzz'; accepted: ") as info:
        parse(zzz=1)
    for field in _options():
        assert field.name in str(info.value)
    assert "coreml_provider_options" not in str(info.value)  # computed, not an option


def test_options_are_not_a_mapping() -> None:
    with pytest.raises(OptionError, match=r"session options: expected a dict"):
        parse_session_options(["providers", "cpu"], {})  # type: ignore[arg-type]


# --- property: any input parses or raises OptionError -------------------------------------------

_NAMES = [field.name for field in _options()] + ["provider", "bogus"]
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-3, max_value=70), st.floats(allow_nan=True),
    st.text(max_size=12), st.binary(max_size=4),
    st.sampled_from(["cpu", "coreml", "CPUExecutionProvider", "all", "parallel", "name",
                     "denotation", "cpu_only", "CPUAndGPU", "N", "basic"]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner),
        st.dictionaries(st.one_of(st.sampled_from(["by", "key", "value", "cpu", "a"]),
                                  st.integers()), inner, max_size=3),
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(_NAMES), _VALUES, max_size=5))
def test_any_option_dict_parses_or_raises_option_error(opts: dict[str, Any]) -> None:
    try:
        options = parse_session_options(opts, {})
    except OptionError:
        return
    assert isinstance(options, SessionOptions)
    assert set(options.coreml_fields()) <= set(coreml_field_names())


def test_coreml_is_resolved_once_when_the_options_are_parsed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import warnings

    import ortsession
    from ortsession import _options

    calls: list[object] = []
    resolve = _options.resolve_coreml_options

    def counting(*args: Any) -> dict[str, str]:
        calls.append(args)
        return resolve(*args)

    monkeypatch.setattr(_options, "resolve_coreml_options", counting)
    with warnings.catch_warnings():  # no CoreML on this machine: the session falls back to CPU
        warnings.simplefilter("ignore", ortsession.ProviderFallbackWarning)
        s = ortsession.session(ortsession.models.path("demo/model.onnx"),
                               providers=["coreml", "cpu"], coreml_flags=0x010)
    assert len(calls) == 1  # parsing; creating the session (and falling back) reuses it
    assert s.options.coreml_options() == {"MLComputeUnits": "ALL", "ModelFormat": "MLProgram",
                                          "RequireStaticInputShapes": "0",
                                          "EnableOnSubgraphs": "0"}
    assert dict(s.options.coreml_provider_options) == s.options.coreml_options()
    assert len(calls) == 1
