"""The ICD-10-CM code set (PyPI ``simple-icd-10-cm``), imported on first use.

Importing ``simple_icd_10_cm`` reads the whole code set into memory: 180 MB of RSS on top of
torch (measured: ``import torch`` 501 MB, with ``simple_icd_10_cm`` 681 MB). Every process that
imports ``nercore`` imports this subpackage (``Tagger`` can link codes), but only a tagger or
index built with codes needs the code set, so it is loaded here, the first time a function asks.
"""

from __future__ import annotations

import functools
import importlib
from types import ModuleType


@functools.cache
def codeset() -> ModuleType:
    """The ``simple_icd_10_cm`` module (loaded once per process)."""
    return importlib.import_module("simple_icd_10_cm")
