// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs: /sys/kernel/debug/queue_driver/{stats,messages}. Creation
 * errors are ignored, as debugfs wants; the driver works without it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "qd.h"

static struct dentry *qd_debugfs_dir;

/* The seed's /proc/queue_driver_stats lines first, in its order. */
static int stats_show(struct seq_file *m, void *unused)
{
	struct qd_stats st;

	qd_queue_stats(m->private, &st);
	seq_printf(m, "queue_size_bytes: %llu\n", st.size);
	seq_printf(m, "used_bytes: %llu\n", st.used);
	seq_printf(m, "free_bytes: %llu\n", st.free);
	seq_printf(m, "total_pushes: %llu\n", st.pushes);
	seq_printf(m, "total_pops: %llu\n", st.pops);
	seq_printf(m, "blocked_readers: %llu\n", st.blocked_readers);
	seq_printf(m, "blocked_writers: %llu\n", st.blocked_writers);
	seq_printf(m, "messages: %llu\n", st.messages);
	seq_printf(m, "reserved: %llu\n", st.reserved);
	seq_printf(m, "requeued: %llu\n", st.requeued);
	seq_printf(m, "timeouts: %llu\n", st.timeouts);
	seq_printf(m, "max_msg_size: %llu\n", st.max_msg_size);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stats);

static int messages_show(struct seq_file *m, void *unused)
{
	qd_queue_show(m->private, m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(messages);

void qd_debugfs_init(struct qd_queue *q)
{
	qd_debugfs_dir = debugfs_create_dir(QD_DEVICE_NAME, NULL);
	debugfs_create_file("stats", 0400, qd_debugfs_dir, q, &stats_fops);
	debugfs_create_file("messages", 0400, qd_debugfs_dir, q,
			    &messages_fops);
}

void qd_debugfs_exit(void)
{
	debugfs_remove_recursive(qd_debugfs_dir);
}
