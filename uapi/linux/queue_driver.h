/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * queue_driver: one bounded queue of typed messages at /dev/queue_driver.
 *
 * The ABI shared by the kernel module and userspace. Every structure is
 * built from fixed-width types, has no padding holes and the same layout
 * for 32-bit and 64-bit userspace; user pointers travel as __u64 (cast a
 * pointer with (__u64)(uintptr_t)ptr). Every reserved field must be zero
 * and every flag not defined here must be clear, or the call fails with
 * -EINVAL before anything changes, so the ABI can grow.
 *
 * Accounting: a queued message occupies QD_MSG_HEADER_SIZE bytes plus its
 * payload; used + free == size. The largest message is size - 8 bytes.
 */
#ifndef _UAPI_LINUX_QUEUE_DRIVER_H
#define _UAPI_LINUX_QUEUE_DRIVER_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define QD_DEVICE_NAME		"queue_driver"

/* Message types. Any non-zero __u32 is a valid type on push. */
#define QD_TYPE_ANY		0	/* pop filter: any type */
#define QD_TYPE_LOG		100	/* log lines; read(2)/write(2) use it */
#define QD_TYPE_JOB		200	/* shell jobs for workers */

/* Bytes a message occupies in the queue besides its payload. */
#define QD_MSG_HEADER_SIZE	8
/* Smallest capacity a queue can be given (bytes). */
#define QD_MIN_SIZE		64

/* Flags in struct qd_msg.flags and struct qd_batch.flags */
#define QD_F_NONBLOCK	0x01U /* do not wait: -EAGAIN */
#define QD_F_TIMEOUT	0x02U /* wait at most timeout_ns: -ETIMEDOUT */
#define QD_F_PEEK	0x04U /* pop: copy the message, leave it queued */
#define QD_F_EXCEPT	0x08U /* pop: any type except .type */
#define QD_F_RESERVE	0x10U /* pop: hand out, keep until ACK/NACK */

#define QD_F_PUSH_MASK	(QD_F_NONBLOCK | QD_F_TIMEOUT)
#define QD_F_POP_MASK	(QD_F_NONBLOCK | QD_F_TIMEOUT | QD_F_PEEK | \
			 QD_F_EXCEPT | QD_F_RESERVE)

/**
 * struct qd_msg - one message, for QD_IOC_PUSH and QD_IOC_POP
 * @data:	user pointer to the payload buffer
 * @id:		out: message id, unique and increasing since load
 * @timeout_ns:	with QD_F_TIMEOUT: longest wait in ns; 0 = do not wait
 * @time_ns:	out (pop): CLOCK_REALTIME when the message was pushed
 * @len:	push: payload length; pop: in = buffer size, out = payload length
 * @type:	push: the type, non-zero; pop: in = filter, out = the type
 * @flags:	QD_F_*
 * @sender_pid:	out (pop): pusher's tgid in the popper's pid namespace
 *		(0 if not visible there)
 * @sender_uid:	out (pop): pusher's euid in the popper's user namespace
 *		(the overflow uid if not mapped there); for a message from
 *		write(2), the euid of whoever opened that file
 * @__reserved:	must be 0
 *
 * In a batch, @flags may hold only QD_F_EXCEPT and QD_F_RESERVE (pop) and
 * @timeout_ns must be 0: waiting is set on the struct qd_batch.
 */
struct qd_msg {
	__u64 data;
	__u64 id;
	__s64 timeout_ns;
	__u64 time_ns;
	__u32 len;
	__u32 type;
	__u32 flags;
	__u32 sender_pid;
	__u32 sender_uid;
	__u32 __reserved;
};

/**
 * struct qd_batch - several messages in one call
 * @msgs:	user pointer to an array of @count struct qd_msg
 * @count:	number of entries in @msgs, 1..QD_BATCH_MAX
 * @done:	out: how many were pushed or popped (msgs[0..done-1] are valid)
 * @flags:	QD_F_NONBLOCK, QD_F_TIMEOUT: how to wait for the first message
 * @__reserved:	must be 0
 * @timeout_ns:	with QD_F_TIMEOUT: longest wait for the first message
 *
 * Only the first message may wait; the call returns as soon as the next
 * one would have to. It fails only if none was done; otherwise it returns
 * 0 and @done says how many, and the error that stopped it is not reported.
 * A push batch may set the @id of the entries it did not push to 0. @done
 * and the ids are written after the messages moved, to memory found
 * writable before: if the caller unmaps or write-protects them during
 * the call, it fails with -EFAULT although messages moved.
 */
struct qd_batch {
	__u64 msgs;
	__u32 count;
	__u32 done;
	__u32 flags;
	__u32 __reserved;
	__s64 timeout_ns;
};

#define QD_BATCH_MAX	1024

/**
 * struct qd_stats - a consistent snapshot of the queue, for QD_IOC_STATS
 * @size:		capacity in bytes
 * @used:		bytes occupied (header + payload of every message)
 * @free:		size - used
 * @messages:		messages queued (reserved ones included)
 * @pushes:		messages pushed since load
 * @pops:		messages removed by pop or ack since load
 * @blocked_readers:	times a pop had to wait, since load
 * @blocked_writers:	times a push had to wait, since load
 * @reserved:		messages currently reserved (queued, invisible)
 * @requeued:		reserved messages given back by NACK or close
 * @timeouts:		waits that ran out (-ETIMEDOUT)
 * @max_msg_size:	largest payload that can ever fit: size - 8
 * @__spare:		zero; room to grow
 */
struct qd_stats {
	__u64 size;
	__u64 used;
	__u64 free;
	__u64 messages;
	__u64 pushes;
	__u64 pops;
	__u64 blocked_readers;
	__u64 blocked_writers;
	__u64 reserved;
	__u64 requeued;
	__u64 timeouts;
	__u64 max_msg_size;
	__u64 __spare[4];
};

/* 0xE8: unused in Documentation/userspace-api/ioctl/ioctl-number.rst */
#define QD_IOC_MAGIC		0xE8

#define QD_IOC_SET_SIZE		_IOW(QD_IOC_MAGIC, 0x00, __u64)
#define QD_IOC_PUSH		_IOWR(QD_IOC_MAGIC, 0x01, struct qd_msg)
#define QD_IOC_POP		_IOWR(QD_IOC_MAGIC, 0x02, struct qd_msg)
#define QD_IOC_STATS		_IOR(QD_IOC_MAGIC, 0x03, struct qd_stats)
#define QD_IOC_PUSH_BATCH	_IOWR(QD_IOC_MAGIC, 0x04, struct qd_batch)
#define QD_IOC_POP_BATCH	_IOWR(QD_IOC_MAGIC, 0x05, struct qd_batch)
#define QD_IOC_ACK		_IOW(QD_IOC_MAGIC, 0x06, __u64)
#define QD_IOC_NACK		_IOW(QD_IOC_MAGIC, 0x07, __u64)

#endif /* _UAPI_LINUX_QUEUE_DRIVER_H */
