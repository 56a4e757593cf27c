"""Thread safety: many threads on one session agree with serial runs; ORT runs without the GIL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import models
import ortsession as ort
import ortsession.models as bundled

THREADS = 8
RUNS = 150


def _run_threads(work: Callable[[int], None], count: int = THREADS) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def wrapped(k: int) -> None:
        try:
            barrier.wait()
            work(k)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(k,)) for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    if errors:
        raise errors[0]


@pytest.fixture(scope="module")
def classifier() -> ort.Session:
    return ort.session(bundled.path("demo/classifier.onnx"))


def _batches() -> list[np.ndarray]:
    rng = np.random.default_rng(42)
    return [rng.standard_normal((int(rng.integers(1, 9)), 4)).astype(np.float32)
            for _ in range(THREADS * 4)]


def test_concurrent_runs_match_serial_runs(classifier: ort.Session) -> None:
    batches = _batches()
    serial = [classifier.run({"input": b})["probabilities"].numpy().copy() for b in batches]
    results: dict[tuple[int, int], np.ndarray] = {}

    def work(k: int) -> None:
        for i in range(RUNS):
            j = (k * 7 + i) % len(batches)
            out = classifier.run([batches[j]])
            results[(k, i)] = out["probabilities"].numpy()
            np.testing.assert_array_equal(out["probabilities"].numpy(), serial[j])

    _run_threads(work)
    assert len(results) == THREADS * RUNS


def test_concurrent_run_into_and_bindings(classifier: ort.Session) -> None:
    batches = _batches()
    serial = [classifier.run({"input": b})["probabilities"].numpy().copy() for b in batches]

    def work(k: int) -> None:
        mode = k % 3
        for i in range(RUNS):
            j = (k * 5 + i) % len(batches)
            batch = batches[j]
            if mode == 0:
                out = classifier.run({"input": batch}, ["probabilities"])["probabilities"]
            elif mode == 1:
                target = ort.tensor("float32", [batch.shape[0], 3])
                out = classifier.run_into({"input": batch}, {"probabilities": target})[0]
                assert out is target
            else:
                binding = classifier.create_io_binding()
                binding.bind_input("input", batch)
                binding.bind_output("probabilities")
                out = classifier.run_with_iobinding(binding)[0]
            np.testing.assert_array_equal(out.numpy(), serial[j])

    _run_threads(work)


def test_concurrent_cached_run_into(classifier: ort.Session) -> None:
    """Each thread repeats run_into with its own objects: each keeps its own cached binding."""

    def work(k: int) -> None:
        x = np.zeros((2, 4), np.float32)
        y = ort.tensor("float32", [2, 3])
        ptr = y.numpy().ctypes.data
        for i in range(RUNS):
            x[...] = (k * RUNS + i) % 5
            classifier.run_into({"input": x}, {"probabilities": y})
            assert y.numpy().ctypes.data == ptr
            expected = classifier.run({"input": x})["probabilities"].numpy()
            np.testing.assert_array_equal(y.numpy(), expected)

    _run_threads(work)


@pytest.fixture(scope="module")
def slow() -> ort.Session:
    return ort.session_from_bytes(models.slow_model(0.8), intra_op_num_threads=1,
                                  inter_op_num_threads=1)


@pytest.mark.parametrize("form", ["run", "run_into", "run_with_iobinding"])
def test_the_gil_is_released_while_ort_runs(slow: ort.Session, form: str) -> None:
    x = np.full((models.SLOW_SIZE, models.SLOW_SIZE), 0.01, np.float32)
    y = ort.tensor("float32", [models.SLOW_SIZE, models.SLOW_SIZE])
    binding = slow.create_io_binding()
    binding.bind_input("x", x)
    binding.bind_output("y", y)
    calls: dict[str, Callable[[], Any]] = {
        "run": lambda: slow.run({"x": x}),
        "run_into": lambda: slow.run_into({"x": x}, {"y": y}),
        "run_with_iobinding": lambda: slow.run_with_iobinding(binding),
    }
    done = threading.Event()
    elapsed: list[float] = []

    def work() -> None:
        begin = time.perf_counter()
        calls[form]()
        elapsed.append(time.perf_counter() - begin)
        done.set()

    worker = threading.Thread(target=work)
    worker.start()
    time.sleep(0.05)  # let the run start
    counter = 0
    ticks = 0
    begin = time.perf_counter()
    while not done.is_set():
        counter += 1
        if counter % 10_000 == 0:
            ticks += 1
    counted_for = time.perf_counter() - begin
    worker.join()
    assert elapsed[0] > 0.3, "the slow model ran too fast to tell"
    # A held GIL would freeze this loop for the whole run; released, it counts all along.
    assert counted_for > 0.2
    assert counter / counted_for > 100_000, f"{counter} increments in {counted_for:.2f} s"


def test_closing_while_another_thread_runs() -> None:
    s = ort.session_from_bytes(models.slow_model(0.5), intra_op_num_threads=1)
    x = np.full((models.SLOW_SIZE, models.SLOW_SIZE), 0.01, np.float32)
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            result["y"] = s.run({"x": x})["y"]
        except BaseException as exc:
            result["error"] = exc

    worker = threading.Thread(target=work)
    worker.start()
    time.sleep(0.1)
    s.close()  # the run in progress finishes normally
    worker.join()
    assert "error" not in result, result
    assert result["y"].shape == (models.SLOW_SIZE, models.SLOW_SIZE)
    with pytest.raises(ort.StateError):
        s.run({"x": x})
