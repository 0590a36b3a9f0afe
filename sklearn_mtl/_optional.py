"""Imports of optional dependencies (the ``deploy`` extra)."""

import importlib


def require(module, purpose):
    """Import ``module``, or raise an ImportError that says how to install it.

    ``purpose`` names what needs it, e.g. ``"ONNX export"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise ImportError(
            f"{purpose} needs {top}: pip install {top} (or the deploy extra, "
            "pip install 'sklearn_mtl[deploy]', which has safetensors, skops, onnx, "
            "onnxscript, skl2onnx and onnxruntime)."
        ) from None
