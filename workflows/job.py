"""The log-count job's own modules (charts/log-count/files/log-count/), loaded for the commands
and tests.

The job is standard-library scripts that import `logcount` by name from their own directory;
this loads that same module (and the step modules, under distinct names), without writing byte
code into the directory the chart ships. The run commands use it to check parameter values with
the job's own parsers before they spend anything.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from common.paths import REPO_ROOT

# The job's one home: the chart ships these files in its ConfigMap, and everything else (the run
# commands, run-local, the tests and benchmarks) loads them from here. A real directory, not a
# symlink: `pulumi new` copies a template by reading every file, and fails on a linked directory.
JOB_DIR = REPO_ROOT / "charts" / "log-count" / "files" / "log-count"


def load(step: str = "logcount") -> ModuleType:
    """`logcount` (as the scripts import it), or a step (`split`, ...) as `logcount_<step>`."""
    name = step if step == "logcount" else f"logcount_{step}"
    if name in sys.modules:
        return sys.modules[name]
    if str(JOB_DIR) not in sys.path:
        sys.path.insert(0, str(JOB_DIR))  # the steps' own `import logcount`
    writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec = importlib.util.spec_from_file_location(name, JOB_DIR / f"{step}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = writes_bytecode
    return module
