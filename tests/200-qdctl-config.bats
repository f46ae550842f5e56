# SPDX-License-Identifier: GPL-2.0
#
# qdctl config, stats and dump in the guest, and the device's permission
# errors.

load helpers
load qdctl-helpers

# A test that would wait forever (a bug) fails instead.
BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-120}

setup() {
	qdctl_setup
}

teardown() {
	qdctl_teardown
}

@test "config prints size, used, free, messages and max_msg_size" {
	run "$QDCTL" config
	assert_success
	assert_output "size: 65536
used: 0
free: 65536
messages: 0
max_msg_size: 65528"
}

@test "config and stats: a stdout that fails is an error, exit 1" {
	run sh -c '"$QDCTL" config >/dev/full'
	assert_failure 1
	assert_output "qdctl: config: stdout: No space left on device"
	run sh -c '"$QDCTL" stats >/dev/full'
	assert_failure 1
	assert_output "qdctl: stats: stdout: No space left on device"
}

@test "config counts what is queued: 8 bytes of header per message" {
	printf 'abc\nde\n' | "$QDCTL" fill
	run "$QDCTL" config
	assert_success
	assert_line "used: 21"
	assert_line "free: 65515"
	assert_line "messages: 2"
}

@test "config --size resizes with K/M suffixes and keeps the messages" {
	printf 'one\ntwo\n' | "$QDCTL" fill
	run "$QDCTL" config --size 4K
	assert_success
	assert_output ""
	assert_equal "$(qd_stat size)" 4096
	assert_equal "$(qd_stat max_msg_size)" 4088
	run "$QDCTL" config --size 1M
	assert_success
	assert_equal "$(qd_stat size)" 1048576
	run "$QDCTL" read -n 2
	assert_output "one
two"
}

@test "config --size below what is queued fails, says so and changes nothing" {
	mkline 200 | "$QDCTL" fill
	run "$QDCTL" config --size 100
	assert_failure 1
	assert_output "qdctl: config: cannot resize to 100 bytes: the queue holds 208 bytes (1 messages), more than that; nothing changed"
	assert_equal "$(qd_stat size)" 65536
	assert_equal "$(qd_stat messages)" 1
}

@test "config --size outside the limits fails naming them and changes nothing" {
	run "$QDCTL" config --size 63
	assert_failure 1
	assert_output --regexp "^qdctl: config: cannot resize to 63 bytes: the size must be 64 to [0-9]+ bytes"
	run "$QDCTL" config --size 1G
	assert_failure 1
	assert_output --partial "cannot resize to 1073741824 bytes"
	assert_equal "$(qd_stat size)" 65536
}

@test "config --size without CAP_SYS_ADMIN says resizing needs it" {
	chmod 0666 "$QD_DEV"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$QDCTL" config --size 4096
	assert_failure 1
	assert_output "qdctl: config: $QD_DEV: Operation not permitted (resizing needs CAP_SYS_ADMIN: try sudo)"
	assert_equal "$(qd_stat size)" 65536
}

@test "a user without access to the device is told how permissions are set" {
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$QDCTL" read --nonblock
	assert_failure 1
	assert_output "qdctl: read: $QD_DEV: Permission denied (access is set by the module parameter mode= (default 0600) and the udev rule scripts/99-queue_driver.rules, which opens it to group 'queue': join that group, or use sudo)"
}

@test "the configurator symlink is qdctl config" {
	ln -s "$QDCTL" "$W/configurator"
	run "$W/configurator"
	assert_success
	assert_line "size: 65536"
}

@test "stats prints every counter, equal to sysfs" {
	printf 'a\nb\nc\n' | "$QDCTL" fill
	"$QDCTL" read -n 1 >/dev/null
	run "$QDCTL" stats
	assert_success
	assert_equal "${#lines[@]}" 12
	local name
	for name in size used free messages max_msg_size pushes pops blocked_readers \
		blocked_writers reserved requeued timeouts; do
		assert_line "$name: $(qd_stat "$name")"
	done
	assert_line "pushes: 3"
	assert_line "pops: 1"
}

@test "stats is readable without access to the device (from sysfs)" {
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$QDCTL" stats
	assert_success
	assert_line "size: 65536"
}

@test "stats --json prints one object with every counter" {
	run "$QDCTL" stats --json
	assert_success
	assert_equal "${#lines[@]}" 1
	assert_output --regexp '^\{"size": 65536, "used": 0, "free": 65536, "messages": 0, "max_msg_size": 65528, "pushes": 0, "pops": 0, "blocked_readers": 0, "blocked_writers": 0, "reserved": 0, "requeued": 0, "timeouts": 0\}$'
}

@test "stats --watch repeats until SIGINT, then exits 130" {
	BATS_TEST_TIMEOUT=30
	qbg watch "$QDCTL" stats --watch 0.2 --json
	wait_for eval '[ "$(grep -c size "$BATS_TEST_TMPDIR/watch.out")" -ge 2 ]'
	printf 'x\n' | "$QDCTL" fill
	wait_for qbg_has watch '"messages": 1'
	kill -INT "${QBG[watch]}"
	qbg_wait watch
	assert_equal "$status" 130
}

@test "dump lists the queued messages without taking them" {
	printf 'hello\n' | "$QDCTL" fill
	"$QDCTL" submit -q 'echo job'
	run "$QDCTL" dump
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 --regexp '^id=1 type=100 len=5 reserved=0 pid=[0-9]+ data="hello"$'
	assert_line --index 1 --regexp '^id=2 type=200 len=8 reserved=0 pid=[0-9]+ data="echo job"$'
	assert_equal "$(qd_stat messages)" 2
}

@test "dump --type shows one type" {
	printf 'hello\n' | "$QDCTL" fill
	"$QDCTL" submit -q 'echo job'
	run "$QDCTL" dump --type job
	assert_success
	assert_output --regexp '^id=2 type=200 '
	run "$QDCTL" dump --type 7
	assert_success
	assert_output ""
}

@test "dump --stats prints the seed's stats lines first" {
	run "$QDCTL" dump --stats
	assert_success
	assert_line --index 0 "queue_size_bytes: 65536"
	assert_line --index 6 --regexp "^blocked_writers: "
}

@test "dump as a user says debugfs is for root" {
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$QDCTL" dump
	assert_failure 1
	assert_output --partial "Permission denied (debugfs is for root: try sudo)"
}
