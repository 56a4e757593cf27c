"""The exception hierarchy of ``ortsession``.

Every failure the package can foresee raises a subclass of :class:`OrtError`. Where a builtin
exception fits, the class also derives from it, so ``except ValueError`` keeps working::

    OrtError (RuntimeError)
    ├── OptionError (ValueError)         a session/run/configure option is unknown or invalid
    ├── ElementTypeError (ValueError)    an element type name or dtype is not supported
    ├── TensorError (ValueError)         tensor data does not fit its type or shape
    ├── StateError                       the object is closed or rebuilt, or it is too late
    ├── ProviderError                    an execution provider is unavailable or failed to start
    ├── ModelLoadError                   the model file/bytes cannot be read or loaded by ORT
    ├── CustomOpLibraryError             a custom-op library cannot be found or loaded
    ├── InputError (ValueError)          run inputs/outputs do not match the model
    ├── NotFoundError (KeyError, IndexError)  no input/output/entry has that name/index
    └── RunError                         ORT failed while running the model
        └── TerminatedError              the run was stopped by ``RunOptions.terminate()``

ORT's own exceptions are translated in exactly one place (``_engine.Mapped``); the original ORT
message, cleaned of C++ file paths and status prefixes, follows the package's message after a colon,
and the ORT exception stays attached as ``__cause__``.

``OrtError.code`` keeps ORT's status code when ORT raised the failure: the name of ORT's
``OrtErrorCode`` without its ``ORT_`` prefix — ``"FAIL"``, ``"INVALID_ARGUMENT"``,
``"NO_SUCHFILE"``, ``"NO_MODEL"``, ``"ENGINE_ERROR"``, ``"RUNTIME_EXCEPTION"``,
``"INVALID_PROTOBUF"``, ``"MODEL_LOADED"``, ``"NOT_IMPLEMENTED"``, ``"INVALID_GRAPH"``,
``"EP_FAIL"``, ``"MODEL_LOAD_CANCELED"``, ``"MODEL_REQUIRES_COMPILATION"``, ``"NOT_FOUND"``. It is
``None`` for the package's own checks (raised before ORT is called).
"""

from __future__ import annotations

__all__ = [
    "CustomOpLibraryError",
    "ElementTypeError",
    "InputError",
    "ModelLoadError",
    "NotFoundError",
    "OptionError",
    "OrtError",
    "ProviderError",
    "RunError",
    "StateError",
    "TensorError",
    "TerminatedError",
]


class OrtError(RuntimeError):
    """Base class of every error raised by ``ortsession``."""

    code: str | None = None
    """ORT's status code (``"FAIL"``, ``"INVALID_ARGUMENT"`` …) when ONNX Runtime raised the
    failure; ``None`` for the package's own checks."""


class OptionError(OrtError, ValueError):
    """An option (session, run, configure or CoreML) is unknown, mistyped or out of range."""


class ElementTypeError(OrtError, ValueError):
    """An element type name or numpy dtype is not one ONNX Runtime supports."""


class TensorError(OrtError, ValueError):
    """Tensor data does not match the requested element type or shape."""


class StateError(OrtError):
    """The object cannot be used now: it was closed or rebuilt, or the call comes too late."""


class ProviderError(OrtError):
    """An execution provider is unavailable in this build or failed to initialise."""


class ModelLoadError(OrtError):
    """The model cannot be read, parsed or loaded by ONNX Runtime."""


class CustomOpLibraryError(OrtError):
    """A custom-op library cannot be found or loaded."""


class InputError(OrtError, ValueError):
    """Inputs or preallocated outputs of a run do not match what the model declares."""


class NotFoundError(OrtError, KeyError, IndexError):
    """No input, output or collection entry has the given name or index."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class RunError(OrtError):
    """ONNX Runtime failed while running the model."""


class TerminatedError(RunError):
    """The run was stopped by :meth:`RunOptions.terminate`."""
