#!/usr/bin/env bash
# Runs presage's whole test suite on a fresh machine: installs what the tests
# need (Debian's prometheus and chromium packages, when missing), builds the
# presage binary, kube-apiserver and etcd, and the end-to-end tests'
# kube-controller-manager, kube-scheduler and KWOK into a cache outside the
# repository, then runs gofmt, go vet, go test, and every fuzz target for
# 10 s ($PRESAGE_FUZZTIME).
# Usage: scripts/test.sh [go test flags...]
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests need: prometheus (tests against a real
# Prometheus server), chromium (the replay report rendered headless), podman
# and runc (the container image run; about 25 s to install).
missing=""
command -v prometheus >/dev/null 2>&1 || missing="$missing prometheus"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v podman >/dev/null 2>&1 || missing="$missing podman"
command -v runc >/dev/null 2>&1 || missing="$missing runc"
if [ -n "$missing" ]; then
	echo "test.sh: installing Debian's$missing" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	$sudo apt-get install -y -q --no-install-recommends $missing >/dev/null
fi

cache="${PRESAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/presage}"
mkdir -p "$cache/bin"
go build -o "$cache/bin/presage" ./cmd/presage
export PRESAGE_BIN="$cache/bin/presage"

# kube-apiserver and etcd for the Kubernetes tests, built from the Go module
# proxy once per machine (about 5 minutes cold) into the same cache.
KUBEBUILDER_ASSETS="$(PRESAGE_CACHE="$cache" scripts/kube-assets.sh)"
export KUBEBUILDER_ASSETS
# kube-controller-manager, kube-scheduler and KWOK for the end-to-end tests
# (cmd/presage/e2e*_test.go), built the same way once per machine (about
# 18 minutes cold on 2 cores) into the same cache.
PRESAGE_KUBE_CLUSTER="$(PRESAGE_CACHE="$cache" scripts/kube-cluster-assets.sh)"
export PRESAGE_KUBE_CLUSTER

# The shared data folder sits beside the checkout; tests that need it skip
# with a message when it is absent.
if [ -z "${PRESAGE_DATA:-}" ] && [ -d ../shared/data ]; then
	PRESAGE_DATA="$(cd ../shared/data && pwd)"
	export PRESAGE_DATA
fi

unformatted="$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"
if [ -n "$unformatted" ]; then
	echo "test.sh: gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
go test -race -count=1 "$@" ./...

# Every fuzz target for a short while (scripts/fuzz.sh runs them longer).
scripts/fuzz.sh "${PRESAGE_FUZZTIME:-10s}"
