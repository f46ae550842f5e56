# SPDX-License-Identifier: GPL-2.0
#
# qdctl's bash completion (qdctl/qdctl.bash-completion, packaged as
# /usr/share/bash-completion/completions/qdctl), driven the way bash
# drives it: COMP_LINE, COMP_WORDS split at COMP_WORDBREAKS, then _qdctl.
# On the host, with the tree's qdctl first in PATH; no device needed.

load helpers

setup() {
	if ! [ -r /usr/share/bash-completion/bash_completion ]; then
		fail "bash-completion is not installed: run scripts/deps"
	fi
	# shellcheck source=/dev/null
	source /usr/share/bash-completion/bash_completion
	# shellcheck source=qdctl/qdctl.bash-completion
	source "$QD_ROOT/qdctl/qdctl.bash-completion"
	# compopt only works while bash runs a completion.
	# shellcheck disable=SC2317 # called by _qdctl
	compopt() { :; }
	PATH=$QD_ROOT/qdctl:$PATH
	cd "$BATS_TEST_TMPDIR" || fail "cannot cd to $BATS_TEST_TMPDIR"
}

# completions LINE: the candidates _qdctl offers with the cursor at the end of
# LINE, sorted, one per line.
completions() {
	local line=$1
	COMP_LINE=$line
	COMP_POINT=${#line}
	read -ra COMP_WORDS <<<"${line//=/ = }"
	[[ $line == *" " ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_qdctl qdctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	if [ ${#COMPREPLY[@]} -gt 0 ]; then
		printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort -u
	fi
}

# The long options a --help text lists, with "=" when they take a value.
help_options() {
	"$QDCTL" "$@" --help | grep -oE '^ +(-[^ ], +)?--[a-z][a-z-]*=?' |
		grep -oE -- '--[a-z-]+=?' | LC_ALL=C sort -u
}

@test "the commands come from qdctl --list" {
	run completions "qdctl "
	assert_success
	assert_output "$("$QDCTL" --list | cut -d' ' -f1 | LC_ALL=C sort)"
	run completions "qdctl s"
	assert_output "$(printf '%s\n' stats submit)"
	run completions "qdctl --device /dev/null -t job r"
	assert_output read
}

@test "each command's options are those its --help lists" {
	local c
	for c in $("$QDCTL" --list | cut -d' ' -f1); do
		run completions "qdctl $c --"
		assert_success
		assert_output "$(help_options "$c")"
	done
	run completions "qdctl --"
	assert_output "$(help_options)"
	run completions "qdctl fill --"
	assert_output "$(printf '%s\n' --device= --help --nonblock --split --stdin-only \
		--timeout= --type= --usage --verbose --version)"
}

@test "--type offers log and job, and any where messages are taken or listed" {
	local c t
	for c in fill submit work; do
		run completions "qdctl $c --type "
		assert_output "$(printf '%s\n' job log)"
	done
	for c in read dump; do
		run completions "qdctl $c -t "
		assert_output "$(printf '%s\n' any job log)"
	done
	run completions "qdctl read --type=a"
	assert_output any
	# and qdctl takes every one it offers (64 would be a usage error)
	for c in fill submit work read dump; do
		for t in $(completions "qdctl $c --type "); do
			run "$QDCTL" "$c" --type "$t" --device /nonexistent </dev/null
			[ "$status" != 64 ] || fail "qdctl $c --type $t: $output"
		done
	done
}

@test "an option's value is not completed as an option or a command" {
	run completions "qdctl config --size "
	assert_output ""
	run completions "qdctl read -n "
	assert_output ""
	run completions "qdctl work --job-timeout="
	assert_output ""
	# -s takes a value for config (--size), not for fill (--split)
	touch data.txt
	run completions "qdctl fill -s "
	assert_output data.txt
}

@test "--device and fill complete file names" {
	touch app.log other
	run completions "qdctl --device ap"
	assert_output app.log
	run completions "qdctl fill app.log o"
	assert_output other
}

@test "after submit comes the job's command line" {
	run completions "qdctl submit ech"
	assert_line echo
	run completions "qdctl submit --timeout 3 ech"
	assert_line echo
	run completions "qdctl submit --"
	assert_line --timeout=
	refute_line echo
}
