#!/usr/bin/env bash
# make e2e-local: from a clean state, bring the local real cluster up, run everything that needs
# it, and take it down again, checking nothing of it is left. Exits non-zero on the first failed
# stage, naming it; the cluster is taken down whatever happened.
# `--persistence` (make e2e-local PERSISTENCE=1): the cluster's Argo offloads node status to and
# archives in a host PostgreSQL, and tests/localcluster/test_persistence.py checks it.
# Any other arguments are the test files to run (make e2e-local E2E_TESTS="..."; default: all of
# tests/localcluster).
set -uo pipefail
up_args=()
tests=()
for arg in "$@"; do
  case "$arg" in
    --persistence) up_args=(--persistence) ;;
    tests/localcluster/*) tests+=("$arg") ;;
    *) echo "e2e-local: unknown argument '$arg'; allowed: --persistence, tests/localcluster/..." >&2; exit 2 ;;
  esac
done
[ "${#tests[@]}" -gt 0 ] || tests=(tests/localcluster)
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
CLUSTER="python3 e2e/localcluster/cluster.py"
state_dir="${LOCALCLUSTER_DIR:-$PWD/.localcluster}"
started=$(date +%s)

stage() { echo "== e2e-local: $1 ($(( $(date +%s) - started ))s)" >&2; }
fail() { echo "e2e-local: FAILED at: $1" >&2; }

stage "Debian packages"
bash e2e/localcluster/install-deps.sh "${up_args[@]}" || { fail "installing the Debian packages"; exit 1; }

stage "clean state (down, then an empty volume)"
$CLUSTER down || { fail "cluster down before starting"; exit 1; }
rm -rf "$state_dir/volume"

stage "Pulumi CLI, Python language host and Kubernetes provider (e2e/localcluster/pulumi/build.sh)"
OUT="$state_dir/bin" bash e2e/localcluster/pulumi/build.sh || { fail "building Pulumi from Go modules"; exit 1; }

rc=0
stage "cluster up"
if ! $CLUSTER up "${up_args[@]}"; then
  fail "cluster up (logs: $state_dir/logs/)"
  rc=1
fi
if [ "$rc" = 0 ]; then
  stage "log-count and the local stack's pulumi lifecycle on the real cluster (${tests[*]})"
  if ! ARGO_FANOUT_LOCALCLUSTER_REQUIRED=1 $PY -m pytest -p no:xdist -p no:cacheprovider -m localcluster -rs "${tests[@]}"; then
    fail "tests/localcluster (cluster logs: $state_dir/logs/)"
    rc=1
  fi
fi
stage "cluster down"
if ! $CLUSTER down; then fail "cluster down"; rc=1; fi
if ! $CLUSTER check-clean; then fail "nothing left after down"; rc=1; fi
stage "done (exit $rc)"
exit $rc
