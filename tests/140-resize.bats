# SPDX-License-Identifier: GPL-2.0
#
# Resizing with QD_IOC_SET_SIZE: every queued message kept, in order;
# -EBUSY below used, -EINVAL outside [64, max_size], -EPERM without
# CAP_SYS_ADMIN; waiting pushers woken when space grows. (The sysfs size
# file is tested in 180-sysfs.bats.)

load helpers
load driver-helpers

: "${BATS_TEST_TIMEOUT:=300}"

setup() {
	qd_reset
}

teardown() {
	driver_teardown
	chmod 0600 "$QD_DEV"
}

@test "a resize keeps every message, in order, with its type and id" {
	run "$QDT" run 'push --type 1 --data a' 'push --type 2 --data b' \
		'push --type 1 --data c' 'push --type 3 --len 1000'
	assert_success
	local ids
	ids=$(printf '%s\n' "${lines[@]}" | sed 's/^id=//' | tr '\n' ' ')
	run "$QDT" setsize 4096
	assert_success
	assert_output "size=4096"
	stat_is size 4096
	stat_is messages 4
	stat_is used $((4 * 8 + 3 + 1000))
	run "$QDT" setsize 1100
	assert_success
	run "$QDT" setsize 200000
	assert_success
	run "$QDT" pop --count 4 --hex
	assert_success
	local got
	got=$(printf '%s\n' "${lines[@]}" | sed 's/^id=\([0-9]*\) .*/\1/' | tr '\n' ' ')
	assert_equal "$got" "$ids"
	assert_line --index 0 --regexp ' type=1 len=1 data=61$'
	assert_line --index 1 --regexp ' type=2 len=1 data=62$'
	assert_line --index 2 --regexp ' type=1 len=1 data=63$'
	assert_line --index 3 --regexp ' type=3 len=1000 data=6162'
}

@test "a resize keeps messages that wrapped around the end of the ring" {
	"$QDT" setsize 256
	# move the ring's start forward, then queue across the end
	"$QDT" push --repeat 5 --len 30
	"$QDT" pop --count 4 --no-data
	run "$QDT" run 'push --data-esc w1' 'push --len 40' 'push --data-esc w3' \
		'push --len 50' 'push --data w5'
	assert_success
	stat_is messages 6
	run "$QDT" setsize 1024
	assert_success
	run "$QDT" setsize 206
	assert_success
	run "$QDT" pop --count 6 --hex
	assert_success
	assert_line --index 0 --regexp ' len=30 data='
	assert_line --index 1 --regexp ' len=2 data=7731$'
	assert_line --index 2 --regexp ' len=40 data=6162'
	assert_line --index 3 --regexp ' len=2 data=7733$'
	assert_line --index 4 --regexp ' len=50 data=6162'
	assert_line --index 5 --regexp ' len=2 data=7735$'
}

@test "a resize to exactly used succeeds and leaves no free byte" {
	"$QDT" push --len 92
	run "$QDT" setsize 100
	assert_success
	stat_is free 0
	stat_is max_msg_size 92
}

@test "shrinking below used fails with EBUSY and changes nothing" {
	"$QDT" push --len 92
	"$QDT" push --len 10
	save_state
	run "$QDT" setsize 117
	assert_failure 16
	assert_output "error=EBUSY"
	assert_state_unchanged
	run "$QDT" setsize 118
	assert_success
}

@test "a size below 64 fails with EINVAL" {
	save_state
	local s
	for s in 0 1 63; do
		run "$QDT" setsize "$s"
		assert_failure 22
		assert_output "error=EINVAL"
	done
	assert_state_unchanged
	run "$QDT" setsize 64
	assert_success
	stat_is max_msg_size 56
}

@test "a size above max_size fails with EINVAL" {
	local max
	max=$(cat /sys/module/queue_driver/parameters/max_size)
	save_state
	run "$QDT" setsize $((max + 1))
	assert_failure 22
	assert_output "error=EINVAL"
	run "$QDT" setsize 18446744073709551615
	assert_failure 22
	assert_output "error=EINVAL"
	assert_state_unchanged
}

@test "growing the queue wakes a push waiting for room" {
	# the waiting message fits the queue's size, just not its free space
	"$QDT" setsize 128
	fill_to_free 0
	local bw
	bw=$(qd_stat blocked_writers)
	bg writer "$QDT" push --len 100
	wait_stat blocked_writers $((bw + 1))
	run "$QDT" setsize 4096
	assert_success
	bg_wait writer
	assert_success
	stat_is messages 2
	stat_is used $((128 + 108))
}

@test "growing the queue wakes only the pushes that now fit" {
	"$QDT" setsize 128
	fill_to_free 0
	local bw
	bw=$(qd_stat blocked_writers)
	bg small "$QDT" push --type 2 --len 10
	bg big "$QDT" push --type 3 --len 110
	wait_stat blocked_writers $((bw + 2))
	# 18 bytes more: room for the small one only
	"$QDT" setsize 146
	bg_wait small
	assert_success
	run "$QDT" pop --type 3 --nonblock
	assert_failure 11
	"$QDT" setsize 2000
	bg_wait big
	assert_success
}

@test "a push larger than the current size fails with EMSGSIZE even though a resize could make room" {
	"$QDT" setsize 64
	local bw
	bw=$(qd_stat blocked_writers)
	run "$QDT" push --len 57
	assert_failure 90
	assert_output "error=EMSGSIZE"
	stat_is blocked_writers "$bw"
}

@test "the maximum message size follows the size" {
	"$QDT" setsize 1000
	stat_is max_msg_size 992
	run "$QDT" push --len 993
	assert_failure 90
	run "$QDT" push --len 992
	assert_success
}

@test "a message that fitted before a shrink can still be popped" {
	"$QDT" push --len 500
	"$QDT" setsize 508
	run "$QDT" pop --no-data
	assert_success
	assert_output --regexp ' len=500$'
}

@test "resizing without CAP_SYS_ADMIN fails with EPERM, even as root" {
	save_state
	run capsh --drop=cap_sys_admin -- -c "exec '$QDT' setsize 4096"
	assert_failure 1
	assert_output "error=EPERM"
	assert_state_unchanged
}

@test "resizing as an unprivileged user with access to the device fails with EPERM" {
	chmod 0666 "$QD_DEV"
	save_state
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$QDT" setsize 4096
	assert_failure 1
	assert_output "error=EPERM"
	assert_state_unchanged
	# everything else needs only the open file
	run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$QDT" run 'push --data x' 'pop' 'stats size'
	assert_success
	assert_line --index 2 "size=65536"
}
