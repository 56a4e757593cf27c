"""CoreML field resolution (``ortsession.resolve_coreml_options``): a pure function, so every
case is checked here, on any machine."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

import ortsession
from ortsession import OptionError
from ortsession._coreml import ComputeUnits, CoreMLFlag, coreml_field_names, resolve_coreml_options


def _expect(units: str = "ALL", model_format: str = "NeuralNetwork", static: str = "0",
            subgraphs: str = "0") -> dict[str, str]:
    return {"MLComputeUnits": units, "ModelFormat": model_format,
            "RequireStaticInputShapes": static, "EnableOnSubgraphs": subgraphs}


def test_public_export() -> None:
    assert ortsession.resolve_coreml_options is resolve_coreml_options


def test_flag_values_match_coreml_provider_factory_h() -> None:
    assert {flag.name: flag.value for flag in CoreMLFlag} == {
        "USE_CPU_ONLY": 0x001,
        "ENABLE_ON_SUBGRAPH": 0x002,
        "ONLY_ENABLE_DEVICE_WITH_ANE": 0x004,
        "ONLY_ALLOW_STATIC_INPUT_SHAPES": 0x008,
        "CREATE_MLPROGRAM": 0x010,
        "USE_CPU_AND_GPU": 0x020,
    }


def test_field_names() -> None:
    assert coreml_field_names() == (
        "coreml_compute_units",
        "coreml_create_mlprogram",
        "coreml_require_static_input_shapes",
        "coreml_enable_on_subgraph",
        "coreml_flags",
        "coreml_use_cpu_only",
        "coreml_use_cpu_and_gpu",
        "coreml_only_enable_device_with_ane",
    )


COMPUTE_UNIT_ALIASES = [
    ("all", "ALL"), ("ALL", "ALL"), ("All", "ALL"), ("MLComputeUnitsAll", "ALL"),
    ("MLComputeUnitsALL", "ALL"),
    ("cpu_only", "CPUOnly"), ("CPUOnly", "CPUOnly"), ("cpuonly", "CPUOnly"),
    ("MLComputeUnitsCPUOnly", "CPUOnly"), ("CPU_ONLY", "CPUOnly"),
    ("cpu_and_gpu", "CPUAndGPU"), ("CPUAndGPU", "CPUAndGPU"), ("cpuandgpu", "CPUAndGPU"),
    ("MLComputeUnitsCPUAndGPU", "CPUAndGPU"),
    ("cpu_and_neural_engine", "CPUAndNeuralEngine"), ("CPUAndNeuralEngine", "CPUAndNeuralEngine"),
    ("MLComputeUnitsCPUAndNeuralEngine", "CPUAndNeuralEngine"),
    ("mlcomputeunitscpuandneuralengine", "CPUAndNeuralEngine"),
    (ComputeUnits.CPU_AND_GPU, "CPUAndGPU"),
]


@pytest.mark.parametrize(("alias", "ort_value"), COMPUTE_UNIT_ALIASES)
def test_compute_unit_aliases(alias: object, ort_value: str) -> None:
    assert resolve_coreml_options({"coreml_compute_units": alias}) == _expect(units=ort_value)


RESOLUTIONS: list[tuple[dict[str, object], dict[str, str]]] = [
    ({}, _expect()),
    ({"coreml_compute_units": None, "coreml_flags": None}, _expect()),
    # new bool fields
    ({"coreml_create_mlprogram": True}, _expect(model_format="MLProgram")),
    ({"coreml_create_mlprogram": False}, _expect()),
    ({"coreml_require_static_input_shapes": True}, _expect(static="1")),
    ({"coreml_require_static_input_shapes": False}, _expect()),
    ({"coreml_enable_on_subgraph": True}, _expect(subgraphs="1")),
    ({"coreml_enable_on_subgraph": False}, _expect()),
    # legacy bools
    ({"coreml_use_cpu_only": True}, _expect(units="CPUOnly")),
    ({"coreml_use_cpu_only": False}, _expect()),
    ({"coreml_use_cpu_and_gpu": True}, _expect(units="CPUAndGPU")),
    ({"coreml_use_cpu_and_gpu": False}, _expect()),
    ({"coreml_only_enable_device_with_ane": True}, _expect(units="CPUAndNeuralEngine")),
    ({"coreml_only_enable_device_with_ane": False}, _expect()),
    # legacy flag bits, one by one, then combined
    ({"coreml_flags": 0}, _expect()),
    ({"coreml_flags": 0x001}, _expect(units="CPUOnly")),
    ({"coreml_flags": 0x002}, _expect(subgraphs="1")),
    ({"coreml_flags": 0x004}, _expect(units="CPUAndNeuralEngine")),
    ({"coreml_flags": 0x008}, _expect(static="1")),
    ({"coreml_flags": 0x010}, _expect(model_format="MLProgram")),
    ({"coreml_flags": 0x020}, _expect(units="CPUAndGPU")),
    ({"coreml_flags": 0x01A}, _expect(model_format="MLProgram", static="1", subgraphs="1")),
    ({"coreml_flags": CoreMLFlag.USE_CPU_AND_GPU | CoreMLFlag.CREATE_MLPROGRAM},
     _expect(units="CPUAndGPU", model_format="MLProgram")),
    # new and legacy fields mixed, agreeing
    ({"coreml_compute_units": "cpu_only", "coreml_use_cpu_only": True},
     _expect(units="CPUOnly")),
    ({"coreml_compute_units": "cpu_only", "coreml_flags": 0x001}, _expect(units="CPUOnly")),
    ({"coreml_compute_units": "all", "coreml_use_cpu_only": False,
      "coreml_use_cpu_and_gpu": False, "coreml_only_enable_device_with_ane": False}, _expect()),
    ({"coreml_compute_units": "cpu_and_neural_engine",
      "coreml_only_enable_device_with_ane": True}, _expect(units="CPUAndNeuralEngine")),
    ({"coreml_compute_units": "cpu_and_gpu", "coreml_use_cpu_only": False},
     _expect(units="CPUAndGPU")),
    ({"coreml_use_cpu_and_gpu": True, "coreml_flags": 0x020}, _expect(units="CPUAndGPU")),
    ({"coreml_create_mlprogram": True, "coreml_flags": 0x010}, _expect(model_format="MLProgram")),
    ({"coreml_create_mlprogram": True, "coreml_flags": 0}, _expect(model_format="MLProgram")),
    ({"coreml_require_static_input_shapes": True, "coreml_flags": 0x008}, _expect(static="1")),
    ({"coreml_enable_on_subgraph": True, "coreml_flags": 0x001},
     _expect(units="CPUOnly", subgraphs="1")),
    ({"coreml_compute_units": "all", "coreml_create_mlprogram": True,
      "coreml_require_static_input_shapes": True, "coreml_enable_on_subgraph": True},
     _expect(model_format="MLProgram", static="1", subgraphs="1")),
]


@pytest.mark.parametrize(("fields", "expected"), RESOLUTIONS)
def test_resolution(fields: dict[str, object], expected: dict[str, str]) -> None:
    assert resolve_coreml_options(fields) == expected


CONFLICTS: list[tuple[dict[str, object], tuple[str, str]]] = [
    ({"coreml_compute_units": "all", "coreml_use_cpu_only": True},
     ("coreml_compute_units='all'", "coreml_use_cpu_only=True")),
    ({"coreml_compute_units": "all", "coreml_use_cpu_and_gpu": True},
     ("coreml_compute_units='all'", "coreml_use_cpu_and_gpu=True")),
    ({"coreml_compute_units": "all", "coreml_only_enable_device_with_ane": True},
     ("coreml_compute_units='all'", "coreml_only_enable_device_with_ane=True")),
    ({"coreml_compute_units": "cpu_only", "coreml_only_enable_device_with_ane": True},
     ("coreml_compute_units='cpu_only'", "coreml_only_enable_device_with_ane=True")),
    ({"coreml_compute_units": "cpu_and_gpu", "coreml_only_enable_device_with_ane": True},
     ("coreml_compute_units='cpu_and_gpu'", "coreml_only_enable_device_with_ane=True")),
    ({"coreml_compute_units": "CPUAndGPU", "coreml_use_cpu_only": True},
     ("coreml_compute_units='cpu_and_gpu'", "coreml_use_cpu_only=True")),
    ({"coreml_use_cpu_only": True, "coreml_use_cpu_and_gpu": True},
     ("coreml_use_cpu_only=True", "coreml_use_cpu_and_gpu=True")),
    ({"coreml_use_cpu_only": True, "coreml_only_enable_device_with_ane": True},
     ("coreml_use_cpu_only=True", "coreml_only_enable_device_with_ane=True")),
    ({"coreml_use_cpu_and_gpu": True, "coreml_only_enable_device_with_ane": True},
     ("coreml_use_cpu_and_gpu=True", "coreml_only_enable_device_with_ane=True")),
    # an explicit False refuses what another field asks for
    ({"coreml_compute_units": "cpu_only", "coreml_use_cpu_only": False},
     ("coreml_compute_units='cpu_only'", "coreml_use_cpu_only=False")),
    ({"coreml_compute_units": "cpu_and_gpu", "coreml_use_cpu_and_gpu": False},
     ("coreml_compute_units='cpu_and_gpu'", "coreml_use_cpu_and_gpu=False")),
    ({"coreml_compute_units": "cpu_and_neural_engine",
      "coreml_only_enable_device_with_ane": False},
     ("coreml_compute_units='cpu_and_neural_engine'", "coreml_only_enable_device_with_ane=False")),
    # flag bits against each other and against explicit fields
    ({"coreml_flags": 0x021}, ("COREML_FLAG_USE_CPU_ONLY", "COREML_FLAG_USE_CPU_AND_GPU")),
    ({"coreml_flags": 0x005}, ("COREML_FLAG_USE_CPU_ONLY", "COREML_FLAG_ONLY_ENABLE_DEVICE_WITH_ANE")),
    ({"coreml_flags": 0x024},
     ("COREML_FLAG_ONLY_ENABLE_DEVICE_WITH_ANE", "COREML_FLAG_USE_CPU_AND_GPU")),
    ({"coreml_flags": 0x001, "coreml_use_cpu_only": False},
     ("coreml_flags=0x001 (COREML_FLAG_USE_CPU_ONLY)", "coreml_use_cpu_only=False")),
    ({"coreml_flags": 0x001, "coreml_compute_units": "all"},
     ("coreml_compute_units='all'", "coreml_flags=0x001 (COREML_FLAG_USE_CPU_ONLY)")),
    ({"coreml_flags": 0x020, "coreml_use_cpu_only": True},
     ("coreml_use_cpu_only=True", "coreml_flags=0x020 (COREML_FLAG_USE_CPU_AND_GPU)")),
    ({"coreml_flags": 0x004, "coreml_compute_units": "cpu_and_gpu"},
     ("coreml_compute_units='cpu_and_gpu'",
      "coreml_flags=0x004 (COREML_FLAG_ONLY_ENABLE_DEVICE_WITH_ANE)")),
    ({"coreml_flags": 0x010, "coreml_create_mlprogram": False},
     ("coreml_create_mlprogram=False", "coreml_flags=0x010 (COREML_FLAG_CREATE_MLPROGRAM)")),
    ({"coreml_flags": 0x008, "coreml_require_static_input_shapes": False},
     ("coreml_require_static_input_shapes=False",
      "coreml_flags=0x008 (COREML_FLAG_ONLY_ALLOW_STATIC_INPUT_SHAPES)")),
    ({"coreml_flags": 0x002, "coreml_enable_on_subgraph": False},
     ("coreml_enable_on_subgraph=False", "coreml_flags=0x002 (COREML_FLAG_ENABLE_ON_SUBGRAPH)")),
]


@pytest.mark.parametrize(("fields", "named"), CONFLICTS)
def test_conflicts_name_both_fields(fields: dict[str, object], named: tuple[str, str]) -> None:
    with pytest.raises(OptionError, match="conflicting CoreML options") as info:
        resolve_coreml_options(fields)
    for text in named:
        assert text in str(info.value)


BAD_VALUES: list[tuple[dict[str, object], str]] = [
    ({"coreml_compute_units": "gpu"}, "'coreml_compute_units': expected one of 'all'"),
    ({"coreml_compute_units": 1}, "got 1"),
    ({"coreml_compute_units": True}, "got True"),
    ({"coreml_create_mlprogram": 1}, "'coreml_create_mlprogram': expected a bool"),
    ({"coreml_require_static_input_shapes": "yes"}, "expected a bool"),
    ({"coreml_enable_on_subgraph": 0}, "expected a bool"),
    ({"coreml_use_cpu_only": "true"}, "'coreml_use_cpu_only': expected a bool"),
    ({"coreml_use_cpu_and_gpu": 1.0}, "expected a bool"),
    ({"coreml_only_enable_device_with_ane": []}, "expected a bool"),
    ({"coreml_flags": True}, "'coreml_flags': expected an integer bit mask"),
    ({"coreml_flags": "0x1"}, "expected an integer bit mask"),
    ({"coreml_flags": 1.0}, "expected an integer bit mask"),
    ({"coreml_flags": -1}, "expected a bit mask >= 0, got -1"),
    ({"coreml_flags": 0x040}, "unknown: 0x040"),
    ({"coreml_flags": 0x1FF}, "unknown: 0x1c0"),
    ({"coreml_compute_unit": "all"}, "did you mean 'coreml_compute_units'?"),
    ({"coreml_flag": 1}, "did you mean 'coreml_flags'?"),
]


@pytest.mark.parametrize(("fields", "message"), BAD_VALUES)
def test_bad_values(fields: dict[str, object], message: str) -> None:
    with pytest.raises(OptionError) as info:
        resolve_coreml_options(fields)
    assert message in str(info.value)


def test_not_a_mapping() -> None:
    bad: object = [("coreml_flags", 1)]
    with pytest.raises(OptionError, match="expected a mapping"):
        resolve_coreml_options(bad)  # type: ignore[arg-type]


PROVIDER_OPTIONS: list[tuple[dict[str, object], Mapping[str, str], dict[str, str]]] = [
    ({}, {"MLComputeUnits": "CPUOnly"}, _expect(units="CPUOnly")),
    ({}, {"ModelFormat": "MLProgram", "EnableOnSubgraphs": "1"},
     _expect(model_format="MLProgram", subgraphs="1")),
    ({"coreml_compute_units": "cpu_only"}, {"MLComputeUnits": "CPUOnly"},
     _expect(units="CPUOnly")),
    ({"coreml_create_mlprogram": True}, {"SpecializationStrategy": "FastPrediction"},
     {**_expect(model_format="MLProgram"), "SpecializationStrategy": "FastPrediction"}),
]


@pytest.mark.parametrize(("fields", "extra", "expected"), PROVIDER_OPTIONS)
def test_provider_options_join_the_resolution(
    fields: dict[str, object], extra: Mapping[str, str], expected: dict[str, str]
) -> None:
    assert resolve_coreml_options(fields, extra) == expected


@pytest.mark.parametrize(
    ("fields", "extra", "message"),
    [
        ({"coreml_compute_units": "all"}, {"MLComputeUnits": "CPUOnly"},
         "coreml_compute_units='all' and provider_options['coreml']['MLComputeUnits']='CPUOnly'"),
        ({"coreml_create_mlprogram": False}, {"ModelFormat": "MLProgram"},
         "coreml_create_mlprogram=False and provider_options['coreml']['ModelFormat']"),
        ({"coreml_flags": 0x008}, {"RequireStaticInputShapes": "0"},
         "COREML_FLAG_ONLY_ALLOW_STATIC_INPUT_SHAPES) and provider_options"),
        ({}, {"MLComputeUnits": "cpu_only"}, "expected one of 'ALL', 'CPUOnly'"),
        ({}, {"EnableOnSubgraphs": "true"}, "expected '0' or '1'"),
    ],
)
def test_provider_options_conflicts(
    fields: dict[str, object], extra: Mapping[str, str], message: str
) -> None:
    with pytest.raises(OptionError) as info:
        resolve_coreml_options(fields, extra)
    assert message in str(info.value)
