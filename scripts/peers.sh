#!/usr/bin/env bash
# Builds the real test peers once and caches them outside the work tree:
#   $CASA_PEERS_DIR (default ~/.cache/casa-peers)/<name>-<version>/<name>
# A warm cache makes this a few stat() calls. Versions are pinned in
# scripts/peers.versions; envoy-validate is keyed by a hash of its sources.
#
#   scripts/peers.sh            build whatever is missing
#   scripts/peers.sh --print    print KEY=PATH lines for the cached binaries
#   scripts/peers.sh NAME...    build only these (kube-apiserver etcd helm ghz envoy-validate)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=peers.versions
source "$here/peers.versions"

CACHE=${CASA_PEERS_DIR:-$HOME/.cache/casa-peers}
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
mkdir -p "$CACHE"

log() { printf '[peers] %s\n' "$*" >&2; }

validate_version() {
  # Content hash of the validator's sources: any edit rebuilds it. The C
  # locale keeps the file order (and so the key) the same on every machine.
  (cd "$repo/tools/envoy-validate" && cat go.mod go.sum $(printf '%s\n' ./*.go | LC_ALL=C sort)) |
    sha256sum | cut -c1-16
}

peer_dir() {
  case "$1" in
    kube-apiserver) echo "$CACHE/kube-apiserver-$KUBERNETES_VERSION" ;;
    etcd) echo "$CACHE/etcd-$ETCD_VERSION" ;;
    helm) echo "$CACHE/helm-$HELM_VERSION" ;;
    ghz) echo "$CACHE/ghz-$GHZ_VERSION" ;;
    envoy-validate) echo "$CACHE/envoy-validate-$(validate_version)" ;;
    *) echo "unknown peer: $1" >&2; return 2 ;;
  esac
}

pinned_version() {
  case "$1" in
    kube-apiserver) echo "v$KUBERNETES_VERSION" ;;
    etcd) echo "$ETCD_VERSION" ;;
    helm) echo "v$HELM_VERSION" ;;
    ghz) echo "v$GHZ_VERSION" ;;
    envoy-validate) echo "usage: envoy-validate" ;;
  esac
}

reported_version() {
  case "$1" in
    kube-apiserver | etcd | ghz) "$2" --version ;;
    helm) "$2" version --template '{{ .Version }}' ;;
    envoy-validate) "$2" --help ;;
  esac
}

# Runs a build in a scratch module and installs the binary atomically, so an
# interrupted build never leaves a half-written peer in the cache.
with_scratch() {
  local name=$1; shift
  local dir; dir=$(peer_dir "$name")
  local work="$CACHE/.build/$name"
  rm -rf "$work" && mkdir -p "$work"
  local start=$SECONDS
  log "building $name -> $dir (log: $work.log)"
  if ! (cd "$work" && "$@" "$work/out") >"$work.log" 2>&1; then
    tail -n 40 "$work.log" >&2
    log "FAILED to build $name"
    return 1
  fi
  # A binary that does not report the pinned version is not cached.
  local reported
  if ! reported=$(reported_version "$name" "$work/out" 2>&1) || [[ $reported != *"$(pinned_version "$name")"* ]]; then
    log "FAILED: $name reports '${reported:0:200}', want $(pinned_version "$name")"
    return 1
  fi
  mkdir -p "$dir"
  mv -f "$work/out" "$dir/$name"
  rm -rf "$work"
  if [[ $name == envoy-validate ]]; then
    # Validators of older sources pile up; drop those unused for a week.
    find "$CACHE" -maxdepth 1 -name 'envoy-validate-*' ! -path "$dir" -mtime +7 -exec rm -rf {} + 2>/dev/null || true
  fi
  log "built $name in $((SECONDS - start))s"
}

build_kube_apiserver() {
  local out=$1 K=$KUBERNETES_VERSION
  local S="v0.${K#1.}" MINOR; MINOR=$(echo "$K" | cut -d. -f2)
  go mod init local/kas
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@v$K" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  # k8s.io/kubernetes requires its staging modules at v0.0.0; point each at the
  # published release of the same version.
  for m in $(sed -n 's|^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*|\1|p' "$gomod"); do
    go mod edit -replace="$m=$m@$S"
  done
  go get "k8s.io/kubernetes/cmd/kube-apiserver@v$K"
  go build -trimpath -o "$out" -ldflags "-s -w \
    -X k8s.io/component-base/version.gitVersion=v$K \
    -X k8s.io/component-base/version.gitMajor=1 \
    -X k8s.io/component-base/version.gitMinor=$MINOR \
    -X k8s.io/component-base/version.gitTreeState=clean" \
    k8s.io/kubernetes/cmd/kube-apiserver
}

build_etcd() {
  local out=$1
  go mod init local/etcd
  go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  go build -trimpath -ldflags "-s -w" -o "$out" go.etcd.io/etcd/server/v3
}

build_helm() {
  local out=$1 MINOR; MINOR=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)
  go mod init local/helm
  go get "helm.sh/helm/v3@v$HELM_VERSION"
  go build -trimpath -o "$out" -ldflags "-s -w \
    -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$MINOR" \
    helm.sh/helm/v3/cmd/helm
}

build_ghz() {
  local out=$1
  go mod init local/ghz
  go get "github.com/bojand/ghz@v$GHZ_VERSION"
  go build -trimpath -ldflags "-s -w -X main.version=v$GHZ_VERSION" -o "$out" github.com/bojand/ghz/cmd/ghz
}

build_envoy_validate() {
  local out=$1
  # Read-only: the build must not rewrite go.mod/go.sum (they key the cache).
  (cd "$repo/tools/envoy-validate" && GOFLAGS=-mod=readonly go build -trimpath -ldflags "-s -w" -o "$out" .)
}

ensure() {
  local name=$1 dir; dir=$(peer_dir "$name")
  if [[ -x "$dir/$name" ]]; then
    return 0
  fi
  with_scratch "$name" "build_${name//-/_}"
}

all=(envoy-validate etcd helm ghz kube-apiserver)

if [[ ${1:-} == --print ]]; then
  for n in "${all[@]}"; do
    key=$(echo "$n" | tr 'a-z-' 'A-Z_')
    echo "CASA_PEER_${key}=$(peer_dir "$n")/$n"
  done
  exit 0
fi

# One build at a time per cache (parallel CI jobs, a developer and the tests):
# the second waits, then finds the peers built.
exec 9>"$CACHE/.lock"
flock 9

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all[@]}")
start=$SECONDS
failed=()
for n in "${targets[@]}"; do
  ensure "$n" || failed+=("$n")
done
log "peers ready in $((SECONDS - start))s (cache: $CACHE)"
if [[ ${#failed[@]} -gt 0 ]]; then
  log "could not build: ${failed[*]}"
  exit 1
fi
