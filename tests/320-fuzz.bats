# SPDX-License-Identifier: GPL-2.0
#
# The ioctl fuzzer (tests/fuzz/fuzz.c): random and boundary commands,
# structs, pointers and fd flags from several threads with concurrent
# close/reopen and resize; every result must be one the contract allows for
# those arguments, and the queue invariants must hold between phases.
# QD_FUZZ_SECONDS sets the length (default 60), QD_FUZZ_SEED replays.
# A kernel splat fails the run through scripts/vm.

load helpers

BATS_TEST_TIMEOUT=$(( ${QD_FUZZ_SECONDS:-60} * 2 + 120 ))

setup() {
	qd_reset
}

@test "debugfs is there for the fuzzer's invariant checks" {
	[ -r "$QD_DEBUGFS/messages" ]
}

@test "fuzzing ioctls, read, write, poll and fcntl from 4 threads gets only documented results" {
	local args=(--seconds "${QD_FUZZ_SECONDS:-60}" --threads 4 --verbose)
	[ -n "${QD_FUZZ_SEED:-}" ] && args+=(--seed "$QD_FUZZ_SEED")
	run "$TESTBIN/fuzz" "${args[@]}"
	echo "$output"
	assert_success
	assert_output --partial 'fuzz: OK'
	grep -E '^fuzz: [0-9]+ calls' <<<"$output" | sed 's/^/# /' >&3
	# back to an empty default queue
	assert_equal "$(qd_stat messages)" 0
	assert_equal "$(qd_stat size)" 65536
}
