# SPDX-License-Identifier: GPL-2.0
#
# What the installed packages do, in the guest: run by
# tests/host/300-packages.bats after `dpkg -i` of queue-driver-dkms and
# qdctl on the host, in a guest booted without the harness's insmod
# (scripts/vm --no-load). The guest sees the host's root read-only, so
# everything here is what dpkg and DKMS put there: the module DKMS built
# under /lib/modules/KVER/updates/dkms, the udev rule, the queue group,
# /usr/bin/qdctl, the seed's names in /usr/libexec/qdctl and the worker
# unit. Not the tree's builds.
#
# udevd does not run in the guest: `udevadm test` runs udev's rule engine
# on the device's add event and applies the result to the node, which is
# what udevd would do when modprobe creates it.
#
# QD_VERSION: the version the module and qdctl must report (VERSION).
# The tests run in order and build on each other (load, rule, use).

load ../helpers

: "${BATS_TEST_TIMEOUT:=120}"

QDCTL=/usr/bin/qdctl
UNIT=/lib/systemd/system/qdctl-worker@.service
# A member of group queue (nobody, with queue as a supplementary group),
# and a user who is not one.
MEMBER=(setpriv --reuid=nobody --regid=nogroup --groups=queue)
STRANGER=(setpriv --reuid=nobody --regid=nogroup --clear-groups)

setup_file() {
	if ! in_guest; then
		echo "in-guest.bats: run by tests/host/300-packages.bats, in the guest" >&2
		return 1
	fi
	if [ -z "${QD_VERSION:-}" ]; then
		echo "in-guest.bats: QD_VERSION is not set" >&2
		return 1
	fi
}

teardown() {
	if [ -n "${WORKER:-}" ]; then
		kill "$WORKER" 2>/dev/null || true
		wait "$WORKER" 2>/dev/null || true
	fi
}

@test "modprobe loads the module DKMS installed under updates/dkms" {
	# scripts/vm --no-load: nobody loaded it yet (/sys/module/NAME exists
	# for every loaded module; /proc/modules would be missing, and a grep
	# of it failing, on a kernel without CONFIG_MODULES)
	[ ! -e /sys/module/queue_driver ] || fail "queue_driver is loaded already"
	run modinfo -n queue_driver
	assert_success
	assert_output --regexp "^/lib/modules/$(uname -r)/updates/dkms/queue_driver\.ko(\.(xz|zst|gz))?$"
	run modinfo -F version queue_driver
	assert_output "$QD_VERSION"

	run modprobe queue_driver
	assert_success
	[ -c "$QD_DEV" ]
	assert_equal "$(cat /sys/module/queue_driver/version)" "$QD_VERSION"
	assert_equal "$(cat /sys/module/queue_driver/srcversion)" \
		"$(modinfo -F srcversion queue_driver)"
}

@test "the packaged udev rule gives /dev/queue_driver to group queue, mode 0660" {
	# As the module creates it, before udev.
	assert_equal "$(stat -c '%U:%G %a' "$QD_DEV")" "root:root 600"
	[ ! -e /etc/udev/rules.d/99-queue_driver.rules ] ||
		fail "/etc/udev/rules.d/99-queue_driver.rules (make install's?) shadows the packaged rule"
	getent group queue

	run udevadm test --action=add "$QD_SYSFS"
	assert_success
	assert_output --regexp '/lib/udev/rules\.d/99-queue_driver\.rules:[0-9]+ GROUP'
	assert_output --regexp "Setting permissions $QD_DEV, uid=0, gid=[0-9]+, mode=0660"
	assert_equal "$(stat -c '%U:%G %a' "$QD_DEV")" "root:queue 660"
}

@test "size in sysfs stays writable by root only" {
	assert_equal "$(stat -c '%U:%G %a' "$QD_SYSFS/size")" "root:root 644"
	run "${MEMBER[@]}" sh -c "echo 8192 > $QD_SYSFS/size"
	assert_failure
	assert_output --partial "Permission denied"
	assert_equal "$(qd_stat size)" 65536
}

