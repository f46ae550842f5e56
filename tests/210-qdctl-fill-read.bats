# SPDX-License-Identifier: GPL-2.0
#
# qdctl fill and read in the guest: byte-exact round trips, the limits,
# errors that say exactly what was pushed, and read's stop conditions.

load helpers
load qdctl-helpers

# A test that would wait forever (a bug) fails instead.
BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-120}

setup() {
	qdctl_setup
}

teardown() {
	qdctl_teardown
}

@test "fill then read -n returns the file byte for byte (empty lines, UTF-8, tabs, CR)" {
	local f=$W/app.log
	printf 'first line\n\n\nüñíçødé – 日本語 ✓\n\ttab\tand spaces  \nwith\rcarriage return\n\\backslash\\n\n""quotes\n\nlast\n' >"$f"
	run "$QDCTL" fill -v "$f"
	assert_success
	assert_output "10 messages pushed"
	assert_equal "$(qd_stat messages)" 10
	"$QDCTL" read -n 10 --timeout 10 >"$W/out"
	cmp "$f" "$W/out"
	assert_equal "$(qd_stat messages)" 0
}

@test "lines exactly at the maximum message size go through, mixed with short ones" {
	BATS_TEST_TIMEOUT=60
	"$QDCTL" config --size 16K
	local max
	max=$(qd_stat max_msg_size)
	{
		mkline "$max" a; echo
		echo short
		mkline "$max" b; echo
		echo
		mkline $((max - 1)) c; echo
		mkline 5000 d; echo
	} >"$W/big"
	# A maximum-size message fills the queue: fill must wait for read.
	qbg fill "$QDCTL" fill -v "$W/big"
	"$QDCTL" read -n 6 --timeout 20 >"$W/out"
	qbg_wait fill
	assert_equal "$status" 0
	assert_output "6 messages pushed"
	cmp "$W/big" "$W/out"
}

@test "read keeps order across message sizes that grow its buffers" {
	{
		echo small
		mkline 300 a; echo
		echo small2
		mkline 20000 b; echo
		mkline 40000 c; echo
		echo
		echo end
	} >"$W/in"
	"$QDCTL" fill "$W/in"
	"$QDCTL" read -n 7 --timeout 10 >"$W/out"
	cmp "$W/in" "$W/out"
}

@test "a line longer than the maximum: error names file:line, earlier lines pushed, none after" {
	"$QDCTL" config --size 4K
	{ echo one; echo two; mkline 4089; echo; echo four; } >"$W/in"
	run "$QDCTL" fill "$W/in"
	assert_failure 1
	assert_output "qdctl: fill: $W/in:3: line is 4089 bytes, more than the largest message (4088 bytes): this line and the rest were not pushed (2 pushed; --split cuts long lines)"
	assert_equal "$(qd_stat messages)" 2
	run "$QDCTL" read --nonblock
	assert_output "one
two"
}

@test "an over-long line on stdin that fills the input buffer is caught too" {
	"$QDCTL" config --size 4K
	{ echo ok; mkline 100000; echo; echo after; } >"$W/in"
	run "$QDCTL" fill <"$W/in"
	assert_failure 1
	assert_output "qdctl: fill: <stdin>:2: line is 100000 bytes, more than the largest message (4088 bytes): this line and the rest were not pushed (1 pushed; --split cuts long lines)"
	assert_equal "$(qd_stat messages)" 1
}

@test "fill --split cuts an over-long line into maximum-size pieces" {
	"$QDCTL" config --size 4K
	local max
	max=$(qd_stat max_msg_size)
	{ mkline $((2 * max + 10)) z; echo; echo tail; } >"$W/in"
	# A maximum-size piece fills the queue: read while fill pushes.
	qbg fill "$QDCTL" fill --split -v "$W/in"
	"$QDCTL" read -n 4 --timeout 20 >"$W/out"
	qbg_wait fill
	assert_equal "$status" 0
	assert_output "4 messages pushed"
	mapfile -t lines <"$W/out"
	assert_equal "${#lines[@]}" 4
	assert_equal "${#lines[0]}" "$max"
	assert_equal "${#lines[1]}" "$max"
	assert_equal "${lines[2]}" "zzzzzzzzzz"
	assert_equal "${lines[3]}" tail
}

