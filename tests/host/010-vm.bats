# SPDX-License-Identifier: GPL-2.0
#
# scripts/vm, the QEMU harness every guest suite runs under: exit status,
# output, crashes, kernel warnings, timeouts. Each test boots a guest
# (tens of seconds under software emulation), so they are few and coarse.

load helpers

BATS_TEST_TIMEOUT=600

VM() {
	"$QD_ROOT/scripts/vm" --no-load "$@" </dev/null
}

@test "a command that succeeds in the guest exits 0" {
	run VM -- true
	assert_success
}

@test "a command that fails in the guest exits with its status" {
	run VM -- false
	assert_failure 1
}

@test "the guest runs the command in the same directory with stdout and stderr apart" {
	cd "$QD_ROOT/tests"
	run --separate-stderr VM -q --env QD_PROBE=a\ b -- \
		sh -c 'pwd; echo "$QD_PROBE"; echo to-stderr >&2; exit 7'
	assert_failure 7
	assert_output "$(printf '%s\n' "$QD_ROOT/tests" "a b")"
	assert_equal "$stderr" to-stderr
}

@test "a guest kernel crash fails the run within the timeout" {
	SECONDS=0
	run VM --timeout 300 -- sh -c 'echo c > /proc/sysrq-trigger'
	assert_failure 125
	assert_output --partial 'Kernel panic'
	[ "$SECONDS" -lt 300 ]
}

@test "a kernel WARNING in the guest fails the run although the command succeeded" {
	[ -f "$QD_ROOT/tests/kmod/qd_warn.ko" ] || fail "build it first: make kmod"
	run VM -- insmod "$QD_ROOT/tests/kmod/qd_warn.ko"
	assert_failure 1
	assert_output --partial 'kernel problem in the guest log'
	assert_output --regexp 'WARNING: .* qd_warn_init'
}

@test "a hung guest is killed at the timeout and the run fails" {
	SECONDS=0
	run VM --timeout 20 -- sleep 600
	assert_failure 124
	assert_output --partial 'timed out after 20s'
	[ "$SECONDS" -lt 120 ]
}

@test "the module is loaded in the guest unless --no-load" {
	[ -f "$QD_ROOT/driver/queue_driver.ko" ] || fail "build it first: make module"
	run "$QD_ROOT/scripts/vm" -q -- sh -c \
		'grep -c "^queue_driver " /proc/modules; test -c /dev/queue_driver' </dev/null
	assert_success
	assert_output 1
}

@test "QD_VM_ACCEL picks the accelerator and an unknown one is refused" {
	QD_VM_ACCEL=tcg run --separate-stderr VM -- true
	assert_success
	[[ $stderr == *"under tcg"* ]]
	# the guest is told what it runs under, whatever the host asked
	QD_VM_ACCEL=auto run --separate-stderr VM -q -- sh -c 'echo "$QD_VM_ACCEL"'
	assert_success
	assert_output --regexp '^(tcg|kvm)$'
	QD_VM_ACCEL=hvf run --separate-stderr VM -- true
	assert_failure 125
	assert_equal "$stderr" "vm: QD_VM_ACCEL: 'hvf' is not auto, tcg or kvm"
}
