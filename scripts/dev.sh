#!/usr/bin/env bash
# Bring the local kind stack up or tear it down: `make dev` / `make destroy` call this.
#   STACK=dev bash scripts/dev.sh up|destroy
set -euo pipefail
cd "$(dirname "$0")/.."

STACK="${STACK:-dev}"
ACTION="${1:-}"

usage() {
  echo "usage: STACK=<stack> bash scripts/dev.sh up|destroy" >&2
  exit 2
}

fail() {
  echo "dev.sh: $*" >&2
  exit 1
}

require_tools() {
  # Name every missing tool at once, with where to get it.
  local missing=() tool hint
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 && continue
    case "$tool" in
      pulumi) hint="https://www.pulumi.com/docs/iac/download-install/" ;;
      docker) hint="https://docs.docker.com/get-docker/" ;;
      kind) hint="https://kind.sigs.k8s.io/docs/user/quick-start/#installation" ;;
    esac
    missing+=("$tool ($hint)")
  done
  if ((${#missing[@]})); then
    fail "not found on PATH: ${missing[*]}"
  fi
}

check_tools() {
  require_tools pulumi docker kind
  # Deploying needs no kubectl (Pulumi talks to the cluster itself); looking at it afterwards does.
  command -v kubectl >/dev/null 2>&1 \
    || echo "dev.sh: kubectl not found; not needed to deploy, but to inspect the cluster: https://kubernetes.io/docs/tasks/tools/" >&2
  docker info >/dev/null 2>&1 || fail "docker is installed but its daemon does not answer (docker info failed); start Docker"
}

check_passphrase() {
  # Local backends encrypt stack secrets (the kubeconfig) with a passphrase; without one in the
  # environment Pulumi prompts, which only works on a terminal.
  if [[ -z "${PULUMI_CONFIG_PASSPHRASE+set}" && -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
    echo "dev.sh: PULUMI_CONFIG_PASSPHRASE is not set: Pulumi encrypts this stack's secrets with it." >&2
    echo "        export PULUMI_CONFIG_PASSPHRASE='<passphrase>' (or PULUMI_CONFIG_PASSPHRASE_FILE=<file>);" >&2
    echo "        keep using the same one for this stack." >&2
    [[ -t 0 ]] || fail "no terminal to prompt for the passphrase"
  fi
}

login() {
  if ! pulumi whoami >/dev/null 2>&1; then
    echo "dev.sh: not logged in to a Pulumi backend; using the local one (pulumi login --local)"
    pulumi login --local
  fi
}

case "$ACTION" in
  up)
    check_tools
    check_passphrase
    login
    pulumi stack select --create "$STACK"
    pulumi up --yes --stack "$STACK"
    data_dir="$(pulumi stack output dataDir --stack "$STACK" 2>/dev/null || true)"
    echo
    echo "Argo and log-count are deployed. Count keywords in a generated log:"
    echo "  mkdir -p .data && .venv/bin/python charts/log-count/files/log-count/generate.py --output .data/sample.log --size 64MiB"
    echo "  .venv/bin/python -m workflows submit -s $STACK --input .data/sample.log --wait"
    echo "Or with the argo CLI and the input already on the volume${data_dir:+ (at $data_dir/log-count-data.txt)}:"
    echo "  (umask 077 && mkdir -p .data && pulumi stack output kubeconfig --show-secrets --stack $STACK > .data/$STACK.kubeconfig)"
    echo "  KUBECONFIG=.data/$STACK.kubeconfig $(pulumi stack output submitCommand --stack "$STACK")"
    ;;
  destroy)
    # The cluster's delete command runs `kind delete cluster`.
    require_tools pulumi kind
    check_passphrase
    login
    pulumi stack select "$STACK"
    # Read before destroying: the outputs go with the resources.
    data_dir="$(pulumi stack output dataDir --stack "$STACK" 2>/dev/null || true)"
    pulumi destroy --yes --stack "$STACK"
    echo
    echo "Stack $STACK is destroyed (the kind cluster with it)."
    if [[ -n "$data_dir" ]]; then
      # The steps create runs/ as their own user (uid 1000), writable by it only: unless that
      # is this user, only root can delete those files now that the kind node is gone.
      if [[ -n "$(find "$data_dir" ! -user "$(id -u)" -print -quit 2>/dev/null)" ]]; then
        remove="sudo rm -rf '$data_dir' (the steps wrote part of it as another user)"
      else
        remove="rm -rf '$data_dir'"
      fi
      echo "Kept on purpose: the data in $data_dir (the kind dataDir); remove it with: $remove"
    fi
    echo "The stack's empty state remains; remove it with: pulumi stack rm $STACK"
    ;;
  *)
    usage
    ;;
esac
