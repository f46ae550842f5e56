# SPDX-License-Identifier: GPL-2.0
#
# Waiting: a pop sleeps while no matching message exists and a push while
# the message does not fit; each is woken as soon as it can progress.
# QD_F_NONBLOCK and O_NONBLOCK refuse to wait, QD_F_TIMEOUT bounds the wait,
# and signals interrupt it (EINTR, or a transparent restart with SA_RESTART
# when no timeout is involved). Tests know a waiter is asleep by watching
# the blocked_readers / blocked_writers counters, never by sleeping.

load helpers
load driver-helpers

: "${BATS_TEST_TIMEOUT:=300}"

setup() {
	qd_reset
}

teardown() {
	driver_teardown
}

# A 64-byte queue holding one 56-byte message: no room for anything.
make_full() {
	"$QDT" setsize 64 >/dev/null
	fill_to_free 0
}

@test "a pop on an empty queue sleeps until a push wakes it" {
	local br
	br=$(qd_stat blocked_readers)
	bg reader "$QDT" pop
	wait_stat blocked_readers $((br + 1))
	run "$QDT" push --data wake
	assert_success
	bg_wait reader
	assert_success
	assert_output --regexp ' type=100 len=4 data=wake$'
	stat_is messages 0
}

@test "a push into a full queue sleeps until a pop makes room" {
	make_full
	local bw
	bw=$(qd_stat blocked_writers)
	bg writer "$QDT" push --data late
	wait_stat blocked_writers $((bw + 1))
	stat_is messages 1
	"$QDT" pop --no-data
	bg_wait writer
	assert_success
	assert_output --regexp '^id=[0-9]+$'
	run "$QDT" pop
	assert_output --regexp ' data=late$'
}

@test "a blocked push waits until enough room is free, not just some" {
	"$QDT" setsize 64
	"$QDT" push --type 1 --len 8
	"$QDT" push --type 2 --len 32
	stat_is free 8
	local bw
	bw=$(qd_stat blocked_writers)
	bg writer "$QDT" push --type 3 --len 20
	wait_stat blocked_writers $((bw + 1))
	# 16 + 8 = 24 bytes free: still not enough for 28
	"$QDT" pop --type 1 --no-data
	run "$QDT" pop --type 3 --nonblock
	assert_output "error=EAGAIN"
	"$QDT" pop --type 2 --no-data
	bg_wait writer
	assert_success
	run "$QDT" pop --no-data
	assert_output --regexp ' type=3 len=20$'
}

@test "a pop waiting for one type keeps waiting when another type is pushed" {
	local br
	br=$(qd_stat blocked_readers)
	bg reader "$QDT" pop --type 5
	wait_stat blocked_readers $((br + 1))
	"$QDT" push --type 6 --data six
	"$QDT" push --type 5 --data five
	bg_wait reader
	assert_success
	assert_output --regexp ' type=5 len=4 data=five$'
	run "$QDT" pop --nonblock
	assert_output --regexp ' type=6 len=3 data=six$'
}

@test "pops waiting for different types are each woken by their own type" {
	local br
	br=$(qd_stat blocked_readers)
	bg r5 "$QDT" pop --type 5
	bg r6 "$QDT" pop --type 6
	wait_stat blocked_readers $((br + 2))
	"$QDT" push --type 6 --data six
	bg_wait r6
	assert_success
	assert_output --regexp ' data=six$'
	"$QDT" push --type 5 --data five
	bg_wait r5
	assert_success
	assert_output --regexp ' data=five$'
}

@test "two waiting pops are both woken by two pushes" {
	local br
	br=$(qd_stat blocked_readers)
	bg r1 "$QDT" pop
	bg r2 "$QDT" pop
	wait_stat blocked_readers $((br + 2))
	"$QDT" push --repeat 2 --data x
	bg_wait r1
	assert_success
	bg_wait r2
	assert_success
	stat_is messages 0
}

@test "two waiting pushes are both woken when room for both appears" {
	make_full
	local bw
	bw=$(qd_stat blocked_writers)
	bg w1 "$QDT" push --type 2 --len 10
	bg w2 "$QDT" push --type 3 --len 10
	wait_stat blocked_writers $((bw + 2))
	"$QDT" pop --no-data
	bg_wait w1
	assert_success
	bg_wait w2
	assert_success
	stat_is messages 2
}

@test "QD_F_NONBLOCK pop on an empty queue fails with EAGAIN without waiting" {
	local br
	br=$(qd_stat blocked_readers)
	run "$QDT" pop --nonblock
	assert_failure 11
	assert_output "error=EAGAIN"
	stat_is blocked_readers "$br"
}

@test "QD_F_NONBLOCK push into a full queue fails with EAGAIN and queues nothing" {
	make_full
	save_state
	local bw
	bw=$(qd_stat blocked_writers)
	run "$QDT" push --nonblock --data x
	assert_failure 11
	assert_output "error=EAGAIN"
	stat_is blocked_writers "$bw"
	assert_state_unchanged
}

@test "pop on an O_NONBLOCK file fails with EAGAIN" {
	run "$QDT" --o-nonblock pop
	assert_failure 11
	assert_output "error=EAGAIN"
}

@test "push on an O_NONBLOCK file into a full queue fails with EAGAIN" {
	make_full
	save_state
	run "$QDT" --o-nonblock push --data x
	assert_failure 11
	assert_output "error=EAGAIN"
	assert_state_unchanged
}

@test "O_NONBLOCK set with fcntl after open is honoured" {
	run "$QDT" run 'nonblock on' 'pop' 'nonblock off' 'pop --nonblock'
	assert_failure 11
	assert_line --index 1 "error=EAGAIN"
	assert_line --index 3 "error=EAGAIN"
}

