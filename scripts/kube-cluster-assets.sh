#!/usr/bin/env bash
# Builds what the end-to-end tests add to kube-apiserver and etcd to make a
# cluster that acts: kube-controller-manager and kube-scheduler of the same
# Kubernetes version as the apiserver (scripts/kube-assets.sh), and KWOK
# (Kubernetes WithOut Kubelet: fake nodes whose pods go Pending → Running →
# Ready as its Stages say). All from the Go module proxy, once per machine,
# into a cache outside the repository keyed by version; prints that folder
# (use it as PRESAGE_KUBE_CLUSTER). A second run finds them there and builds
# nothing.
#
# kube-controller-manager and kube-scheduler come from k8s.io/kubernetes,
# which carries replace directives, so they are built from a throwaway module
# the way scripts/kube-assets.sh builds the apiserver. KWOK has none and is
# `go install`ed with GOBIN.
#
# Usage: scripts/kube-cluster-assets.sh   (prints the assets folder)
# Env:   KUBE_VERSION (default v1.37.2), KWOK_VERSION (default v0.8.0),
#        PRESAGE_CACHE (default ~/.cache/presage)
set -euo pipefail

kube="${KUBE_VERSION:-v1.37.2}"
kwok="${KWOK_VERSION:-v0.8.0}"
cache="${PRESAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/presage}"
dir="$cache/kube/cluster-$kube-kwok-$kwok"

if [ -x "$dir/kube-controller-manager" ] && [ -x "$dir/kube-scheduler" ] && [ -x "$dir/kwok" ]; then
	echo "$dir"
	exit 0
fi
mkdir -p "$dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GOFLAGS=-mod=mod

if [ ! -x "$dir/kwok" ]; then
	echo "kube-cluster-assets: building kwok $kwok (about 5 minutes cold)" >&2
	mkdir -p "$work/kwok"
	GOBIN="$work/kwok" go install "sigs.k8s.io/kwok/cmd/kwok@$kwok"
	mv "$work/kwok/kwok" "$dir/kwok.tmp.$$"
	mv "$dir/kwok.tmp.$$" "$dir/kwok"
fi

if [ ! -x "$dir/kube-controller-manager" ] || [ ! -x "$dir/kube-scheduler" ]; then
	echo "kube-cluster-assets: building kube-controller-manager and kube-scheduler $kube (about 13 minutes cold)" >&2
	mkdir -p "$work/kube"
	cd "$work/kube"
	go mod init presage.invalid/kube >/dev/null 2>&1
	gomod="$(go mod download -json "k8s.io/kubernetes@$kube" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
	staging="v0.${kube#v1.}"
	# Each staging module named in k8s.io/kubernetes's replace block.
	sed -n 's|^[[:space:]]*\(k8s.io/[^[:space:]]*\) => ./staging/.*|\1|p' "$gomod" | while read -r m; do
		go mod edit -replace "$m=$m@$staging"
	done
	go mod edit -require "k8s.io/kubernetes@$kube"
	go mod tidy >/dev/null 2>&1 || true
	cat >tools.go <<-'EOT'
		//go:build tools

		package tools

		import (
			_ "k8s.io/kubernetes/cmd/kube-controller-manager"
			_ "k8s.io/kubernetes/cmd/kube-scheduler"
		)
	EOT
	go get "k8s.io/kubernetes/cmd/kube-controller-manager@$kube" "k8s.io/kubernetes/cmd/kube-scheduler@$kube" >/dev/null 2>&1 || true
	pkg="k8s.io/component-base/version"
	ldflags="-s -w -X $pkg.gitVersion=$kube -X $pkg.gitMajor=1 -X $pkg.gitMinor=$(echo "$kube" | cut -d. -f2) -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
	for c in kube-controller-manager kube-scheduler; do
		go build -ldflags "$ldflags" -o "$dir/$c.tmp.$$" "k8s.io/kubernetes/cmd/$c"
		mv "$dir/$c.tmp.$$" "$dir/$c"
	done
fi
echo "$dir"
