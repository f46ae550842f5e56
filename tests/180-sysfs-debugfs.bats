# SPDX-License-Identifier: GPL-2.0
#
# /sys/class/misc/queue_driver/* (one decimal and a newline per file, size
# writable) and /sys/kernel/debug/queue_driver/{stats,messages}, in the
# formats driver/DESIGN.md gives.

load helpers
load driver-helpers

: "${BATS_TEST_TIMEOUT:=300}"

SYSFS_FILES="size used free messages max_msg_size pushes pops blocked_readers
blocked_writers reserved requeued timeouts"

setup() {
	qd_reset
}

teardown() {
	driver_teardown
}

@test "every sysfs attribute exists and holds one decimal and a newline" {
	local f
	for f in $SYSFS_FILES; do
		[ -f "$QD_SYSFS/$f" ]
		run od -An -c "$QD_SYSFS/$f"
		assert_output --regexp '^( +[0-9])+ +\\n$'
	done
}

@test "size is 0644 and every other attribute is read-only 0444" {
	local f
	run stat -c %a "$QD_SYSFS/size"
	assert_output 644
	for f in $SYSFS_FILES; do
		[ "$f" = size ] && continue
		run stat -c %a "$QD_SYSFS/$f"
		assert_output 444
	done
}

@test "the read-only attributes cannot be written" {
	run bash -c "echo 5 > '$QD_SYSFS/used'"
	assert_failure
	run cat "$QD_SYSFS/used"
	assert_output 0
}

@test "the attributes follow the queue: used, free, messages, max_msg_size" {
	"$QDT" push --len 10
	"$QDT" push --len 2
	run cat "$QD_SYSFS/used" "$QD_SYSFS/free" "$QD_SYSFS/messages" \
		"$QD_SYSFS/max_msg_size" "$QD_SYSFS/size"
	assert_output "28
65508
2
65528
65536"
}

@test "used + free == size in sysfs after pushes, pops and resizes" {
	"$QDT" push --len 100 --repeat 3
	"$QDT" pop --no-data
	"$QDT" setsize 1000
	local size used free
	size=$(qd_stat size)
	used=$(qd_stat used)
	free=$(qd_stat free)
	assert_equal $((used + free)) "$size"
	assert_equal "$size" 1000
}

@test "echo 4096 > size resizes the queue and keeps its messages" {
	"$QDT" push --data kept
	echo 4096 >"$QD_SYSFS/size"
	stat_is size 4096
	stat_is max_msg_size 4088
	stat_is messages 1
	run "$QDT" stats size
	assert_output "size=4096"
	run "$QDT" pop
	assert_output --regexp ' data=kept$'
}

@test "writing garbage to size fails with EINVAL and changes nothing" {
	save_state
	local v
	for v in abc -1 4096x 1.5 " "; do
		run bash -c "printf '%s' '$v' > '$QD_SYSFS/size'"
		assert_failure
		assert_output --partial "Invalid argument"
	done
	assert_state_unchanged
}

@test "writing a size outside [64, max_size] fails with EINVAL" {
	save_state
	local max
	max=$(cat /sys/module/queue_driver/parameters/max_size)
	for v in 0 63 $((max + 1)) 18446744073709551616; do
		run bash -c "echo $v > '$QD_SYSFS/size'"
		assert_failure
		assert_output --partial "Invalid argument"
	done
	assert_state_unchanged
}

@test "writing a size too small for the contents fails with EBUSY" {
	"$QDT" push --len 200
	save_state
	run bash -c "echo 207 > '$QD_SYSFS/size'"
	assert_failure
	assert_output --partial "Device or resource busy"
	assert_state_unchanged
	echo 208 >"$QD_SYSFS/size"
	stat_is free 0
}

@test "writing size without CAP_SYS_ADMIN fails with EPERM" {
	save_state
	run capsh --drop=cap_sys_admin -- -c "echo 4096 > '$QD_SYSFS/size'"
	assert_failure
	assert_output --partial "Operation not permitted"
	assert_state_unchanged
}

