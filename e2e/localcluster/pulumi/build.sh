#!/usr/bin/env bash
# Build the Pulumi CLI, the Python language host and the Kubernetes provider plugin from the Go
# module proxy only, into .localcluster/bin/ (or $OUT). Each comes from its own Go module here
# (cli/, python/, kubernetes/); their go.mod files say which version and why.
# A binary is rebuilt only when its go.mod/go.sum (or this script) is newer than the binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
out=$(mkdir -p "${OUT:-$repo/.localcluster/bin}" && cd "${OUT:-$repo/.localcluster/bin}" && pwd)
export CGO_ENABLED=0 GOFLAGS=-mod=readonly

# The one place that names the provider release: the provider/v4 commit the proxy serves is the
# tree released as pulumi-kubernetes v4.25.0, which requirements.txt pins for the Python SDK.
KUBERNETES_PROVIDER_RELEASE=4.25.0

stale() { # stale BINARY MODULE_DIR: true when BINARY is missing or older than its inputs
  local bin=$1 dir=$2
  [ ! -x "$bin" ] && return 0
  [ -n "$(find "$dir" "$here/build.sh" -newer "$bin" -type f \( -name 'go.*' -o -name '*.go' -o -name build.sh \) -print -quit)" ]
}

pin() { # pin PACKAGE: the version requirements.txt pins for a Python package
  sed -n "s/^$1==\([^ ]*\).*/\1/p" "$repo/requirements.txt"
}

say() { echo "pulumi/build.sh: $*" >&2; }

module_dir() { # module_dir MODULE[@VERSION]: its directory in the module cache, downloaded (and
  # hash-checked against go.sum) first: `go list -m` alone names no directory on a cold cache
  local dir
  dir=$(GOFLAGS=-mod=mod go mod download -json "$1" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin).get("Dir", ""))')
  [ -n "$dir" ] && [ -d "$dir" ] || { say "go mod download $1 gave no module directory"; exit 1; }
  echo "$dir"
}

# --- the CLI --------------------------------------------------------------------------------
cd "$here/cli"
cli_version=$(go list -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3)
if stale "$out/pulumi" "$here/cli"; then
  say "building pulumi $cli_version"
  go build -trimpath -tags osusergo,grpcnotrace \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$cli_version" \
    -o "$out/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
fi

# --- the Python language host and the pinned SDK's exec shim ---------------------------------
cd "$here/python"
sdk=$(pin pulumi)
[ -n "$sdk" ] || { say "requirements.txt pins no pulumi==VERSION"; exit 1; }
if stale "$out/pulumi-language-python" "$here/python"; then
  say "building pulumi-language-python ($(go list -m -f '{{.Version}}' github.com/pulumi/pulumi/sdk/v3))"
  go build -trimpath -ldflags "-s -w" -o "$out/pulumi-language-python" \
    github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python
fi
# The host runs `python -u pulumi-language-python-exec ...` from its own directory; the shim is
# the Python SDK's, at the version requirements.txt pins (downloaded, hash-checked, by go).
shim_dir=$(module_dir "github.com/pulumi/pulumi/sdk/v3@v$sdk")
install -m 0755 "$shim_dir/python/cmd/pulumi-language-python-exec" "$out/pulumi-language-python-exec"

# --- the Kubernetes provider -----------------------------------------------------------------
cd "$here/kubernetes"
sdk_k8s=$(pin pulumi-kubernetes)
if [ "$sdk_k8s" != "$KUBERNETES_PROVIDER_RELEASE" ]; then
  say "requirements.txt pins pulumi-kubernetes==$sdk_k8s but the provider built here is" \
    "$KUBERNETES_PROVIDER_RELEASE; the engine would look for a plugin that is not installed"
  exit 1
fi
if stale "$out/pulumi-resource-kubernetes" "$here/kubernetes"; then
  say "building pulumi-resource-kubernetes $KUBERNETES_PROVIDER_RELEASE"
  upstream=$(module_dir github.com/pulumi/pulumi-kubernetes/provider/v4)
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # Upstream's generate.go stamps the version into the schema and compacts both files.
  go build -o "$tmp/generate" "$upstream/cmd/pulumi-resource-kubernetes/generate.go"
  cp "$upstream/cmd/pulumi-resource-kubernetes/schema.json" \
    "$upstream/cmd/pulumi-resource-kubernetes/terraform-mapping.json" "$tmp/"
  chmod u+w "$tmp"/*.json
  (cd "$tmp" && VERSION=$KUBERNETES_PROVIDER_RELEASE ./generate)
  cp "$tmp/schema-embed.json" "$tmp/terraform-mapping-embed.json" cmd/pulumi-resource-kubernetes/
  go build -trimpath -ldflags "-s -w \
    -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$KUBERNETES_PROVIDER_RELEASE" \
    -o "$out/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes
fi
say "ready in $out: pulumi $cli_version, pulumi-language-python (exec shim of SDK $sdk)," \
  "pulumi-resource-kubernetes $KUBERNETES_PROVIDER_RELEASE"
