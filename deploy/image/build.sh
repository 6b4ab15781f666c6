#!/usr/bin/env bash
# build.sh builds the worker image from deploy/Dockerfile with podman (make image).
#
# The Dockerfile's base images come from a registry where one serves them; where none
# does, they are made here: a `debootstrap --variant=minbase bookworm` root file system
# from the mirror apt uses, imported once as the worker's base, and once more with this
# machine's Go, its CA bundle and GOPROXY as the build stage's base.
#
# Environment (defaults in brackets):
#   IMAGE        image to tag [streamwatch:dev]
#   IMAGE_BASE   auto, registry or debootstrap [auto: registry if it answers, else debootstrap]
#   IMAGE_REFRESH=1  make the debootstrap base images again
#   GOPROXY      module proxy of the build stage [go env GOPROXY]
#   VERSION      version stamped into the binary [git describe --always --dirty]
#   DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR  [the ones apt uses for bookworm here]
#   CA_BUNDLE    CA bundle the Go stage trusts [/etc/ssl/certs/ca-certificates.crt]
#   PODMAN       podman and global flags [podman]
#   BUILDAH_ISOLATION  isolation of RUN steps [chroot: needs no container runtime]
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=deploy/image/lib.sh
. deploy/image/lib.sh

GO=${GO:-go}
IMAGE_BASE=${IMAGE_BASE:-auto}
VERSION=${VERSION:-$(git describe --always --dirty 2>/dev/null || echo dev)}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
DOCKERFILE=deploy/Dockerfile
# The registry bases are the defaults of the Dockerfile's ARGs.
REG_GO=$(sed -n 's/^ARG GO_IMAGE=//p' "$DOCKERFILE")
REG_BASE=$(sed -n 's/^ARG BASE_IMAGE=//p' "$DOCKERFILE")
LOCAL_BASE=localhost/streamwatch-base:bookworm
# The Dockerfile's build stage, kept for podman's layer cache.
BUILD_STAGE=localhost/streamwatch-build:latest

# registry_bases makes sure both registry bases are in local storage, pulling what is
# missing; it fails with podman's one-line reason when a registry does not serve them.
registry_bases() {
	local img out
	for img in "$REG_GO" "$REG_BASE"; do
		pm image exists "$img" && continue
		log "pulling $img"
		local rc=0
		# shellcheck disable=SC2086 # PODMAN may carry global flags
		out=$(timeout "${IMAGE_PULL_TIMEOUT:-900}" $PODMAN pull -q "$img" 2>&1) || rc=$?
		case $rc in
		0) ;;
		124) REASON="no answer in ${IMAGE_PULL_TIMEOUT:-900} s pulling $img" && return 1 ;;
		*) REASON=$(printf '%s\n' "$out" | grep -m1 . || echo "podman pull $img failed") && return 1 ;;
		esac
	done
}

# apt_site prints the archive URL apt uses for the suite $1, else the first one for $2.
apt_site() {
	local rows site
	# shellcheck disable=SC2016 # $(RELEASE) is apt's field syntax
	rows=$(apt-get indextargets --format '$(RELEASE) $(SITE)' 'Created-By: Packages' 2>/dev/null | sort -u) || true
	site=$(awk -v s="$1" '$1 == s {print $2; exit}' <<<"$rows")
	[ -n "$site" ] || site=$(awk -v p="$2" '$1 ~ p {print $2; exit}' <<<"$rows")
	printf '%s\n' "${site:-$3}"
}

