# SPDX-License-Identifier: GPL-2.0
#
# Helpers shared by the driver suites (tests/1NN-*.bats), loaded after
# helpers.bash: `load helpers` then `load driver-helpers`.
#
# QDT / QDT32    the test client (tests/qdt.c), native and 32-bit
# queue_state    size, used, free, messages, reserved and the debugfs
#                message list: everything a failed call must leave alone
# save_state / assert_state_unchanged
# stat_is NAME V / stat_ge NAME V   compare a sysfs counter
# wait_stat NAME V                  wait until counter NAME >= V
# wait_long CMD...                  wait_for with a longer limit
# bg NAME CMD... start CMD in the background (stdout in $BATS_TEST_TMPDIR/
#                NAME.out, stderr in NAME.err, fd 3 closed); its pid is
#                ${BG[NAME]}; killed by driver_teardown
# bg_wait NAME   wait for it, then status/output as `run` sets them
# bg_output_has NAME REGEX          true once its stdout matches REGEX
# fill_to_free N                    with size S set, push one message so
#                                   that exactly N bytes stay free

QDT=$TESTBIN/qdt
QDT32=$TESTBIN/qdt-m32
declare -gA BG=()

# sysfs reads without forking: the guest is slow, tests read counters often
sysfs_read() {
	read -r "$2" <"$QD_SYSFS/$1"
}

queue_state() {
	local f v
	for f in size used free messages reserved; do
		sysfs_read "$f" v
		printf '%s=%s\n' "$f" "$v"
	done
	printf '%s\n' "$(<"$QD_DEBUGFS/messages")"
}

save_state() {
	STATE_BEFORE=$(queue_state)
}

assert_state_unchanged() {
	local now
	now=$(queue_state)
	assert_equal "$now" "$STATE_BEFORE"
}

# assert_batch_popped N TYPE:DATA...: $output is a batch pop's, which
# popped N messages, and these first, in order (DATA plain text).
assert_batch_popped() {
	local n=$1 i=1 m data
	shift
	assert_line --index 0 "done=$n"
	for m in "$@"; do
		data=${m#*:}
		assert_line --index "$i" --regexp \
			" type=${m%%:*} len=${#data} data=$data\$"
		i=$((i + 1))
	done
}

stat_is() {
	local v
	sysfs_read "$1" v
	[ "$v" -eq "$2" ] || {
		echo "stat_is: $1 is $v, expected $2" >&2
		return 1
	}
}

stat_ge() {
	local v
	sysfs_read "$1" v
	[ "$v" -ge "$2" ]
}

# like helpers.bash's wait_for, but patient: a loaded 2-vCPU TCG guest can
# take far longer than usual to schedule a waiter (QD_WAIT_SECS, default 60)
wait_long() {
	local end=$((SECONDS + ${QD_WAIT_SECS:-60}))
	until "$@"; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "wait_long: timed out waiting for: $*" >&2
			return 1
		fi
		sleep 0.05
	done
}

wait_stat() {
	wait_long stat_ge "$1" "$2"
}

bg() {
	local name=$1
	shift
	"$@" >"$BATS_TEST_TMPDIR/$name.out" 2>"$BATS_TEST_TMPDIR/$name.err" 3>&- &
	BG[$name]=$!
}

bg_wait() {
	local name=$1
	status=0
	wait "${BG[$name]}" || status=$?
	unset "BG[$name]"
	output=$(cat "$BATS_TEST_TMPDIR/$name.out")
	mapfile -t lines <"$BATS_TEST_TMPDIR/$name.out"
}

bg_output_has() {
	grep -Eq -- "$2" "$BATS_TEST_TMPDIR/$1.out"
}

# Is process PID asleep (state S) rather than running or gone?
is_sleeping() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$state" = S ]
}

fill_to_free() {
	local size used
	size=$(qd_stat size)
	used=$(qd_stat used)
	"$QDT" push --type 1 --len $((size - used - $1 - 8)) >/dev/null
	stat_is free "$1"
}

driver_teardown() {
	local name
	ctl_stop
	for name in "${!BG[@]}"; do
		kill -9 "${BG[$name]}" 2>/dev/null || true
	done
	for name in "${!BG[@]}"; do
		wait "${BG[$name]}" 2>/dev/null || true
	done
	BG=()
}

# kv NAME [TEXT]: the value of NAME=... in TEXT (default: $output), looking
# only before data= so a payload cannot fake a field.
kv() {
	local text=${2-$output}
	text=${text%%data=*}
	[[ " $text" =~ \ $1=([^ ]*) ]] && printf '%s\n' "${BASH_REMATCH[1]}"
}

# A qdt that keeps one open file and takes its ops from the test, one at a
# time: ctl_start (returns once the device is open), then `ctl OP ARGS...`
# sends one op and waits until it is done; its output lines are then in
# $CTL_OUT. Ops are followed by an "echo @N" marker, so an op printing
# several lines (batch-pop) is fine.
ctl_start() {
	mkfifo "$BATS_TEST_TMPDIR/ctl.fifo"
	exec 5<>"$BATS_TEST_TMPDIR/ctl.fifo"
	CTL_OPS=0
	# not through bg: a background command's stdin would be /dev/null
	"$QDT" run - <&5 >"$BATS_TEST_TMPDIR/ctl.out" \
		2>"$BATS_TEST_TMPDIR/ctl.err" 3>&- &
	BG[ctl]=$!
	echo "echo @0" >&5
	wait_long grep -qx "echo=@0" "$BATS_TEST_TMPDIR/ctl.out"
}

ctl() {
	local prev=$CTL_OPS
	CTL_OPS=$((CTL_OPS + 1))
	printf '%s\necho @%d\n' "$*" "$CTL_OPS" >&5
	wait_long grep -qx "echo=@$CTL_OPS" "$BATS_TEST_TMPDIR/ctl.out"
	CTL_OUT=$(sed -n "/^echo=@$prev\$/,/^echo=@$CTL_OPS\$/p" \
		"$BATS_TEST_TMPDIR/ctl.out" | sed '1d;$d')
}

ctl_stop() {
	exec 5>&- 2>/dev/null || true
}

# Is PID asleep in poll/select/epoll? (its wchan names the wait)
in_poll_wait() {
	local w
	is_sleeping "$1" || return 1
	w=$(cat "/proc/$1/wchan" 2>/dev/null) || return 1
	[[ $w == *poll* || $w == *select* || $w == ep_* ]]
}

# The payload qdt push --len N sends: a..z repeated, N bytes.
pattern() {
	local p=abcdefghijklmnopqrstuvwxyz
	while [ ${#p} -lt "$1" ]; do
		p+=$p
	done
	printf '%s\n' "${p:0:$1}"
}

# assert_pop_to_page_end TYPE LEN: the queued message of TYPE (qdt push
# --len LEN) cannot be popped into a buffer whose last byte is in an
# inaccessible page (EFAULT, queue unchanged), and pops whole into one
# that ends right at such a page.
assert_pop_to_page_end() {
	save_state
	run "$QDT" pop --type "$1" --buf "$2" --page-end 1
	assert_failure 14
	assert_output "error=EFAULT"
	assert_state_unchanged
	run "$QDT" pop --type "$1" --buf "$2" --page-end 0
	assert_success
	assert_output --regexp " type=$1 len=$2 data=$(pattern "$2")\$"
}
