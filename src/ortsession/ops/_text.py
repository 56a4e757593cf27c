"""Text recognition and language-model logits: CTC greedy decoding, sampling."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np

from ortsession._errors import OptionError

from ._common import (
    Array,
    float_array,
    merge_options,
    opt_bool,
    opt_float,
    opt_int,
    show,
)

__all__ = ["ctc_greedy_decode", "sample_logits"]

_CTC_OPTIONS: Final = frozenset({"blank_index", "merge_repeated", "apply_softmax",
                                 "return_probabilities", "charset"})
_SAMPLE_OPTIONS: Final = frozenset({"argmax", "temperature", "top_k", "top_p", "min_p", "seed"})


def _charset(value: Any, classes: int, blank: int) -> list[str]:
    """Return the class-to-text table (``classes`` entries; the blank gets ``""``)."""
    if isinstance(value, str):
        chars: list[str] = list(value)
    elif isinstance(value, Sequence) and all(isinstance(c, str) for c in value):
        chars = list(value)
    else:
        raise OptionError(f"ctc_greedy_decode: option charset must be a string or a list of "
                          f"strings, got {show(value)}")
    if len(chars) == classes:
        return chars
    if len(chars) == classes - 1:
        return [*chars[:blank], "", *chars[blank:]]
    raise OptionError(f"ctc_greedy_decode: option charset has {len(chars)} entries; the logits "
                      f"have {classes} classes, so it needs {classes} (one per class) or "
                      f"{classes - 1} (every class but the blank)")


def ctc_greedy_decode(logits: Any, opts: Mapping[str, Any] | None = None, /,
                      **fields: Any) -> Any:
    """Greedy (best path) CTC decoding of ``[T, C]`` or ``[N, T, C]`` logits.

    The best class of each step is taken; repeats are merged (``merge_repeated``, default
    ``True``) and blanks (``blank_index``, default 0) dropped.

    Options: ``apply_softmax`` (softmax the logits first: confidences are probabilities),
    ``return_probabilities`` (also return each character's probability; without
    ``apply_softmax`` the values are taken as probabilities already), ``charset`` (a string,
    one character per class, or a list of strings; ``C`` entries, or ``C - 1`` when the blank
    has none).

    Returns:
        For ``[T, C]`` a dict: ``indices`` (the kept classes, 0-based), ``text`` (with a
        charset), ``confidence`` (mean probability of the kept characters; with softmax or
        probabilities; 0 for an empty result), ``probabilities`` and ``probability_confidence``
        (their product) with ``return_probabilities``. For ``[N, T, C]`` a list of such dicts.
    """
    where = "ctc_greedy_decode"
    o = merge_options(opts, fields, where, _CTC_OPTIONS)
    x = float_array(logits, "logits", ndim=(2, 3))
    classes = x.shape[-1]
    if classes == 0:
        raise OptionError(f"{where}: logits must have at least one class, got {show(x)}")
    blank = opt_int(o, "blank_index", 0, where, low=0)
    assert blank is not None
    if blank >= classes:
        raise OptionError(f"{where}: option blank_index {blank} is not a class of the "
                          f"{classes} the logits have")
    merge = opt_bool(o, "merge_repeated", True, where)
    softmax = opt_bool(o, "apply_softmax", False, where)
    want_p = opt_bool(o, "return_probabilities", False, where)
    chars = _charset(o["charset"], classes, blank) if "charset" in o else None
    batch = x if x.ndim == 3 else x[None]
    best = np.argmax(batch, axis=2)
    conf = None
    if softmax or want_p:
        top = np.take_along_axis(batch, best[..., None], axis=2)[..., 0]
        conf = 1.0 / np.sum(np.exp(batch - top[..., None]), axis=2) if softmax else top
    keep = best != blank
    if merge:
        keep[:, 1:] &= best[:, 1:] != best[:, :-1]
    results = []
    for n in range(batch.shape[0]):  # one result per sequence; the steps are vectorised
        k = keep[n]
        idx = best[n][k]
        r: dict[str, Any] = {"indices": idx.astype(np.int64)}
        if chars is not None:
            r["text"] = "".join(chars[i] for i in idx.tolist())
        if conf is not None:
            probs = conf[n][k].astype(np.float64)
            r["confidence"] = float(probs.mean()) if probs.size else 0.0
            if want_p:
                r["probabilities"] = probs.astype(np.float32)
                r["probability_confidence"] = float(np.prod(probs)) if probs.size else 0.0
        results.append(r)
    return results if x.ndim == 3 else results[0]


_DEFAULT_RNG: Final = np.random.default_rng()


def sample_logits(logits: Any, opts: Mapping[str, Any] | None = None, /,
                  **fields: Any) -> Any:
    """Pick a token from logits: one index for ``[C]``, an int64 index per row otherwise.

    Options: ``argmax`` (greedy), ``temperature`` (> 0, default 1), ``top_k`` (keep the k
    best; 0 = all), ``top_p`` (nucleus: the smallest set whose probability reaches p),
    ``min_p`` (drop tokens below ``min_p`` x the best probability), ``seed`` (reproducible).
    Indices are 0-based.
    """
    where = "sample_logits"
    o = merge_options(opts, fields, where, _SAMPLE_OPTIONS)
    x = float_array(logits, "logits").astype(np.float64)
    if x.ndim == 0 or x.shape[-1] == 0:
        raise OptionError(f"{where}: logits must have at least one class, got {show(x)}")
    single = x.ndim == 1
    rows = x.reshape(-1, x.shape[-1])
    if opt_bool(o, "argmax", False, where):
        picked = np.argmax(rows, axis=1)
    else:
        temp = opt_float(o, "temperature", 1.0, where, low=0.0, low_open=True)
        top_k = opt_int(o, "top_k", 0, where, low=0) or 0
        top_p = opt_float(o, "top_p", 1.0, where, low=0.0, high=1.0, low_open=True)
        min_p = opt_float(o, "min_p", 0.0, where, low=0.0, high=1.0)
        seed = opt_int(o, "seed", None, where, low=0)
        rng = _DEFAULT_RNG if seed is None else np.random.default_rng(seed)
        z = rows / temp
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        order = np.argsort(-p, axis=1, kind="stable")
        sp = np.take_along_axis(p, order, axis=1)
        mask = np.ones_like(sp, dtype=bool)
        if top_k:
            mask[:, top_k:] = False
        if top_p < 1.0:
            before = np.cumsum(sp, axis=1) - sp
            mask &= before < top_p
        if min_p > 0:
            mask &= sp >= min_p * sp[:, :1]
        mask[:, 0] = True
        sp = np.where(mask, sp, 0.0)
        cdf = np.cumsum(sp, axis=1)
        u = rng.random(rows.shape[0]) * cdf[:, -1]
        pos = np.minimum((cdf < u[:, None]).sum(axis=1), rows.shape[1] - 1)
        picked = order[np.arange(rows.shape[0]), pos]
    if single:
        return int(picked[0])
    out: Array = picked.astype(np.int64).reshape(x.shape[:-1])
    return out
