"""Resources over time (docs/robustness.md): memory stays flat over many runs and many sessions,
and ``run_into`` writes into the caller's buffers without allocating outputs.

The default selection runs short versions (a few seconds each); the ``slow`` ones (``make soak``)
run the full counts: 100 000 runs of the tiny model, 2 000 of a real CNN (light shufflenet), 1 000
sessions opened and closed. RSS is read with psutil after a warm-up and at the end; growth must
stay under 5 %. Each test prints its figures (``pytest -s``).
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from typing import Any

import ml_dtypes
import numpy as np
import psutil
import pytest

import models
import ortsession as ort

GROWTH = 0.05
"""Largest RSS growth allowed after the warm-up (5 %)."""


def _rss() -> int:
    gc.collect()
    return int(psutil.Process().memory_info().rss)


def _soak(call: Callable[[], Any], runs: int, what: str, warmup: int | None = None) -> None:
    """Call ``call`` ``warmup`` times, then ``runs`` times; RSS must grow less than GROWTH."""
    for _ in range(warmup if warmup is not None else max(runs // 10, 50)):
        call()
    before = _rss()
    for _ in range(runs):
        call()
    after = _rss()
    growth = (after - before) / before
    print(f"\n{what}: {runs} calls, RSS {before / 2**20:.1f} -> {after / 2**20:.1f} MiB "
          f"({growth:+.2%}, {(after - before) / runs:+.1f} B/call)")
    assert growth < GROWTH, f"{what}: RSS grew {growth:.1%} over {runs} calls"


# ---------------------------------------------------------------------------------------------
# many runs of one session


@pytest.fixture(scope="module")
def tiny() -> ort.Session:
    return ort.session_from_bytes(models.add())


def _tiny_run(s: ort.Session) -> Callable[[], Any]:
    x = np.array([[1.0, 2.0]], np.float32)
    bias = np.array([[0.5, -0.5]], np.float32)

    def call() -> None:
        out = s.run({"x": x, "bias": bias})
        assert out[0].numpy()[0, 0] == 1.5

    return call


def test_tiny_model_runs_in_flat_memory(tiny: ort.Session) -> None:
    _soak(_tiny_run(tiny), 5_000, "tiny model, run()")


@pytest.mark.slow
def test_tiny_model_runs_in_flat_memory_long(tiny: ort.Session) -> None:
    _soak(_tiny_run(tiny), 100_000, "tiny model, run()", warmup=2_000)


def _light_run() -> tuple[ort.Session, Callable[[], Any]]:
    path, inputs, expected = models.light_model("shufflenet")
    s = ort.session(path)
    feed = dict(zip(s.input_names(), inputs))
    rtol, atol = models.light_model_tolerance("shufflenet")

    def call() -> None:
        out = s.run(feed)
        assert out[0].shape == expected[0].shape

    np.testing.assert_allclose(s.run(feed)[0].numpy(), expected[0], rtol=rtol, atol=atol)
    return s, call


def test_real_model_runs_in_flat_memory() -> None:
    s, call = _light_run()
    with s:
        _soak(call, 100, "light shufflenet, run()", warmup=10)


@pytest.mark.slow
def test_real_model_runs_in_flat_memory_long() -> None:
    s, call = _light_run()
    with s:
        _soak(call, 2_000, "light shufflenet, run()", warmup=100)


def _every_value_kind() -> Callable[[], Any]:
    """One call feeding and fetching strings, sequences, maps, optionals, bfloat16 and int4
    (the IO-binding route for the types numpy lacks)."""
    strings = ort.session_from_bytes(models.string_model())
    sequences = ort.session_from_bytes(models.sequence_model())
    maps = ort.session_from_bytes(models.map_model())
    optionals = ort.session_from_bytes(models.optional_model())
    bf16 = ort.session_from_bytes(models.identity(int(ort.ElementType.BFLOAT16)))
    int4 = ort.session_from_bytes(models.identity(int(ort.ElementType.INT4)))
    words = np.array(["abc", "Hello wOrld", "é"], dtype=object)
    seq = [np.ones(3, np.float32), np.zeros(2, np.float32)]
    x = np.arange(3, dtype=np.float32)
    empty = ort.optional(None, optionals.input_info("opt"))
    b = np.arange(6, dtype=np.float32).reshape(2, 3).astype(ml_dtypes.bfloat16)
    i4 = np.array([[-8, 7, 0], [1, -1, 5]], ml_dtypes.int4)

    def call() -> None:
        assert strings.run({"x": words})["upper"].tolist()[1] == "HELLO WORLD"
        assert sequences.run({"seq": seq, "x": x})["length"].tolist() == 3
        assert maps.run({"features": {"a": 1.0, "c": 3.0}})["zipped"][0]["c"] == 3.0
        assert optionals.run({"opt": empty})["passthrough"] is None
        assert optionals.run({"opt": x})["value"].tolist() == [0.0, 1.0, 2.0]
        assert bf16.run({"x": b})["y"].numpy()[1, 2] == 5
        assert int4.run({"x": i4})["y"].numpy()[0, 0] == -8

    return call


def test_every_value_kind_runs_in_flat_memory() -> None:
    _soak(_every_value_kind(), 1_000, "strings/sequences/maps/optionals/bfloat16/int4")


@pytest.mark.slow
def test_every_value_kind_runs_in_flat_memory_long() -> None:
    _soak(_every_value_kind(), 20_000, "strings/sequences/maps/optionals/bfloat16/int4",
          warmup=1_000)


# ---------------------------------------------------------------------------------------------
# many sessions


def _open_close() -> Callable[[], Any]:
    model = models.add()
    x = np.array([[1.0, 2.0]], np.float32)

    def call() -> None:
        with ort.session_from_bytes(model) as s:
            s.run({"x": x, "bias": x})
            binding = s.create_io_binding()
            binding.bind_input("x", x)
            binding.bind_input("bias", x)
            binding.bind_output("y")
            s.run_with_iobinding(binding)

    return call


def test_sessions_open_and_close_in_flat_memory() -> None:
    _soak(_open_close(), 100, "session open/run/close", warmup=30)


@pytest.mark.slow
def test_sessions_open_and_close_in_flat_memory_long() -> None:
    _soak(_open_close(), 1_000, "session open/run/close", warmup=100)


# ---------------------------------------------------------------------------------------------
# run_into: no output allocation per run


def _into_check(runs: int) -> None:
    side = 512  # a 1 MiB float32 output: an allocation per run would show at once
    s = ort.session_from_bytes(models.add((side, side)))
    x = np.ones((side, side), np.float32)
    bias = np.full((side, side), 0.5, np.float32)
    y = ort.tensor("float32", [side, side])
    pointer = y.numpy().ctypes.data
    inputs = {"x": x, "bias": bias}
    outputs = {"y": y}
    for _ in range(10):
        s.run_into(inputs, outputs)
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for i in range(runs):
            x[0, 0] = i  # ORT reads the caller's input buffer too
            out = s.run_into(inputs, outputs)
            assert out["y"] is y
            assert out["y"].numpy().ctypes.data == pointer
            assert y.numpy()[0, 0] == i + 0.5
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"\nrun_into: {runs} runs into one 1 MiB output: traced Python memory "
          f"{before} -> {after} B, peak +{peak - before} B")
    assert peak - before < x.nbytes // 4, "run_into allocated an output-sized buffer"
    assert after - before < 64 * 1024
    s.close()


def test_run_into_allocates_no_output() -> None:
    _into_check(2_000)


@pytest.mark.slow
def test_run_into_allocates_no_output_long() -> None:
    _into_check(100_000)
