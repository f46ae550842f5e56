# SPDX-License-Identifier: GPL-2.0
#
# Reserve/ack/nack: a pop with QD_F_RESERVE hands a message out but keeps it
# queued (counted as reserved, invisible to other pops) until this open file
# ACKs it (removed) or NACKs it (back in front of its type). Closing the
# file, or the process dying, NACKs everything it still holds (requeued).

load helpers
load driver-helpers

: "${BATS_TEST_TIMEOUT:=300}"

setup() {
	qd_reset
}

teardown() {
	driver_teardown
}

@test "a reserving pop hands the message out and keeps it queued as reserved" {
	"$QDT" push --type 200 --data job1
	local used
	used=$(qd_stat used)
	ctl_start
	ctl pop --reserve
	assert_regex "$CTL_OUT" ' type=200 len=4 data=job1$'
	stat_is messages 1
	stat_is reserved 1
	stat_is used "$used"
	run cat "$QD_DEBUGFS/messages"
	assert_output --regexp '^id=[0-9]+ type=200 len=4 reserved=1 pid=[0-9]+ data="job1"$'
}

@test "a reserved message is invisible to other pops and peeks" {
	"$QDT" push --data secret
	ctl_start
	ctl pop --reserve
	save_state
	run "$QDT" pop --nonblock
	assert_failure 11
	assert_output "error=EAGAIN"
	run "$QDT" pop --peek --nonblock
	assert_failure 11
	run "$QDT" pop --flags timeout --timeout-ns 0
	assert_failure 110
	assert_state_unchanged
}

@test "a reserved message does not hide the messages behind it" {
	"$QDT" push --data first
	"$QDT" push --data second
	ctl_start
	ctl pop --reserve
	run "$QDT" pop --nonblock
	assert_success
	assert_output --regexp ' data=second$'
}

@test "ACK removes a reserved message and counts it as a pop" {
	"$QDT" push --data done
	local pops requeued
	pops=$(qd_stat pops)
	requeued=$(qd_stat requeued)
	run "$QDT" run 'pop --reserve' 'stats pops' 'ack $id' 'stats messages reserved used pops'
	assert_success
	assert_line --index 1 "pops=$pops"
	assert_line --index 2 --regexp '^acked=[0-9]+$'
	assert_line --index 3 "messages=0 reserved=0 used=0 pops=$((pops + 1))"
	stat_is messages 0
	stat_is requeued "$requeued"
}

@test "NACK makes a reserved message visible again and counts it as requeued" {
	"$QDT" push --data again
	local requeued
	requeued=$(qd_stat requeued)
	run "$QDT" run 'pop --reserve' 'nack $id' 'stats reserved requeued' 'pop --nonblock'
	assert_success
	assert_line --index 2 "reserved=0 requeued=$((requeued + 1))"
	assert_line --index 3 --regexp ' data=again$'
}

@test "NACK puts messages back in front of their type, in id order" {
	"$QDT" push --type 7 --data a
	"$QDT" push --type 7 --data b
	"$QDT" push --type 7 --data c
	run "$QDT" run 'pop --reserve' 'pop --reserve' 'nack $id2' 'nack $id1' \
		'pop --nonblock' 'pop --nonblock' 'pop --nonblock'
	assert_success
	assert_line --index 4 --regexp ' data=a$'
	assert_line --index 5 --regexp ' data=b$'
	assert_line --index 6 --regexp ' data=c$'
}

@test "a NACKed message goes before younger messages of its type only" {
	"$QDT" push --type 1 --data one-old
	"$QDT" push --type 2 --data two
	"$QDT" push --type 1 --data one-young
	run "$QDT" run 'pop --reserve --type 1' 'nack $id' 'pop --type 1' 'pop' 'pop --nonblock'
	assert_success
	assert_line --index 2 --regexp ' data=one-old$'
	assert_line --index 3 --regexp ' data=two$'
	assert_line --index 4 --regexp ' data=one-young$'
}

@test "closing the file requeues every message it holds, in order" {
	"$QDT" push --type 7 --data a
	"$QDT" push --type 7 --data b
	"$QDT" push --type 7 --data c
	local requeued
	requeued=$(qd_stat requeued)
	run "$QDT" run 'pop --reserve' 'pop --reserve' 'close' 'open' \
		'stats reserved requeued' 'pop --nonblock' 'pop --nonblock' 'pop --nonblock'
	assert_success
	assert_line --index 4 "reserved=0 requeued=$((requeued + 2))"
	assert_line --index 5 --regexp ' data=a$'
	assert_line --index 6 --regexp ' data=b$'
	assert_line --index 7 --regexp ' data=c$'
}

@test "a process that exits without ACK gives its reservation back" {
	"$QDT" push --data kept
	local requeued
	requeued=$(qd_stat requeued)
	run "$QDT" pop --reserve
	assert_success
	stat_is reserved 0
	stat_is messages 1
	stat_is requeued $((requeued + 1))
	run "$QDT" pop --nonblock
	assert_output --regexp ' data=kept$'
}

