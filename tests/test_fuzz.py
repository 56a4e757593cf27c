"""Bad input, tried systematically (docs/robustness.md).

* Hypothesis suites over random session option dicts, random run inputs (names, shapes, dtypes,
  values of every kind) for a few models, and random ``tensor()`` arguments: every outcome is a
  result or an :class:`ortsession.OrtError` subclass with a clean message — never another
  exception type.
* A mutation fuzzer over model bytes (truncated, bit-flipped, byte-patched, spliced, random, and
  structurally mutated protobufs) for ``session_from_bytes``, run in worker subprocesses so that
  a crash of the engine is caught and reported instead of taking pytest down. A model that loads
  is also run once on small zero inputs.

The default test selection runs a few hundred examples of each suite and a few thousand mutated
models (well under a minute); the ``slow`` tests (``make soak``) run many more. The fuzzer also
runs standalone for the figures of docs/robustness.md::

    python tests/test_fuzz.py --cases 20000 --seed 1
"""

from __future__ import annotations

import argparse
import atexit
import base64
import collections
import contextlib
import json
import os
import random
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ortsession as ort

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:  # standalone runs (python tests/test_fuzz.py)
    sys.path.insert(0, str(TESTS))

import models  # noqa: E402

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
"""Settings of the hypothesis suites in the default selection: deterministic and bounded."""
FUZZ_LONG = settings(FUZZ, max_examples=5000, derandomize=False)
"""Settings of the ``slow`` variants: more examples, fresh randomness each run."""


# ---------------------------------------------------------------------------------------------
# outcome checks


def _check_error(exc: BaseException) -> None:
    """``exc`` must be an OrtError with a clean, non-empty message."""
    assert isinstance(exc, ort.OrtError), f"{type(exc).__name__} escaped: {exc!r}"
    message = str(exc)
    assert message.strip(), f"{type(exc).__name__} with an empty message"
    for noise in ("[ONNXRuntimeError]", ".cc:", "onnxruntime_src", "EP Error"):
        assert noise not in message, f"ORT noise {noise!r} in {type(exc).__name__}: {message}"


