# SPDX-License-Identifier: GPL-2.0
#
# Races that break character drivers in practice: close while another
# thread waits on the same fd, resize under waiting pushers and poppers,
# rmmod against open files and sleeping waiters, signal storms during
# waits, ACK/NACK through the wrong fd. The work is done by tests/bin/races
# (tests/stress/races.c), which exits non-zero naming what differed.

load helpers

BATS_TEST_TIMEOUT=180

setup() {
	qd_reset
	PIDS=()
}

teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	# a test may leave the module unloaded on purpose: load it back
	grep -q '^queue_driver ' /proc/modules || qd_load
}

# readers_waiting N: at least N pops have had to wait since load
readers_waiting() {
	[ "$(qd_stat blocked_readers)" -ge "$1" ]
}

@test "closing an fd while another thread waits in pop on it: the pop still gets the next message" {
	run "$TESTBIN/races" close-pop
	assert_success
	assert_output --partial 'the waiter got id 1'
}

@test "a message reserved by a pop on an already closed fd is requeued when that pop returns" {
	run "$TESTBIN/races" close-pop --reserve
	assert_success
	assert_output --partial 'came back on release'
}

@test "a pop waiting on a closed fd ends with EINTR on a signal and takes nothing" {
	run "$TESTBIN/races" close-pop-signal
	assert_success
}

@test "resizing while pushers and poppers wait: EBUSY below used, EMSGSIZE for a waiter that no longer fits, the rest complete in order" {
	run "$TESTBIN/races" resize-blocked
	assert_success
	assert_output --partial '3 pushers and 3 poppers completed'
}

@test "rmmod keeps failing while the device is held, churned and waited on; the module works afterwards" {
	local i out
	"$TESTBIN/races" hold >/dev/null 3>&- &
	PIDS+=($!)
	"$TESTBIN/races" churn 3>&- &
	PIDS+=($!)
	"$TESTBIN/races" wait-pop >"$BATS_TEST_TMPDIR/waiter.out" 3>&- &
	local waiter=$!
	PIDS+=("$waiter")
	wait_for readers_waiting 1
	for i in $(seq 10); do
		run rmmod queue_driver
		assert_failure
		assert_output --partial 'in use'
		grep -q '^queue_driver ' /proc/modules
	done
	# still working: the waiter gets its message, stats are sane
	run "$TESTBIN/races" push after-rmmod
	assert_success
	wait "$waiter"
	run cat "$BATS_TEST_TMPDIR/waiter.out"
	assert_output --regexp '^id=1 len=11 data=after-rmmod$'
	assert_equal "$(qd_stat messages)" 0
	assert_equal "$(qd_stat pops)" 1
	# every holder gone: now it unloads
	for i in "${PIDS[@]}"; do kill "$i" 2>/dev/null || true; wait "$i" 2>/dev/null || true; done
	PIDS=()
	run rmmod queue_driver
	assert_success
	run grep -q '^queue_driver ' /proc/modules
	assert_failure
}

@test "a signal storm at a waiting pop: no message lost or reordered, EINTR for every signal at a sleeping waiter" {
	run "$TESTBIN/races" signal-storm --signals 2000 --messages 50
	assert_success
	echo "# $output" >&3
}

@test "a signal storm at a waiting pop with SA_RESTART and no timeout: the waits restart, never EINTR" {
	run "$TESTBIN/races" signal-storm --restart --signals 2000 --messages 50
	assert_success
	assert_output --partial ' 0 EINTR'
}

@test "a signal storm at a pop waiting with a timeout: EINTR even with SA_RESTART, nothing lost" {
	run "$TESTBIN/races" signal-storm --restart --timeout --signals 2000 --messages 50
	assert_success
}

@test "a signal storm at a waiting push: every message queued once and in order" {
	run "$TESTBIN/races" signal-storm --push --signals 2000 --messages 50
	assert_success
	echo "# $output" >&3
}

@test "a signal storm at a push waiting with SA_RESTART: the waits restart, never EINTR" {
	run "$TESTBIN/races" signal-storm --push --restart --signals 2000 --messages 50
	assert_success
	assert_output --partial ' 0 EINTR'
}

@test "a signal storm at a push waiting with a timeout: EINTR, nothing queued twice" {
	run "$TESTBIN/races" signal-storm --push --timeout --signals 2000 --messages 50
	assert_success
}

@test "ACK and NACK hammered through another fd while the owner acks: always ENOENT, the owner's calls win" {
	run "$TESTBIN/races" ack-other-fd 300
	assert_success
	echo "# $output" >&3
}

@test "pops with overlapping type filters, reserve, NACK and batches waiting while bursts arrive: every message is taken exactly once and none stays queued" {
	run "$TESTBIN/races" wakeups 1500
	assert_success
	assert_output --partial 'each taken once, no wake-up lost'
}

@test "consumers that take every type (reserve, NACK, batches) block in pops while bursts arrive: every message is taken exactly once and none stays queued" {
	run "$TESTBIN/races" wakeups-any 1500
	assert_success
	assert_output --partial 'each taken once, no wake-up lost'
}

@test "one-shot pops with random filters asleep in random order: a round of pushes never leaves a message next to a sleeping taker" {
	run "$TESTBIN/races" wake-rounds 300
	assert_success
	assert_output --partial 'no wake-up lost'
}

@test "one-shot pops that take every type, asleep before a round of pushes or a one-type batch: none is left asleep next to a message" {
	run "$TESTBIN/races" wake-rounds-any 300
	assert_success
	assert_output --partial 'no wake-up lost'
}

@test "one-shot pushes of random sizes asleep at a full queue: pops never leave a push that fits asleep" {
	run "$TESTBIN/races" wake-rounds-push 300
	assert_success
	assert_output --partial 'no wake-up lost'
}