@test "the counters pushes, pops, blocked, reserved, requeued and timeouts move" {
	local p q br to rq
	p=$(qd_stat pushes)
	q=$(qd_stat pops)
	to=$(qd_stat timeouts)
	rq=$(qd_stat requeued)
	br=$(qd_stat blocked_readers)
	"$QDT" push --repeat 2 --data x
	"$QDT" pop --no-data
	"$QDT" pop --type 9 --flags timeout --timeout-ns 200000000 || true
	"$QDT" pop --reserve --no-data
	stat_is pushes $((p + 2))
	stat_is pops $((q + 1))
	stat_is timeouts $((to + 1))
	stat_is requeued $((rq + 1))
	stat_is blocked_readers $((br + 1))
	stat_is reserved 0
}

@test "debugfs stats has the seed's lines in order, then the newer counters" {
	"$QDT" push --len 5
	run cat "$QD_DEBUGFS/stats"
	assert_success
	local names
	names=$(sed 's/: .*//' <<<"$output" | tr '\n' ' ')
	assert_equal "$names" "queue_size_bytes used_bytes free_bytes total_pushes total_pops blocked_readers blocked_writers messages reserved requeued timeouts max_msg_size "
	assert_line --index 0 "queue_size_bytes: 65536"
	assert_line --index 1 "used_bytes: 13"
	assert_line --index 2 "free_bytes: 65523"
	assert_line --index 7 "messages: 1"
	assert_line --index 11 "max_msg_size: 65528"
}

@test "debugfs stats agrees with sysfs" {
	"$QDT" push --len 5 --repeat 2
	"$QDT" pop --no-data
	run cat "$QD_DEBUGFS/stats"
	assert_line "total_pushes: $(qd_stat pushes)"
	assert_line "total_pops: $(qd_stat pops)"
	assert_line "blocked_readers: $(qd_stat blocked_readers)"
	assert_line "blocked_writers: $(qd_stat blocked_writers)"
	assert_line "requeued: $(qd_stat requeued)"
	assert_line "timeouts: $(qd_stat timeouts)"
}

@test "debugfs messages lists each queued message, oldest first" {
	run "$QDT" run 'push --meta --type 100 --data first' 'push --type 200 --data second'
	local id1 id2 pid
	id1=$(kv id "${lines[0]}")
	pid=$(kv pid "${lines[0]}")
	id2=$(kv id "${lines[1]}")
	run cat "$QD_DEBUGFS/messages"
	assert_success
	assert_line --index 0 "id=$id1 type=100 len=5 reserved=0 pid=$pid data=\"first\""
	assert_line --index 1 --regexp "^id=$id2 type=200 len=6 reserved=0 pid=[0-9]+ data=\"second\"\$"
	assert_equal "${#lines[@]}" 2
}

@test "debugfs messages is empty for an empty queue" {
	run cat "$QD_DEBUGFS/messages"
	assert_success
	assert_output ""
}

@test "debugfs messages escapes the preview" {
	"$QDT" push --data-esc 'a\nb\tc\\d"e\x01\x7f\xff'
	run cat "$QD_DEBUGFS/messages"
	assert_output --regexp ' len=12 reserved=0 pid=[0-9]+ data="a\\nb\\tc\\\\d\\"e\\x01\\x7f\\xff"$'
}

@test "debugfs messages cuts the preview at 32 bytes and marks it" {
	"$QDT" push --len 32
	"$QDT" push --len 33
	run cat "$QD_DEBUGFS/messages"
	assert_line --index 0 --regexp ' len=32 reserved=0 pid=[0-9]+ data="abcdefghijklmnopqrstuvwxyzabcdef"$'
	assert_line --index 1 --regexp ' len=33 reserved=0 pid=[0-9]+ data="abcdefghijklmnopqrstuvwxyzabcdef\.\.\."$'
}

@test "debugfs messages marks reserved messages" {
	"$QDT" push --data a
	"$QDT" push --data b
	ctl_start
	ctl pop --reserve
	run cat "$QD_DEBUGFS/messages"
	assert_line --index 0 --regexp ' len=1 reserved=1 pid=[0-9]+ data="a"$'
	assert_line --index 1 --regexp ' len=1 reserved=0 pid=[0-9]+ data="b"$'
}
