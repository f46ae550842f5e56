# SPDX-License-Identifier: GPL-2.0
#
# QD_IOC_PUSH_BATCH / QD_IOC_POP_BATCH: up to count messages in one call,
# waiting only for the first; done says how many; an error only if none
# was done (done written back as 0 then).

load helpers
load driver-helpers

: "${BATS_TEST_TIMEOUT:=300}"

setup() {
	qd_reset
}

teardown() {
	driver_teardown
}

@test "a batch push queues every message in order and reports increasing ids" {
	run "$QDT" batch-push --data-list one,two,three --types 1,2,1
	assert_success
	assert_output --regexp '^done=3 ids=([0-9]+),([0-9]+),([0-9]+)$'
	local a b c
	IFS=, read -r a b c <<<"$(kv ids)"
	[ "$a" -lt "$b" ]
	[ "$b" -lt "$c" ]
	run "$QDT" pop --count 3
	assert_line --index 0 "id=$a type=1 len=3 data=one"
	assert_line --index 1 "id=$b type=2 len=3 data=two"
	assert_line --index 2 "id=$c type=1 len=5 data=three"
}

@test "a batch push sets the id of each entry it does not queue to 0" {
	# The entry array is copied in, and each id set to 0, before the
	# lock is taken; the ids of what was queued go out after it is
	# dropped (driver/qd_ioctl.c, qd_umsgs_put_ids()).
	"$QDT" setsize 64
	run "$QDT" batch-push --sizes 24,24,24,24 --flags nonblock --rest-ids
	assert_success
	assert_output --regexp '^done=2 ids=([0-9]+),([0-9]+) rest=0,0$'
	[ "${BASH_REMATCH[2]}" -eq $((BASH_REMATCH[1] + 1)) ] ||
		fail "ids not consecutive: $output"
	run "$QDT" batch-push --sizes 24 --count 2 --flags nonblock --rest-ids
	assert_failure 11
	assert_output "error=EAGAIN done=0 rest=0,0"
}

@test "a batch push whose entry array is read-only fails with EFAULT and queues nothing" {
	save_state
	run "$QDT" batch-push --sizes 8,8 --read-only --rest-ids
	assert_failure 14
	assert_output "error=EFAULT done=0 rest=untouched,untouched"
	assert_state_unchanged
}

@test "a batch pop takes up to count messages and says how many" {
	"$QDT" push --repeat 3 --data m
	run "$QDT" batch-pop --count 5 --buf 8
	assert_success
	assert_line --index 0 "done=3"
	assert_equal "${#lines[@]}" 4
	stat_is messages 0
}

@test "a batch pop writes every out field of what it pops and nothing of the rest" {
	"$QDT" push --repeat 2 --data m
	run "$QDT" batch-pop --count 3 --buf 8 --flags nonblock --check-struct
	assert_success
	assert_line --index 0 "done=2"
	assert_line --index 1 --regexp '^id=[0-9]+ type=100 len=1 data=m$'
	assert_line --index 2 --regexp '^id=[0-9]+ type=100 len=1 data=m$'
	assert_line --index 3 "struct=ok"
	# stopped by a message too big: only that entry's len is written
	"$QDT" push --data m
	"$QDT" push --data toolong
	run "$QDT" batch-pop --count 3 --buf 4 --check-struct
	assert_success
	assert_line --index 0 "done=1"
	assert_line --index 2 "struct=ok"
}

@test "a batch pop honours each entry's type filter and QD_F_EXCEPT" {
	"$QDT" push --type 1 --data a
	"$QDT" push --type 2 --data b
	"$QDT" push --type 3 --data c
	run "$QDT" batch-pop --count 2 --types 3,1 --buf 8
	assert_success
	assert_batch_popped 2 3:c 1:a
	run "$QDT" batch-pop --count 1 --type 3 --entry-flags except --buf 8
	assert_line --index 1 --regexp ' type=2 len=1 data=b$'
}

@test "a batch pop that takes from the middle, then from the head, leaves the rest in order" {
	local t
	for t in 1:a 2:b 1:c 2:d 1:e; do
		"$QDT" push --type "${t%:*}" --data "${t#*:}"
	done
	# b leaves from the middle, then a and c from the head, in one call
	run "$QDT" batch-pop --count 3 --types 2,1,1 --buf 8
	assert_success
	assert_batch_popped 3 2:b 1:a 1:c
	stat_is messages 2
	"$QDT" push --type 1 --data f
	run "$QDT" batch-pop --count 4 --flags nonblock --buf 8
	assert_success
	assert_batch_popped 3 2:d 1:e 1:f
	stat_is messages 0
	stat_is used 0
}

