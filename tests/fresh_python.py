"""Run Python code in a fresh interpreter (what ``import ortsession`` loads, lazily or not)."""

from __future__ import annotations

import subprocess
import sys


def output_of(code: str, timeout: float = 120) -> str:
    """Run ``code`` with ``python -c`` and return its stdout; fail the test, showing its stderr,
    when it exits with an error."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout
