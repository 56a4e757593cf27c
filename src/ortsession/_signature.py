"""The loaded model's signature: what every run and binding of a session checks against.

Made once per build of a session (:meth:`Signature.of`) and frozen; ``Session``, ``IOBinding``
and ``run_into`` read it instead of each other's attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._feeds import InputSpec, is_exotic
from ._protocols import OrtSession
from ._typeinfo import TypeInfo, typeinfo_from_nodearg

__all__ = ["Signature"]


@dataclass(frozen=True)
class Signature:
    """Inputs, outputs and overridable initializers of a loaded model, precomputed for runs."""

    inputs: tuple[TypeInfo, ...]
    outputs: tuple[TypeInfo, ...]
    initializers: tuple[TypeInfo, ...]
    order: tuple[InputSpec, ...]
    """Every input, then every overridable initializer: the order of positional inputs."""
    specs: dict[str, InputSpec]
    """The specs of :attr:`order`, by name."""
    required: tuple[str, ...]
    """Inputs a run must be given."""
    output_names: list[str]
    """The output names in model order (ORT's ``run`` takes this very list: never mutated)."""
    output_index: dict[str, int]
    """Output name → position."""
    exotic_outputs: frozenset[str]
    """Outputs of a type numpy lacks (bfloat16, float8, int4 …): ORT's plain run cannot return
    them."""
    all_outputs_bound: bool = False
    """:meth:`needs_binding` of a run of every output without OrtValue inputs (the hot path's
    answer, decided once)."""

    @classmethod
    def of(cls, session: OrtSession) -> Signature:
        """Read the signature of an initialised ORT session."""
        inputs = tuple(typeinfo_from_nodearg(a) for a in session.inputs_meta)
        outputs = tuple(typeinfo_from_nodearg(a) for a in session.outputs_meta)
        initializers = tuple(typeinfo_from_nodearg(a) for a in session.overridable_initializers)
        in_specs = tuple(InputSpec.from_info(i, True) for i in inputs)
        order = in_specs + tuple(InputSpec.from_info(i, False) for i in initializers)
        output_names = [o.name or "" for o in outputs]
        exotic = frozenset(o.name or "" for o in outputs if is_exotic(o))
        return cls(inputs=inputs, outputs=outputs, initializers=initializers, order=order,
                   specs={s.name: s for s in order},
                   required=tuple(s.name for s in in_specs if s.required),
                   output_names=output_names,
                   output_index={n: i for i, n in enumerate(output_names)},
                   exotic_outputs=exotic, all_outputs_bound=bool(exotic))

    def needs_binding(self, names: Sequence[str], ortvalues: bool) -> bool:
        """Decide the run route: an IO binding (``True``) or ORT's plain ``run``.

        ORT's plain ``run`` takes neither OrtValue inputs (``ortvalues``: types numpy lacks,
        device tensors, C API sequences) nor returns outputs of types numpy lacks.
        """
        exotic = self.exotic_outputs
        return ortvalues or (bool(exotic) and not exotic.isdisjoint(names))

    def missing(self, given: Any) -> list[str]:
        """Return the required inputs that ``given`` (names) lacks."""
        return [n for n in self.required if n not in given]
