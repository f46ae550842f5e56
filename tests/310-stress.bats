# SPDX-License-Identifier: GPL-2.0
#
# Stress with exact accounting (tests/stress/stress.c): producers,
# consumers killed while holding reservations, a resizer; at the end every
# message was consumed exactly once, uncorrupted, in FIFO order per
# consumer and type, and the sysfs counters moved by exactly what the run
# did. Short runs by default; QD_STRESS_SECONDS=60 gives the full run the
# issue asks for, QD_STRESS_SEED=N replays a seed.

load helpers

BATS_TEST_TIMEOUT=$(( ${QD_STRESS_SECONDS:-20} * 3 + 120 ))

setup() {
	qd_reset
}

stress() {
	local args=("$@")
	[ -n "${QD_STRESS_SEED:-}" ] && args+=(--seed "$QD_STRESS_SEED")
	run "$TESTBIN/stress" "${args[@]}"
	echo "$output"
	assert_success
	assert_output --partial 'stress: OK'
	# the figures, for the log and the README
	grep '^stress: ' <<<"$output" | sed 's/^/# /' >&3
}

@test "stress 4 producers x 4 consumers: every message exactly once, in order, counters exact" {
	stress --producers 4 --consumers 4 --seconds "${QD_STRESS_SECONDS:-20}"
}

@test "stress 16 producers x 16 consumers: every message exactly once, in order, counters exact" {
	stress --producers 16 --consumers 16 --seconds "${QD_STRESS_SECONDS:-15}"
}

@test "the stress run leaves an empty queue of the default size" {
	stress --producers 2 --consumers 2 --seconds 3
	assert_equal "$(qd_stat messages)" 0
	assert_equal "$(qd_stat reserved)" 0
	assert_equal "$(qd_stat used)" 0
	assert_equal "$(qd_stat size)" 65536
}
