# SPDX-License-Identifier: GPL-2.0
#
# qdctl on the host, no module: dispatch, argument parsing, --help,
# exit statuses and the messages for a device that is missing or wrong.

load helpers

CMDS="config dump fill read stats submit work"

@test "qdctl without a command is a usage error (64) pointing at --list" {
	run "$QDCTL"
	assert_failure 64
	assert_output --partial "no command given (qdctl --list shows them)"
}

@test "an unknown command is a usage error (64)" {
	run "$QDCTL" frobnicate
	assert_failure 64
	assert_output --partial "unknown command 'frobnicate'"
}

@test "commands match exactly, not by prefix" {
	run "$QDCTL" rea --help
	assert_failure 64
	assert_output --partial "unknown command 'rea'"
}

@test "qdctl --list prints every command with the seed tool it replaces" {
	run "$QDCTL" --list
	assert_success
	assert_line --regexp '^config +configurator +'
	assert_line --regexp '^dump +- +'
	assert_line --regexp '^fill +filler +'
	assert_line --regexp '^read +reader +'
	assert_line --regexp '^stats +- +'
	assert_line --regexp '^submit +job_submitter +'
	assert_line --regexp '^work +worker +'
	assert_equal "${#lines[@]}" 7
}

@test "qdctl --list is sorted by name" {
	run "$QDCTL" --list
	assert_success
	assert_equal "$(printf '%s\n' "${lines[@]}" | cut -d' ' -f1)" \
		"$(printf '%s\n' "${lines[@]}" | cut -d' ' -f1 | LC_ALL=C sort)"
}

@test "qdctl --help lists the commands and exits 0" {
	run "$QDCTL" --help
	assert_success
	assert_line --partial "Usage: qdctl [OPTION...] COMMAND [ARG...]"
	for c in $CMDS; do
		assert_line --regexp "^  $c +"
	done
	assert_output --partial -- "--device"
	assert_output --partial -- "--type"
}

@test "every command has --help, --usage and --version, exiting 0" {
	for c in $CMDS; do
		run "$QDCTL" "$c" --help
		assert_success
		assert_line --partial "Usage: qdctl $c "
		assert_output --partial -- "--device"
		run "$QDCTL" "$c" --usage
		assert_success
		assert_output --partial "Usage: qdctl $c"
		run "$QDCTL" "$c" --version
		assert_success
		assert_output "qdctl $(cat "$QD_ROOT/VERSION")"
	done
}

@test "qdctl --version prints the VERSION file and --usage exits 0" {
	run "$QDCTL" --version
	assert_success
	assert_output "qdctl $(cat "$QD_ROOT/VERSION")"
	run "$QDCTL" --usage
	assert_success
	assert_output --partial "Usage: qdctl"
}

@test "an unknown option is a usage error (64) naming it" {
	run "$QDCTL" read --bogus
	assert_failure 64
	assert_output --partial "unrecognized option '--bogus'"
	assert_output --partial "Try \`qdctl read --help'"
}

@test "a missing device: one line naming command, device and how to load the module" {
	for c in config fill read submit work; do
		run "$QDCTL" "$c" --device /nonexistent </dev/null
		assert_failure 1
		assert_output "qdctl: $c: /nonexistent: No such file or directory (is the module loaded? try: sudo modprobe queue_driver)"
	done
}

@test "stats without the device or its sysfs fails the same way" {
	run "$QDCTL" stats --device /nonexistent
	assert_failure 1
	assert_output "qdctl: stats: /nonexistent: No such file or directory (is the module loaded? try: sudo modprobe queue_driver)"
}

@test "--device works before and after the command" {
	run "$QDCTL" --device /nonexistent/a read
	assert_failure 1
	assert_output --partial "qdctl: read: /nonexistent/a: No such file"
	run "$QDCTL" read --device /nonexistent/b
	assert_failure 1
	assert_output --partial "qdctl: read: /nonexistent/b: No such file"
	run "$QDCTL" -d /nonexistent/c read
	assert_failure 1
	assert_output --partial "/nonexistent/c: No such file"
}

@test "the option after the command wins over the one before it" {
	run "$QDCTL" --device /nonexistent/a read --device /nonexistent/b
	assert_failure 1
	assert_output --partial "/nonexistent/b: No such file"
}

@test "QD_DEVICE names the device, --device overrides it" {
	QD_DEVICE=/nonexistent/env run "$QDCTL" read
	assert_failure 1
	assert_output --partial "/nonexistent/env: No such file"
	QD_DEVICE=/nonexistent/env run "$QDCTL" read --device /nonexistent/opt
	assert_failure 1
	assert_output --partial "/nonexistent/opt: No such file"
}