@test "a last line without newline is a message; an empty input is none" {
	printf 'a\nno newline' | "$QDCTL" fill
	: | "$QDCTL" fill
	printf '\n' | "$QDCTL" fill
	assert_equal "$(qd_stat messages)" 3
	"$QDCTL" read --nonblock >"$W/out"
	cmp "$W/out" <(printf 'a\nno newline\n\n')
}

@test "fill reads files in order, - is stdin" {
	echo A >"$W/a"
	echo C >"$W/c"
	echo B | "$QDCTL" fill "$W/a" - "$W/c"
	run "$QDCTL" read --nonblock
	assert_output "A
B
C"
}

@test "fill --type pushes that type; read takes only its type" {
	printf 'seven\n' | "$QDCTL" fill --type 7
	printf 'log\n' | "$QDCTL" fill
	run "$QDCTL" read --nonblock
	assert_output "log"
	assert_equal "$(qd_stat messages)" 1
	run "$QDCTL" read --nonblock --type 7
	assert_output "seven"
}

@test "fill batches: thousands of lines take a few ioctls, not one each" {
	seq 1 5000 >"$W/in"
	strace -f -e trace=ioctl -o "$W/trace" "$QDCTL" fill "$W/in"
	assert_equal "$(qd_stat messages)" 5000
	local n
	n=$(grep -c 'ioctl(' "$W/trace")
	[ "$n" -le 12 ] || fail "fill made $n ioctl calls for 5000 lines"
	"$QDCTL" read -n 5000 --timeout 10 >"$W/out"
	cmp "$W/in" "$W/out"
}

@test "read batches too, and -n takes exactly COUNT" {
	seq 1 3000 | "$QDCTL" fill
	strace -f -e trace=ioctl -o "$W/trace" "$QDCTL" read -n 1234 >"$W/out"
	assert_equal "$(wc -l <"$W/out")" 1234
	assert_equal "$(tail -n 1 "$W/out")" 1234
	assert_equal "$(qd_stat messages)" 1766
	local n
	n=$(grep -c 'ioctl(' "$W/trace")
	[ "$n" -le 6 ] || fail "read made $n ioctl calls for 1234 messages"
}

@test "fill --nonblock on a full queue names the first line not pushed" {
	"$QDCTL" config --size 64
	printf 'aaaaaaaaaaaaaaaaaaaa\nbbbbbbbbbbbbbbbbbbbb\ncccccccccccccccccccc\nd\n' >"$W/in"
	run "$QDCTL" fill --nonblock "$W/in"
	assert_failure 1
	assert_output "qdctl: fill: $W/in:3: the queue is full (--nonblock): this line and the rest were not pushed (2 pushed)"
	assert_equal "$(qd_stat messages)" 2
}

@test "fill --timeout gives up after SEC seconds of a full queue" {
	"$QDCTL" config --size 64
	printf 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nbbbbbbbbbbbbbbbb\n' >"$W/in"
	local t0=$SECONDS
	run "$QDCTL" fill --timeout 0.5 "$W/in"
	assert_failure 1
	assert_output --partial "$W/in:2: the queue stayed full for 0.5 s (--timeout)"
	assert_equal "$(qd_stat messages)" 1
	[ $((SECONDS - t0)) -lt 15 ]
}

@test "fill blocked on a full queue: SIGINT exits 130 naming the line" {
	BATS_TEST_TIMEOUT=30
	"$QDCTL" config --size 64
	printf 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nbbbbbbbbbbbbbbbb\n' >"$W/in"
	qbg fill "$QDCTL" fill "$W/in"
	wait_for eval '[ "$(qd_stat blocked_writers)" -ge 1 ]'
	kill -INT "${QBG[fill]}"
	qbg_wait fill
	assert_equal "$status" 130
	assert_equal "$err" "qdctl: fill: $W/in:2: interrupted: this line and the rest were not pushed (1 pushed)"
	assert_equal "$(qd_stat messages)" 1
}

@test "read --nonblock prints what is queued and exits 0, also when empty" {
	run "$QDCTL" read --nonblock
	assert_success
	assert_output ""
	printf 'x\ny\n' | "$QDCTL" fill
	run "$QDCTL" read --nonblock
	assert_success
	assert_output "x
y"
}

