#!/usr/bin/env bash
# check.sh replays the demo clip inside the worker image's root file system and counts
# its alerts (make image-check). No container is run: the image's root is mounted
# (podman create + podman mount) and the image's entrypoint runs in it under chroot, as
# the image's user, with the image's environment and working directory, in a mount
# namespace of its own (for /proc and /dev). The check fails unless the user is not root,
# the Tesseract languages are there, and every counterfeit caption of
# testdata/demo.truth.json gave exactly one alert, and nothing else did.
#
# Environment: IMAGE [streamwatch:dev], PODMAN [podman].
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=deploy/image/lib.sh
. deploy/image/lib.sh

CLIP=testdata/demo.mp4
TRUTH=testdata/demo.truth.json
TESSDATA=/usr/share/tesseract-ocr/5/tessdata
CTR=

cleanup() {
	[ -n "$CTR" ] || return 0
	pm umount "$CTR" >/dev/null || log "podman umount $CTR failed"
	pm rm "$CTR" >/dev/null || log "podman rm $CTR failed"
}

# image_field prints a field of the image's config (a Go template of podman image inspect).
image_field() { pm image inspect --format "$1" "$IMAGE"; }

# numeric_user turns the image's USER (name or id, with an optional group) into uid:gid,
# read from the image's /etc/passwd and /etc/group.
numeric_user() {
	local root=$1 user=${2%%:*} group=
	[[ $2 == *:* ]] && group=${2#*:}
	if ! [[ $user =~ ^[0-9]+$ ]]; then
		user=$(awk -F: -v u="$user" '$1 == u {print $3}' "$root/etc/passwd")
		[ -n "$user" ] || die "$IMAGE: user ${2%%:*} is not in the image's /etc/passwd"
	fi
	if [ -z "$group" ]; then
		group=$(awk -F: -v u="$user" '$3 == u {print $4}' "$root/etc/passwd")
	elif ! [[ $group =~ ^[0-9]+$ ]]; then
		group=$(awk -F: -v g="$group" '$1 == g {print $3}' "$root/etc/group")
	fi
	[ -n "$group" ] || die "$IMAGE: no group for user $2"
	printf '%s:%s\n' "$user" "$group"
}

# count_alerts compares the alerts of $1 (JSON lines) with the counterfeit captions of
# the truth file: each caption must have exactly one alert starting within it.
count_alerts() {
	awk -v out="$1" '
		# The truth file: one caption object per "text", its times and "counterfeit".
		FILENAME != out && /"start_ms"/ { gsub(/[^0-9]/, ""); s = $0 }
		FILENAME != out && /"end_ms"/ { gsub(/[^0-9]/, ""); e = $0 }
		FILENAME != out && /"counterfeit": *true/ { n++; cs[n] = s; ce[n] = e }
		FILENAME == out {
			if (!match($0, /"alert_id":"[^"]*"/)) { print "not an alert record: " $0; bad++; next }
			id = substr($0, RSTART + 12, RLENGTH - 13)
			if (id in seen) next
			seen[id] = 1; alerts++
			match($0, /"start_ms":[0-9]+/); st = substr($0, RSTART + 11, RLENGTH - 11) + 0
			hit = 0
			for (i = 1; i <= n; i++) if (st >= cs[i] && st <= ce[i]) { got[i]++; hit = 1 }
			if (!hit) { print "alert " id " at " st " ms is on no counterfeit caption"; bad++ }
		}
		END {
			for (i = 1; i <= n; i++) if (got[i] != 1) {
				print "counterfeit caption at " cs[i] "-" ce[i] " ms has " got[i] + 0 " alerts, want 1"; bad++
			}
			printf "%d alerts for %d counterfeit captions\n", alerts, n
			exit bad > 0
		}' "$TRUTH" "$1"
}

main() {
	need_root
	command -v podman >/dev/null || die "no podman: make image installs it and builds $IMAGE"
	pm image exists "$IMAGE" || die "no image $IMAGE: build it with make image"
	local user entry workdir root uid env=() line
	user=$(image_field '{{.Config.User}}')
	entry=$(image_field '{{range .Config.Entrypoint}}{{.}} {{end}}')
	workdir=$(image_field '{{.Config.WorkingDir}}')
	while IFS= read -r line; do [ -n "$line" ] && env+=("$line"); done < <(image_field '{{range .Config.Env}}{{println .}}{{end}}')
	trap cleanup EXIT
	CTR=$(pm create --pull=never --name "streamwatch-image-check-$$" "$IMAGE")
	root=$(pm mount "$CTR")
	[ -n "$user" ] || die "$IMAGE runs as root: the Dockerfile needs a USER"
	uid=$(numeric_user "$root" "$user")
	[ "${uid%%:*}" != 0 ] || die "$IMAGE runs as root (USER $user)"
	for lang in eng chi_sim chi_tra; do
		[ -s "$root$TESSDATA/$lang.traineddata" ] || die "$IMAGE has no $TESSDATA/$lang.traineddata"
	done
	local dir=/tmp/streamwatch-image-check
	mkdir -p "$root$dir"
	cp "$CLIP" "$root$dir/demo.mp4"
	chown -R "$uid" "$root$dir"
	log "$IMAGE: user $user ($uid), replaying $CLIP in its root: ${entry}replay"
	local start=$SECONDS
	# shellcheck disable=SC2086,SC2016 # entry: the image's entrypoint, split into words; $1 is sh's
	unshare --mount --propagation private -- /bin/sh -ec '
		root=$1; shift
		mount -t proc proc "$root/proc"
		mount --rbind /dev "$root/dev"
		exec "$@"' sh "$root" \
		chroot --userspec="$uid" --groups= "$root" /usr/bin/env -i -C "${workdir:-/}" "${env[@]}" \
		$entry replay "$dir/demo.mp4" --out "$dir/alerts.jsonl" --evidence-dir "$dir/evidence" ||
		die "replay inside $IMAGE failed"
	local took=$((SECONDS - start)) verdict
	[ -s "$root$dir/alerts.jsonl" ] || die "replay inside $IMAGE wrote no alert record"
	if ! verdict=$(count_alerts "$root$dir/alerts.jsonl"); then
		die "$IMAGE: $(printf '%s' "$verdict" | tr '\n' ';')"
	fi
	log "ok: $IMAGE: $verdict of $CLIP, replay $took s inside the image ($(image_field '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}'))"
}

main "$@"