@test "a file that is not the queue: ENOTTY says so" {
	run "$QDCTL" config --device /dev/null
	assert_failure 1
	assert_output "qdctl: config: /dev/null: Inappropriate ioctl for device (not a queue_driver device?)"
	run "$QDCTL" read --device /dev/null -n 1
	assert_failure 1
	assert_output --partial "(not a queue_driver device?)"
}

@test "--type accepts log, job and numbers > 0, before or after the command" {
	for t in log job 1 7 4294967295 0x10; do
		run "$QDCTL" read --type "$t" --device /nonexistent
		assert_failure 1	# parsed fine, then no device
		assert_output --partial "No such file"
		run "$QDCTL" --type "$t" fill --device /nonexistent </dev/null
		assert_failure 1
		assert_output --partial "No such file"
	done
}

@test "--type rejects 0, negatives, garbage and values above 2^32-1" {
	for t in 0 -1 foo 4294967296 '' 1x; do
		run "$QDCTL" read --type "$t"
		assert_failure 64
		assert_output --partial "invalid type '$t'"
	done
}

@test "--type any is for read and dump only" {
	run "$QDCTL" read --type any --device /nonexistent
	assert_failure 1
	for c in fill submit work; do
		run "$QDCTL" "$c" --type any --device /nonexistent
		assert_failure 64
		assert_output --partial "--type any does not apply to $c"
		run "$QDCTL" --type any "$c" --device /nonexistent
		assert_failure 64
		assert_output --partial "--type any does not apply to $c"
	done
}

@test "--type is refused where it means nothing" {
	run "$QDCTL" config --type job
	assert_failure 64
	run "$QDCTL" --type job stats
	assert_failure 64
	assert_output --partial "--type does not apply to stats"
}

@test "read: contradictory or invalid options are usage errors" {
	run "$QDCTL" read --nonblock --timeout 1
	assert_failure 64
	assert_output --partial "--nonblock and --timeout exclude each other"
	run "$QDCTL" read -n 0
	assert_failure 64
	run "$QDCTL" read -n abc
	assert_failure 64
	assert_output --partial "invalid count 'abc'"
	run "$QDCTL" read --timeout -1
	assert_failure 64
	run "$QDCTL" read --timeout soon
	assert_failure 64
	assert_output --partial "invalid timeout 'soon'"
	run "$QDCTL" read --peek -n 2
	assert_failure 64
	run "$QDCTL" read extra
	assert_failure 64
	assert_output --partial "unexpected argument 'extra'"
}

@test "read accepts fractional timeouts" {
	run "$QDCTL" read --timeout 0.25 --device /nonexistent
	assert_failure 1
	assert_output --partial "No such file"
}

@test "fill: --stdin-only refuses FILE arguments" {
	run "$QDCTL" fill --stdin-only somefile
	assert_failure 64
	assert_output --partial "--stdin-only takes no FILE arguments"
}

@test "fill: a missing input file fails before anything is pushed" {
	echo line >"$BATS_TEST_TMPDIR/a"
	run "$QDCTL" fill --device /nonexistent "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/missing"
	assert_failure 1
	assert_output "qdctl: fill: $BATS_TEST_TMPDIR/missing: No such file or directory (nothing was pushed)"
}

@test "fill: --nonblock and --timeout exclude each other" {
	run "$QDCTL" fill --nonblock --timeout 2
	assert_failure 64
}

@test "config --size takes bytes with K, M or G and nothing else" {
	for s in 4096 4K 4k 1M 1G 2KiB 64; do
		run "$QDCTL" config --size "$s" --device /nonexistent
		assert_failure 1
		assert_output --partial "No such file"
	done
	for s in 4X -1 '' K 1.5M 99999999999999999999; do
		run "$QDCTL" config --size "$s"
		assert_failure 64
		assert_output --partial "invalid size"
	done
}

@test "work: invalid counts and contradictions are usage errors" {
	run "$QDCTL" work -j 0
	assert_failure 64
	run "$QDCTL" work -j x
	assert_failure 64
	run "$QDCTL" work --once -n 2
	assert_failure 64
	assert_output --partial "--once and -n exclude each other"
	run "$QDCTL" work --job-timeout 0
	assert_failure 64
	run "$QDCTL" work 'echo hi'
	assert_failure 64
	assert_output --partial "qdctl submit CMD"
}

