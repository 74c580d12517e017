#!/usr/bin/env bash
# Builds presage's container image without a Docker daemon: a static
# presage binary on an empty base, with the layout of deploy/Dockerfile's
# image (distroless static, nonroot) and what the Dockerfile adds to it:
#
#   /presage                            the binary (entrypoint)
#   /etc/presage/config.yaml            config.example.yaml (the default cmd's config)
#   /etc/ssl/certs/ca-certificates.crt  Debian's ca-certificates bundle
#   /etc/passwd, /etc/group             root, nobody and nonroot (65532), as distroless
#   /etc/nsswitch.conf                  as distroless
#   /home/nonroot (0700, 65532), /tmp (1777)
#   user 65532:65532, workdir /home/nonroot, port 9797
#
# The layer is one reproducible tarball (sorted, owned by root but for
# /home/nonroot, every time 0). crane (go-containerregistry), built once from
# the Go module proxy into the cache, appends it to an empty OCI base and
# sets the config on a registry it serves on loopback for the build only;
# the image is then written as an OCI image layout. The image's manifest
# digest is printed on stdout; progress goes to stderr.
# deploy/image_test.go builds the image with this script and checks it
# against the Dockerfile.
#
# Usage: scripts/image.sh [-o DIR] [-load]
#   -o DIR   the OCI image layout to write (default $PRESAGE_CACHE/image/oci);
#            never inside the repository. An existing layout there is replaced.
#   -load    also load the image into podman as presage:VERSION
# Exit status: 0 built, 2 usage, 3 a tool it needs is missing and cannot be
# built or found (crane, Debian's ca-certificates), 1 any other failure.
# Env:   VERSION (default: git describe --always --dirty), GOARCH (default:
#        go env GOARCH), CRANE_VERSION (default v0.22.1),
#        PRESAGE_CACHE (default ~/.cache/presage), PODMAN (the podman
#        command -load runs, with its flags; default podman)
set -euo pipefail

out=""
load=false
while [ $# -gt 0 ]; do
	case "$1" in
	-o)
		[ $# -ge 2 ] || { echo "image.sh: -o needs a folder" >&2; exit 2; }
		out="$2"
		shift 2
		;;
	-load) load=true; shift ;;
	-h | -help | --help)
		sed -n '/^# Usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "image.sh: unknown argument $1 (try -help)" >&2
		exit 2
		;;
	esac
done

