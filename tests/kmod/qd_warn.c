// SPDX-License-Identifier: GPL-2.0
/*
 * qd_warn: test-only module that triggers one WARN() when loaded.
 *
 * Never load it on a real machine. The harness test loads it inside the
 * QEMU guest to check that scripts/vm treats a kernel WARNING in the guest
 * log as a failure even when the command itself succeeded.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bug.h>
#include <linux/init.h>
#include <linux/module.h>

static int __init qd_warn_init(void)
{
	WARN(1, "deliberate warning from the scripts/vm self-test\n");
	return 0;
}

static void __exit qd_warn_exit(void)
{
}

module_init(qd_warn_init);
module_exit(qd_warn_exit);

MODULE_DESCRIPTION("queue_driver test harness: WARN on load (test only)");
MODULE_LICENSE("GPL");
