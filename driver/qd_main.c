// SPDX-License-Identifier: GPL-2.0
/*
 * queue_driver: one bounded queue of typed messages at /dev/queue_driver.
 *
 * Module set-up, the misc device and its file operations. read(2) and
 * write(2) move QD_TYPE_LOG messages so that `echo hi > /dev/queue_driver`
 * and `cat /dev/queue_driver` work; everything else is in the ioctls
 * (qd_ioctl.c). The queue itself is in qd_queue.c; DESIGN.md explains it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "qd.h"

static unsigned long long size = 65536;
module_param(size, ullong, 0444);
MODULE_PARM_DESC(size, "Initial capacity in bytes (default 65536)");

static unsigned long long max_size = 64ULL << 20;
module_param(max_size, ullong, 0444);
MODULE_PARM_DESC(max_size, "Largest capacity a resize may set, in bytes (default 64 MiB, at most 1 GiB)");

static ushort mode = 0600;
module_param(mode, ushort, 0444);
MODULE_PARM_DESC(mode, "Mode of /dev/queue_driver (default 0600)");

struct qd_device {
	struct miscdevice misc;
	struct qd_queue queue;
};

static struct qd_device qd_dev;

struct qd_queue *qd_dev_queue(struct device *dev)
{
	struct miscdevice *misc = dev_get_drvdata(dev);

	return &container_of(misc, struct qd_device, misc)->queue;
}

static int qd_open(struct inode *inode, struct file *file)
{
	struct miscdevice *misc = file->private_data;
	struct qd_file *f;

	f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	if (!f)
		return -ENOMEM;
	f->q = &container_of(misc, struct qd_device, misc)->queue;
	INIT_LIST_HEAD(&f->reserved);
	file->private_data = f;
	return stream_open(inode, file);
}

static int qd_release(struct inode *inode, struct file *file)
{
	struct qd_file *f = file->private_data;

	qd_queue_release(f->q, f);
	qd_scratch_free(f);
	kfree(f);
	return 0;
}

/* write(2)'s one message: @len bytes at @buf. */
struct qd_wsrc {
	struct qd_push_src src;
	const char __user *buf;
	u32 len;
};

static int qd_wsrc_describe(struct qd_push_src *src, unsigned int i,
			    u32 *len, u32 *type)
{
	*len = container_of(src, struct qd_wsrc, src)->len;
	*type = QD_TYPE_LOG;
	return 0;
}

static int qd_wsrc_fill(struct qd_push_src *src, unsigned int i, void *dst,
			size_t at, size_t n)
{
	struct qd_wsrc *w = container_of(src, struct qd_wsrc, src);

	return qd_ring_from_user(dst, w->buf + at, n, w->len);
}

static int qd_wsrc_queued(struct qd_push_src *src, unsigned int i, u64 id)
{
	return 0;
}

/*
 * write(2): the bytes written become one QD_TYPE_LOG message. Its sender
 * is whoever opened the file, not whoever writes: a write can come from a
 * more privileged program the fd was handed to (a setuid program's
 * stderr), and a worker runs jobs as their sender.
 */
static ssize_t qd_write(struct file *file, const char __user *buf,
			size_t count, loff_t *ppos)
{
	struct qd_file *f = file->private_data;
	struct qd_wsrc w = {
		.src = {
			.count = 1,
			.describe = qd_wsrc_describe,
			.fill = qd_wsrc_fill,
			.queued = qd_wsrc_queued,
		},
		.buf = buf,
	};
	struct qd_wait wait;
	unsigned int done;
	int ret;

	if (!count)
		return 0;
	if (count > U32_MAX)
		return -EMSGSIZE;
	w.len = count;
	w.src.uid = file->f_cred->euid;
	qd_wait_init(&wait, file, 0, 0);
	ret = qd_queue_push(f->q, &w.src, &wait, &done);
	if (ret)
		return ret;
	return count;
}

/* read(2): pops the oldest QD_TYPE_LOG message into the buffer. */
struct qd_rdst {
	struct qd_pop_dst dst;
	char __user *buf;
	size_t count;
	u32 len;
};

static int qd_rdst_describe(struct qd_pop_dst *dst, unsigned int i,
			    struct qd_pop_req *req)
{
	req->type = QD_TYPE_LOG;
	req->flags = 0;
	return 0;
}

static int qd_rdst_deliver(struct qd_pop_dst *dst, unsigned int i,
			   const struct qd_view *v)
{
	struct qd_rdst *r = container_of(dst, struct qd_rdst, dst);

	if (v->len > r->count)
		return -EMSGSIZE;
	if (qd_view_to_user(r->buf, v))
		return -EFAULT;
	r->len = v->len;
	return 0;
}

static ssize_t qd_read(struct file *file, char __user *buf, size_t count,
		       loff_t *ppos)
{
	struct qd_file *f = file->private_data;
	struct qd_rdst r = {
		.dst = {
			.count = 1,
			.describe = qd_rdst_describe,
			.deliver = qd_rdst_deliver,
		},
		.buf = buf,
		.count = count,
	};
	struct qd_wait wait;
	unsigned int done;
	int ret;

	if (!count)
		return 0;
	qd_wait_init(&wait, file, 0, 0);
	ret = qd_queue_pop(f->q, f, &r.dst, &wait, &done);
	if (ret)
		return ret;
	return r.len;
}

static __poll_t qd_poll(struct file *file, struct poll_table_struct *pt)
{
	struct qd_file *f = file->private_data;

	poll_wait(file, &f->q->pollers, pt);
	/*
	 * Pairs with the smp_mb() in the wakers' wq_has_sleeper(): either
	 * they see us on @pollers, or we see what they changed.
	 */
	smp_mb();
	return qd_queue_poll_mask(f->q);
}

static const struct file_operations qd_fops = {
	.owner = THIS_MODULE,
	.open = qd_open,
	.release = qd_release,
	.read = qd_read,
	.write = qd_write,
	.poll = qd_poll,
	.unlocked_ioctl = qd_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = no_llseek,
};

static int __init qd_init(void)
{
	int ret;

	if (mode & ~0777) {
		pr_err("mode=%#o is not a file mode\n", mode);
		return -EINVAL;
	}

	ret = qd_entries_init();
	if (ret)
		return ret;
	ret = qd_queue_init(&qd_dev.queue, size, max_size);
	if (ret) {
		if (ret == -EINVAL)
			pr_err("need %d <= size (%llu) <= max_size (%llu) <= %llu\n",
			       QD_MIN_SIZE, size, max_size, QD_MAX_SIZE_LIMIT);
		goto err_entries;
	}

	qd_dev.misc.minor = MISC_DYNAMIC_MINOR;
	qd_dev.misc.name = QD_DEVICE_NAME;
	qd_dev.misc.fops = &qd_fops;
	qd_dev.misc.groups = qd_groups;
	qd_dev.misc.mode = mode;
	ret = misc_register(&qd_dev.misc);
	if (ret)
		goto err_queue;

	qd_debugfs_init(&qd_dev.queue);
	return 0;

err_queue:
	qd_queue_destroy(&qd_dev.queue);
err_entries:
	qd_entries_exit();
	return ret;
}

static void __exit qd_exit(void)
{
	qd_debugfs_exit();
	misc_deregister(&qd_dev.misc);
	qd_queue_destroy(&qd_dev.queue);
	qd_entries_exit();
}

module_init(qd_init);
module_exit(qd_exit);

MODULE_DESCRIPTION("A bounded queue of typed messages at /dev/queue_driver");
MODULE_LICENSE("GPL");
MODULE_VERSION(QD_VERSION);
