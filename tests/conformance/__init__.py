"""Conformance of ``ortsession`` against the ONNX backend test corpus (see ``runner.py``)."""
