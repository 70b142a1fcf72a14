"""The cluster targets: one module each (kind.py, existing.py, ackone.py) declaring a
``TargetSpec``, behind the contract of contracts.py. Adding a target: docs/architecture.md."""

from infra.targets import ackone, existing, kind
from infra.targets.contracts import TargetSpec

# In the order the README and error messages list them; the first is the default target.
SPECS: dict[str, TargetSpec] = {spec.name: spec for spec in (kind.SPEC, existing.SPEC, ackone.SPEC)}
