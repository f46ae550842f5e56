# SPDX-License-Identifier: GPL-2.0
#
# Fault injection into module loading (debug kernel only, `make test-debug`).
#
# tests/faults/faults loads the module with finit_module(2) once per fault
# point on the load path (the module loader's and the driver's own
# allocations and copies, /proc/thread-self/fail-nth), and checks each
# load either failed with ENOMEM/EFAULT leaving nothing behind, or
# produced a working device that then unloads. Leaks of a failed init are
# caught by the kmemleak scan scripts/test-debug runs after the suite,
# which ignores one leak of the kernel's: 6.1 leaks a slab cache's sysfs
# name when registering the cache fails (known_leaks in scripts/test-debug),
# as it does here when the module creates its entry cache. Each failed
# kmem_cache_create() also prints a warning and a stack dump to the
# console, which is not a kernel report.
#
# The stock kernel of `make test` has no fault injection
# (CONFIG_FAULT_INJECTION is off in Debian), so there the test skips.

load helpers

FI=/sys/kernel/debug

setup() {
	BATS_TEST_TIMEOUT=1800
	if ! [ -d "$FI/failslab" ] || ! [ -e /proc/thread-self/fail-nth ]; then
		skip "no failslab/fail-nth in this kernel: fault injection runs on the debug kernel (make test-debug)"
	fi
	FI_SAVED=$(for f in failslab/ignore-gfp-wait fail_page_alloc/ignore-gfp-wait \
		fail_page_alloc/ignore-gfp-highmem \
		fail_page_alloc/min-order failslab/verbose fail_page_alloc/verbose \
		fail_usercopy/verbose; do echo "$f $(cat "$FI/$f")"; done)
	echo N >"$FI/failslab/ignore-gfp-wait"
	echo N >"$FI/fail_page_alloc/ignore-gfp-wait"
	# vmalloc (a grown ring) takes __GFP_HIGHMEM pages, skipped by default
	echo N >"$FI/fail_page_alloc/ignore-gfp-highmem"
	echo 0 >"$FI/fail_page_alloc/min-order"
	echo 0 >"$FI/failslab/verbose"
	echo 0 >"$FI/fail_page_alloc/verbose"
	echo 0 >"$FI/fail_usercopy/verbose"
}

teardown() {
	local f v
	[ -n "${FI_SAVED:-}" ] || return 0
	while read -r f v; do
		echo "$v" >"$FI/$f"
	done <<<"$FI_SAVED"
	# Leave the module loaded, as every suite expects.
	qd_reset
}

@test "every fault while loading the module fails the load cleanly or leaves a working module" {
	rmmod queue_driver
	run "$TESTBIN/faults" load "$QD_MODULE"
	assert_success
	assert_output --regexp '^load: [0-9]+ calls, [0-9]+ faults injected \([0-9]+ ENOMEM, [0-9]+ EFAULT, [0-9]+ absorbed\)$'
	echo "# $output" >&3
	enomem=$(sed -E 's/.*\(([0-9]+) ENOMEM.*/\1/' <<<"$output")
	[ "$enomem" -ge 1 ] || fail "no load failed with ENOMEM"
}