@test "stats: --watch needs an interval > 0" {
	run "$QDCTL" stats --watch 0
	assert_failure 64
	run "$QDCTL" stats --watch x
	assert_failure 64
}

@test "submit: options go before the command, the rest is the command" {
	run "$QDCTL" submit --device /nonexistent ls -la
	assert_failure 1
	assert_output --partial "qdctl: submit: /nonexistent: No such file"
	run "$QDCTL" submit --bogus ls
	assert_failure 64
}

@test "the seed's tool names run their command through a symlink" {
	local d=$BATS_TEST_TMPDIR/bin
	mkdir -p "$d"
	for pair in configurator:config filler:fill reader:read job_submitter:submit worker:work; do
		ln -s "$QDCTL" "$d/${pair%%:*}"
		run "$d/${pair%%:*}" --help
		assert_success
		assert_line --partial "Usage: ${pair%%:*} [OPTION...]"
		run "$d/${pair%%:*}" --device /nonexistent </dev/null
		assert_failure 1
		assert_output --partial "qdctl: ${pair#*:}: /nonexistent: No such file"
	done
}

@test "a symlink named like a command works too, and qdctl under another name is qdctl" {
	local d=$BATS_TEST_TMPDIR/bin
	mkdir -p "$d"
	ln -s "$QDCTL" "$d/read"
	run "$d/read" --bogus
	assert_failure 64
	assert_output --partial "Try \`read --help'"
	ln -s "$QDCTL" "$d/qdctl-test"
	run "$d/qdctl-test" --list
	assert_success
	assert_line --regexp '^read +reader'
}

@test "make install puts qdctl, the seed-name symlinks and qdctl(1) in place" {
	local dest=$BATS_TEST_TMPDIR/root
	run make -s -C "$QD_ROOT/qdctl" install DESTDIR="$dest" PREFIX=/usr/local
	assert_success
	assert [ -x "$dest/usr/local/bin/qdctl" ]
	for a in configurator filler reader job_submitter worker; do
		assert_equal "$(readlink "$dest/usr/local/bin/$a")" qdctl
	done
	assert [ -f "$dest/usr/local/share/man/man1/qdctl.1" ]
	run "$dest/usr/local/bin/reader" --version
	assert_success
	assert_output "qdctl $(cat "$QD_ROOT/VERSION")"
}

@test "qdctl.1 documents every command and every long option" {
	local man=$QD_ROOT/qdctl/qdctl.1 c opt
	for c in $CMDS; do
		grep -q "^\.SS \"qdctl $c\"" "$man" || fail "qdctl.1 lacks qdctl $c"
		for opt in $("$QDCTL" "$c" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
			grep -q -- "${opt//-/\\\\-}\|$opt" "$man" ||
				fail "qdctl.1 lacks $opt of qdctl $c (run make -C qdctl man)"
		done
	done
}

@test "qdctl builds warning-free with -O2 -D_FORTIFY_SOURCE=2 -Werror" {
	local out=$BATS_TEST_TMPDIR/build
	mkdir -p "$out"
	cp "$QD_ROOT"/qdctl/*.[ch] "$QD_ROOT/qdctl/Makefile" "$out/"
	run make -s -C "$out" CFLAGS=-O2 UAPI="$QD_ROOT/uapi" \
		VERSION_FILE="$QD_ROOT/VERSION"
	assert_success
	refute_output --partial warning
}

@test "every option a command's --help lists is accepted by that command" {
	local c opt val
	for c in $CMDS; do
		for opt in $("$QDCTL" "$c" --help |
			sed -n 's/^ *\(-., \)\{0,1\}\(--[a-z][a-z-]*\(=[A-Z]*\)\{0,1\}\).*/\2/p'); do
			case ${opt%%=*} in
			--help | --usage | --version | --device) continue ;;
			--type) val=log ;;
			--size) val=4K ;;
			*) val=1 ;;
			esac
			if [ "$c" = dump ] && [ "${opt%%=*}" = --type ]; then
				run timeout 5 "$QDCTL" "$c" --type job </dev/null
			elif [ "${opt#*=}" != "$opt" ]; then
				run timeout 5 "$QDCTL" "$c" "${opt%%=*}=$val" --device /nonexistent </dev/null
			else
				run timeout 5 "$QDCTL" "$c" "$opt" --device /nonexistent </dev/null
			fi
			assert_failure 1	# parsed, then no device
			refute_output --partial "PROGRAM ERROR"
		done
	done
}
