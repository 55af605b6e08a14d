"""The import graph: no cycles and no function-local project imports (``scripts/check_imports.py``)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def load_checker():
    spec = importlib.util.spec_from_file_location("check_imports", REPO / "scripts" / "check_imports.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_the_project_has_no_import_cycle_and_no_hidden_local_import():
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "check_imports.py")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout
    assert "no cycles" in result.stdout


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_checker_finds_cycles_and_local_imports(tmp_path):
    checker = load_checker()
    write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a/__init__.py": "",
            "pkg/a/one.py": "from pkg.b.two import thing\n",
            "pkg/b/__init__.py": "",
            "pkg/b/two.py": "def thing():\n    from pkg.a import one\n    return one\n",
            "pkg/c/__init__.py": "",
            "pkg/c/x.py": "import pkg.c.y\n",
            "pkg/c/y.py": "from . import x\nimport json\ndef f():\n    import numpy\n",
        },
    )
    faults = checker.check(["pkg"], root=tmp_path)
    assert "pkg/b/two.py:2: function-local import of project module pkg.a.one" in faults
    assert "import cycle between modules: pkg.c.x -> pkg.c.y" in faults
    assert not any("numpy" in f or "json" in f for f in faults)  # third-party local imports are allowed
    # Make the local import a module-level one: the cycle between the subpackages shows.
    write(tmp_path, {"pkg/b/two.py": "from pkg.a import one\n"})
    faults = checker.check(["pkg"], root=tmp_path)
    assert "import cycle between subpackages: pkg.a -> pkg.b" in faults
    assert "import cycle between modules: pkg.a.one -> pkg.b.two" in faults


def test_type_checking_imports_are_not_edges(tmp_path):
    checker = load_checker()
    write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n",
            "pkg/b.py": "from pkg.a import *\n",
        },
    )
    assert checker.check(["pkg"], root=tmp_path) == []


def test_an_engine_api_outside_its_adapter_is_a_fault(tmp_path):
    checker = load_checker()
    write(
        tmp_path,
        {
            "job_core/__init__.py": "",
            "job_core/a.py": "import json\nfrom apache_beam.io import filesystems\n",
            "beam_jobs/__init__.py": "",
            "beam_jobs/b.py": "import apache_beam as beam\ndef f():\n    import pyspark\n",
        },
    )
    faults = checker.check(["job_core", "beam_jobs"], root=tmp_path)
    assert sorted(faults) == [
        "beam_jobs/b.py:3: pyspark imported outside spark_jobs",
        "job_core/a.py:2: apache_beam.io imported outside beam_jobs",
    ]
