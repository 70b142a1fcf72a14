"""Facts shared by the Pulumi program (infra/), the run commands (workflows/), the tests, the
benchmarks and the local cluster, each kept once: the repository root (paths.py), the Argo
lines the project targets (argolines.py, read from argo-lines.json), the stack outputs'
names and meanings (exports.py) and the object-key layout of an OSS volume (oss.py).

This package imports nothing else of the project, so every other package may import it
without forming a cycle (tests/unit/test_imports.py checks the whole graph).
"""
