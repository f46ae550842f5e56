# SPDX-License-Identifier: GPL-2.0
#
# tests/helpers.bash - loaded first by every bats suite: `load helpers`
# (host suites in tests/host/ load it through tests/host/helpers.bash).
#
# QD_ROOT     the repository root
# QDCTL       qdctl/qdctl
# QD_DEV      /dev/queue_driver
# QD_SYSFS    /sys/class/misc/queue_driver
# QD_DEBUGFS  /sys/kernel/debug/queue_driver
# TESTBIN     tests/bin, where the tests' C programs are built
# QD_MODULE   the module qd_reset loads (scripts/vm exports the one it
#             loaded; default driver/queue_driver.ko)
#
# qd_reset           unload and reload the module with default parameters:
#                    an empty queue of 65536 bytes, counters and ids from
#                    zero, no reservations. Fails, naming the holders, if a
#                    process still has the device open. Guest only.
# qd_load [PARAM...] the same with module parameters (size=4096 ...)
# qd_stat NAME       print sysfs counter NAME
# wait_for CMD...    run CMD until it succeeds, for up to $WAIT_FOR_SECS
#                    (default 10) seconds; fails if it never does
# in_guest           true inside the scripts/vm guest

# bats-support and bats-assert find their files with "$(dirname ...)": one
# exec per file, a dozen per test, each ~0.15 s under software emulation
# (measured: half the cost of a trivial guest test). While they load,
# dirname is this builtin-only equivalent; tests get the real one back.
qd_dirname() {
	local p=$1
	while [ "${#p}" -gt 1 ] && [ "${p%/}" != "$p" ]; do p=${p%/}; done
	case $p in
	/) ;;
	*/*) p=${p%/*}
	     while [ "${#p}" -gt 1 ] && [ "${p%/}" != "$p" ]; do p=${p%/}; done
	     [ -n "$p" ] || p=/ ;;
	*) p=. ;;
	esac
	printf '%s\n' "$p"
}
dirname() { qd_dirname "$@"; }
bats_load_library bats-support
bats_load_library bats-assert
unset -f dirname
# run's flags (run -1, run --separate-stderr) need it declared.
bats_require_minimum_version 1.5.0

QD_ROOT=$(cd "$(qd_dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
QDCTL=$QD_ROOT/qdctl/qdctl
QD_DEV=/dev/queue_driver
QD_SYSFS=/sys/class/misc/queue_driver
QD_DEBUGFS=/sys/kernel/debug/queue_driver
TESTBIN=$QD_ROOT/tests/bin
: "${QD_MODULE:=$QD_ROOT/driver/queue_driver.ko}"
export QD_ROOT QDCTL QD_DEV QD_SYSFS QD_DEBUGFS TESTBIN QD_MODULE

# Under software emulation every exec costs; the helpers use builtins
# where they can.
in_guest() {
	local h=
	[ -d /run/qd-vm ] && read -r h </proc/sys/kernel/hostname && [ "$h" = qd-vm ]
}

# Who has the device open (pid and command), one per line.
qd_holders() {
	local fd pid
	# -ef (same device and inode) is a builtin; a readlink per fd of
	# every process took minutes on the debug kernel.
	for fd in /proc/[0-9]*/fd/*; do
		if [ "$fd" -ef "$QD_DEV" ]; then
			pid=${fd#/proc/}
			pid=${pid%%/*}
			echo "$pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
		fi
	done | sort -u
}

qd_load() {
	local out
	if ! in_guest; then
		echo "qd_load: refusing to load a module outside the test VM" >&2
		return 1
	fi
	if [ -d /sys/module/queue_driver ]; then
		if ! out=$(rmmod queue_driver 2>&1); then
			echo "qd_load: rmmod failed: $out" >&2
			echo "qd_load: device still open by:" >&2
			qd_holders >&2
			return 1
		fi
	fi
	if ! out=$(insmod "$QD_MODULE" "$@" 2>&1); then
		echo "qd_load: insmod $QD_MODULE $*: $out" >&2
		return 1
	fi
	if ! [ -c "$QD_DEV" ]; then
		echo "qd_load: $QD_DEV did not appear" >&2
		return 1
	fi
}

qd_reset() {
	local size messages
	qd_load || return 1
	read -r size <"$QD_SYSFS/size"
	read -r messages <"$QD_SYSFS/messages"
	if [ "$size" != 65536 ] || [ "$messages" != 0 ]; then
		echo "qd_reset: fresh module is not an empty 65536-byte queue" >&2
		return 1
	fi
}

qd_stat() {
	local v
	read -r v <"$QD_SYSFS/$1" || return 1
	printf '%s\n' "$v"
}

wait_for() {
	local deadline=$((SECONDS + ${WAIT_FOR_SECS:-10}))
	until "$@"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "wait_for: gave up after ${WAIT_FOR_SECS:-10}s: $*" >&2
			return 1
		fi
		sleep 0.1
	done
}
