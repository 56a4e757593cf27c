"""The public surface: names, docs, typing marker, import hygiene (STYLE: a test pins it)."""

from __future__ import annotations

import inspect
from pathlib import Path

import ortsession as ort
from fresh_python import output_of

EXPECTED = {
    "configure", "load_custom_op_library", "optional", "providers", "resolve_coreml_options",
    "run_options", "session", "session_from_bytes", "tensor", "tensor_from_bytes", "version",
    "Batcher", "IOBinding", "Outputs", "RunOptions", "Session", "SessionOptions",
    "DimensionBy", "ExecutionMode", "FreeDimensionOverride", "GraphOptimizationLevel",
    "CustomOpLibrary", "ElementType", "MemoryInfo", "ModelMetadata", "NamedValues", "Optional",
    "SparseTensor", "Tensor",
    "TypeInfo", "element_type_names", "CustomOpLibraryError", "ElementTypeError", "InputError",
    "ModelLoadError", "NotFoundError", "OptionError", "OrtError", "ProviderError",
    "ProviderFallbackWarning", "RunError", "StateError", "TensorError", "TerminatedError",
}


def test_all_is_pinned() -> None:
    assert set(ort.__all__) == EXPECTED
    assert len(ort.__all__) == len(set(ort.__all__))


def test_public_objects_live_in_the_package_namespace() -> None:
    for name in ort.__all__:
        obj = getattr(ort, name)
        assert obj.__module__ == "ortsession", name
        assert inspect.getdoc(obj), f"{name} has no docstring"


def test_public_methods_are_documented() -> None:
    for name in ort.__all__:
        obj = getattr(ort, name)
        if not inspect.isclass(obj):
            continue
        for attr, member in vars(obj).items():
            if attr.startswith("_") or not callable(member):
                continue
            assert inspect.getdoc(member), f"{name}.{attr} has no docstring"


def test_no_public_name_leaks_a_private_module() -> None:
    public = {n for n in dir(ort) if not n.startswith("_")}
    modules = {n for n in public if inspect.ismodule(getattr(ort, n))}
    assert public - modules - {"annotations", "models", "cli", "lua"} <= EXPECTED


def test_session_option_values_are_exported() -> None:
    # every enum or value class a SessionOptions field holds is public
    options = ort.session(ort.models.path("demo/model.onnx"),
                          free_dimension_overrides=[{"by": "name", "key": "N", "value": 1}],
                          execution_mode="parallel").options
    held = {type(options.graph_optimization_level), type(options.execution_mode),
            *(type(o) for o in options.free_dimension_overrides),
            *(type(o.by) for o in options.free_dimension_overrides)}
    assert held == {ort.GraphOptimizationLevel, ort.ExecutionMode, ort.FreeDimensionOverride,
                    ort.DimensionBy}
    assert ort.GraphOptimizationLevel.EXTENDED.key == "extended"
    assert ort.GraphOptimizationLevel.EXTENDED.ort == "ORT_ENABLE_EXTENDED"


def test_errors_form_one_hierarchy() -> None:
    for name in ort.__all__:
        obj = getattr(ort, name)
        if inspect.isclass(obj) and issubclass(obj, BaseException) and name != "ProviderFallbackWarning":
            assert issubclass(obj, ort.OrtError), name
    assert issubclass(ort.OptionError, ValueError)
    assert issubclass(ort.InputError, ValueError)
    assert issubclass(ort.NotFoundError, KeyError)
    assert issubclass(ort.TerminatedError, ort.RunError)


def test_py_typed_marker_ships() -> None:
    assert (Path(ort.__file__).parent / "py.typed").exists()


def test_version_and_providers() -> None:
    assert ort.version()[0].isdigit()
    assert "cpu" in ort.providers()


def test_import_works_without_onnx() -> None:
    code = ("import sys; sys.modules['onnx'] = None\n"
            "import ortsession as ort\n"
            "t = ort.tensor('float32', [1, 2], [1.0, 2.0])\n"
            "print(t.to_table()[0])")
    out = output_of(code)
    assert out.strip() == "1.0"


def test_import_does_not_load_ml_dtypes_until_a_type_needs_it() -> None:
    # ml_dtypes costs ~0.5 s to import: only a tensor of a type numpy lacks may load it
    code = ("import sys\n"
            "import ortsession as ort\n"
            "assert 'ml_dtypes' not in sys.modules, 'import'\n"
            "ort.tensor('float32', [2], [1.0, 2.0]).tolist()\n"
            "s = ort.session(ort.models.path('demo/model.onnx'))\n"
            "s.run({'x': [[1.0, 2.0]], 'bias': [[0.5, -0.5]]})\n"
            "assert 'ml_dtypes' not in sys.modules, 'float32 work'\n"
            "t = ort.tensor('bfloat16', [2], [1.0, 2.0])\n"
            "assert 'ml_dtypes' in sys.modules\n"
            "print(t.numpy().dtype, ort.ElementType.INT4.dtype)")
    out = output_of(code)
    assert out.split() == ["bfloat16", "int4"]


def test_arrays_of_a_caller_imported_ml_dtypes_are_recognised_lazily() -> None:
    code = ("import ml_dtypes, numpy as np\n"
            "import ortsession as ort\n"
            "t = ort.Tensor(np.array([1.5, 2.0], dtype=ml_dtypes.float8_e4m3fn))\n"
            "print(t.data_type, ort.tensor('float8e4m3fn', [2], t).tolist())")
    out = output_of(code)
    assert out.strip() == "float8e4m3fn [1.5, 2.0]"
