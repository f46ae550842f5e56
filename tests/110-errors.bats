# SPDX-License-Identifier: GPL-2.0
#
# Every error of push and pop, each checked to leave the queue exactly as it
# was: size, used, free, messages, reserved and the debugfs message list.
# Two messages are queued first so that "unchanged" means something.

load helpers
load driver-helpers

: "${BATS_TEST_TIMEOUT:=300}"

setup() {
	qd_reset
	"$QDT" push --type 100 --data keep1 >/dev/null
	"$QDT" push --type 200 --data keep2 >/dev/null
	save_state
}

teardown() {
	driver_teardown
}

@test "push of type 0 fails with EINVAL and queues nothing" {
	run "$QDT" push --type 0 --data x
	assert_failure 22
	assert_output "error=EINVAL"
	assert_state_unchanged
}

@test "push with __reserved set fails with EINVAL" {
	run "$QDT" push --reserved 1 --data x
	assert_failure 22
	assert_output "error=EINVAL"
	assert_state_unchanged
}

@test "push with an unknown flag fails with EINVAL" {
	run "$QDT" push --flags 0x80000000 --data x
	assert_failure 22
	assert_output "error=EINVAL"
	assert_state_unchanged
}

@test "push with a pop-only flag fails with EINVAL" {
	local f
	for f in peek except reserve; do
		run "$QDT" push --flags "$f" --data x
		assert_failure 22
		assert_output "error=EINVAL"
	done
	assert_state_unchanged
}

@test "push with timeout_ns but without QD_F_TIMEOUT fails with EINVAL" {
	run "$QDT" push --timeout-ns 1000 --data x
	assert_failure 22
	assert_output "error=EINVAL"
	assert_state_unchanged
}

@test "push with a negative timeout fails with EINVAL" {
	run "$QDT" push --flags timeout --timeout-ns -1 --data x
	assert_failure 22
	assert_output "error=EINVAL"
	assert_state_unchanged
}

@test "push of a message that can never fit fails with EMSGSIZE at once, without waiting" {
	local bw
	bw=$(qd_stat blocked_writers)
	run "$QDT" push --len 65529
	assert_failure 90
	assert_output "error=EMSGSIZE"
	run "$QDT" push --bad-ptr --len 4294967295
	assert_failure 90
	assert_output "error=EMSGSIZE"
	stat_is blocked_writers "$bw"
	assert_state_unchanged
}

@test "push with a read-only struct qd_msg fails with EFAULT and queues nothing" {
	run "$QDT" push --read-only --len 16
	assert_failure 14
	assert_output "error=EFAULT"
	assert_state_unchanged
}

@test "push from a bad pointer fails with EFAULT and queues nothing" {
	local pushes
	pushes=$(qd_stat pushes)
	run "$QDT" push --bad-ptr --len 16
	assert_failure 14
	assert_output "error=EFAULT"
	run "$QDT" push --ptr 0xffffffff81000000 --len 16
	assert_failure 14
	assert_output "error=EFAULT"
	stat_is pushes "$pushes"
	assert_state_unchanged
}

@test "pop into a bad pointer or a read-only struct qd_msg fails with EFAULT and the message stays queued" {
	local pops
	pops=$(qd_stat pops)
	run "$QDT" pop --bad-ptr
	assert_failure 14
	assert_output "error=EFAULT"
	run "$QDT" pop --ptr 0xffffffff81000000
	assert_failure 14
	assert_output "error=EFAULT"
	run "$QDT" pop --read-only
	assert_failure 14
	assert_output "error=EFAULT"
	stat_is pops "$pops"
	assert_state_unchanged
	run "$QDT" pop
	assert_output --regexp ' type=100 len=5 data=keep1$'
}

@test "push and pop with a struct qd_msg that cannot be read fail with EFAULT" {
	local op arg
	for op in push pop; do
		for arg in --null "--arg 0xffffffff81000000"; do
			# shellcheck disable=SC2086 # $arg is an option and its value
			run "$QDT" raw-ioctl "$op" $arg
			assert_failure 14
			assert_output "error=EFAULT"
		done
	done
	assert_state_unchanged
}

@test "a reserving pop into a bad pointer fails with EFAULT and reserves nothing" {
	run "$QDT" pop --reserve --bad-ptr
	assert_failure 14
	assert_output "error=EFAULT"
	assert_state_unchanged
	stat_is reserved 0
}

@test "a peek into a bad pointer fails with EFAULT" {
	run "$QDT" pop --peek --bad-ptr
	assert_failure 14
	assert_output "error=EFAULT"
	assert_state_unchanged
}