@test "read -n COUNT that --nonblock or --timeout cut short exits 1 saying so" {
	printf 'x\n' | "$QDCTL" fill
	run "$QDCTL" read -n 2 --nonblock
	assert_failure 1
	assert_line --index 0 x
	assert_line --index 1 "qdctl: read: no more messages queued (--nonblock): 1 of 2 messages read"
	run "$QDCTL" read -n 1 --timeout 0.3
	assert_failure 1
	assert_output "qdctl: read: no message within the --timeout: 0 of 1 messages read"
}

@test "read --timeout ends a follow when no message comes for SEC seconds" {
	BATS_TEST_TIMEOUT=30
	qbg r "$QDCTL" read --timeout 3
	wait_for eval '[ "$(qd_stat blocked_readers)" -ge 1 ]'
	printf 'late\n' | "$QDCTL" fill
	qbg_wait r
	assert_equal "$status" 0
	assert_output late
}

@test "read follows forever, printing each message as it comes; SIGINT exits 130" {
	BATS_TEST_TIMEOUT=30
	qbg r "$QDCTL" read
	printf 'one\n' | "$QDCTL" fill
	wait_for qbg_has r '^one$'
	printf 'two\n' | "$QDCTL" fill
	wait_for qbg_has r '^two$'
	kill -INT "${QBG[r]}"
	qbg_wait r
	assert_equal "$status" 130
	assert_output "one
two"
}

@test "read through a pipe delivers each message before waiting for the next" {
	BATS_TEST_TIMEOUT=30
	qbg r setsid sh -c '"$QDCTL" read | cat'
	printf 'piped\n' | "$QDCTL" fill
	wait_for qbg_has r '^piped$'
}

@test "read --peek prints the oldest message and leaves it queued" {
	printf 'p1\np2\n' | "$QDCTL" fill
	run "$QDCTL" read --peek
	assert_success
	assert_output p1
	assert_equal "$(qd_stat messages)" 2
	"$QDCTL" read -n 2 >/dev/null
	run "$QDCTL" read --peek --nonblock
	assert_failure 1
	assert_output "qdctl: read: no message to peek at (--nonblock)"
}

@test "read -0 ends messages with NUL" {
	printf 'a b\nc\n' | "$QDCTL" fill
	"$QDCTL" read -0 -n 2 >"$W/out"
	cmp "$W/out" <(printf 'a b\0c\0')
}

@test "read --sender and --timestamps prefix the pusher and the push time" {
	printf 'hi\n' | sh -c 'echo $$ >"$0"; exec "$1" fill' "$W/pid" "$QDCTL"
	run "$QDCTL" read -n 1 --timestamps --sender
	assert_success
	assert_output --regexp "^$(date -u +%Y-%m-%d)T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z pid=$(cat "$W/pid") uid=0 hi$"
}

@test "read --type any takes every type, the default log leaves jobs alone" {
	"$QDCTL" submit -q 'echo job'
	printf 'log\n' | "$QDCTL" fill
	run "$QDCTL" read --nonblock
	assert_output log
	assert_equal "$(qd_stat messages)" 1
	run "$QDCTL" read --nonblock --type any
	assert_output "echo job"
}

@test "read: a stdout that fails is reported with the messages lost, exit 1" {
	printf 'a\nb\nc\n' | "$QDCTL" fill
	run sh -c '"$QDCTL" read -n 3 >/dev/full'
	assert_failure 1
	assert_output "qdctl: read: stdout: No space left on device (3 messages taken off the queue were not written)"
}

@test "fill -v: a stdout that fails is an error, exit 1, the lines still pushed" {
	run sh -c 'printf "a\nb\n" | "$QDCTL" fill -v >/dev/full'
	assert_failure 1
	assert_output "qdctl: fill: stdout: No space left on device"
	assert_equal "$(qd_stat messages)" 2
}

@test "the seed's read/write path and qdctl agree: echo > device, qdctl read" {
	echo from-echo >"$QD_DEV"
	run "$QDCTL" read -n 1
	assert_output from-echo
}

@test "fill pushes what it has before waiting for more input" {
	BATS_TEST_TIMEOUT=30
	qbg slow setsid sh -c '{ echo first; sleep 30; } | "$QDCTL" fill'
	wait_for eval '[ "$(qd_stat messages)" = 1 ]'
	run "$QDCTL" read --nonblock
	assert_output first
}
