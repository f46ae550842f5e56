# SPDX-License-Identifier: GPL-2.0
#
# Host-side checks of the harness that need no guest: option handling of
# scripts/vm, scripts/deps and the test runner's summary line.

load helpers

# Run a command outside this bats run: bats puts its libexec first in PATH
# and exports its state, which a nested bats must not see.
clean_env() {
	env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME="$HOME" "$@"
}

@test "scripts/vm rejects an unknown option with status 64" {
	run "$QD_ROOT/scripts/vm" --bogus -- true
	assert_failure 64
	assert_output --partial "unknown option '--bogus'"
}

@test "scripts/vm --help documents every option it accepts" {
	run "$QD_ROOT/scripts/vm" --help
	assert_success
	for opt in --kernel --moddir --module --modparams --no-load --mem \
		--smp --timeout --keep-log --append --env --allow --quiet; do
		assert_output --partial -- "$opt"
	done
}

@test "scripts/vm refuses a missing module instead of booting without it" {
	run "$QD_ROOT/scripts/vm" --module /nonexistent/x.ko -- true
	assert_failure 125
	assert_output --partial "no module /nonexistent/x.ko"
}

@test "scripts/vm --env takes NAME=VALUE only" {
	run "$QD_ROOT/scripts/vm" --env novalue -- true
	assert_failure 64
	assert_output --partial "--env takes NAME=VALUE"
}

@test "scripts/deps --check finds every package installed" {
	run "$QD_ROOT/scripts/deps" --check
	assert_success
	assert_output --regexp '^deps: all [0-9]+ packages installed$'
}

@test "scripts/vm-kdir names a kernel build directory with a release" {
	run "$QD_ROOT/scripts/vm-kdir"
	assert_success
	[ -e "$output/Makefile" ]
	run "$QD_ROOT/scripts/vm-kdir" --release
	assert_success
	[ -e "/boot/vmlinuz-$output" ]
}

@test "the runner counts passes, failures and skips and fails on a failure" {
	local d=$BATS_TEST_TMPDIR/repo
	mkdir -p "$d/scripts" "$d/tests/host"
	cp "$QD_ROOT/scripts/run-tests" "$d/scripts/"
	# (printf: a literal test line here would be taken by this bats run)
	printf '@test "%s" { %s; }\n' p1 true p2 true f1 false s1 'skip "not here"' \
		>"$d/tests/host/001-x.bats"
	run clean_env "$d/scripts/run-tests" "$d/tests/host/001-x.bats"
	assert_failure
	assert_line --index -1 "2 passed, 1 failed, 1 skipped"
}

@test "the runner prints no skip count when nothing was skipped and exits 0" {
	local d=$BATS_TEST_TMPDIR/repo
	mkdir -p "$d/scripts" "$d/tests/host"
	cp "$QD_ROOT/scripts/run-tests" "$d/scripts/"
	printf '@test "p1" { true; }\n' >"$d/tests/host/001-x.bats"
	run clean_env "$d/scripts/run-tests" "$d/tests/host/001-x.bats"
	assert_success
	assert_line --index -1 "1 passed, 0 failed"
}

@test "the runner counts a suite that fails to load as a failure" {
	local d=$BATS_TEST_TMPDIR/repo
	mkdir -p "$d/scripts" "$d/tests/host"
	cp "$QD_ROOT/scripts/run-tests" "$d/scripts/"
	printf '@test "p1" { true; }\n@test "p2" { true; }\n' >"$d/tests/host/001-x.bats"
	printf 'exit 0\n' >"$d/tests/host/helpers.bash"
	printf 'load helpers\n@test "p3" { true; }\n' >"$d/tests/host/002-y.bats"
	run clean_env "$d/scripts/run-tests" "$d/tests/host/001-x.bats" "$d/tests/host/002-y.bats"
	assert_failure
	assert_line --index -1 --regexp '^[0-9]+ passed, [1-9][0-9]* failed$'
}