@test "a batch pop with QD_F_RESERVE entries reserves them for the file" {
	"$QDT" push --repeat 2 --data r
	ctl_start
	ctl batch-pop --count 2 --entry-flags reserve --buf 8
	assert_regex "$CTL_OUT" '^done=2'
	stat_is reserved 2
	stat_is messages 2
	local id
	for id in $(sed -n 's/^id=\([0-9]*\) .*/\1/p' <<<"$CTL_OUT"); do
		ctl ack "$id"
		assert_equal "$CTL_OUT" "acked=$id"
	done
	stat_is messages 0
	stat_is reserved 0
}

@test "a batch push waits only for the first message" {
	"$QDT" setsize 64
	fill_to_free 0
	local bw
	bw=$(qd_stat blocked_writers)
	bg writer "$QDT" batch-push --count 3 --len 10
	wait_stat blocked_writers $((bw + 1))
	# room for one 18-byte message, not two
	"$QDT" setsize 90
	bg_wait writer
	assert_success
	assert_output --regexp '^done=1 ids=[0-9]+$'
	stat_is messages 2
}

@test "a batch pop waits only for the first message" {
	local br
	br=$(qd_stat blocked_readers)
	bg reader "$QDT" batch-pop --count 4 --buf 8
	wait_stat blocked_readers $((br + 1))
	"$QDT" push --data x
	bg_wait reader
	assert_success
	assert_line --index 0 "done=1"
	assert_line --index 1 --regexp ' data=x$'
}

@test "a batch push stops at a message that does not fit and reports what was done" {
	"$QDT" setsize 64
	run "$QDT" batch-push --sizes 10,40,10 --flags nonblock
	assert_success
	assert_output --regexp '^done=1 ids=[0-9]+$'
	stat_is messages 1
}

@test "a batch that can do nothing fails with the error and done 0" {
	run "$QDT" batch-pop --count 3 --flags nonblock
	assert_failure 11
	assert_output "error=EAGAIN done=0"
	"$QDT" setsize 64
	fill_to_free 0
	save_state
	run "$QDT" batch-push --count 2 --len 1 --flags nonblock
	assert_failure 11
	assert_output "error=EAGAIN done=0"
	run "$QDT" batch-push --count 2 --len 1 --flags timeout --timeout-ns 1000000
	assert_failure 110
	assert_output "error=ETIMEDOUT done=0"
	assert_state_unchanged
}

@test "a batch pop whose first entry's buffer is short fails with EMSGSIZE and keeps the message" {
	"$QDT" push --data toolong
	save_state
	run "$QDT" batch-pop --count 2 --buf 3
	assert_failure 90
	assert_output "error=EMSGSIZE len=7 done=0"
	assert_state_unchanged
}

@test "a batch pop stops at a short buffer and keeps that message" {
	"$QDT" push --data ok
	"$QDT" push --data toolong
	run "$QDT" batch-pop --count 2 --buf 4
	assert_success
	assert_line --index 0 "done=1"
	assert_line --index 1 --regexp ' data=ok$'
	stat_is messages 1
}

@test "a batch push stops at a bad entry pointer after the good ones" {
	run "$QDT" batch-push --count 3 --data x --bad-entry 1
	assert_success
	assert_output --regexp '^done=1 ids=[0-9]+$'
	stat_is messages 1
}

@test "a batch push whose first entry has a bad pointer fails with EFAULT and queues nothing" {
	save_state
	run "$QDT" batch-push --count 3 --data x --bad-entry 0
	assert_failure 14
	assert_output "error=EFAULT done=0"
	assert_state_unchanged
}

@test "a batch pop into a bad entry pointer keeps that message and the rest, in order" {
	"$QDT" push --data a
	"$QDT" push --data b
	"$QDT" push --data c
	run "$QDT" batch-pop --count 3 --bad-entry 1 --buf 8
	assert_success
	assert_line --index 0 "done=1"
	assert_line --index 1 --regexp ' data=a$'
	stat_is messages 2
	stat_is pops 1
	run "$QDT" batch-pop --count 2 --buf 8
	assert_line --index 1 --regexp ' data=b$'
	assert_line --index 2 --regexp ' data=c$'
}