@test "a push reads its payload right up to an inaccessible page and faults on the byte past it" {
	# Up to 256 bytes come into the ring a word at a time
	# (qd_ring_from_user() in driver/qd.h, which also stages a push
	# batch's payloads), more through copy_from_user(): both sides of
	# that line, and tails shorter than a word.
	local len
	for len in 1 7 37 64 256 257 300 4096; do
		echo "# len $len" >&3
		save_state
		run "$QDT" push --type 300 --len "$len" --page-end 1
		assert_failure 14
		assert_output "error=EFAULT"
		assert_state_unchanged
		run "$QDT" push --type 300 --len "$len" --page-end 0
		assert_success
		run "$QDT" pop --type 300 --buf "$len"
		assert_output --regexp " type=300 len=$len data=$(pattern "$len")\$"
	done
}

@test "a pop writes its payload right up to an inaccessible page, and one that would go past it faults and keeps the message" {
	# Up to 256 bytes go out a word at a time (qd_view_to_user() in
	# driver/qd.h), more through copy_to_user(): both sides of that
	# line, and tails shorter than a word.
	local len
	for len in 1 7 37 64 256 257 300 4096; do
		echo "# len $len" >&3
		"$QDT" push --type 300 --len "$len" >/dev/null
		assert_pop_to_page_end 300 "$len"
	done
}

@test "a zero-length payload is neither read nor written, whatever its pointer" {
	run "$QDT" push --type 300 --len 0 --ptr 0xffffffff81000000
	assert_success
	run "$QDT" pop --type 300 --len 0 --buf 0 --ptr 0xffffffff81000000
	assert_success
	assert_output --regexp " type=300 len=0 data=$"
	run "$QDT" push --type 300 --len 0 --bad-ptr
	assert_success
	run "$QDT" pop --type 300 --len 0 --buf 0 --bad-ptr
	assert_success
}

@test "pop into a short buffer fails with EMSGSIZE, sets len to the size needed and keeps the message" {
	run "$QDT" pop --buf 4 --check-untouched
	assert_failure 90
	assert_output "error=EMSGSIZE len=5"
	assert_state_unchanged
	run "$QDT" pop --buf 5
	assert_success
	assert_output --regexp ' type=100 len=5 data=keep1$'
}

@test "pop with a zero-length buffer fails with EMSGSIZE on a non-empty message" {
	run "$QDT" pop --buf 0
	assert_failure 90
	assert_output "error=EMSGSIZE len=5"
	assert_state_unchanged
}

@test "pop with __reserved set fails with EINVAL" {
	run "$QDT" pop --reserved 1
	assert_failure 22
	assert_output "error=EINVAL"
	assert_state_unchanged
}

@test "pop with an unknown flag fails with EINVAL" {
	run "$QDT" pop --flags 0x20
	assert_failure 22
	assert_output "error=EINVAL"
	run "$QDT" pop --flags 0x80000000
	assert_failure 22
	assert_state_unchanged
}

@test "pop with QD_F_PEEK and QD_F_RESERVE together fails with EINVAL" {
	run "$QDT" pop --peek --reserve
	assert_failure 22
	assert_output "error=EINVAL"
	assert_state_unchanged
}

@test "pop with QD_F_EXCEPT and type 0 fails with EINVAL" {
	run "$QDT" pop --except --type 0
	assert_failure 22
	assert_output "error=EINVAL"
	assert_state_unchanged
}

@test "pop with timeout_ns but without QD_F_TIMEOUT fails with EINVAL" {
	run "$QDT" pop --timeout-ns 5
	assert_failure 22
	assert_output "error=EINVAL"
	assert_state_unchanged
}

@test "pop with a negative timeout fails with EINVAL" {
	run "$QDT" pop --flags timeout --timeout-ns -5
	assert_failure 22
	assert_output "error=EINVAL"
	assert_state_unchanged
}

@test "an unknown ioctl fails with ENOTTY" {
	local cmd
	# unused number, another magic, and PUSH's number with a wrong size
	for cmd in 0xe808 0x0000e87f 0xc038e901 0xc040e801 0x4038e802; do
		run "$QDT" raw-ioctl "$cmd"
		assert_failure 25
		assert_output "error=ENOTTY"
	done
	assert_state_unchanged
}

@test "QD_IOC_STATS into a bad pointer fails with EFAULT" {
	run "$QDT" stats --bad-ptr
	assert_failure 14
	assert_output "error=EFAULT"
	assert_state_unchanged
}

@test "QD_IOC_SET_SIZE from a bad pointer fails with EFAULT" {
	run "$QDT" setsize 4096 --bad-ptr
	assert_failure 14
	assert_output "error=EFAULT"
	assert_state_unchanged
}

@test "QD_IOC_ACK and QD_IOC_NACK from a bad pointer fail with EFAULT" {
	run "$QDT" ack 1 --bad-ptr
	assert_failure 14
	assert_output "error=EFAULT"
	run "$QDT" nack 1 --bad-ptr
	assert_failure 14
	assert_output "error=EFAULT"
	assert_state_unchanged
}
