# SPDX-License-Identifier: GPL-2.0
#
# The queue's basic contract through QD_IOC_PUSH / QD_IOC_POP: FIFO within
# each type, type filters, except, peek, ids, sender and time, accounting,
# and what pop writes into the caller's memory.

load helpers
load driver-helpers

: "${BATS_TEST_TIMEOUT:=300}"

setup() {
	qd_reset
}

teardown() {
	driver_teardown
}

@test "a pushed message pops back with its type, length and payload" {
	run "$QDT" push --type 200 --data "hello world"
	assert_success
	assert_output --regexp '^id=[0-9]+$'
	run "$QDT" pop
	assert_success
	assert_output --regexp '^id=[0-9]+ type=200 len=11 data=hello world$'
}

@test "every byte value survives a push and a pop" {
	run "$QDT" push --data-esc 'a\x00\x01\n\t\xff\\z'
	assert_success
	run "$QDT" pop --hex
	assert_success
	assert_output --regexp ' len=8 data=6100010a09ff5c7a$'
}

@test "messages of one type pop in push order" {
	for i in 1 2 3 4 5; do
		"$QDT" push --type 7 --data "m$i"
	done
	run "$QDT" pop --type 7 --count 5
	assert_success
	for i in 1 2 3 4 5; do
		assert_line --index $((i - 1)) --regexp " type=7 len=2 data=m$i\$"
	done
	stat_is messages 0
}

@test "ids increase with push order and pop returns the id push gave" {
	run "$QDT" run 'push --type 1 --data a' 'push --type 2 --data b' \
		'push --type 1 --data c'
	assert_success
	local a b c
	a=$(kv id "${lines[0]}")
	b=$(kv id "${lines[1]}")
	c=$(kv id "${lines[2]}")
	[ "$a" -lt "$b" ]
	[ "$b" -lt "$c" ]
	run "$QDT" run 'pop --type 2' 'pop' 'pop'
	assert_success
	assert_equal "$(kv id "${lines[0]}")" "$b"
	assert_equal "$(kv id "${lines[1]}")" "$a"
	assert_equal "$(kv id "${lines[2]}")" "$c"
}

@test "a type filter takes the oldest message of that type and leaves the others in order" {
	"$QDT" push --type 100 --data log1
	"$QDT" push --type 200 --data job1
	"$QDT" push --type 100 --data log2
	"$QDT" push --type 200 --data job2
	run "$QDT" pop --type 200
	assert_output --regexp ' type=200 len=4 data=job1$'
	run "$QDT" pop --count 3
	assert_success
	assert_line --index 0 --regexp ' type=100 len=4 data=log1$'
	assert_line --index 1 --regexp ' type=100 len=4 data=log2$'
	assert_line --index 2 --regexp ' type=200 len=4 data=job2$'
}

@test "QD_F_EXCEPT takes the oldest message whose type differs" {
	"$QDT" push --type 100 --data log1
	"$QDT" push --type 300 --data other
	"$QDT" push --type 200 --data job1
	run "$QDT" pop --type 100 --except
	assert_success
	assert_output --regexp ' type=300 len=5 data=other$'
	run "$QDT" pop --type 200 --except
	assert_output --regexp ' type=100 len=4 data=log1$'
	stat_is messages 1
}

@test "QD_F_EXCEPT with no other type queued does not take the excluded type" {
	"$QDT" push --type 100 --data log1
	save_state
	run "$QDT" pop --type 100 --except --nonblock
	assert_failure 11
	assert_output "error=EAGAIN"
	assert_state_unchanged
}

@test "a pop with a type filter never takes a message of another type" {
	"$QDT" push --type 100 --data log1
	save_state
	run "$QDT" pop --type 200 --nonblock
	assert_failure 11
	assert_output "error=EAGAIN"
	assert_state_unchanged
}

@test "QD_F_PEEK copies the oldest matching message and leaves it queued" {
	"$QDT" push --type 100 --data first
	"$QDT" push --type 200 --data second
	save_state
	run "$QDT" pop --peek --type 200
	assert_success
	assert_output --regexp ' type=200 len=6 data=second$'
	assert_state_unchanged
	run "$QDT" pop --peek
	assert_output --regexp ' type=100 len=5 data=first$'
	run "$QDT" pop
	assert_output --regexp ' type=100 len=5 data=first$'
}

@test "a peek does not count as a pop" {
	"$QDT" push --data x
	local pops
	pops=$(qd_stat pops)
	"$QDT" pop --peek
	stat_is pops "$pops"
}

@test "a message occupies 8 bytes of header plus its payload" {
	stat_is used 0
	"$QDT" push --len 10
	stat_is used 18
	"$QDT" push --len 0
	stat_is used 26
	stat_is free $((65536 - 26))
	stat_is messages 2
	"$QDT" pop --no-data
	stat_is used 8
}