# make_rootfs debootstraps Debian 12 minbase into $1 and points its apt at the mirrors.
make_rootfs() {
	local root=$1 mirror security
	mirror=${DEBIAN_MIRROR:-$(apt_site bookworm '^[a-z]+(-updates)?$' http://deb.debian.org/debian)}
	security=${DEBIAN_SECURITY_MIRROR:-$(apt_site bookworm-security '-security$' http://deb.debian.org/debian-security)}
	log "debootstrap --variant=minbase bookworm from $mirror (log: $root.log)"
	debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
		die "debootstrap failed: $(tail -n 1 "$root.log")"
	rm -f "$root/etc/apt/sources.list"
	cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	# As in debian:bookworm-slim: no documentation from later installs.
	printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
		'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' >"$root/etc/dpkg/dpkg.cfg.d/docker"
	chroot "$root" /bin/sh -c 'export DEBIAN_FRONTEND=noninteractive
		apt-get update -q && apt-get upgrade -y -q && apt-get clean' >>"$root.log" 2>&1 ||
		die "apt-get upgrade in the new root failed: $(tail -n 1 "$root.log")"
	rm -rf "$root"/var/lib/apt/lists/* "$root"/usr/share/man/* "$root"/usr/share/info/*
	find "$root/usr/share/doc" ! -type d ! -name copyright -delete
	: >"$root/etc/resolv.conf"
	: >"$root/etc/hostname"
}

# debootstrap_bases imports the worker's base and the Go base ($1) from a new root.
debootstrap_bases() {
	local go_image=$1 work root goroot
	if [ "${IMAGE_REFRESH:-0}" != 1 ] && pm image exists "$LOCAL_BASE" && pm image exists "$go_image"; then
		log "base images $LOCAL_BASE and $go_image are there (IMAGE_REFRESH=1 makes them again)"
		return 0
	fi
	ensure_debs debootstrap
	goroot=$("$GO" env GOROOT) || die "Go is needed to make the build stage's base ($GO env GOROOT failed)"
	[ -r "$CA_BUNDLE" ] || die "no CA bundle at $CA_BUNDLE: set CA_BUNDLE, the Go stage needs it to reach $GOPROXY"
	work=$(mktemp -d /var/tmp/streamwatch-image.XXXXXX)
	# shellcheck disable=SC2064 # expand work now
	trap "rm -rf '$work'" EXIT
	root=$work/rootfs
	make_rootfs "$root"
	tar -C "$root" -cf - . | pm import -q --change 'CMD ["/bin/bash"]' - "$LOCAL_BASE" >/dev/null ||
		die "podman import of $LOCAL_BASE failed"
	cp -a "$goroot" "$root/usr/local/go"
	mkdir -p "$root/etc/ssl/host" "$root/go"
	cp "$CA_BUNDLE" "$root/etc/ssl/host/ca-certificates.crt"
	tar -C "$root" -cf - . | pm import -q \
		--change 'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENV GOPATH=/go' --change 'ENV GOTOOLCHAIN=local' \
		--change 'ENV SSL_CERT_FILE=/etc/ssl/host/ca-certificates.crt' \
		--change 'CMD ["/bin/bash"]' - "$go_image" >/dev/null ||
		die "podman import of $go_image failed"
	rm -rf "$work"
	trap - EXIT
	log "made $LOCAL_BASE and $go_image"
}

main() {
	need_root
	ensure_debs podman
	{ [ -n "$REG_GO" ] && [ -n "$REG_BASE" ]; } ||
		die "$DOCKERFILE has no ARG GO_IMAGE= or ARG BASE_IMAGE= default"
	GOPROXY=${GOPROXY:-$("$GO" env GOPROXY 2>/dev/null || echo https://proxy.golang.org,direct)}
	local args=(--build-arg "VERSION=$VERSION" --build-arg "GOPROXY=$GOPROXY") route=$IMAGE_BASE
	REASON=
	case $route in
	registry) registry_bases || die "no registry serves the base images: $REASON (IMAGE_BASE=debootstrap makes them here)" ;;
	auto)
		if registry_bases; then route=registry; else
			log "no registry serves the base images ($REASON): making them with debootstrap"
			route=debootstrap
		fi
		;;
	debootstrap) ;;
	*) die "IMAGE_BASE=$route: want auto, registry or debootstrap" ;;
	esac
	if [ "$route" = debootstrap ]; then
		local gov go_image
		gov=$("$GO" env GOVERSION) || die "Go is needed to make the build stage's base"
		go_image=localhost/streamwatch-go:${gov#go}-bookworm
		debootstrap_bases "$go_image"
		args+=(--pull=never --build-arg "GO_IMAGE=$go_image" --build-arg "BASE_IMAGE=$LOCAL_BASE")
	fi
	log "podman build $IMAGE (bases: $route)"
	# The build stage first, tagged, so that the one it replaces can be removed: left
	# untagged, every rebuild would keep another copy of the stage's last layer.
	build_tagged "$BUILD_STAGE" --target build "${args[@]}"
	build_tagged "$IMAGE" "${args[@]}"
	log "built $IMAGE ($(pm image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
}

# build_tagged runs podman build with the rest of the arguments, tags the result $1 and
# removes the image that had that tag before.
build_tagged() {
	local tag=$1 old new
	shift
	old=$(pm image inspect --format '{{.Id}}' "$tag" 2>/dev/null) || old=
	pm build --isolation "${BUILDAH_ISOLATION:-chroot}" -f "$DOCKERFILE" \
		--ignorefile deploy/Dockerfile.dockerignore "$@" -t "$tag" . ||
		die "podman build of $tag failed"
	new=$(pm image inspect --format '{{.Id}}' "$tag")
	if [ -n "$old" ] && [ "$old" != "$new" ]; then
		pm rmi "$old" >/dev/null 2>&1 || log "kept the image $tag had before ($old): in use"
	fi
}

main "$@"
