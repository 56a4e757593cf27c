"""Shared pytest set-up.

``tests/`` is not a package: pytest's default ``prepend`` import mode puts this folder on
``sys.path``; it is added here explicitly too, so ``import models`` (the model builders of
``tests/models.py``) works from every test file and from helpers run outside pytest.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))


@pytest.fixture(scope="session")
def demo_model_path() -> str:
    """Absolute path of the bundled demo model (``y = x + bias``, float32 ``[1, 2]``)."""
    from ortsession import models as bundled

    return bundled.path("demo/model.onnx")


@pytest.fixture
def demo(demo_model_path: str) -> Any:
    """A fresh session on the bundled demo model (closed or not, it is the test's own)."""
    import ortsession

    return ortsession.session(demo_model_path)


# --- an ONNX Runtime older than the one the suite is written against (docs/compatibility.md) ---
# The suite pins what ONNX Runtime 1.32 does. An older ORT lacks element types (int2, float4,
# float8e8m0), opsets and IR versions, and binding features: ortsession then raises a clean
# OrtError saying so (ModelLoadError from ORT, or "... is not available with onnxruntime X").
# With such an ORT, and only then, a test that meets one of those clean refusals is reported as
# skipped with the refusal as its reason. A non-OrtError escaping ortsession still fails.
_LACKS = (
    "Unsupported model IR version", "Could not find an implementation for",
    "is not a registered function/op", "not currently registered or supported",
    "Invalid tensor data type", "is not available with onnxruntime",
    "cannot be handed to onnxruntime", "Unrecognized attribute",
)


def _older_ort() -> bool:
    from ortsession import _engine

    return tuple(int(p) for p in _engine.ort_version().split(".")[:2]) < (1, 32)


def _older_ort_lacks(exc: BaseException) -> str:
    """The skip reason when ``exc`` is such a clean refusal of an older ORT, else ``""``."""
    import ortsession
    from ortsession import _engine

    text = str(exc)
    if isinstance(exc, ortsession.OrtError) and _older_ort() and any(s in text for s in _LACKS):
        return f"onnxruntime {_engine.ort_version()} lacks it: {text[:300]}"
    return ""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed and call.excinfo is not None:
        reason = _older_ort_lacks(call.excinfo.value)
        if reason:  # in the test or in a fixture it uses
            report.outcome = "skipped"
            report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {reason}")
    return report
