# SPDX-License-Identifier: GPL-2.0
#
# qdt, the driver suites' client, parses what the suites give it and reports
# errors the documented way. Runs on the host: the device is /dev/null, so
# every ioctl fails with ENOTTY and nothing touches a queue.

load helpers

bats_require_minimum_version 1.5.0

setup() {
	QDT=$TESTBIN/qdt
}

@test "qdt --help lists the ops and the exit statuses" {
	run "$QDT" --help
	assert_success
	assert_output --partial "push [--type T]"
	assert_output --partial "exit = errno, 253 check failed, 254 usage"
}

@test "qdt reports a failed ioctl as error=ENAME and exits with the errno" {
	run "$QDT" -d /dev/null push --data x
	assert_failure 25
	assert_output "error=ENOTTY"
}

@test "qdt reports a device it cannot open with what=open" {
	run "$QDT" -d /nonexistent/queue_driver stats
	assert_failure 2
	assert_output "error=ENOENT what=open"
}

@test "qdt rejects an unknown option with exit 254" {
	run "$QDT" -d /dev/null pop --bogus
	assert_failure 254
	assert_line "error=usage"
	assert_output --partial "unknown option '--bogus'"
}

@test "qdt rejects conflicting payload options" {
	run "$QDT" -d /dev/null push --data a --len 3
	assert_failure 254
}

@test "qdt rejects unknown flag names but takes numbers" {
	run "$QDT" -d /dev/null pop --flags bogus
	assert_failure 254
	run "$QDT" -d /dev/null pop --flags peek,0x80000000
	assert_failure 25
}

@test "qdt rejects run-only ops outside run" {
	run "$QDT" -d /dev/null close
	assert_failure 254
	assert_output --partial "only inside 'qdt run'"
}

@test "qdt run runs every op, prints a line each, and exits with the first failure" {
	run --separate-stderr "$QDT" -d /dev/null run 'echo one' 'push --data x' \
		'echo two words' 'stats --bogus'
	assert_failure 25
	assert_line --index 0 "echo=one"
	assert_line --index 1 "error=ENOTTY"
	assert_line --index 2 "echo=two words"
	assert_line --index 3 "error=usage"
}

@test "qdt run keeps quoted words together" {
	run "$QDT" -d /dev/null run "echo 'a  b' \"c d\""
	assert_success
	assert_output "echo=a  b c d"
}

@test "qdt run refuses \$id before any id was returned" {
	run "$QDT" -d /dev/null run 'ack $id' 'nack $id3'
	assert_failure 254
	assert_output --partial "no id for '\$id' yet"
	assert_output --partial "no id for '\$id3' yet"
}

@test "qdt run - reads ops from stdin, skipping comments and blank lines" {
	run "$QDT" -d /dev/null run - <<'OPS'
# a comment

echo first
use 2
echo second
OPS
	assert_success
	assert_output "echo=first
slot=2
echo=second"
}

@test "qdt poll on a file that is always ready prints ready and revents" {
	run "$QDT" -d /dev/null poll
	assert_success
	assert_output "ready=1 revents=in,rdnorm,out,wrnorm"
	run "$QDT" -d /dev/null poll --method select
	assert_output "ready=2 revents=in,out"
}

@test "qdt write and read work on an ordinary file too" {
	run "$QDT" -d /dev/null write --data-esc 'a\tb'
	assert_success
	assert_output "ret=3"
	run "$QDT" -d /dev/null read --buf 8 --check-untouched
	assert_success
	assert_output "ret=0 untouched=ok data="
}

@test "qdt --sig adds the signal count to every line" {
	run "$QDT" --sig intr -d /dev/null run 'echo x'
	assert_output "echo=x signals=0"
}