def _outcome(call: Callable[[], Any]) -> Any:
    """Run ``call``; return its result, or ``None`` after checking the OrtError it raised.

    Provider fallback warnings are expected (e.g. ``providers="cuda"`` on a CPU build); any other
    warning fails the test.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = call()
        except Exception as exc:  # the property: nothing but OrtError
            _check_error(exc)
            result = None
    others = [w for w in caught if not issubclass(w.category, ort.ProviderFallbackWarning)]
    assert not others, [str(w.message) for w in others]
    return result


# ---------------------------------------------------------------------------------------------
# random session options


_SCRATCH = Path(tempfile.mkdtemp(prefix="ortsession-fuzz-"))
atexit.register(shutil.rmtree, _SCRATCH, ignore_errors=True)
"""Where path options may write (optimized models, profiles): never the working directory.
The option suites run with it as the current directory (junk strings are relative paths)."""

_JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
    st.text(max_size=8), st.binary(max_size=4), st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(-3, 3), max_size=2),
    st.just(object()), st.just(Path("relative")),
)
"""Values of every kind, mostly wrong for any field."""

_SMALL_INT = st.one_of(st.integers(-3, 8), st.sampled_from([2**31 - 1, -(2**31), -(2**63)]))
"""Integers for integer options; those beyond a C int are tested on their own (a known bug)."""
_THREADS = st.integers(-3, 4)
"""Thread counts stay small here: huge ones are tested on their own (they can hang ORT)."""


def _paths(suffix: str) -> st.SearchStrategy[Any]:
    return st.sampled_from([
        str(_SCRATCH / f"out{suffix}"), _SCRATCH / f"p{suffix}", str(_SCRATCH),
        str(_SCRATCH / "missing" / f"x{suffix}"), "", "\x00", str(_SCRATCH / "é ü" / "x"),
    ])


def _libraries() -> st.SearchStrategy[Any]:
    real = models.custom_op_library_path()
    not_a_library = str(TESTS / "models.py")
    choices = [real, not_a_library, str(_SCRATCH / "missing.so"), str(_SCRATCH), "",
               ort.load_custom_op_library(real)]
    return st.one_of(st.sampled_from(choices), st.lists(st.sampled_from(choices), max_size=3))


_PROVIDERS = st.one_of(
    st.sampled_from(["cpu", "CPU", "CPUExecutionProvider", "coreml", "CoreMLExecutionProvider",
                     "cuda", "tensorrt", "bogus", "", " cpu "]),
    st.lists(st.sampled_from(["cpu", "coreml", "cuda", "xnnpack", "nope"]), max_size=3),
)
_CONFIG_KEYS = st.one_of(st.text(max_size=10), st.sampled_from([
    "session.intra_op.allow_spinning", "session.inter_op.allow_spinning",
    "session.disable_prepacking", "session.set_denormal_as_zero", "session.use_env_allocators",
    "session.load_model_format", "session.disable_cpu_ep_fallback",
    "session.use_device_allocator_for_initializers", "session.intra_op_thread_affinities",
    # "session.dynamic_block_base" (parsed with std::stoi) has its own test: a known bug
]))
_CONFIG_VALUES = st.one_of(st.text(max_size=8),
                           st.sampled_from(["0", "1", "-1", "ORT", "ONNX", "4294967296", "1;2"]))


def _option_values() -> dict[str, st.SearchStrategy[Any]]:
    enum_junk = st.sampled_from(["", "ALL", " basic ", "fast", "Parallel"])
    coreml_units = st.sampled_from(["all", "cpu_only", "CPUAndGPU", "MLComputeUnitsAll", "gpu"])
    overrides = st.lists(st.fixed_dictionaries(
        {"by": st.sampled_from(["name", "denotation", "shape"]),
         "key": st.sampled_from(["N", "DATA_BATCH", "", "other"]), "value": _SMALL_INT},
        optional={"extra": st.integers()}), max_size=3)
    return {
        "providers": _PROVIDERS, "provider": _PROVIDERS,
        "fallback_to_cpu": st.booleans(),
        "intra_op_num_threads": _THREADS, "inter_op_num_threads": _THREADS,
        "log_id": st.text(max_size=12),
        "session_log_severity_level": _SMALL_INT, "session_log_verbosity_level": _SMALL_INT,
        "optimized_model_path": _paths(".onnx"), "profile_file_prefix": _paths("prof"),
        "free_dimension_overrides": overrides,
        "config_entries": st.dictionaries(_CONFIG_KEYS, _CONFIG_VALUES, max_size=3),
        "graph_optimization_level": st.one_of(
            st.sampled_from(["disable", "basic", "extended", "all"]), enum_junk),
        "execution_mode": st.one_of(st.sampled_from(["sequential", "parallel"]), enum_junk),
        "deterministic_compute": st.booleans(), "disable_per_session_threads": st.booleans(),
        "enable_cpu_mem_arena": st.booleans(), "enable_mem_pattern": st.booleans(),
        "custom_op_libraries": _libraries(),
        "coreml_compute_units": coreml_units,
        "coreml_create_mlprogram": st.booleans(),
        "coreml_require_static_input_shapes": st.booleans(),
        "coreml_enable_on_subgraph": st.booleans(), "coreml_flags": _SMALL_INT,
        "coreml_use_cpu_only": st.booleans(), "coreml_use_cpu_and_gpu": st.booleans(),
        "coreml_only_enable_device_with_ane": st.booleans(),
        "provider_options": st.dictionaries(
            st.sampled_from(["cpu", "coreml", "cuda", "bogus"]),
            st.dictionaries(st.text(max_size=6), st.one_of(st.text(max_size=4), st.booleans(),
                                                           st.integers(), st.floats(), _JUNK),
                            max_size=2), max_size=2),
    }


@st.composite
def option_dicts(draw: st.DrawFn) -> dict[Any, Any]:
    """A dict of session options: known fields with plausible or junk values, typos, junk keys."""
    values = _option_values()
    names = draw(st.lists(st.sampled_from(sorted(values)), max_size=6, unique=True))
    opts: dict[Any, Any] = {}
    for name in names:
        opts[name] = draw(st.one_of(values[name], _JUNK) if draw(st.integers(0, 4)) == 0
                          else values[name])
    extra = draw(st.integers(0, 9))
    if extra == 0:
        opts[draw(st.text(max_size=12))] = draw(_JUNK)  # unknown field
    elif extra == 1:
        opts[draw(st.sampled_from([1, None, b"providers", ("a",)]))] = 1  # non-string key
    elif extra == 2 and names:
        opts[names[0][:-1]] = draw(_JUNK)  # a typo of a real field
    return opts


@pytest.fixture(scope="module")
def add_model() -> bytes:
    return models.add()


@contextlib.contextmanager
def _in_scratch() -> Iterator[None]:
    """Work in the scratch directory: junk strings given as paths are relative paths."""
    here = os.getcwd()
    os.chdir(_SCRATCH)
    try:
        yield
    finally:
        os.chdir(here)


def _session_with(model: bytes, opts: Any, kwargs: dict[str, Any]) -> None:
    with _in_scratch():
        _session_in_scratch(model, opts, kwargs)


def _session_in_scratch(model: bytes, opts: Any, kwargs: dict[str, Any]) -> None:
    session = _outcome(lambda: ort.session_from_bytes(model, opts, **kwargs))
    if session is not None:
        assert isinstance(session, ort.Session)
        out = _outcome(lambda: session.run({"x": np.ones((1, 2), np.float32),
                                            "bias": np.ones((1, 2), np.float32)}))
        if out is not None:
            np.testing.assert_array_equal(out["y"].numpy(), [[2.0, 2.0]])
        session.close()


@given(opts=option_dicts(), as_kwargs=st.booleans())
def _options_property(model: bytes, opts: dict[Any, Any], as_kwargs: bool) -> None:
    if as_kwargs and all(isinstance(k, str) and k.isidentifier() for k in opts):
        _session_with(model, None, opts)
    else:
        _session_with(model, opts, {})


def test_random_session_options(add_model: bytes) -> None:
    FUZZ(_options_property)(add_model)


@pytest.mark.slow
def test_random_session_options_long(add_model: bytes) -> None:
    FUZZ_LONG(_options_property)(add_model)


@FUZZ
@given(opts=_JUNK)
def test_junk_instead_of_an_options_dict(add_model: bytes, opts: Any) -> None:
    _session_with(add_model, opts, {})


@pytest.mark.parametrize(("field_name", "count"), [
    ("intra_op_num_threads", 2**31), ("inter_op_num_threads", 2**31),
    ("intra_op_num_threads", 2**31 - 1), ("intra_op_num_threads", 10**6)])
def test_absurd_thread_counts_fail_cleanly(field_name: str, count: int) -> None:
    # In a subprocess: ORT tries to start that many threads (a million takes minutes, 2**31 - 1
    # ends in std::bad_alloc); the option must be refused before ORT sees it.
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import models, ortsession as ort\n"
        f"try:\n    ort.session_from_bytes(models.add(), {field_name}={count},"
        " execution_mode='parallel')\n"
        "except ort.OrtError as e:\n    print('OrtError', type(e).__name__, e)\n"
        "else:\n    print('session')\n"
    )
    try:
        done = subprocess.run([sys.executable, "-c", code, str(TESTS)], capture_output=True,
                              text=True, timeout=10, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{field_name}={count}: session creation still running after 10 s")
    assert done.returncode == 0, done.stderr[-800:]
    assert done.stdout.startswith("OrtError OptionError"), done.stdout


@pytest.mark.parametrize(("fields", "what"), [
    ({"session_log_verbosity_level": 2**31}, "session option"),
    ({"free_dimension_overrides": [{"by": "name", "key": "N", "value": 2**63}]},
     "session option"),
    ({"log_verbosity_level": 2**31}, "run option"),
])
def test_integers_beyond_what_ort_stores_are_option_errors(fields: dict[str, Any],
                                                           what: str) -> None:
    # ORT keeps these as C int / int64: a bigger Python int made its binding raise TypeError.
    make: Callable[[], Any] = ((lambda: ort.run_options(fields)) if what == "run option"
                               else (lambda: ort.session_from_bytes(models.symbolic(), fields)))
    with pytest.raises(ort.OptionError) as info:
        make()
    assert next(iter(fields)) in str(info.value)


@pytest.mark.parametrize("value", ["", "abc", "4294967296"])
def test_config_entries_ort_cannot_parse_fail_cleanly(value: str) -> None:
    # ORT parses this entry with std::stoi: std::invalid_argument / std::out_of_range reached
    # Python as ValueError('stoi') / IndexError('stoi').
    with pytest.raises(ort.OrtError) as info:
        ort.session_from_bytes(models.add(), config_entries={"session.dynamic_block_base": value})
    assert "stoi" in str(info.value)


@pytest.mark.parametrize("field_name", ["optimized_model_path", "profile_file_prefix", "log_id"])
def test_strings_with_a_nul_byte_are_refused(tmp_path: Path, field_name: str) -> None:
    # ORT takes C strings: "dir/a\x00b" silently became "dir/a" (a file written elsewhere).
    value = str(tmp_path / "a\x00b")
    with pytest.raises(ort.OptionError) as info:
        ort.session_from_bytes(models.add(), {field_name: value})
    assert field_name in str(info.value)
    assert not (tmp_path / "a").exists()


# ---------------------------------------------------------------------------------------------
# random run inputs


_DTYPES = [np.float32, np.float64, np.float16, np.int8, np.int16, np.int32, np.int64, np.uint8,
           np.uint16, np.uint32, np.uint64, np.bool_, ml_dtypes.bfloat16, ml_dtypes.float8_e4m3fn,
           ml_dtypes.float8_e5m2, ml_dtypes.int4, ml_dtypes.uint4, ml_dtypes.float4_e2m1fn,
           ml_dtypes.int2, np.complex64, np.dtype("U3"), np.dtype("S2"), np.dtype(object),
           np.dtype(">f4"), np.dtype("M8[s]")]
_TYPE_NAMES = [*ort.element_type_names(), "float", "double", "half", "FLOAT32", "complex64",
               "float6e2m3", "", "tensor(float)", "int", "f4"]


@st.composite
def arrays(draw: st.DrawFn, max_side: int = 4) -> np.ndarray[Any, Any]:
    """Small arrays of any dtype and shape (0-d, empty, non-contiguous, big-endian...)."""
    dtype = np.dtype(draw(st.sampled_from(_DTYPES)))
    shape = tuple(draw(st.lists(st.integers(0, max_side), max_size=3)))
    size = int(np.prod(shape))
    raw = draw(st.lists(st.integers(-200, 200), min_size=size, max_size=size))
    if dtype.kind in "USO":
        arr = np.array([str(v) for v in raw], dtype=dtype if dtype.kind != "O" else object)
    elif dtype.kind == "M":
        arr = np.array(raw, dtype="int64").astype(dtype)
    else:
        with np.errstate(all="ignore"):
            arr = np.array(raw, dtype=np.float64).astype(dtype)
    arr = arr.reshape(shape)
    if arr.ndim >= 2 and draw(st.booleans()):
        arr = arr.T  # non-contiguous
    return arr


_SCALARS = st.one_of(
    st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.text(max_size=4), st.binary(max_size=3), st.none(), st.complex_numbers(max_magnitude=9),
    st.sampled_from([np.float32(1.5), np.int64(-3), np.bool_(True), ml_dtypes.bfloat16(2.0),
                     np.str_("s"), np.datetime64("2020-01-01")]),
)
_NESTED = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3), max_leaves=8)


@st.composite
def tensors(draw: st.DrawFn) -> ort.Tensor:
    arr = draw(arrays())
    try:
        return ort.tensor(draw(st.sampled_from(ort.element_type_names())), arr.shape)
    except ort.OrtError:
        return ort.tensor("float32", [1])


@st.composite
def declared_arrays(draw: st.DrawFn, info: ort.TypeInfo) -> Any:
    """An array of the element type ``info`` declares (nested through sequences/optionals),
    of a random shape: most often the declared shape with free dimensions filled."""
    while info.element is not None:
        info = info.element
    et = info.element_type
    if et is None:
        return draw(arrays())
    if info.shape is not None and draw(st.booleans()):
        shape = [d if d >= 0 else draw(st.integers(0, 3)) for d in info.shape]
    else:
        shape = draw(st.lists(st.integers(0, 3), max_size=3))
    size = int(np.prod(shape))
    if et is ort.ElementType.STRING:
        values: Any = draw(st.lists(st.text(max_size=3), min_size=size, max_size=size))
        return np.array(values, dtype=object).reshape(shape)
    values = draw(st.lists(st.integers(-1, 1), min_size=size, max_size=size))
    return np.array(values, dtype=np.float64).astype(et.dtype).reshape(shape)


def _values(session: ort.Session) -> st.SearchStrategy[Any]:
    infos = [session.input_info(n) for n in session.input_names()]
    optional = [i for i in infos if i.onnx_type == "optional"]
    declared = [declared_arrays(i) for i in infos]
    base: list[st.SearchStrategy[Any]] = [
        *declared, *declared, st.lists(st.one_of(*declared), max_size=3),
        arrays(), _NESTED, tensors(),
        st.lists(st.one_of(arrays(), tensors(), _SCALARS), max_size=3),
        st.dictionaries(st.one_of(st.text(max_size=3), st.integers(-5, 5)),
                        st.one_of(st.floats(), st.integers(), _SCALARS, arrays()), max_size=3),
    ]
    if optional:
        base.append(st.sampled_from([ort.optional(None, i) for i in optional]))
        base.append(st.builds(lambda a: ort.optional(a, optional[0]), arrays()))
    return st.one_of(*base)


_RUN_MODELS: dict[str, Callable[[], bytes]] = {
    "add": models.add,
    "symbolic": models.symbolic,
    "strings": models.string_model,
    "sequences": models.sequence_model,
    "maps": models.map_model,
    "optionals": models.optional_model,
    "overridable": models.with_overridable_initializer,
    "bfloat16": lambda: models.identity(_onnx_type("bfloat16")),
    "int4": lambda: models.identity(_onnx_type("int4")),
}


def _onnx_type(name: str) -> int:
    """The ONNX element type number of an ``ortsession`` type name."""
    return int(ort.ElementType[name.upper()])


@pytest.fixture(scope="module")
def run_sessions() -> Iterator[dict[str, ort.Session]]:
    sessions = {name: ort.session_from_bytes(build()) for name, build in _RUN_MODELS.items()}
    yield sessions
    for s in sessions.values():
        s.close()


@st.composite
def run_calls(draw: st.DrawFn, sessions: dict[str, ort.Session]) -> tuple[str, Any, Any]:
    name = draw(st.sampled_from(sorted(sessions)))
    session = sessions[name]
    names = session.input_names() + session.overridable_initializer_names()
    values = _values(session)
    form = draw(st.integers(0, 5))
    inputs: Any
    if form == 0:
        inputs = draw(st.lists(values, max_size=len(names) + 1))
    elif form == 1:
        inputs = draw(_JUNK)
    else:
        keys = st.one_of(st.sampled_from(names), st.text(max_size=4)) if form == 2 \
            else st.sampled_from(names)
        inputs = draw(st.dictionaries(keys, values, max_size=len(names) + 1))
    output_names = draw(st.one_of(st.none(), st.lists(st.sampled_from(
        [*session.output_names(), "nope"]), max_size=2), _JUNK))
    return name, inputs, output_names


def _check_outputs(out: Any) -> None:
    assert isinstance(out, ort.Outputs)
    for value in out:
        _check_value(value)


def _check_value(value: Any) -> None:
    if isinstance(value, ort.Tensor):
        value.numpy()
        value.to_table()
    elif isinstance(value, list):
        for v in value:
            _check_value(v)
    elif isinstance(value, dict):  # a map: scalar values (ZipMap) or tensors
        for v in value.values():
            if not isinstance(v, (int, float, str)):
                _check_value(v)
    else:
        assert value is None, type(value)


def _random_runs(sessions: dict[str, ort.Session]) -> Any:
    @given(call=run_calls(sessions))
    def check(call: tuple[str, Any, Any]) -> None:
        name, inputs, output_names = call
        session = sessions[name]
        out = _outcome(lambda: session.run(inputs, output_names))
        if out is not None:
            _check_outputs(out)

    return check


def test_random_run_inputs(run_sessions: dict[str, ort.Session]) -> None:
    FUZZ(_random_runs(run_sessions))()


def test_valid_run_inputs_of_every_form(run_sessions: dict[str, ort.Session]) -> None:
    # The fuzzed models run when fed properly (so the fuzz above reaches ORT, not just our checks).
    s = run_sessions
    assert s["add"].run([np.ones((1, 2), np.float32), [[1.0, 2.0]]])["y"].tolist() == [[2, 3]]
    assert s["strings"].run({"x": ["a", "Bc"]})["upper"].tolist() == ["A", "BC"]
    seq = s["sequences"].run({"seq": [], "x": np.ones(2, np.float32)})
    assert seq["length"].tolist() == 1
    assert s["maps"].run({"features": {"a": 1.0}})["vector"].tolist() == [[1.0, 0.0, 0.0]]
    info = s["optionals"].input_info("opt")
    assert s["optionals"].run({"opt": ort.optional(None, info)})["passthrough"] is None
    bf = np.array([[1, 2, 3], [4, 5, 6]], ml_dtypes.bfloat16)
    assert s["bfloat16"].run({"x": bf})["y"].numpy().dtype == bf.dtype


@pytest.mark.slow
def test_random_run_inputs_long(run_sessions: dict[str, ort.Session]) -> None:
    FUZZ_LONG(_random_runs(run_sessions))()


# ---------------------------------------------------------------------------------------------
# random tensor() arguments


_SHAPES = st.one_of(
    st.lists(st.integers(0, 4), max_size=4),
    st.lists(st.one_of(st.integers(-3, 5), st.floats(-2, 5), st.text(max_size=2), st.none(),
                       st.booleans(), st.just(2**62)), max_size=3),
    st.integers(-2, 5), st.text(max_size=3), st.none(), st.just(np.array([2, 1])),
    st.just((2**31, 2**31, 2**31)),
)


@given(type_name=st.one_of(st.sampled_from(_TYPE_NAMES), st.text(max_size=6), st.integers(-1, 30),
                           st.sampled_from(list(ort.ElementType)), _JUNK),
       shape=_SHAPES, data=st.one_of(_NESTED, arrays(), st.none(), _SCALARS,
                                     st.sets(st.integers(), max_size=2),
                                     st.dictionaries(st.text(max_size=2), st.integers(),
                                                     max_size=2)))
def _tensor_args(type_name: Any, shape: Any, data: Any) -> None:
    t = _outcome(lambda: ort.tensor(type_name, shape, data))
    if t is not None:
        assert isinstance(t, ort.Tensor)
        assert list(t.shape) == list(t.numpy().shape)
        _check_value(t)
        assert t.element_count == int(np.prod(t.shape))
        if t.data_type != "string":
            back = ort.tensor_from_bytes(t.data_type, t.shape, t.tobytes())
            assert back.tobytes() == t.tobytes()


def test_random_tensor_arguments() -> None:
    FUZZ(_tensor_args)()


@pytest.mark.slow
def test_random_tensor_arguments_long() -> None:
    FUZZ_LONG(_tensor_args)()


@FUZZ
@given(type_name=st.sampled_from(ort.element_type_names()), shape=_SHAPES,
       data=st.one_of(st.binary(max_size=40), st.just(bytearray(b"\x01\x02")),
                      st.just(memoryview(b"\x00" * 8)), _JUNK))
def test_random_tensor_from_bytes_arguments(type_name: str, shape: Any, data: Any) -> None:
    t = _outcome(lambda: ort.tensor_from_bytes(type_name, shape, data))
    if t is not None:
        assert t.tobytes() == bytes(data)


@FUZZ
@given(value=st.one_of(_NESTED, arrays(), st.none()),
       type_info=st.one_of(st.sampled_from(["optional(tensor(float))", "tensor(int64)",
                                            "seq(tensor(float))", "map(string,tensor(float))",
                                            "optional(", "", "bogus((", ")("]),
                           st.text(max_size=8), _JUNK))
def test_random_optional_arguments(value: Any, type_info: Any) -> None:
    _outcome(lambda: ort.optional(value, type_info))


# ---------------------------------------------------------------------------------------------
# the mutation fuzzer over model bytes, in worker subprocesses


_WORKER = r"""
import json, logging, resource, struct, sys, warnings
warnings.simplefilter("ignore")
limit = int(sys.argv[1]) << 20
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import numpy as np
import ortsession as ort
from ortsession._prechecks import check_model_bytes
guard = sys.argv[2] == "guard"
logging.getLogger("ortsession").setLevel(logging.CRITICAL + 1)
read, write = sys.stdin.buffer.read, sys.stdout.write

