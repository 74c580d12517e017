#!/usr/bin/env bash
# Builds the kube-apiserver and etcd binaries that presage's Kubernetes tests
# run (through controller-runtime's envtest), from the Go module proxy, into a
# cache outside the repository keyed by version, and prints that folder (use
# it as KUBEBUILDER_ASSETS). A second run finds them there and builds nothing.
#
# Neither command can be `go install`ed: k8s.io/kubernetes and etcd's server
# module carry replace directives. So each is built from a throwaway module in
# a temporary folder that requires it and, for Kubernetes, replaces each
# k8s.io/* staging module (v0.0.0 in its go.mod) with the published v0.X.Y.
#
# Usage: scripts/kube-assets.sh        (prints the assets folder)
# Two runs at once (two checkouts testing on one machine) each build into
# a file of their own and the last rename wins.
# Env:   KUBE_VERSION (default v1.37.2), ETCD_VERSION (default v3.6.16),
#        PRESAGE_CACHE (default ~/.cache/presage)
set -euo pipefail

kube="${KUBE_VERSION:-v1.37.2}"
etcd="${ETCD_VERSION:-v3.6.16}"
cache="${PRESAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/presage}"
dir="$cache/kube/kube-apiserver-$kube-etcd-$etcd"

if [ -x "$dir/kube-apiserver" ] && [ -x "$dir/etcd" ]; then
	echo "$dir"
	exit 0
fi
mkdir -p "$dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GOFLAGS=-mod=mod

if [ ! -x "$dir/etcd" ]; then
	echo "kube-assets: building etcd $etcd (under a minute)" >&2
	mkdir -p "$work/etcd"
	(
		cd "$work/etcd"
		go mod init presage.invalid/etcd >/dev/null 2>&1
		go get "go.etcd.io/etcd/server/v3@$etcd" >/dev/null 2>&1
		go build -o "$dir/etcd.tmp.$$" go.etcd.io/etcd/server/v3
	)
	mv "$dir/etcd.tmp.$$" "$dir/etcd"
fi

if [ ! -x "$dir/kube-apiserver" ]; then
	echo "kube-assets: building kube-apiserver $kube (about 5 minutes cold)" >&2
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
	cat >tools.go <<-'EOF'
		//go:build tools

		package tools

		import _ "k8s.io/kubernetes/cmd/kube-apiserver"
	EOF
	go get "k8s.io/kubernetes/cmd/kube-apiserver@$kube" >/dev/null 2>&1 || true
	pkg="k8s.io/component-base/version"
	ldflags="-s -w -X $pkg.gitVersion=$kube -X $pkg.gitMajor=1 -X $pkg.gitMinor=$(echo "$kube" | cut -d. -f2) -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
	go build -ldflags "$ldflags" -o "$dir/kube-apiserver.tmp.$$" k8s.io/kubernetes/cmd/kube-apiserver
	mv "$dir/kube-apiserver.tmp.$$" "$dir/kube-apiserver"
fi
echo "$dir"