# -o is relative to the caller's folder, the rest to the repository's.
cache="${PRESAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/presage}"
out="$(realpath -m "${out:-$cache/image/oci}")"
cd "$(dirname "$0")/.."
repo="$(pwd -P)"
case "$out/" in
"$repo"/*)
	echo "image.sh: $out is inside the repository; write the image elsewhere" >&2
	exit 2
	;;
esac
mkdir -p "$out"
if [ -n "$(ls -A "$out")" ] && [ ! -f "$out/oci-layout" ]; then
	echo "image.sh: $out holds files and is not an OCI image layout; not replacing it" >&2
	exit 2
fi

version="${VERSION:-$(git describe --always --dirty 2>/dev/null || echo dev)}"
arch="${GOARCH:-$(go env GOARCH)}"
crane_version="${CRANE_VERSION:-v0.22.1}"
crane="$cache/crane-$crane_version/crane"
bundle=/usr/share/ca-certificates/mozilla

if [ ! -d "$bundle" ]; then
	echo "image.sh: no $bundle: install Debian's ca-certificates package (apt-get install ca-certificates)" >&2
	exit 3
fi
if [ ! -x "$crane" ]; then
	echo "image.sh: building crane $crane_version from the Go module proxy" >&2
	if ! GOBIN="$cache/crane-$crane_version" go install "github.com/google/go-containerregistry/cmd/crane@$crane_version"; then
		echo "image.sh: cannot build crane $crane_version (is the Go module proxy reachable?)" >&2
		exit 3
	fi
fi

work="$(mktemp -d)"
registry=""
cleanup() {
	if [ -n "$registry" ]; then kill "$registry" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

# The root filesystem.
root="$work/rootfs"
mkdir -p "$root/etc/ssl/certs" "$root/etc/presage" "$root/home/nonroot" "$root/tmp"
echo "image.sh: building presage $version for linux/$arch" >&2
CGO_ENABLED=0 GOOS=linux GOARCH="$arch" go build -trimpath \
	-ldflags "-s -w -X main.version=$version" -o "$root/presage" ./cmd/presage
cp config.example.yaml "$root/etc/presage/config.yaml"
# Debian's bundle is every certificate of the package, one after the other.
for f in "$bundle"/*.crt; do
	cat "$f"
	[ -z "$(tail -c1 "$f")" ] || echo
done >"$root/etc/ssl/certs/ca-certificates.crt"
cat >"$root/etc/passwd" <<-'EOF'
	root:x:0:0:root:/root:/sbin/nologin
	nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
	nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
cat >"$root/etc/group" <<-'EOF'
	root:x:0:
	nobody:x:65534:
	tty:x:5:
	staff:x:50:
	nonroot:x:65532:
EOF
# distroless carries Debian's nsswitch.conf; Go's resolver reads only its
# hosts line: /etc/hosts first, then DNS.
cat >"$root/etc/nsswitch.conf" <<-'EOF'
	hosts:          files dns
EOF
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f -exec chmod 0644 {} +
chmod 0755 "$root/presage"
chmod 0700 "$root/home/nonroot"
chmod 1777 "$root/tmp"

# One layer: everything root's but /home/nonroot, which is appended as
# 65532's (no chown needed, so the script runs as any user).
tarflags=(--format=gnu --sort=name --numeric-owner --mtime=@0)
tar "${tarflags[@]}" --owner=0 --group=0 --exclude=./home/nonroot \
	-C "$root" -cf "$work/layer.tar" .
tar "${tarflags[@]}" --owner=65532 --group=65532 --no-recursion \
	-C "$root" -rf "$work/layer.tar" ./home/nonroot

# A registry on loopback for the build's own use.
"$crane" registry serve --address 127.0.0.1:0 >"$work/registry.log" 2>&1 &
registry=$!
port=""
for _ in $(seq 100); do
	port="$(sed -n 's/.*serving on port \([0-9]*\).*/\1/p' "$work/registry.log")"
	[ -n "$port" ] && break
	kill -0 "$registry" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$port" ]; then
	echo "image.sh: crane's registry did not start:" >&2
	cat "$work/registry.log" >&2
	exit 1
fi
ref="127.0.0.1:$port/presage:$version"

echo "image.sh: assembling the image" >&2
"$crane" append --oci-empty-base --platform "linux/$arch" -f "$work/layer.tar" -t "$ref" >/dev/null
"$crane" mutate "$ref" -t "$ref" \
	--set-platform "linux/$arch" \
	--user 65532:65532 \
	--workdir /home/nonroot \
	--entrypoint /presage \
	--cmd run,-config,/etc/presage/config.yaml \
	--exposed-ports 9797/tcp \
	-e PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	-e SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
	-l org.opencontainers.image.title=presage \
	-l "org.opencontainers.image.version=$version" >/dev/null
digest="$("$crane" digest "$ref")"

rm -rf "$out"
"$crane" pull --format oci "$ref" "$out"
echo "image.sh: wrote $out (presage:$version)" >&2

if $load; then
	# shellcheck disable=SC2206 # PODMAN is a command with its flags
	podman=(${PODMAN:-podman})
	# As an OCI archive: podman names an image it reads from an OCI folder
	# after the folder's path, which it refuses when the path has capitals.
	tar -C "$out" -cf "$work/image.tar" .
	id="$("${podman[@]}" load -q -i "$work/image.tar" | sed -n 's/^Loaded image: //p')"
	"${podman[@]}" tag "$id" "presage:$version"
	echo "image.sh: loaded into podman as presage:$version" >&2
fi
echo "$digest"
