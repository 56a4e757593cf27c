"""CTC greedy decoding on hand-built logits, and logit sampling."""

from __future__ import annotations

import numpy as np
import pytest

import ortsession as ort
import ortsession.ops as ops


def logits_for(path: list[int], classes: int, high: float = 6.0) -> np.ndarray:
    """Logits whose best class at step t is path[t]."""
    x = np.zeros((len(path), classes), dtype=np.float32)
    x[np.arange(len(path)), path] = high
    return x


def test_ctc_merges_repeats_and_drops_blanks() -> None:
    x = logits_for([1, 1, 0, 1, 2, 2, 0, 0, 3], 4)
    r = ops.ctc_greedy_decode(x)
    assert r["indices"].tolist() == [1, 1, 2, 3]
    assert set(r) == {"indices"}
    assert ops.ctc_greedy_decode(x, merge_repeated=False)["indices"].tolist() == [
        1, 1, 1, 2, 2, 3]
    assert ops.ctc_greedy_decode(x, blank_index=3)["indices"].tolist() == [1, 0, 1, 2, 0]


def test_ctc_charset_and_confidence() -> None:
    x = logits_for([1, 0, 2, 2, 3], 4)
    r = ops.ctc_greedy_decode(x, charset="abc", apply_softmax=True)
    assert r["text"] == "abc"
    p = np.exp(6) / (np.exp(6) + 3)
    assert r["confidence"] == pytest.approx(p)
    full = ops.ctc_greedy_decode(x, charset=["<b>", "a", "b", "c"])
    assert full["text"] == "abc"
    probs = np.full((3, 3), 0.1, dtype=np.float32)
    probs[[0, 1, 2], [1, 2, 1]] = [0.8, 0.6, 0.5]
    r = ops.ctc_greedy_decode(probs, return_probabilities=True, charset="xy")
    assert r["text"] == "xyx"
    assert r["probabilities"].tolist() == pytest.approx([0.8, 0.6, 0.5])
    assert r["confidence"] == pytest.approx(np.mean([0.8, 0.6, 0.5]))
    assert r["probability_confidence"] == pytest.approx(0.8 * 0.6 * 0.5)
    with pytest.raises(ort.OptionError, match=r"needs 4 .* or 3"):
        ops.ctc_greedy_decode(x, charset="ab")


def test_ctc_batch_and_real_size() -> None:
    x = np.stack([logits_for([1, 2], 3), logits_for([0, 0], 3)])
    r = ops.ctc_greedy_decode(x, charset="ab")
    assert [d["text"] for d in r] == ["ab", ""]
    big = np.random.default_rng(0).normal(size=(1, 80, 6625)).astype(np.float32)
    res = ops.ctc_greedy_decode(big, apply_softmax=True)[0]
    best = big[0].argmax(axis=1)
    keep = (best != 0) & np.r_[True, best[1:] != best[:-1]]
    assert res["indices"].tolist() == best[keep].tolist()
    with pytest.raises(ort.OptionError, match="blank_index 9"):
        ops.ctc_greedy_decode(x, blank_index=9)


def test_sample_logits() -> None:
    x = np.array([0.0, 5.0, 1.0])
    assert ops.sample_logits(x, argmax=True) == 1
    assert ops.sample_logits(x, top_k=1, seed=3) == 1
    assert ops.sample_logits(np.stack([x, x[::-1]]), argmax=True).tolist() == [1, 1]
    draws = [ops.sample_logits(x, seed=s, temperature=100.0) for s in range(200)]
    assert set(draws) == {0, 1, 2}  # a high temperature flattens the distribution
    assert {ops.sample_logits(x, seed=s, top_p=0.5) for s in range(50)} == {1}
    assert {ops.sample_logits(x, seed=s, min_p=0.5) for s in range(50)} == {1}
    assert ops.sample_logits(x, seed=5) == ops.sample_logits(x, seed=5)
    rows = ops.sample_logits(np.zeros((4, 10)), seed=1)
    assert rows.dtype == np.int64 and rows.shape == (4,)
    with pytest.raises(ort.OptionError, match="temperature must be > 0"):
        ops.sample_logits(x, temperature=0)
