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
