# SPDX-License-Identifier: GPL-2.0
#
# read(2), write(2) and poll/select/epoll: a write pushes exactly the bytes
# written as one QD_TYPE_LOG message, a read pops one QD_TYPE_LOG message,
# so echo and cat work; POLLIN when an unreserved message is queued,
# POLLOUT when an empty message would fit.

load helpers
load driver-helpers

: "${BATS_TEST_TIMEOUT:=300}"

setup() {
	qd_reset
}

teardown() {
	driver_teardown
}

@test "echo into the device pushes one QD_TYPE_LOG message with the line" {
	echo hi >"$QD_DEV"
	stat_is messages 1
	run "$QDT" pop
	assert_output --regexp '^id=[0-9]+ type=100 len=3 data=hi\\n$'
}

@test "a write's sender is whoever opened the file: root writing through a user's fd writes as that user" {
	chmod 0666 "$QD_DEV"
	# nobody opens the device and hands the fd to root (SCM_RIGHTS), as a
	# user hands its stderr to a setuid program; root writes through it
	run python3 - "$QD_DEV" <<-'EOF'
		import os, socket, sys
		a, b = socket.socketpair()
		pid = os.fork()
		if pid == 0:
		    os.setgroups([]); os.setgid(65534); os.setuid(65534)
		    fd = os.open(sys.argv[1], os.O_WRONLY)
		    socket.send_fds(b, [b"x"], [fd])
		    os._exit(0)
		_, fds, _, _ = socket.recv_fds(a, 1, 1)
		os.waitpid(pid, 0)
		assert os.geteuid() == 0
		os.write(fds[0], b"from-root")
	EOF
	chmod 0600 "$QD_DEV"
	assert_success
	run "$QDT" pop --meta
	assert_output --regexp ' sender_uid=65534 data=from-root$'
	# and the other way round: root's fd, written by nobody
	exec 5>"$QD_DEV"
	run setpriv --reuid=65534 --regid=65534 --clear-groups \
		sh -c 'printf from-nobody >&5'
	exec 5>&-
	assert_success
	run "$QDT" pop --meta
	assert_output --regexp ' sender_uid=0 data=from-nobody$'
}

@test "a write pushes exactly the bytes written as one message" {
	run "$QDT" write --data-esc 'a\x00b\n'
	assert_success
	assert_output "ret=4"
	stat_is messages 1
	run "$QDT" pop --hex
	assert_output --regexp ' type=100 len=4 data=6100620a$'
}

@test "a zero-byte write pushes nothing and returns 0" {
	local pushes
	pushes=$(qd_stat pushes)
	run "$QDT" write --len 0
	assert_success
	assert_output "ret=0"
	stat_is messages 0
	stat_is pushes "$pushes"
}

@test "dd reads one queued log message per read" {
	printf 'one' >"$QD_DEV"
	printf 'two' >"$QD_DEV"
	run dd if="$QD_DEV" bs=4096 count=2 status=none
	assert_success
	assert_output "onetwo"
	stat_is messages 0
}

@test "cat prints the queued log messages and then waits for more" {
	echo first >"$QD_DEV"
	echo second >"$QD_DEV"
	local br
	br=$(qd_stat blocked_readers)
	bg cat cat "$QD_DEV"
	wait_stat blocked_readers $((br + 1))
	echo third >"$QD_DEV"
	wait_long bg_output_has cat '^third$'
	kill "${BG[cat]}"
	bg_wait cat
	assert_output "first
second
third"
}

@test "a read pops only QD_TYPE_LOG messages" {
	"$QDT" push --type 200 --data job
	"$QDT" push --type 100 --data log
	run "$QDT" read
	assert_success
	assert_output "ret=3 data=log"
	run "$QDT" --o-nonblock read
	assert_failure 11
	stat_is messages 1
}