@test "a reader killed with SIGKILL gives its reserved message back" {
	"$QDT" push --type 200 --data job
	local requeued
	requeued=$(qd_stat requeued)
	bg holder "$QDT" run 'pop --reserve' 'pause'
	wait_long bg_output_has holder 'data=job$'
	stat_is reserved 1
	kill -9 "${BG[holder]}"
	bg_wait holder
	assert_equal "$status" 137
	stat_is reserved 0
	stat_is messages 1
	stat_is requeued $((requeued + 1))
	run "$QDT" pop --nonblock --type 200
	assert_output --regexp ' data=job$'
}

@test "a reader killed with SIGKILL while waiting gives its reservation back" {
	"$QDT" push --data job
	local requeued br
	requeued=$(qd_stat requeued)
	br=$(qd_stat blocked_readers)
	bg holder "$QDT" run 'pop --reserve' 'pop --type 999'
	wait_stat blocked_readers $((br + 1))
	stat_is reserved 1
	kill -9 "${BG[holder]}"
	bg_wait holder
	stat_is reserved 0
	stat_is requeued $((requeued + 1))
	run "$QDT" pop --nonblock
	assert_output --regexp ' data=job$'
}

@test "ACK or NACK of an id reserved through another open file fails with ENOENT" {
	"$QDT" push --data mine
	run "$QDT" run 'pop --reserve' 'use 1' 'ack $id' 'nack $id' 'stats reserved' \
		'use 0' 'ack $id'
	assert_failure 2
	assert_line --index 2 "error=ENOENT"
	assert_line --index 3 "error=ENOENT"
	assert_line --index 4 "reserved=1"
	assert_line --index 6 --regexp '^acked=[0-9]+$'
	stat_is messages 0
}

@test "ACK from another process fails with ENOENT and the owner keeps the message" {
	"$QDT" push --data mine
	ctl_start
	ctl pop --reserve
	local id
	id=$(kv id "$CTL_OUT")
	save_state
	run "$QDT" ack "$id"
	assert_failure 2
	assert_output "error=ENOENT"
	run "$QDT" nack "$id"
	assert_failure 2
	assert_state_unchanged
	ctl ack "$id"
	assert_equal "$CTL_OUT" "acked=$id"
	stat_is messages 0
}

@test "ACK of an id that is queued but not reserved fails with ENOENT" {
	run "$QDT" run 'push --data x' 'ack $id' 'nack $id' 'stats messages'
	assert_failure 2
	assert_line --index 1 "error=ENOENT"
	assert_line --index 2 "error=ENOENT"
	assert_line --index 3 "messages=1"
}

@test "ACK twice fails the second time with ENOENT" {
	"$QDT" push --data x
	run "$QDT" run 'pop --reserve' 'ack $id' 'ack $id' 'nack $id'
	assert_failure 2
	assert_line --index 1 --regexp '^acked='
	assert_line --index 2 "error=ENOENT"
	assert_line --index 3 "error=ENOENT"
}

@test "ACK of an id never issued fails with ENOENT" {
	run "$QDT" ack 18446744073709551615
	assert_failure 2
	assert_output "error=ENOENT"
	run "$QDT" nack 0
	assert_failure 2
	assert_output "error=ENOENT"
}

@test "a reserving pop into a short buffer fails with EMSGSIZE and reserves nothing" {
	"$QDT" push --data toolong
	save_state
	run "$QDT" pop --reserve --buf 3
	assert_failure 90
	assert_output "error=EMSGSIZE len=7"
	assert_state_unchanged
	stat_is reserved 0
}

@test "a reserving pop honours the type filter" {
	"$QDT" push --type 100 --data log
	"$QDT" push --type 200 --data job
	run "$QDT" run 'pop --reserve --type 200' 'stats reserved'
	assert_line --index 0 --regexp ' type=200 len=3 data=job$'
	assert_line --index 1 "reserved=1"
}

@test "NACK wakes a pop waiting for that message" {
	"$QDT" push --data back
	ctl_start
	ctl pop --reserve
	local br
	br=$(qd_stat blocked_readers)
	bg reader "$QDT" pop
	wait_stat blocked_readers $((br + 1))
	ctl nack '$id'
	bg_wait reader
	assert_success
	assert_output --regexp ' data=back$'
}

@test "closing a file with reservations wakes a pop waiting for them" {
	"$QDT" push --data back
	ctl_start
	ctl pop --reserve
	local br
	br=$(qd_stat blocked_readers)
	bg reader "$QDT" pop
	wait_stat blocked_readers $((br + 1))
	ctl close
	bg_wait reader
	assert_success
	assert_output --regexp ' data=back$'
}

@test "ACK of a reserved message wakes a push waiting for room" {
	"$QDT" setsize 64
	fill_to_free 0
	ctl_start
	ctl pop --reserve --no-data
	local bw
	bw=$(qd_stat blocked_writers)
	bg writer "$QDT" push --data late
	wait_stat blocked_writers $((bw + 1))
	ctl ack '$id'
	bg_wait writer
	assert_success
	run "$QDT" pop --nonblock
	assert_output --regexp ' data=late$'
}
