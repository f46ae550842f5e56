# SPDX-License-Identifier: GPL-2.0
#
# The seed's workflow, through the seed's tool names (symlinks to qdctl):
# configurator, reader, filler, job_submitter, worker.

load helpers
load qdctl-helpers

# A test that would wait forever (a bug) fails instead.
BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-120}

setup() {
	qdctl_setup
	local t
	for t in configurator filler reader job_submitter worker; do
		ln -s "$QDCTL" "$W/$t"
	done
	PATH=$W:$PATH
}

teardown() {
	qdctl_teardown
}

@test "the seed's workflow: reader and worker wait, filler and job_submitter feed them" {
	BATS_TEST_TIMEOUT=60
	run configurator
	assert_success
	assert_line "size: 65536"

	qbg reader reader
	echo "System started" | filler
	echo "User logged in" | filler
	wait_for qbg_has reader '^User logged in$'

	run job_submitter < <(printf 'echo "Hello from worker"\necho $((6 * 7))\n')
	assert_success
	assert_output 'job 3 submitted: echo "Hello from worker"
job 4 submitted: echo $((6 * 7))'

	run worker --drain
	assert_success
	assert_line "Hello from worker"
	assert_line 42
	assert_line --regexp '^\[worker [0-9]+\] job 4 exited 0$'

	kill -INT "${QBG[reader]}"
	qbg_wait reader
	assert_equal "$status" 130
	assert_output "System started
User logged in"
	assert_equal "$(qd_stat pushes)" 4
	assert_equal "$(qd_stat pops)" 4
	assert_equal "$(qd_stat messages)" 0
}

@test "a reader started after the filler still gets every line, in order" {
	seq 1 100 | filler
	run reader -n 100
	assert_success
	assert_equal "$output" "$(seq 1 100)"
}

@test "several readers share the log lines: each line is read exactly once" {
	BATS_TEST_TIMEOUT=60
	qbg r1 reader
	qbg r2 reader
	seq 1 2000 | filler
	wait_for eval '[ "$(qd_stat messages)" = 0 ]'
	sleep 0.2
	kill -INT "${QBG[r1]}" "${QBG[r2]}"
	qbg_wait r1
	qbg_wait r2
	assert_equal "$(sort -n "$BATS_TEST_TMPDIR/r1.out" "$BATS_TEST_TMPDIR/r2.out")" "$(seq 1 2000)"
}
