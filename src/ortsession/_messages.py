"""The text of ONNX Runtime's messages: cleaned for users, and read for what it says.

ORT's messages carry a status prefix (``[ONNXRuntimeError] : 1 : FAIL :``), C++ source locations
and function signatures; :func:`clean_message` strips them. Pure text: no ORT import.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["clean_message", "is_termination", "status_in_message"]

_PREFIX = re.compile(r"^\s*\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*[A-Z_]+\s*:\s*")
_LOCATION = re.compile(r"(?:[A-Za-z]:)?[\w./\\-]+\.(?:cc|cpp|cxx|h|hpp|cu)\b(?::\d+)?\s*")


def _skip_signature(text: str) -> str:
    """Drop a leading C++ function signature (``void ns::f(const T<U>&) ``, ``<lambda(..)>``)."""
    head = text.split("(", 1)[0]
    if "::" not in head and not head.lstrip().startswith("<lambda"):
        return text
    depth = 0
    seen_call = False
    for i, ch in enumerate(text):
        if ch in "(<":
            depth += 1
        elif ch in ")>":
            depth -= 1
            if depth == 0 and ch == ")":
                seen_call = True
        elif ch == " " and depth == 0 and seen_call:
            return text[i + 1:]
    return text


def clean_message(message: str) -> str:
    """Strip ORT's status prefix, C++ source locations and function signatures."""
    text = _PREFIX.sub("", message.strip())
    parts: list[str] = []
    for piece in _LOCATION.split(text):
        parts.append(_skip_signature(piece) if parts else piece)
    text = re.sub(r"\s{2,}", " ", " ".join(p.strip() for p in parts if p.strip())).strip()
    text = _PREFIX.sub("", text)  # a status behind a location ("x.cc:12 f() [ONNXRuntimeError]")
    return text.rstrip(".") or message.strip()


def is_termination(message: str) -> bool:
    """Tell whether an ORT failure message says the run was stopped by ``terminate()``.

    The one place that recognises it: ORT raises a plain ``Fail`` whose message says it is
    "Exiting due to terminate flag being set to true".
    """
    return "exiting due to terminate flag" in message.lower()


_STATUS_PREFIX: Final = re.compile(r"^\s*\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*([A-Z_]+)\s*:")


def status_in_message(message: str) -> str | None:
    """Return the status code of a message's ``[ONNXRuntimeError] : N : CODE :`` prefix."""
    match = _STATUS_PREFIX.match(message)
    return match[1] if match else None