@test "a pop with QD_F_TIMEOUT fails with ETIMEDOUT when the time runs out and counts it" {
	local t0 t1 to
	to=$(qd_stat timeouts)
	t0=$(date +%s%N)
	run "$QDT" pop --flags timeout --timeout-ns 300000000
	t1=$(date +%s%N)
	assert_failure 110
	assert_output "error=ETIMEDOUT"
	[ $((t1 - t0)) -ge 300000000 ]
	stat_is timeouts $((to + 1))
}

@test "a push with QD_F_TIMEOUT into a full queue fails with ETIMEDOUT and counts it" {
	make_full
	save_state
	local t0 t1 to
	to=$(qd_stat timeouts)
	t0=$(date +%s%N)
	run "$QDT" push --flags timeout --timeout-ns 300000000 --data x
	t1=$(date +%s%N)
	assert_failure 110
	assert_output "error=ETIMEDOUT"
	[ $((t1 - t0)) -ge 300000000 ]
	stat_is timeouts $((to + 1))
	assert_state_unchanged
}

@test "QD_F_TIMEOUT with timeout_ns 0 fails with ETIMEDOUT at once instead of waiting" {
	run "$QDT" pop --flags timeout --timeout-ns 0
	assert_failure 110
	assert_output "error=ETIMEDOUT"
	make_full
	save_state
	run "$QDT" push --flags timeout --timeout-ns 0 --data x
	assert_failure 110
	assert_output "error=ETIMEDOUT"
	assert_state_unchanged
}

@test "a pop with QD_F_TIMEOUT succeeds when a message arrives in time" {
	local br
	br=$(qd_stat blocked_readers)
	bg reader "$QDT" pop --flags timeout --timeout-ns 60000000000
	wait_stat blocked_readers $((br + 1))
	"$QDT" push --data intime
	bg_wait reader
	assert_success
	assert_output --regexp ' data=intime$'
}

@test "a push with QD_F_TIMEOUT succeeds when room appears in time" {
	make_full
	local bw
	bw=$(qd_stat blocked_writers)
	bg writer "$QDT" push --flags timeout --timeout-ns 60000000000 --data x
	wait_stat blocked_writers $((bw + 1))
	"$QDT" pop --no-data
	bg_wait writer
	assert_success
}

@test "a signal interrupts a pop waiting with a timeout: EINTR even with SA_RESTART" {
	local br
	br=$(qd_stat blocked_readers)
	bg reader "$QDT" --sig restart pop --flags timeout --timeout-ns 60000000000
	wait_stat blocked_readers $((br + 1))
	kill -USR1 "${BG[reader]}"
	bg_wait reader
	assert_failure 4
	assert_output "error=EINTR signals=1"
}

@test "a signal interrupts a pop waiting without timeout: EINTR without SA_RESTART" {
	local br
	br=$(qd_stat blocked_readers)
	bg reader "$QDT" --sig intr pop
	wait_stat blocked_readers $((br + 1))
	kill -USR1 "${BG[reader]}"
	bg_wait reader
	assert_failure 4
	assert_output "error=EINTR signals=1"
	stat_is messages 0
}

@test "with SA_RESTART a pop waiting without timeout restarts after a signal and completes" {
	local br
	br=$(qd_stat blocked_readers)
	bg reader "$QDT" --sig restart pop
	wait_stat blocked_readers $((br + 1))
	kill -USR1 "${BG[reader]}"
	# the restarted call waits again
	wait_stat blocked_readers $((br + 2))
	"$QDT" push --data after
	bg_wait reader
	assert_success
	assert_output --regexp ' data=after signals=1$'
}

@test "a signal interrupts a push waiting with a timeout: EINTR, nothing queued" {
	make_full
	save_state
	local bw
	bw=$(qd_stat blocked_writers)
	bg writer "$QDT" --sig restart push --flags timeout --timeout-ns 60000000000 --data x
	wait_stat blocked_writers $((bw + 1))
	kill -USR1 "${BG[writer]}"
	bg_wait writer
	assert_failure 4
	assert_output "error=EINTR signals=1"
	assert_state_unchanged
}

@test "with SA_RESTART a push waiting without timeout restarts after a signal and completes" {
	make_full
	local bw
	bw=$(qd_stat blocked_writers)
	bg writer "$QDT" --sig restart push --data late
	wait_stat blocked_writers $((bw + 1))
	kill -USR1 "${BG[writer]}"
	wait_stat blocked_writers $((bw + 2))
	"$QDT" pop --no-data
	bg_wait writer
	assert_success
	assert_output --regexp '^id=[0-9]+ signals=1$'
	run "$QDT" pop
	assert_output --regexp ' data=late$'
}

@test "a waiting pop killed with SIGKILL leaves the queue consistent" {
	local br
	br=$(qd_stat blocked_readers)
	bg reader "$QDT" pop
	wait_stat blocked_readers $((br + 1))
	kill -9 "${BG[reader]}"
	bg_wait reader
	assert_equal "$status" 137
	"$QDT" push --data after
	run "$QDT" pop --nonblock
	assert_success
	assert_output --regexp ' data=after$'
	run "$QDT" stats --check
	assert_success
}

@test "a pop waiting on a file that another thread closes still completes" {
	run "$TESTBIN/close-wait" pop
	assert_success
	assert_output "close-wait: ok"
}

@test "a push waiting on a file that another thread closes still completes" {
	run "$TESTBIN/close-wait" push
	assert_success
	assert_output "close-wait: ok"
}
