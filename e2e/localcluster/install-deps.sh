#!/usr/bin/env bash
# Installs the Debian packages the local real cluster runs on, where any is missing (needs root
# and apt). Packages come from the machine's Debian suite (bookworm): containerd 1.6, runc 1.1,
# the CNI plugins 1.1, and the image tools. Exact versions are not pinned: a Debian mirror keeps
# only a suite's current version, so a pin would break with the next point release; the versions
# in use are printed instead, and `make cluster` checks what it needs by command.
#
# --persistence: also Debian's postgresql (server and psql) for `cluster.py up --persistence`,
# which runs its own server on its own port and data directory; the package's default cluster is
# not created (a drop-in of postgresql-common, written before a first install), so nothing
# listens on 5432 because of this script.
set -euo pipefail
declare -A need=(
  [containerd]=containerd [ctr]=containerd [runc]=runc [/usr/lib/cni/bridge]=containernetworking-plugins
  [iptables]=iptables [ip]=iproute2 [openssl]=openssl [debootstrap]=debootstrap [umoci]=umoci
  [skopeo]=skopeo [setpriv]=util-linux
)
packages=(containerd runc containernetworking-plugins iptables debootstrap umoci skopeo)
case "${1:-}" in
  --persistence)
    need[postgres-server]=postgresql
    packages+=(postgresql)
    ;;
  "") ;;
  *) echo "install-deps: unknown option '$1'; allowed: --persistence" >&2; exit 2 ;;
esac
missing=()
for tool in "${!need[@]}"; do
  if [[ $tool == postgres-server ]]; then compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || missing+=("${need[$tool]}")
  elif [[ $tool == /* ]]; then [ -e "$tool" ] || missing+=("${need[$tool]}")
  else command -v "$tool" >/dev/null || missing+=("${need[$tool]}"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "install-deps: missing Debian packages: ${missing[*]} (apt-get install them as root)" >&2
    exit 1
  fi
  mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
  echo "install-deps: apt-get install ${pkgs[*]}" >&2
  if [[ " ${pkgs[*]} " == *" postgresql "* ]]; then
    mkdir -p /etc/postgresql-common/createcluster.d
    echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/argo-fanout.conf
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
dpkg-query -W -f='install-deps: ${Package} ${Version}\n' "${packages[@]}" >&2
