# SPDX-License-Identifier: GPL-2.0
#
# The guest the suites run in: what scripts/vm promises (module loaded,
# debugfs, the repository writable at the same path, the host read-only,
# private /tmp) and the helpers every suite relies on.

load helpers

BATS_TEST_TIMEOUT=120

teardown() {
	if [ -n "${HOLDER:-}" ]; then
		kill "$HOLDER" 2>/dev/null || true
		wait "$HOLDER" 2>/dev/null || true
	fi
}

@test "the suites run inside the test VM as root" {
	in_guest
	assert_equal "$(id -u)" 0
}

@test "the module is loaded and its device, sysfs and debugfs entries exist" {
	grep -q '^queue_driver ' /proc/modules
	[ -c "$QD_DEV" ]
	[ -r "$QD_SYSFS/size" ]
	[ -r "$QD_DEBUGFS/stats" ]
}

@test "the repository is writable at the host's path and the host root is not" {
	local f
	mkdir -p "$QD_ROOT/build"
	f=$(mktemp "$QD_ROOT/build/guest-write-test.XXXXXX")
	echo hello >"$f"
	assert_equal "$(cat "$f")" hello
	rm -f "$f"
	run touch /usr/qd-guest-write-test
	assert_failure
	assert_output --partial 'Read-only file system'
}

@test "/tmp is a private tmpfs" {
	run stat -f -c %T /tmp
	assert_output tmpfs
	touch /tmp/qd-guest-tmp-test
	rm /tmp/qd-guest-tmp-test
}

@test "qd_reset brings back an empty queue of the default size" {
	qd_reset
	echo 4096 >"$QD_SYSFS/size"
	printf 'x' >"$QD_DEV"
	assert_equal "$(qd_stat messages)" 1
	qd_reset
	assert_equal "$(qd_stat size)" 65536
	assert_equal "$(qd_stat messages)" 0
	assert_equal "$(qd_stat pushes)" 0
}

@test "qd_reset fails and names the process when the device is still open" {
	qd_reset
	sleep 600 <"$QD_DEV" 3>&- &
	HOLDER=$!
	wait_for test -e "/proc/$HOLDER/fd/0"
	run qd_reset
	assert_failure
	assert_output --partial "$HOLDER sleep 600"
	kill "$HOLDER"
	wait "$HOLDER" || true
	HOLDER=
	qd_reset
}

@test "wait_for gives up after WAIT_FOR_SECS and says what it waited for" {
	WAIT_FOR_SECS=1 run wait_for false
	assert_failure
	assert_output --partial 'gave up after 1s: false'
}
