"""The Lua front end: scripts written against the reference module run unchanged.

A Lua 5.4 host (via ``lupa``, the ``lua`` extra) in which ``require("onnxruntime")`` is the
reference session module, built over the public Python API::

    from ortsession.lua import run_script

    exit_code = run_script("script.lua", ["arg1"])  # as ``ortsession lua script.lua arg1``

Lua conventions: ``:`` method calls, 1-based indices (``session:input_info(1)``, ``outputs[1]``,
``tensor:to_table()[1]``), Lua tables for options, shapes, data, type info, metadata and memory
info, outputs keyed by position and by name (``outputs[1] == outputs.y``), and ``value, err``: a
foreseeable failure returns ``nil`` and the error message instead of raising. See
``docs/lua.md`` for the mapping between the Lua and Python APIs.
"""

from __future__ import annotations

from ._host import default_home, example_path, new_runtime, run_script, run_source, to_python
from ._ops_bridge import set_screen

__all__ = [
    "default_home",
    "example_path",
    "new_runtime",
    "run_script",
    "run_source",
    "set_screen",
    "to_python",
]