@test "a member of group queue uses the device without root, others cannot" {
	run "${MEMBER[@]}" "$QDCTL" fill <<<"from a member"
	assert_success
	run "${MEMBER[@]}" "$QDCTL" read --nonblock
	assert_success
	assert_output "from a member"

	run "${STRANGER[@]}" "$QDCTL" read --nonblock
	assert_failure 1
	assert_output --partial "$QD_DEV: Permission denied"
}

@test "the installed qdctl runs the workflow: resize, fill a log, read it back" {
	local log=$QD_ROOT/examples/app.log
	echo 4096 >"$QD_SYSFS/size"
	run "$QDCTL" config
	assert_success
	assert_line "size: 4096"

	run "$QDCTL" fill <"$log"
	assert_success
	assert_equal "$(qd_stat messages)" "$(wc -l <"$log")"
	"$QDCTL" read --nonblock >"$BATS_TEST_TMPDIR/read"
	cmp "$log" "$BATS_TEST_TMPDIR/read"
	assert_equal "$(qd_stat messages)" 0
}

@test "the seed's names in /usr/libexec/qdctl run their qdctl command" {
	run /usr/libexec/qdctl/configurator
	assert_success
	assert_line "size: 4096"
	run /usr/libexec/qdctl/filler <<<"through the seed's name"
	assert_success
	run /usr/libexec/qdctl/reader --nonblock
	assert_success
	assert_output "through the seed's name"
	assert_equal "$(qd_stat messages)" 0
}

@test "qdctl work runs a submitted job and exits after -n 1" {
	local out=$BATS_TEST_TMPDIR/hi
	run "$QDCTL" submit "echo hi > $out"
	assert_success
	run timeout 60 "$QDCTL" work --type job -n 1
	assert_success
	assert_output --regexp "job [0-9]+ exited 0"
	assert_equal "$(cat "$out")" hi
	assert_equal "$(qd_stat messages)" 0
}

@test "the worker unit's command runs jobs as their submitter and drains on SIGTERM" {
	local dir cmd rc
	# ExecStart of the installed unit, instance job (what systemd runs for
	# qdctl-worker@job; the unit's sandboxing needs systemd, not here).
	cmd=$(sed -n 's/^ExecStart=//p' "$UNIT")
	cmd=${cmd//%i/job}
	assert_equal "$cmd" "$QDCTL work --type job"

	dir=$(mktemp -d)
	chmod 0777 "$dir"
	run "${MEMBER[@]}" "$QDCTL" submit \
		"id -un > $dir/who; sleep 5; echo finished > $dir/done"
	assert_success

	# shellcheck disable=SC2086 # the unit's command line, split as systemd does
	$cmd >"$dir/log" 2>&1 3>&- &
	WORKER=$!
	# (the job sleeps 5 s: SIGTERM comes while it runs, even on a busy host)
	WAIT_FOR_SECS=60 wait_for grep -q "job [0-9]*: id -un" "$dir/log"
	# Stopping the unit: SIGTERM to qdctl work only (KillMode=mixed).
	kill -TERM "$WORKER"
	rc=0
	wait "$WORKER" || rc=$?
	WORKER=
	assert_equal "$rc" 0
	# The running job finished after the SIGTERM, and was acked.
	run cat "$dir/log"
	assert_line --index 1 --partial "SIGTERM: taking no new jobs"
	assert_line --index 2 --regexp "job [0-9]+ exited 0$"
	assert_equal "${#lines[@]}" 3
	assert_equal "$(cat "$dir/done")" finished
	assert_equal "$(cat "$dir/who")" nobody
	assert_equal "$(qd_stat messages)" 0
	assert_equal "$(qd_stat reserved)" 0
}

@test "modprobe -r unloads it" {
	run modprobe -r queue_driver
	assert_success
	[ ! -e "$QD_DEV" ]
	[ ! -e /sys/module/queue_driver ] || fail "queue_driver is still loaded"
}
