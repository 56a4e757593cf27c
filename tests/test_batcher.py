"""``ortsession.Batcher``: concurrent requests stacked along the batch dimension, each caller
getting what its own run returns; bad requests, shapes, shutdown, cancellation and Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from onnx import TensorProto, helper

import models
import ortsession as ort

RNG = np.random.default_rng(11)


def _sample(i: int, rows: int = 1) -> dict[str, np.ndarray]:
    return {"x": RNG.standard_normal((rows, 64)).astype(np.float32),
            "scale": np.full((rows, 1), 0.5 + i, np.float32)}


def _assert_same(got: ort.Outputs, expected: ort.Outputs) -> None:
    assert got.names() == expected.names()
    for a, b in zip(got, expected):
        a_arr, b_arr = a.numpy(), b.numpy()
        assert a_arr.dtype == b_arr.dtype
        assert a_arr.shape == b_arr.shape
        if a_arr.dtype.kind == "f":
            np.testing.assert_allclose(a_arr, b_arr, rtol=1e-5, atol=1e-5)
        else:
            np.testing.assert_array_equal(a_arr, b_arr)


def _in_threads(fn: Callable[[int], Any], n: int) -> list[Any]:
    """Call ``fn(i)`` for i in range(n) from n threads at once; results or exceptions."""
    results: list[Any] = [None] * n
    barrier = threading.Barrier(n)

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except BaseException as exc:  # collected for the test to check
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.fixture(scope="module")
def mlp() -> ort.Session:
    return ort.session_from_bytes(models.mlp())


def test_each_thread_gets_its_own_unbatched_result(mlp: ort.Session) -> None:
    samples = [_sample(i) for i in range(64)]
    with ort.Batcher(mlp, max_batch_size=16, max_delay_ms=20) as batcher:
        results = _in_threads(lambda i: batcher.run(samples[i]), 64)
        for sample, got in zip(samples, results):
            _assert_same(got, mlp.run(sample))
        assert batcher.request_count == 64
        assert batcher.batch_count < 64 / 2  # requests were stacked


def test_each_task_gets_its_own_unbatched_result(mlp: ort.Session) -> None:
    samples = [_sample(i) for i in range(48)]

    async def main() -> list[ort.Outputs]:
        async with ort.Batcher(mlp, max_batch_size=64, max_delay_ms=20) as batcher:
            results = await asyncio.gather(*(batcher.run_async(s) for s in samples))
            assert batcher.batch_count < 10
            return results

    for sample, got in zip(samples, asyncio.run(main())):
        _assert_same(got, mlp.run(sample))


def test_output_names_positional_inputs_and_multi_row_requests(mlp: ort.Session) -> None:
    with ort.Batcher(mlp, max_batch_size=8, max_delay_ms=20) as batcher:
        def call(i: int) -> ort.Outputs:
            s = _sample(i, rows=1 + i % 3)
            got = batcher.run([s["x"], s["scale"]], ["norm", "label"])
            _assert_same(got, mlp.run(s, ["norm", "label"]))
            return got

        results = _in_threads(call, 12)
        assert all(isinstance(r, ort.Outputs) for r in results), results
        assert [r["label"].shape[0] for r in results] == [1 + i % 3 for i in range(12)]


def test_a_bad_request_fails_only_its_own_caller(mlp: ort.Session) -> None:
    bad = {3: {"x": np.ones((1, 65), np.float32), "scale": np.ones((1, 1), np.float32)},
           5: {"x": np.ones((1, 64), np.int32), "scale": np.ones((1, 1), np.float32)},
           7: {"x": np.ones((1, 64), np.float32)},
           9: {"x": np.ones((64,), np.float32), "scale": np.ones((1,), np.float32)},
           11: {"x": np.ones((2, 64), np.float32), "scale": np.ones((1, 1), np.float32)}}
    samples = [bad.get(i, _sample(i)) for i in range(16)]
    with ort.Batcher(mlp, max_batch_size=16, max_delay_ms=20) as batcher:
        results = _in_threads(lambda i: batcher.run(samples[i]), 16)
    for i, got in enumerate(results):
        if i == 11:  # rows that disagree: the batcher's own check
            assert isinstance(got, ort.InputError) and "same number of rows" in str(got)
        elif i in bad:
            with pytest.raises(ort.OrtError) as expected:
                mlp.run(samples[i])
            assert type(got) is type(expected.value)
            assert str(got) == str(expected.value)
        else:
            _assert_same(got, mlp.run(samples[i]))


def _gather_model() -> bytes:
    """``y = Gather(table, idx)``: idx int64 ``[N, 1]`` → y float32 ``[N, 1, 3]``; an index
    outside 0..3 makes ORT fail while running."""
    return models.make(
        [helper.make_node("Gather", ["table", "idx"], ["y"], axis=0)],
        [helper.make_tensor_value_info("idx", TensorProto.INT64, ["N", 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1, 3])],
        initializers=[helper.make_tensor("table", TensorProto.FLOAT, [4, 3],
                                         [float(v) for v in range(12)])])


def test_a_sample_that_makes_ort_fail_fails_only_its_caller() -> None:
    with ort.session_from_bytes(_gather_model()) as s, \
            ort.Batcher(s, max_batch_size=8, max_delay_ms=50) as batcher:
        indices = [i % 4 if i != 2 else 99 for i in range(8)]
        results = _in_threads(lambda i: batcher.run({"idx": [[indices[i]]]}), 8)
        for i, got in enumerate(results):
            if i == 2:
                assert isinstance(got, ort.RunError), got
            else:
                _assert_same(got, s.run({"idx": [[indices[i]]]}))


def _any_width() -> bytes:
    """``y = 2 * x`` with x float32 ``[N, M]``: requests of different widths."""
    return models.make(
        [helper.make_node("Mul", ["x", "two"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "M"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", "M"])],
        initializers=[helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])])


def test_requests_of_different_shapes_are_never_mixed() -> None:
    with ort.session_from_bytes(_any_width()) as s, \
            ort.Batcher(s, max_batch_size=32, max_delay_ms=30) as batcher:
        widths = [2 + i % 3 for i in range(24)]
        results = _in_threads(
            lambda i: batcher.run({"x": np.full((1, widths[i]), i, np.float32)}), 24)
        for i, got in enumerate(results):
            np.testing.assert_array_equal(got["y"].numpy(), np.full((1, widths[i]), 2.0 * i))
        assert batcher.batch_count >= 3


def test_a_sample_without_its_batch_dimension_is_refused_like_run(mlp: ort.Session) -> None:
    sample = {"x": np.ones(64, np.float32), "scale": np.ones(1, np.float32)}
    with ort.Batcher(mlp) as batcher:
        with pytest.raises(ort.InputError) as got:
            batcher.run(sample)
        with pytest.raises(ort.InputError) as expected:
            mlp.run(sample)
        assert str(got.value) == str(expected.value)
    with ort.session_from_bytes(models.with_overridable_initializer()) as s, \
            ort.Batcher(s) as batcher, \
            pytest.raises(ort.InputError, match="'bias' is an overridable initializer"):
        batcher.run({"x": [[1.0, 2.0]], "bias": [[0.0, 0.0]]})


@pytest.mark.parametrize(("model", "match"), [
    (models.two_outputs(), "input 'x' has shape \\[2, 3\\], its first dimension is fixed at 2"),
    (models.sequence_model(), "input 'seq' is a seq"),
    (models.identity(TensorProto.BFLOAT16, ("N", 3)), "bfloat16, a type numpy lacks"),
    (models.optional_model(), "input 'opt' is a"),
    (models.make([helper.make_node("Shape", ["x"], ["s"])],
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
                 [helper.make_tensor_value_info("s", TensorProto.INT64, [2])]),
     "output 's' has shape \\[2\\], its first dimension is fixed at 2"),
    (models.make([helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0)],
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
                 [helper.make_tensor_value_info("s", TensorProto.FLOAT, [])]),
     "output 's' has rank 0"),
], ids=["fixed batch", "sequence", "bfloat16", "optional", "fixed output", "scalar output"])
def test_models_without_a_batch_dimension_are_refused(model: bytes, match: str) -> None:
    with ort.session_from_bytes(model) as s, pytest.raises(ort.InputError, match=match):
        ort.Batcher(s)


def test_a_batch_dimension_fixed_at_one_runs_requests_one_by_one() -> None:
    with ort.session_from_bytes(models.add()) as s, ort.Batcher(s, max_batch_size=8) as batcher:
        assert batcher.max_batch_size == 1
        feeds = [{"x": [[float(i), 1.0]], "bias": [[0.5, -0.5]]} for i in range(6)]
        results = _in_threads(lambda i: batcher.run(feeds[i]), 6)
        for feed, got in zip(feeds, results):
            _assert_same(got, s.run(feed))
        assert batcher.batch_count == 6


@pytest.mark.parametrize("kwargs", [{"max_batch_size": 0}, {"max_batch_size": "8"},
                                    {"max_batch_size": True}, {"max_delay_ms": -1},
                                    {"max_delay_ms": "2"}])
def test_bad_settings(mlp: ort.Session, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ort.OptionError, match=next(iter(kwargs))):
        ort.Batcher(mlp, **kwargs)
    with pytest.raises(ort.InputError, match="expected a Session"):
        ort.Batcher("model.onnx")  # type: ignore[arg-type]


def _queue_then(batcher: ort.Batcher, n: int) -> list[threading.Thread]:
    """Start n callers whose requests wait in the queue (the batcher has a long delay)."""
    results: list[Any] = []

    def caller(i: int) -> None:
        try:
            results.append(batcher.run(_sample(i)))
        except ort.OrtError as exc:
            results.append(exc)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 5
    while sum(len(g.requests) for g in list(batcher._groups.values())) < n:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    batcher.results = results  # type: ignore[attr-defined]
    return threads


def test_close_drains_queued_requests_at_once(mlp: ort.Session) -> None:
    batcher = ort.Batcher(mlp, max_batch_size=64, max_delay_ms=60_000)
    threads = _queue_then(batcher, 5)
    start = time.perf_counter()
    batcher.close()
    assert time.perf_counter() - start < 5  # not the 60 s delay
    for t in threads:
        t.join()
    assert all(isinstance(r, ort.Outputs) for r in batcher.results)  # type: ignore[attr-defined]
    assert batcher.batch_count == 1
    with pytest.raises(ort.StateError, match="closed"):
        batcher.run(_sample(0))
    batcher.close()  # idempotent


def test_close_without_draining_fails_queued_requests(mlp: ort.Session) -> None:
    batcher = ort.Batcher(mlp, max_batch_size=64, max_delay_ms=60_000)
    threads = _queue_then(batcher, 4)
    batcher.close(drain=False)
    for t in threads:
        t.join()
    results = batcher.results  # type: ignore[attr-defined]
    assert len(results) == 4
    assert all(isinstance(r, ort.StateError) and "closed before" in str(r) for r in results)
    assert batcher.batch_count == 0


def test_leaving_the_block_on_an_exception_fails_queued_requests(mlp: ort.Session) -> None:
    batcher = ort.Batcher(mlp, max_delay_ms=60_000)
    threads: list[threading.Thread] = []

    def serve() -> None:
        with batcher:
            threads.extend(_queue_then(batcher, 2))
            raise KeyError("boom")

    with pytest.raises(KeyError):
        serve()
    for t in threads:
        t.join()
    assert all(isinstance(r, ort.StateError) for r in batcher.results)  # type: ignore[attr-defined]


def test_cancelled_task_drops_its_queued_request(mlp: ort.Session) -> None:
    async def main() -> None:
        batcher = ort.Batcher(mlp, max_delay_ms=300)
        task = asyncio.create_task(batcher.run_async(_sample(0)))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        sample = _sample(1)
        _assert_same(await batcher.run_async(sample), mlp.run(sample))
        await batcher.aclose()
        assert batcher.request_count == 1  # the cancelled request never ran

    asyncio.run(main())


def test_ctrl_c_interrupts_a_waiting_caller(mlp: ort.Session) -> None:
    batcher = ort.Batcher(mlp, max_delay_ms=60_000)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))  # a real Ctrl-C, once waiting
    timer.start()
    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        batcher.run(_sample(0))
    assert time.perf_counter() - start < 5
    batcher.close()
    assert batcher.request_count == 0  # the interrupted request was dropped, not run


def test_closed_session_fails_the_batch(mlp: ort.Session) -> None:
    s = ort.session_from_bytes(models.mlp())
    batcher = ort.Batcher(s, max_delay_ms=1)
    s.close()
    with pytest.raises(ort.StateError, match="closed"):
        batcher.run(_sample(0))
    batcher.close()
    assert "closed" in repr(batcher)


def test_string_tensors_are_stacked_too() -> None:
    with ort.session_from_bytes(models.string_model()) as s, \
            ort.Batcher(s, max_delay_ms=20) as batcher:
        feeds = [{"x": [f"abc{i}"] * (1 + i % 2)} for i in range(6)]
        results = _in_threads(lambda i: batcher.run(feeds[i]), 6)
        for feed, got in zip(feeds, results):
            assert got["upper"].to_table() == s.run(feed)["upper"].to_table()
            assert got["y"].to_table() == feed["x"]