@test "a read into a short buffer fails with EMSGSIZE and keeps the message" {
	printf 'hello' >"$QD_DEV"
	save_state
	run "$QDT" read --buf 4
	assert_failure 90
	assert_output "error=EMSGSIZE"
	run dd if="$QD_DEV" bs=2 count=1 status=none
	assert_failure
	assert_output --partial "Message too long"
	assert_state_unchanged
	run "$QDT" read --buf 5
	assert_output "ret=5 data=hello"
}

@test "a read leaves the bytes of the buffer past the message untouched" {
	printf 'abc' >"$QD_DEV"
	run "$QDT" read --buf 64 --check-untouched
	assert_success
	assert_output "ret=3 untouched=ok data=abc"
}

@test "a read into a bad pointer fails with EFAULT and keeps the message" {
	printf 'keep' >"$QD_DEV"
	save_state
	run "$QDT" read --bad-ptr --buf 64
	assert_failure 14
	assert_output "error=EFAULT"
	assert_state_unchanged
}

@test "a write from a bad pointer fails with EFAULT and queues nothing" {
	save_state
	run "$QDT" write --bad-ptr --len 8
	assert_failure 14
	assert_output "error=EFAULT"
	assert_state_unchanged
}

# wrap_ring: in a 1024-byte ring, A (700 bytes, type 1) at 0, B (100,
# type 2) at 700, then A popped: the tail is at 800, so the next write
# wraps around to the start.
wrap_ring() {
	"$QDT" setsize 1024 >/dev/null
	"$QDT" push --type 1 --len 700 >/dev/null
	"$QDT" push --type 2 --len 100 >/dev/null
	"$QDT" pop --type 1 --buf 700 >/dev/null
}

@test "a write wrapping around the end of the ring arrives whole" {
	# 250 bytes come in a word at a time (driver/qd.h), 300 through
	# copy_from_user(), each in two spans.
	local len
	for len in 250 300; do
		wrap_ring
		run "$QDT" write --len "$len"
		assert_success
		assert_output "ret=$len"
		run "$QDT" pop --type 100 --buf "$len"
		assert_success
		assert_output --regexp " type=100 len=$len data=$(pattern "$len")\$"
		"$QDT" pop --type 2 --buf 100 >/dev/null
		stat_is messages 0
	done
}

@test "a write wrapping around the end of the ring up to an inaccessible page arrives whole, one byte past it queues nothing" {
	local len
	for len in 250 300; do
		wrap_ring
		save_state
		run "$QDT" write --len "$len" --page-end 1
		assert_failure 14
		assert_output "error=EFAULT"
		assert_state_unchanged
		run "$QDT" write --len "$len" --page-end 0
		assert_success
		assert_output "ret=$len"
		run "$QDT" pop --type 100 --buf "$len"
		assert_output --regexp " type=100 len=$len data=$(pattern "$len")\$"
		"$QDT" pop --type 2 --buf 100 >/dev/null
		stat_is messages 0
	done
}

@test "a write larger than max_msg_size fails with EMSGSIZE at once" {
	"$QDT" setsize 64
	save_state
	run "$QDT" write --len 57
	assert_failure 90
	assert_output "error=EMSGSIZE"
	assert_state_unchanged
	run "$QDT" write --len 56
	assert_success
}

@test "a read on an O_NONBLOCK file without a log message fails with EAGAIN" {
	run "$QDT" --o-nonblock read
	assert_failure 11
	assert_output "error=EAGAIN"
}

@test "a write on an O_NONBLOCK file into a full queue fails with EAGAIN" {
	"$QDT" setsize 64
	fill_to_free 0
	save_state
	run "$QDT" --o-nonblock write --data x
	assert_failure 11
	assert_output "error=EAGAIN"
	assert_state_unchanged
}

@test "a read waits for a log message and a push wakes it" {
	local br
	br=$(qd_stat blocked_readers)
	bg reader "$QDT" read
	wait_stat blocked_readers $((br + 1))
	"$QDT" push --type 100 --data woke
	bg_wait reader
	assert_success
	assert_output "ret=4 data=woke"
}