def reply(**fields):
    write(json.dumps(fields) + "\n")
    sys.stdout.flush()

def name(exc):
    return type(exc).__name__ if isinstance(exc, ort.OrtError) else "BUG " + type(exc).__name__

while True:
    head = read(4)
    if len(head) < 4:
        break
    blob = read(struct.unpack("<I", head)[0])
    reply(phase="load")
    try:
        if guard:
            check_model_bytes(blob, "<bytes>")
        session = ort.session_from_bytes(blob, intra_op_num_threads=1)
    except BaseException as exc:
        reply(outcome=name(exc), message=str(exc)[:300])
        continue
    feed = {}
    try:
        for n in session.input_names():
            info = session.input_info(n)
            if info.onnx_type != "tensor" or info.shape is None:
                feed = None
                break
            shape = [d if 0 <= d <= 16 else 1 for d in info.shape]
            feed[n] = ort.tensor(info.data_type, shape)
    except BaseException as exc:
        reply(outcome="loaded, inputs " + name(exc), message=str(exc)[:300])
        continue
    if feed is None:
        reply(outcome="loaded")
        continue
    reply(phase="run")
    try:
        out = session.run(feed)
        [v.numpy() for v in out if isinstance(v, ort.Tensor)]
        reply(outcome="ran")
    except BaseException as exc:
        reply(outcome="loaded, run " + name(exc), message=str(exc)[:300])
    session.close()