@test "a batch pop whose results cannot be written back fails with EFAULT and loses nothing" {
	"$QDT" push --data a
	"$QDT" push --data b
	save_state
	run "$QDT" batch-pop --count 2 --read-only --buf 8
	assert_failure 14
	assert_output "error=EFAULT done=0"
	assert_state_unchanged
	run "$QDT" batch-pop --count 2 --buf 8
	assert_line --index 1 --regexp ' data=a$'
	assert_line --index 2 --regexp ' data=b$'
}

@test "a batch pop whose first entry has a bad pointer fails with EFAULT and loses nothing" {
	"$QDT" push --data a
	save_state
	run "$QDT" batch-pop --count 2 --bad-entry 0 --buf 8
	assert_failure 14
	assert_output "error=EFAULT done=0"
	assert_state_unchanged
}

@test "a batch push whose entry array runs into an unmapped page pushes the readable entries" {
	run "$QDT" batch-push --count 2 --count-field 3 --guard-tail --data x
	assert_success
	assert_output --regexp '^done=2 ids=[0-9]+,[0-9]+$'
	stat_is messages 2
}

@test "a batch pop whose entry array runs into an unmapped page pops into the readable entries" {
	"$QDT" push --data a
	"$QDT" push --data b
	"$QDT" push --data c
	run "$QDT" batch-pop --count 2 --count-field 3 --guard-tail --buf 8
	assert_success
	assert_line --index 0 "done=2"
	assert_line --index 1 --regexp ' data=a$'
	assert_line --index 2 --regexp ' data=b$'
	run "$QDT" pop --nonblock
	assert_output --regexp ' data=c$'
}

@test "a batch of small and large payloads, over 4 KiB in all, arrives byte for byte" {
	# Small payloads are copied in before the queue is locked, larger
	# ones and those past 4 KiB a call under it (DESIGN.md): both kinds,
	# interleaved, must come out as they went in.
	local sizes=(10 300 64 256 257 0 5000 200 128 129) i
	run "$QDT" batch-push --sizes "$(IFS=,; echo "${sizes[*]}")"
	assert_success
	assert_output --regexp "^done=${#sizes[@]} "
	run "$QDT" batch-pop --count "${#sizes[@]}" --buf 8192
	assert_success
	assert_line --index 0 "done=${#sizes[@]}"
	for i in "${!sizes[@]}"; do
		assert_line --index $((i + 1)) --regexp " len=${sizes[i]} data=$(pattern "${sizes[i]}")\$"
	done
}

@test "a batch push stops at a payload that cannot be copied in, after the good ones" {
	run "$QDT" batch-push --sizes 10,20,30,40 --bad-entry 2
	assert_success
	assert_output --regexp '^done=2 ids=[0-9]+,[0-9]+$'
	run "$QDT" batch-pop --count 3 --buf 64 --flags nonblock
	assert_success
	assert_line --index 0 "done=2"
	assert_line --index 1 --regexp " len=10 data=$(pattern 10)\$"
	assert_line --index 2 --regexp " len=20 data=$(pattern 20)\$"
}

@test "a batch push stops at a bad payload past the first 4 KiB, after the good ones" {
	# 20 payloads of 200 bytes fill the 4 KiB copied in before the lock;
	# the rest are copied straight into the ring, a word at a time
	# (driver/qd.h): the 23rd cannot be, so 22 are queued.
	run "$QDT" batch-push --sizes 200 --count 25 --bad-entry 22
	assert_success
	assert_output --regexp '^done=22 ids=([0-9]+,){21}[0-9]+$'
	stat_is messages 22
	run "$QDT" batch-pop --count 25 --buf 256 --flags nonblock
	assert_success
	assert_line --index 0 "done=22"
	assert_line --index 21 --regexp " len=200 data=$(pattern 200)\$"
	assert_line --index 22 --regexp " len=200 data=$(pattern 200)\$"
}

@test "a batch's zero-length payloads are neither read nor written, whatever their pointers" {
	# The batch stage and a pop's shared window (driver/qd_ioctl.c)
	# must not touch a payload of none.
	run "$QDT" batch-push --sizes 0,0 --bad-entry 1
	assert_success
	assert_output --regexp '^done=2 ids=[0-9]+,[0-9]+$'
	run "$QDT" batch-pop --count 2 --buf 0 --bad-entry 0
	assert_success
	assert_line --index 0 "done=2"
	assert_line --index 1 --regexp ' len=0 data=$'
	assert_line --index 2 --regexp ' len=0 data=$'
}

@test "a batch with a bad msgs pointer fails with EFAULT" {
	"$QDT" push --data a
	save_state
	run "$QDT" batch-pop --count 1 --bad-ptr
	assert_failure 14
	run "$QDT" batch-push --count 1 --data x --bad-ptr
	assert_failure 14
	assert_state_unchanged
}

