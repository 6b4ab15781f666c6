# shellcheck shell=bash
# Shared by deploy/image/build.sh and deploy/image/check.sh (sourced, not run).

# The image make image builds and make image-check checks.
IMAGE=${IMAGE:-streamwatch:dev}
# podman, with any global flags, e.g. PODMAN='podman --storage-driver vfs' where overlay
# mounts are refused.
PODMAN=${PODMAN:-podman}

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() {
	log "$*"
	exit 1
}

pm() {
	# shellcheck disable=SC2086 # PODMAN may carry global flags
	$PODMAN "$@"
}

need_root() {
	[ "$(id -u)" = 0 ] || die "run as root (podman storage, chroot and debootstrap need it)"
}

# ensure_debs installs the Debian packages among "$@" that are missing, as make deps does.
ensure_debs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	command -v apt-get >/dev/null || die "missing packages: ${missing[*]} (install them; no apt-get here)"
	log "installing: ${missing[*]}"
	if ! DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 ||
		! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
		die "apt-get install ${missing[*]} failed"
	fi
}