@test "a write waits for room and a pop wakes it" {
	"$QDT" setsize 64
	fill_to_free 0
	local bw
	bw=$(qd_stat blocked_writers)
	bg writer "$QDT" write --data late
	wait_stat blocked_writers $((bw + 1))
	"$QDT" pop --no-data
	bg_wait writer
	assert_success
	assert_output "ret=4"
}

@test "poll on an empty queue reports POLLOUT but not POLLIN" {
	run "$QDT" poll
	assert_success
	assert_output "ready=1 revents=out,wrnorm"
}

@test "poll reports POLLIN when a message of any type is queued" {
	"$QDT" push --type 200 --data job
	run "$QDT" poll
	assert_output "ready=1 revents=in,rdnorm,out,wrnorm"
}

@test "poll reports POLLOUT only while an empty message fits" {
	"$QDT" setsize 64
	fill_to_free 7
	run "$QDT" poll
	assert_output "ready=1 revents=in,rdnorm"
	"$QDT" setsize 65
	stat_is free 8
	run "$QDT" poll
	assert_output "ready=1 revents=in,rdnorm,out,wrnorm"
}

@test "poll does not report POLLIN when every queued message is reserved" {
	"$QDT" push --data mine
	ctl_start
	ctl pop --reserve
	run "$QDT" poll --events in
	assert_success
	assert_output "ready=0 revents=none"
	ctl nack '$id'
	run "$QDT" poll --events in
	assert_output "ready=1 revents=in,rdnorm"
}

@test "a poll waiting for POLLIN is woken by a push" {
	bg poller "$QDT" poll --events in --timeout-ms -1
	wait_long in_poll_wait "${BG[poller]}"
	"$QDT" push --data x
	bg_wait poller
	assert_success
	assert_output "ready=1 revents=in,rdnorm"
}

@test "a poll waiting for POLLOUT is woken by a pop" {
	"$QDT" setsize 64
	fill_to_free 0
	bg poller "$QDT" poll --events out --timeout-ms -1
	wait_long in_poll_wait "${BG[poller]}"
	"$QDT" pop --no-data
	bg_wait poller
	assert_success
	assert_output "ready=1 revents=out,wrnorm"
}

@test "a poll waiting for POLLIN is woken by a NACK" {
	"$QDT" push --data back
	ctl_start
	ctl pop --reserve
	bg poller "$QDT" poll --events in --timeout-ms -1
	wait_long in_poll_wait "${BG[poller]}"
	ctl nack '$id'
	bg_wait poller
	assert_success
	assert_output "ready=1 revents=in,rdnorm"
}

@test "select reports readable and writable as poll does" {
	run "$QDT" poll --method select
	assert_output "ready=1 revents=out"
	"$QDT" push --data x
	run "$QDT" poll --method select
	assert_output "ready=2 revents=in,out"
}

@test "a select waiting for readable is woken by a push" {
	bg poller "$QDT" poll --method select --events in --timeout-ms -1
	wait_long in_poll_wait "${BG[poller]}"
	"$QDT" push --data x
	bg_wait poller
	assert_success
	assert_output "ready=1 revents=in"
}

@test "epoll reports EPOLLIN and EPOLLOUT as poll does" {
	run "$QDT" poll --method epoll
	assert_output "ready=1 revents=out,wrnorm"
	"$QDT" push --data x
	run "$QDT" poll --method epoll
	assert_output "ready=1 revents=in,rdnorm,out,wrnorm"
}

@test "an epoll waiting for EPOLLIN is woken by a push" {
	bg poller "$QDT" poll --method epoll --events in --timeout-ms -1
	wait_long in_poll_wait "${BG[poller]}"
	"$QDT" push --data x
	bg_wait poller
	assert_success
	assert_output "ready=1 revents=in,rdnorm"
}
