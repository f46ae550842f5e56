// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs attributes of /sys/class/misc/queue_driver/, attached through
 * miscdevice.groups so they exist before the uevent. One value per file;
 * see Documentation/ABI/testing/sysfs-class-misc-queue_driver.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/sysfs.h>

#include "qd.h"

static ssize_t qd_show_stat(struct device *dev, char *buf, size_t offset)
{
	struct qd_stats st;

	qd_queue_stats(qd_dev_queue(dev), &st);
	return sysfs_emit(buf, "%llu\n", *(u64 *)((u8 *)&st + offset));
}

#define QD_STAT_SHOW(field)						\
static ssize_t field##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	return qd_show_stat(dev, buf, offsetof(struct qd_stats, field));\
}

QD_STAT_SHOW(used)
QD_STAT_SHOW(free)
QD_STAT_SHOW(messages)
QD_STAT_SHOW(max_msg_size)
QD_STAT_SHOW(pushes)
QD_STAT_SHOW(pops)
QD_STAT_SHOW(blocked_readers)
QD_STAT_SHOW(blocked_writers)
QD_STAT_SHOW(reserved)
QD_STAT_SHOW(requeued)
QD_STAT_SHOW(timeouts)

static DEVICE_ATTR_RO(used);
static DEVICE_ATTR_RO(free);
static DEVICE_ATTR_RO(messages);
static DEVICE_ATTR_RO(max_msg_size);
static DEVICE_ATTR_RO(pushes);
static DEVICE_ATTR_RO(pops);
static DEVICE_ATTR_RO(blocked_readers);
static DEVICE_ATTR_RO(blocked_writers);
static DEVICE_ATTR_RO(reserved);
static DEVICE_ATTR_RO(requeued);
static DEVICE_ATTR_RO(timeouts);

static ssize_t size_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return qd_show_stat(dev, buf, offsetof(struct qd_stats, size));
}

static ssize_t size_store(struct device *dev, struct device_attribute *attr,
			  const char *buf, size_t count)
{
	u64 size;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	/* Too big for a u64 is as out of range as any size above max_size. */
	if (kstrtou64(buf, 0, &size))
		return -EINVAL;
	ret = qd_queue_resize(qd_dev_queue(dev), size);
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(size);

static struct attribute *qd_attrs[] = {
	&dev_attr_size.attr,
	&dev_attr_used.attr,
	&dev_attr_free.attr,
	&dev_attr_messages.attr,
	&dev_attr_max_msg_size.attr,
	&dev_attr_pushes.attr,
	&dev_attr_pops.attr,
	&dev_attr_blocked_readers.attr,
	&dev_attr_blocked_writers.attr,
	&dev_attr_reserved.attr,
	&dev_attr_requeued.attr,
	&dev_attr_timeouts.attr,
	NULL
};

static const struct attribute_group qd_group = {
	.attrs = qd_attrs,
};

const struct attribute_group *qd_groups[] = {
	&qd_group,
	NULL
};