@test "an empty message is pushed and popped with len 0" {
	run "$QDT" push --len 0 --type 5
	assert_success
	run "$QDT" pop --check-untouched --buf 16
	assert_success
	assert_output --regexp '^id=[0-9]+ type=5 len=0 untouched=ok data=$'
}

@test "a message of exactly max_msg_size fills an empty queue" {
	run cat "$QD_SYSFS/max_msg_size"
	assert_output 65528
	run "$QDT" push --len 65528
	assert_success
	stat_is free 0
	run "$QDT" pop --buf 65528 --no-data
	assert_success
	assert_output --regexp ' len=65528$'
	stat_is used 0
}

@test "pushes and pops count each message" {
	local pushes pops
	pushes=$(qd_stat pushes)
	pops=$(qd_stat pops)
	"$QDT" push --repeat 3 --data x
	stat_is pushes $((pushes + 3))
	"$QDT" pop --count 2 --no-data
	stat_is pops $((pops + 2))
}

@test "pop reports the pusher's tgid and euid" {
	run "$QDT" run 'push --meta --data x' 'pop --meta'
	assert_success
	local pid
	pid=$(kv pid "${lines[0]}")
	assert_equal "$(kv sender_pid "${lines[1]}")" "$pid"
	assert_equal "$(kv sender_uid "${lines[1]}")" 0
}

@test "pop reports the uid of another user who pushed" {
	chmod 0666 "$QD_DEV"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$QDT" push --data nobody
	chmod 0600 "$QD_DEV"
	assert_success
	run "$QDT" pop --meta
	assert_output --regexp ' sender_uid=65534 data=nobody$'
}

@test "pop reports the CLOCK_REALTIME time of the push in time_ns" {
	local t0 t1 t
	t0=$(date +%s%N)
	"$QDT" push --data x
	t1=$(date +%s%N)
	run "$QDT" pop --meta
	t=$(kv time_ns)
	[ "$t" -ge "$t0" ]
	[ "$t" -le "$t1" ]
}

@test "pop leaves the bytes of the buffer past len untouched" {
	"$QDT" push --data abc
	run "$QDT" pop --buf 4096 --check-untouched
	assert_success
	assert_output --regexp ' len=3 untouched=ok data=abc$'
}

@test "a payload that wraps around the end of the ring pops whole, up to an inaccessible page, and faults on the byte past it" {
	# In a 1024-byte ring: A (700 bytes) at 0, B (100) at 700; popping A
	# moves the head to 700, so C (250 or 300) goes at 800 and wraps to
	# the start. 250 bytes go out a word at a time (driver/qd.h), 300
	# through copy_to_user(): each in two spans, the fault in the second.
	local len
	"$QDT" setsize 1024 >/dev/null
	for len in 250 300; do
		"$QDT" push --type 1 --len 700 >/dev/null
		"$QDT" push --type 2 --len 100 >/dev/null
		"$QDT" pop --type 1 --buf 700 >/dev/null
		"$QDT" push --type 3 --len "$len" >/dev/null
		assert_pop_to_page_end 3 "$len"
		"$QDT" pop --type 2 --buf 100 >/dev/null
		stat_is messages 0
	done
}

@test "pop writes every out field of struct qd_msg" {
	"$QDT" push --data abc --type 9
	run "$QDT" pop --check-struct --meta
	assert_success
	assert_output --partial ' struct=ok '
}

@test "QD_IOC_STATS writes the whole struct, spare zeroed, used + free == size" {
	"$QDT" push --len 100
	run "$QDT" stats --check
	assert_success
	assert_output --regexp '^size=65536 used=108 free=65428 messages=1 .* max_msg_size=65528 spare=0,0,0,0 check=ok$'
}

@test "QD_IOC_STATS agrees with sysfs" {
	"$QDT" push --len 10 --repeat 2
	run "$QDT" stats
	local f
	for f in size used free messages pushes pops blocked_readers \
		blocked_writers reserved requeued timeouts max_msg_size; do
		assert_equal "$(kv "$f")" "$(qd_stat "$f")"
	done
}

@test "sender_pid is the pusher's tgid as seen from the popper's pid namespace" {
	run unshare --pid --fork "$QDT" push --meta --data inner
	assert_success
	assert_output --regexp ' pid=1 uid=0$'
	run "$QDT" pop --meta
	local pid
	pid=$(kv sender_pid)
	[ "$pid" -gt 1 ]
}

@test "sender_pid is 0 when the pusher is not visible in the popper's pid namespace" {
	"$QDT" push --data outer
	run unshare --pid --fork "$QDT" pop --meta
	assert_success
	assert_output --regexp ' sender_pid=0 sender_uid=0 data=outer$'
}

@test "sender_uid is the overflow uid when the pusher's euid is not mapped in the popper's user namespace" {
	"$QDT" push --data root
	run unshare --user "$QDT" pop --meta
	assert_success
	assert_output --regexp " sender_uid=$(cat /proc/sys/kernel/overflowuid) data=root\$"
}
