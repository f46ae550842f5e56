# SPDX-License-Identifier: GPL-2.0
#
# 32-bit userspace: the structs have the same layout on both ABIs and the
# driver wires compat_ioctl, so a -m32 build must behave exactly like the
# native one. compat-test checks the ioctl contract on its own; qdt-m32
# runs the same ops the other suites use.

load helpers
load driver-helpers

: "${BATS_TEST_TIMEOUT:=300}"

setup() {
	qd_reset
}

teardown() {
	driver_teardown
}

elf_class() {
	od -An -tx1 -j4 -N1 "$1" | tr -d ' '
}

@test "the -m32 test programs really are 32-bit executables" {
	assert_equal "$(elf_class "$TESTBIN/compat-test-m32")" 01
	assert_equal "$(elf_class "$QDT32")" 01
	assert_equal "$(elf_class "$TESTBIN/compat-test")" 02
}

@test "the ioctl contract holds for native userspace" {
	run "$TESTBIN/compat-test"
	assert_success
	assert_output --regexp '^compat-test: ok \([0-9]+ checks, 64-bit\)$'
}

@test "the ioctl contract holds for 32-bit userspace through compat_ioctl" {
	run "$TESTBIN/compat-test-m32"
	assert_success
	assert_output --regexp '^compat-test: ok \([0-9]+ checks, 32-bit\)$'
}

@test "a message pushed by a 32-bit process pops intact in a 64-bit one and back" {
	run "$QDT32" push --type 200 --data-esc 'from32\x00\xff'
	assert_success
	local id
	id=$(kv id)
	run "$QDT" pop --hex
	assert_output "id=$id type=200 len=8 data=66726f6d333200ff"
	run "$QDT" push --type 100 --data from64
	id=$(kv id)
	run "$QDT32" pop --check-struct --check-untouched
	assert_success
	assert_output --regexp "^id=$id type=100 len=6 untouched=ok struct=ok data=from64\$"
}

@test "a 32-bit pop reports sender, time and the needed length on EMSGSIZE" {
	local t0 t1
	t0=$(date +%s%N)
	run "$QDT32" run 'push --meta --data abcdef' 'pop --buf 2' 'pop --meta'
	t1=$(date +%s%N)
	assert_failure 90
	assert_line --index 1 "error=EMSGSIZE len=6"
	assert_equal "$(kv sender_pid "${lines[2]}")" "$(kv pid "${lines[0]}")"
	assert_equal "$(kv sender_uid "${lines[2]}")" 0
	[ "$(kv time_ns "${lines[2]}")" -ge "$t0" ]
	[ "$(kv time_ns "${lines[2]}")" -le "$t1" ]
}

@test "32-bit batches push and pop several messages" {
	run "$QDT32" batch-push --data-list a,bb,ccc --type 9
	assert_success
	assert_output --regexp '^done=3 ids=[0-9]+,[0-9]+,[0-9]+$'
	run "$QDT32" batch-pop --count 8 --flags nonblock --buf 16
	assert_success
	assert_batch_popped 3 9:a 9:bb 9:ccc
}

@test "32-bit reserve, nack and ack work" {
	"$QDT32" push --data job
	run "$QDT32" run 'pop --reserve' 'stats reserved' 'nack $id' 'pop --reserve' 'ack $id' 'stats messages reserved'
	assert_success
	assert_line --index 1 "reserved=1"
	assert_line --index 5 "messages=0 reserved=0"
}

@test "32-bit QD_IOC_STATS and QD_IOC_SET_SIZE work" {
	run "$QDT32" setsize 4096
	assert_success
	run "$QDT32" stats --check
	assert_success
	assert_output --regexp '^size=4096 used=0 free=4096 .* max_msg_size=4088 spare=0,0,0,0 check=ok$'
}

@test "32-bit calls get the same errors, queue unchanged" {
	"$QDT" push --data keep
	save_state
	run "$QDT32" push --type 0 --data x
	assert_failure 22
	run "$QDT32" push --reserved 1 --data x
	assert_failure 22
	run "$QDT32" pop --flags 0x40
	assert_failure 22
	run "$QDT32" pop --bad-ptr
	assert_failure 14
	run "$QDT32" push --ptr 0xffffffff00001000 --len 4
	assert_failure 14
	run "$QDT32" pop --type 5 --nonblock
	assert_failure 11
	run "$QDT32" pop --type 5 --flags timeout --timeout-ns 1000000
	assert_failure 110
	run "$QDT32" raw-ioctl 0xe808
	assert_failure 25
	run "$QDT32" setsize 4
	assert_failure 22
	assert_state_unchanged
}