@test "a batch count of 0 or above QD_BATCH_MAX fails with EINVAL" {
	"$QDT" push --data a
	save_state
	local c
	for c in 0 1025 4294967295; do
		run "$QDT" batch-pop --count 1 --count-field "$c"
		assert_failure 22
		assert_output --regexp "^error=EINVAL done=[0-9]+\$"
		run "$QDT" batch-push --count 1 --data x --count-field "$c"
		assert_failure 22
	done
	assert_state_unchanged
}

@test "a batch of QD_BATCH_MAX messages is accepted" {
	run "$QDT" batch-push --count 1024 --len 1
	assert_success
	assert_output --regexp '^done=1024 '
	run "$QDT" batch-pop --count 1024 --buf 1 --no-data
	assert_line --index 0 "done=1024"
}

@test "batch flags other than nonblock and timeout fail with EINVAL" {
	"$QDT" push --data a
	save_state
	local f
	for f in peek except reserve 0x100; do
		run "$QDT" batch-pop --count 1 --flags "$f"
		assert_failure 22
		assert_output --regexp "^error=EINVAL done=[0-9]+\$"
	done
	assert_state_unchanged
}

@test "a batch with __reserved set fails with EINVAL" {
	"$QDT" push --data a
	save_state
	run "$QDT" batch-pop --count 1 --reserved 1
	assert_failure 22
	run "$QDT" batch-push --count 1 --data x --reserved 1
	assert_failure 22
	assert_state_unchanged
}

@test "a batch with timeout_ns but without QD_F_TIMEOUT fails with EINVAL" {
	save_state
	run "$QDT" batch-pop --count 1 --timeout-ns 100
	assert_failure 22
	assert_state_unchanged
}

@test "a batch stops at an invalid entry after the valid ones, and says how many it did" {
	# push: type 0 is no type; the valid first entry is queued, the rest not
	run "$QDT" batch-push --data-list a,b,c --types 1,0,1
	assert_success
	assert_output --regexp '^done=1 ids=[0-9]+$'
	stat_is messages 1
	"$QDT" push --type 2 --data d
	# pop: "any type except none" is no filter; a is popped, d stays
	run "$QDT" batch-pop --count 3 --types 2,0,2 --entry-flags except --buf 8
	assert_success
	assert_batch_popped 1 1:a
	stat_is messages 1
	run "$QDT" pop --buf 8
	assert_output --regexp ' type=2 len=1 data=d$'
}

@test "qdbench alone pushes and pops every message and times each side" {
	run "$QD_ROOT/bench/qdbench" alone -n 3000
	assert_success
	assert_output --regexp '^64,[0-9]+,[0-9]+,[0-9]+$'
	local n
	n=$(cut -d, -f2 <<<"$output")
	[ "$n" -ge 3000 ]
	stat_is messages 0
	stat_is pushes "$n"
	stat_is pops "$n"
}

@test "batch entries may not carry waiting flags, a timeout or __reserved" {
	"$QDT" push --data a
	save_state
	local f
	for f in nonblock timeout peek; do
		run "$QDT" batch-pop --count 1 --entry-flags "$f"
		assert_failure 22
		assert_output "error=EINVAL done=0"
	done
	run "$QDT" batch-pop --count 1 --entry-timeout-ns 5
	assert_failure 22
	run "$QDT" batch-pop --count 1 --entry-reserved 1
	assert_failure 22
	for f in nonblock except reserve; do
		run "$QDT" batch-push --count 1 --data x --entry-flags "$f"
		assert_failure 22
	done
	run "$QDT" batch-push --count 1 --data x --entry-reserved 1
	assert_failure 22
	run "$QDT" batch-push --count 1 --data x --type 0
	assert_failure 22
	assert_state_unchanged
}

@test "a batch push entry that can never fit fails at once with EMSGSIZE" {
	save_state
	run "$QDT" batch-push --count 1 --len 65529
	assert_failure 90
	assert_output "error=EMSGSIZE done=0"
	assert_state_unchanged
}

@test "a batch pop with a timeout fails with ETIMEDOUT and counts it" {
	local to
	to=$(qd_stat timeouts)
	run "$QDT" batch-pop --count 2 --flags timeout --timeout-ns 200000000
	assert_failure 110
	assert_output "error=ETIMEDOUT done=0"
	stat_is timeouts $((to + 1))
}
