"""A fast, deterministic sample of the conformance corpus (``runner.sample_cases``), run through
``ortsession`` and through plain onnxruntime, in worker processes.

The full run (every case, ``docs/conformance.md``) is ``make conformance``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from . import runner


@dataclass
class Sample:
    corpus: list[runner.Case]
    cases: list[runner.Case]
    ours: dict[str, runner.Result]
    raw: dict[str, runner.Result]


@pytest.fixture(scope="module")
def sample() -> Sample:
    corpus = runner.collect_cases()
    cases = runner.sample_cases(corpus)
    ours = runner.run_cases(cases, "ours", jobs=2, timeout=60)
    raw = runner.run_cases(cases, "raw", jobs=2, timeout=60)
    return Sample(corpus, cases, {r.id: r for r in ours}, {r.id: r for r in raw})


def test_the_corpus_is_complete(sample: Sample) -> None:
    node = [c for c in sample.corpus if c.source == "node"]
    assert len(node) == 1884
    assert {c.source for c in sample.corpus} == set(runner.SOURCES)


def test_the_sample_covers_every_element_type_and_value_kind(sample: Sample) -> None:
    assert 150 <= len(sample.cases) <= 250
    assert {c.source for c in sample.cases} >= set(runner.SOURCES) - {"light"}
    for attr in ("element_types", "kinds"):
        everywhere = {f for c in sample.corpus for f in getattr(c, attr)}
        sampled = {f for c in sample.cases for f in getattr(c, attr)}
        assert sampled == everywhere, f"{attr} missing from the sample: {everywhere - sampled}"
    assert runner.sample_cases(sample.corpus) == sample.cases  # deterministic


def test_every_case_has_a_result_on_both_engines(sample: Sample) -> None:
    ids = [c.id for c in sample.cases]
    assert list(sample.ours) == ids
    assert list(sample.raw) == ids


def test_nothing_but_orterror_escapes_and_nothing_crashes(sample: Sample) -> None:
    bad = {i: f"{r.status}: {r.detail}" for i, r in sample.ours.items()
           if r.status in ("exception", "crash", "timeout")}
    assert not bad


def test_ortsession_passes_wherever_plain_onnxruntime_passes(sample: Sample) -> None:
    lost = {i: f"{sample.ours[i].status}: {sample.ours[i].detail}"
            for i, r in sample.raw.items() if r.status == "pass" and sample.ours[i].status != "pass"}
    assert not lost


def test_ortsession_passes_what_the_raw_binding_cannot_feed_or_return(sample: Sample) -> None:
    unsupported = [i for i, r in sample.raw.items() if r.status == "unsupported"]
    assert unsupported, "the sample should hold bfloat16/float8/int4 cases"
    failed = {i: f"{sample.ours[i].status}: {sample.ours[i].detail}" for i in unsupported
              if sample.ours[i].status != "pass"}
    assert not failed


def test_every_failure_is_an_onnxruntime_limitation(sample: Sample) -> None:
    for case_id, result in sample.ours.items():
        if result.status == "pass":
            continue
        assert result.status in ("rejected", "mismatch", "error"), (case_id, result)
        assert sample.raw[case_id].status == result.status, (case_id, result,
                                                            sample.raw[case_id])
        assert runner.ort_limitation(case_id, result.detail), (
            f"{case_id} fails ({result.status}: {result.detail}) with no known ORT limitation")


def test_compare_reports_the_first_difference() -> None:
    import numpy as np

    f = np.array([1.0, np.nan, np.inf], np.float32)
    assert runner.compare(f, f.copy(), 1e-3, 1e-7) == ""
    assert "element type" in runner.compare(f, f.astype(np.float64), 1e-3, 1e-7)
    assert "shape" in runner.compare(f[:2], f, 1e-3, 1e-7)
    g = f.copy()
    g[0] = 1.01
    assert "1 of 3 values differ" in runner.compare(g, f, 1e-3, 1e-7)
    assert runner.compare([f, None], [f, None], 1e-3, 1e-7) == ""
    assert "sequence length" in runner.compare([f], [f, f], 1e-3, 1e-7)
    assert "output[1]" in runner.compare([f, f], [f, None], 1e-3, 1e-7)
    assert "map keys" in runner.compare({"a": 1.0}, {"b": 1.0}, 1e-3, 1e-7)
    strings = np.array(["a", "é"], dtype=object)
    assert runner.compare(strings, strings.copy(), 0, 0) == ""
    assert "element 1" in runner.compare(strings, np.array(["a", "e"], dtype=object), 0, 0)


def test_the_model_guard_accepts_every_corpus_model(sample: Sample) -> None:
    from ortsession._guard import check_model_bytes

    for case in sample.corpus:
        check_model_bytes(case.model, case.id)
