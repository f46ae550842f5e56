# SPDX-License-Identifier: GPL-2.0
#
# Loading and unloading: the module parameters size, max_size and mode, the
# objects it creates and removes, and rmmod refused while the device is in
# use. Every test reloads the module with the default parameters in its
# teardown so the following suites start from the usual state.

load helpers
load driver-helpers

: "${BATS_TEST_TIMEOUT:=300}"

PARAMS=/sys/module/queue_driver/parameters

loaded() {
	[ -e /sys/module/queue_driver ]
}

unload() {
	if loaded; then
		rmmod queue_driver
	fi
}

# reload [PARAM=VALUE...]: a fresh load of the module under test
reload() {
	qd_load "$@"
}

setup() {
	qd_reset
}

teardown() {
	driver_teardown
	qd_load
}

@test "the module parameters are read-only files with their defaults" {
	reload
	run cat "$PARAMS/size" "$PARAMS/max_size"
	assert_output "65536
67108864"
	assert_equal "$(($(cat "$PARAMS/mode")))" 384
	local p
	for p in size max_size mode; do
		run stat -c %a "$PARAMS/$p"
		assert_output 444
	done
}

@test "by default the device node is /dev/queue_driver with mode 0600" {
	reload
	run stat -c '%F %a' "$QD_DEV"
	assert_output "character special file 600"
	stat_is size 65536
}

@test "size= sets the initial capacity" {
	reload size=4096
	stat_is size 4096
	stat_is free 4096
	stat_is max_msg_size 4088
	run "$QDT" push --len 4089
	assert_failure 90
}

@test "max_size= bounds every resize, by ioctl and by sysfs" {
	reload size=4096 max_size=8192
	run "$QDT" setsize 8192
	assert_success
	run "$QDT" setsize 8193
	assert_failure 22
	run bash -c "echo 8193 > '$QD_SYSFS/size'"
	assert_failure
	assert_output --partial "Invalid argument"
	stat_is size 8192
}

@test "mode= sets the device node's mode" {
	reload mode=0660
	run stat -c %a "$QD_DEV"
	assert_output 660
	assert_equal "$(($(cat "$PARAMS/mode")))" 432
}

@test "a load with an initial size below 64 fails" {
	unload
	run insmod "$QD_MODULE" size=32
	assert_failure
	[ ! -e /sys/module/queue_driver ]
}

@test "a load with an initial size above max_size fails" {
	unload
	run insmod "$QD_MODULE" size=131072 max_size=65536
	assert_failure
	[ ! -e /sys/module/queue_driver ]
}

@test "a load with max_size above 1 GiB fails" {
	unload
	run insmod "$QD_MODULE" max_size=$((1024 * 1024 * 1024 + 1))
	assert_failure
	[ ! -e /sys/module/queue_driver ]
}

@test "rmmod is refused while the device is open" {
	bg holder "$QDT" run 'echo open' 'pause'
	wait_long bg_output_has holder '^echo=open$'
	run rmmod queue_driver
	assert_failure
	assert_output --partial "in use"
	loaded
	run "$QDT" stats size
	assert_success
	kill "${BG[holder]}"
	bg_wait holder
	run rmmod queue_driver
	assert_success
	[ ! -e /sys/module/queue_driver ]
}

@test "rmmod is refused while a pop waits" {
	local br
	br=$(qd_stat blocked_readers)
	bg reader "$QDT" pop
	wait_stat blocked_readers $((br + 1))
	run rmmod queue_driver
	assert_failure
	assert_output --partial "in use"
	"$QDT" push --data wake
	bg_wait reader
	assert_success
	assert_output --regexp ' data=wake$'
	run rmmod queue_driver
	assert_success
}

@test "rmmod is refused while a push waits" {
	"$QDT" setsize 64
	fill_to_free 0
	local bw
	bw=$(qd_stat blocked_writers)
	bg writer "$QDT" push --data late
	wait_stat blocked_writers $((bw + 1))
	run rmmod queue_driver
	assert_failure
	"$QDT" pop --no-data
	bg_wait writer
	assert_success
}

@test "unloading removes the device, the sysfs and the debugfs entries" {
	unload
	[ ! -e "$QD_DEV" ]
	[ ! -e "$QD_SYSFS" ]
	[ ! -e "$QD_DEBUGFS" ]
	insmod "$QD_MODULE"
	[ -c "$QD_DEV" ]
	[ -f "$QD_SYSFS/size" ]
	[ -f "$QD_DEBUGFS/stats" ]
	[ -f "$QD_DEBUGFS/messages" ]
}

@test "unloading with queued and reserved-then-released messages frees them; a reload starts empty" {
	"$QDT" push --repeat 50 --len 100
	"$QDT" pop --reserve --no-data
	reload
	stat_is messages 0
	stat_is used 0
	stat_is pushes 0
	stat_is pops 0
	stat_is requeued 0
}

@test "message ids start at 1 after a load" {
	reload
	run "$QDT" push --data first
	assert_output "id=1"
	run "$QDT" push --data second
	assert_output "id=2"
}

@test "the module loads and unloads repeatedly" {
	local i
	for i in 1 2 3; do
		reload
		"$QDT" push --data "round $i"
		run "$QDT" pop
		assert_output --regexp " data=round $i\$"
	done
}