"""


@dataclass
class FuzzReport:
    """What the mutation fuzzer saw."""

    cases: int = 0
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    crashes: list[dict[str, Any]] = field(default_factory=list)
    hangs: list[dict[str, Any]] = field(default_factory=list)
    bugs: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        top = ", ".join(f"{k}: {v}" for k, v in self.outcomes.most_common())
        return (f"{self.cases} mutated models in {self.seconds:.1f} s; crashes "
                f"{len(self.crashes)}, hangs {len(self.hangs)}, non-OrtError exceptions "
                f"{len(self.bugs)}; outcomes: {top}")


class _FuzzWorker:
    def __init__(self, memory_mb: int, guard: bool = False) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(memory_mb), "guard" if guard else "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=str(TESTS.parent))
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin = self.proc.stdin
        self.stdout = self.proc.stdout
        self.buffer = b""

    def send(self, blob: bytes) -> None:
        self.stdin.write(struct.pack("<I", len(blob)) + blob)
        self.stdin.flush()

    def line(self, deadline: float) -> dict[str, Any] | None:
        """The next reply, or ``None`` when the worker died or the deadline passed."""
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.stdout], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.stdout.fileno(), 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        reply: dict[str, Any] = json.loads(line)
        return reply

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.stdin.close()
        self.stdout.close()


def fuzz_models(blobs: Iterator[tuple[str, bytes]], *, load_timeout: float = 20.0,
                run_timeout: float = 20.0, memory_mb: int = 4096,
                keep: Path | None = None, guard: bool = False) -> FuzzReport:
    """Feed each ``(how it was made, bytes)`` to ``session_from_bytes`` in a worker process.

    A worker that dies is a *crash*; one that does not answer within the timeout of its
    phase (load, or the run of a model that loaded) is a *hang*. Both are restarted. With
    ``keep``, the bytes of every crash and hang are saved there. With ``guard``, the worker
    calls ``ortsession._prechecks.check_model_bytes`` before ``session_from_bytes`` (what the
    package does once the guard is wired in).
    """
    report = FuzzReport()
    start = time.monotonic()
    worker = _FuzzWorker(memory_mb, guard)
    try:
        for how, blob in blobs:
            report.cases += 1
            worker.send(blob)
            phase = "load"
            result: dict[str, Any] | None = None
            deadline = time.monotonic() + load_timeout
            while True:
                reply = worker.line(deadline)
                if reply is None:
                    break
                if "phase" in reply:
                    phase = reply["phase"]
                    deadline = time.monotonic() + (run_timeout if phase == "run"
                                                   else load_timeout)
                    continue
                result = reply
                break
            if result is None:
                alive = worker.proc.poll() is None
                worker.stop()
                code = worker.proc.returncode
                entry = {"how": how, "phase": phase, "size": len(blob),
                         "exit": None if alive else code,
                         "bytes": base64.b64encode(blob).decode() if len(blob) < 4096 else ""}
                if keep is not None:
                    keep.mkdir(parents=True, exist_ok=True)
                    (keep / f"{'hang' if alive else 'crash'}-{report.cases}.onnx").write_bytes(
                        blob)
                (report.hangs if alive else report.crashes).append(entry)
                report.outcomes["hang" if alive else "crash"] += 1
                worker = _FuzzWorker(memory_mb, guard)
                continue
            report.outcomes[result["outcome"]] += 1
            if "BUG" in result["outcome"]:
                report.bugs.append({"how": how, **result})
    finally:
        worker.stop()
    report.seconds = time.monotonic() - start
    return report


# -- mutations --------------------------------------------------------------------------------


def seed_models() -> dict[str, bytes]:
    """Valid models to mutate: plain tensors, strings, sequences, maps, optionals, subgraphs,
    initializers, a bfloat16 and an int4 graph, and a real CNN (light squeezenet)."""
    seeds = {name: build() for name, build in _RUN_MODELS.items()}
    seeds["two_outputs"] = models.two_outputs()
    seeds["sparse"] = models.sparse_initializer_model()
    seeds["squeezenet"] = (models.backend_data_dir() / "light" / "light_squeezenet.onnx"
                           ).read_bytes()
    return seeds


_INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0x3F, 0x40]


def _byte_mutation(rng: random.Random, blob: bytes, other: bytes) -> tuple[str, bytes]:
    data = bytearray(blob)
    kind = rng.choice(["truncate", "bitflip", "bytes", "insert", "delete", "splice", "random",
                       "duplicate", "varint"])
    n = len(data)
    if kind == "truncate":
        data = data[: rng.randrange(n)]
    elif kind == "bitflip":
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(n)
            data[i] ^= 1 << rng.randrange(8)
    elif kind == "bytes":
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(n)] = rng.choice([*_INTERESTING, rng.randrange(256)])
    elif kind == "insert":
        i = rng.randrange(n + 1)
        data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    elif kind == "delete":
        i = rng.randrange(n)
        del data[i: i + rng.randint(1, 32)]
    elif kind == "splice":
        data = data[: rng.randrange(n)] + other[rng.randrange(len(other)):]
    elif kind == "random":
        data = bytearray(rng.randbytes(rng.randint(0, 512)))
    elif kind == "duplicate":
        i = rng.randrange(n)
        j = min(n, i + rng.randint(1, 64))
        data[j:j] = data[i:j]
    else:  # a huge or overlong varint (a length or a field value)
        i = rng.randrange(n + 1)
        data[i:i] = rng.choice([b"\xff" * 9 + b"\x01", b"\xff\xff\xff\xff\x0f", b"\x80" * 10])
    return kind, bytes(data)


def _structural_mutation(rng: random.Random, blob: bytes) -> tuple[str, bytes]:
    """Parse the model and change one field to a plausible-but-wrong value."""
    import onnx

    model = onnx.ModelProto()
    model.ParseFromString(blob)
    graph = model.graph
    choices = ["ir_version", "opset", "elem_type", "dim", "node_input", "drop_node",
               "attribute", "op_type", "domain"]
    if graph.initializer:
        choices += ["init_dims", "init_type", "init_data"]
    kind = rng.choice(choices)
    big = [0, -1, 1, 2**31, 2**62, -(2**62), 2**63 - 1, 3, 1000]
    values = list(graph.input) + list(graph.output)
    if kind == "ir_version":
        model.ir_version = rng.choice([0, 1, 2, 3, 4, 7, 11, 12, 99, 2**62])
    elif kind == "opset" and model.opset_import:
        rng.choice(model.opset_import).version = rng.choice([0, 1, 5, 7, 13, 30, 2**40])
    elif kind == "elem_type" and values:
        t = rng.choice(values).type
        if t.HasField("tensor_type"):
            t.tensor_type.elem_type = rng.randrange(0, 32)
    elif kind == "dim" and values:
        t = rng.choice(values).type
        if t.HasField("tensor_type") and t.tensor_type.shape.dim:
            rng.choice(t.tensor_type.shape.dim).dim_value = rng.choice(big)
    elif kind == "node_input" and graph.node:
        node = rng.choice(graph.node)
        if node.input:
            node.input[rng.randrange(len(node.input))] = rng.choice(
                ["", "nowhere", *[o for n in graph.node for o in n.output]])
    elif kind == "drop_node" and graph.node:
        del graph.node[rng.randrange(len(graph.node))]
    elif kind == "attribute":
        attrs = [a for n in graph.node for a in n.attribute]
        if attrs:
            a = rng.choice(attrs)
            if a.ints:
                a.ints[rng.randrange(len(a.ints))] = rng.choice(big)
            elif a.type == onnx.AttributeProto.INT:
                a.i = rng.choice(big)
            elif a.type == onnx.AttributeProto.FLOAT:
                a.f = rng.choice([float("nan"), float("inf"), -1.0, 1e30])
            else:
                a.type = rng.randrange(0, 16)
    elif kind == "op_type" and graph.node:
        rng.choice(graph.node).op_type = rng.choice(
            ["Add", "Identity", "Loop", "If", "Reshape", "Concat", "Gather", "Cast", "Split",
             "SequenceAt", "ConstantOfShape", "Expand", "Tile", "Range", "Slice"])
    elif kind == "domain" and graph.node:
        rng.choice(graph.node).domain = rng.choice(["", "ai.onnx.ml", "com.microsoft", "x"])
    elif kind == "init_dims":
        init = rng.choice(graph.initializer)
        if init.dims:
            init.dims[rng.randrange(len(init.dims))] = rng.choice(big)
        else:
            init.dims.append(rng.choice(big))
    elif kind == "init_type":
        rng.choice(graph.initializer).data_type = rng.randrange(0, 32)
    elif kind == "init_data":
        init = rng.choice(graph.initializer)
        if init.raw_data:
            init.raw_data = init.raw_data[: rng.randrange(len(init.raw_data) + 1)]
        else:
            init.raw_data = rng.randbytes(rng.randint(0, 16))
    return f"field:{kind}", model.SerializeToString()


def mutated_models(count: int, seed: int = 0) -> Iterator[tuple[str, bytes]]:
    """``count`` deterministic mutants of :func:`seed_models`: ``(description, bytes)``."""
    rng = random.Random(seed)
    seeds = seed_models()
    names = sorted(seeds)
    for _ in range(count):
        name = rng.choice(names)
        blob = seeds[name]
        if rng.random() < 0.35:
            try:
                kind, data = _structural_mutation(rng, blob)
            except Exception:  # the onnx protobuf refused: mutate bytes instead
                kind, data = _byte_mutation(rng, blob, seeds[rng.choice(names)])
        else:
            kind, data = _byte_mutation(rng, blob, seeds[rng.choice(names)])
        yield f"{name}/{kind}", data


def test_the_model_guard_accepts_valid_models() -> None:
    from ortsession._prechecks import check_model_bytes

    for name, blob in seed_models().items():
        check_model_bytes(blob, name)  # (the conformance sample checks the whole onnx corpus)
    for light in models.light_model_names():
        check_model_bytes(models.light_model(light)[0].read_bytes(), light)


def test_the_model_guard_names_what_is_wrong() -> None:
    from ortsession._prechecks import check_model_bytes

    blob = models.add()
    cases = {
        # an input name that is not UTF-8: ORT loads it, then its binding cannot return the name
        b"\n\x01x": (b"\n\x01\xff", "model.graph.node.input is not valid UTF-8"),
        b"\x03Add": (b"\x03A\xe9d", "model.graph.node.op_type is not valid UTF-8"),
    }
    for old, (new, message) in cases.items():
        assert old in blob
        with pytest.raises(ort.ModelLoadError, match=message):
            check_model_bytes(blob.replace(old, new, 1), "<bytes>")
    for bad, message in [(b"", "empty"), (blob[:-3], "past the end"),
                         (b"\x08" + b"\xff" * 11, "varint longer than 10 bytes"),
                         (b"\x0b\x0c", "wire type 3"), (b"\x00\x01", "field number 0")]:
        with pytest.raises(ort.ModelLoadError, match=message):
            check_model_bytes(bad, "<bytes>")


@FUZZ
@given(data=st.one_of(st.binary(max_size=200),
                      st.builds(lambda cut: models.add()[:cut], st.integers(0, 200))))
def test_the_model_guard_raises_nothing_but_model_load_error(data: bytes) -> None:
    from ortsession._prechecks import check_model_bytes

    error = _outcome(lambda: check_model_bytes(data, "<bytes>"))
    assert error is None


def _assert_robust(report: FuzzReport) -> None:
    print(report.summary())
    assert not report.bugs, report.bugs[:5]
    assert not report.crashes, [{k: v for k, v in c.items() if k != "bytes"}
                                for c in report.crashes[:5]]
    assert not report.hangs, report.hangs[:5]


def test_mutated_model_bytes_fail_cleanly_in_subprocesses() -> None:
    report = fuzz_models(mutated_models(3000, seed=0))
    assert report.cases == 3000
    assert report.outcomes["ModelLoadError"] > 500  # most mutants are refused at load
    assert report.outcomes["ran"] > 100  # and some still load and run
    _assert_robust(report)


def test_the_fuzzer_reports_a_crash_instead_of_dying() -> None:
    # A worker that dies mid-case is recorded as a crash and replaced: the next case still runs.
    valid = models.add()
    worker = _FuzzWorker(1024)
    os.kill(worker.proc.pid, 9)
    worker.proc.wait()
    worker.stop()
    report = fuzz_models(iter([("valid", valid), ("valid", valid)]))
    assert report.outcomes == {"ran": 2}
    crashing = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"
    done = subprocess.run([sys.executable, "-c", crashing], check=False)
    assert done.returncode == -11  # the status fuzz_models records as a crash


@pytest.mark.slow
def test_mutated_model_bytes_long() -> None:
    _assert_robust(fuzz_models(mutated_models(50000, seed=int(time.time()))))


def main() -> int:
    parser = argparse.ArgumentParser(description="Mutation fuzzer for session_from_bytes.")
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="save crashing/hanging models here")
    parser.add_argument("--json", type=Path, help="write the full report as JSON")
    parser.add_argument("--guard", action="store_true",
                        help="call ortsession._prechecks.check_model_bytes before loading")
    args = parser.parse_args()
    report = fuzz_models(mutated_models(args.cases, args.seed), keep=args.keep,
                         guard=args.guard)
    print(report.summary())
    for entry in report.crashes + report.hangs:
        print({k: v for k, v in entry.items() if k != "bytes"})
    kinds = collections.Counter(f"{b['outcome']}: {b['how'].split('/')[1]}" for b in report.bugs)
    for kind, count in kinds.most_common():
        print(f"{count:6}  {kind}")
    if args.json:
        args.json.write_text(json.dumps({
            "cases": report.cases, "seconds": report.seconds, "outcomes": report.outcomes,
            "crashes": report.crashes, "hangs": report.hangs, "bugs": report.bugs}, indent=1))
    return 1 if report.crashes or report.hangs or report.bugs else 0


if __name__ == "__main__":
    sys.exit(main())
