/* SPDX-License-Identifier: GPL-2.0 */
/*
 * queue_driver internal API.
 *
 * qd_queue.c owns the queue: storage, accounting, waiting and wake-ups.
 * It never sees a user pointer: callers hand it a struct qd_push_src or
 * struct qd_pop_dst whose callbacks do the user copies (qd_ioctl.c,
 * qd_main.c). The callbacks run with the queue mutex held, so they may
 * sleep and fault, and whatever they fail at leaves the queue unchanged.
 */
#ifndef _QD_H
#define _QD_H

#include <linux/bits.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uaccess.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/queue_driver.h>
#include <asm/unaligned.h>

#define QD_MAX_SIZE_LIMIT	BIT_ULL(30)	/* largest max_size: 1 GiB */
#define QD_PREVIEW_LEN		32		/* debugfs payload preview */

struct qd_entry;
struct qd_scratch;

/**
 * struct qd_queue - one bounded queue of typed messages
 *
 * Payloads live in a byte ring of @size bytes, in push order; each message
 * also has a struct qd_entry (id, type, sender, position) from a slab
 * cache of the driver's.
 * Popping a message that is not the oldest (type filter, reservation) leaves
 * a hole in the ring; holes are squeezed out when a push that fits by the
 * accounting does not find room at the tail. See DESIGN.md.
 *
 * @lock protects every field below it. It is a mutex, not a spinlock,
 * because payloads are copied to and from user memory with it held: that
 * is what makes a failed copy leave the queue exactly as it was. Nothing
 * sleeps on a wait queue with it held.
 *
 * @push_seq and @pop_seq are written under @lock and read without it by
 * waiters: a pop that found nothing sleeps on @readers until @push_seq
 * moves (a push, a NACK, a requeue) or a wake-up chooses it, a push that
 * did not fit sleeps on @writers until @pop_seq moves (a pop, an ACK, a
 * resize) or a wake-up chooses it; poll() waits on @pollers. Who wakes
 * whom: the comment above struct qd_wake_key in qd_queue.c.
 */
struct qd_queue {
	struct mutex lock;	/* protects everything down to @timeouts */
	u8 *ring;		/* @size bytes of payload storage */
	u64 size;		/* capacity for accounting, == ring size */
	u64 used;		/* sum of QD_MSG_HEADER_SIZE + len */
	size_t head_off;	/* where the oldest payload starts */
	size_t tail_off;	/* where the next one goes */
	size_t span;		/* bytes from head to tail, holes included */
	struct list_head msgs;	/* struct qd_entry, oldest first */
	u64 nr_msgs;
	u64 nr_reserved;
	u64 next_id;
	u64 push_seq;
	u64 pop_seq;
	/*
	 * Pops from their decision to sleep until they take @lock again:
	 * those with a filter (peeks too), and those that are not peeks
	 * and take every type (what the pipe rule's pass-on wakes).
	 */
	unsigned int filtered_readers;
	unsigned int any_readers;
	/* counters, cumulative since load */
	u64 pushes;
	u64 pops;
	u64 blocked_readers;
	u64 blocked_writers;
	u64 requeued;
	u64 timeouts;

	u64 max_size;		/* set at load, read-only after */
	wait_queue_head_t readers;	/* pops waiting for a message */
	wait_queue_head_t writers;	/* pushes waiting for room */
	wait_queue_head_t pollers;	/* poll(), select(), epoll */

	spinlock_t pool_lock;	/* protects @pool and @nr_pool */
	struct list_head pool;	/* spare struct qd_entry, no pid held */
	unsigned int nr_pool;
};

/* One open file of the device. */
struct qd_file {
	struct qd_queue *q;
	struct list_head reserved;	/* struct qd_resv; under q->lock */
	struct qd_scratch *scratch;	/* xchg() only: see qd_ioctl.c */
};

/* How a call may wait. */
struct qd_wait {
	bool nonblock;
	bool timed;
	ktime_t deadline;	/* CLOCK_MONOTONIC, when @timed */
};

/* A message as the queue hands it out: up to two spans of the ring. */
struct qd_view {
	const u8 *p[2];
	size_t n[2];
	u64 id;
	u64 time_ns;
	u32 len;
	u32 type;
	u32 sender_pid;		/* in the caller's pid namespace */
	u32 sender_uid;		/* in the caller's user namespace */
};

#define QD_SMALL_COPY	256	/* payloads copied out a word at a time */

/*
 * Copy @v's payload to @to: the second span only when the payload wraps
 * (a copy of nothing would still be a fault point and an access_ok()).
 *
 * A payload of up to QD_SMALL_COPY bytes goes out a word at a time in
 * one user-access window, as filldir() copies names. copy_to_user()
 * would check the ring against hardened usercopy: for a ring too big for
 * kmalloc() (over 4 MiB; kvmalloc() falls back to vmalloc()) that check
 * is find_vmap_area(), a spinlock for the whole system and a tree walk
 * for every pop. Under QEMU TCG, where the benchmark runs, it also saves
 * an emulated `rep movsb`, which is most of what was measured there
 * (DESIGN.md, "Measured a fifth time"). The bounds the check enforces are
 * the ring's own invariants here: @v's spans lie inside the ring.
 */
static inline int qd_view_to_user(u8 __user *to, const struct qd_view *v)
{
	if (!v->len)
		return 0;	/* as copy_to_user() of nothing: any pointer */
	if (v->len <= QD_SMALL_COPY) {
		might_fault();
		if (!user_write_access_begin(to, v->len))
			return -EFAULT;
		unsafe_copy_to_user(to, v->p[0], v->n[0], fault);
		if (v->n[1])
			unsafe_copy_to_user(to + v->n[0], v->p[1], v->n[1],
					    fault);
		user_write_access_end();
		return 0;
	}
	if (copy_to_user(to, v->p[0], v->n[0]))
		return -EFAULT;
	if (v->n[1] && copy_to_user(to + v->n[0], v->p[1], v->n[1]))
		return -EFAULT;
	return 0;
fault:
	user_write_access_end();
	return -EFAULT;
}

/*
 * Copy @n bytes of a pushed payload of @len bytes (@n is all of it, or
 * one of its two spans when it wraps around the ring's end) from @from
 * into the ring, or a push batch's stage, at @to. A payload of up to
 * QD_SMALL_COPY bytes comes in a word at a time in one user-access
 * window, as strncpy_from_user() reads: copy_from_user() would check the
 * ring against hardened usercopy, and a ring over 4 MiB is vmalloc()
 * memory, where that check is find_vmap_area() under the system's one
 * vmap_area_lock, for every message; and where the CPU has ERMS it is a
 * `rep movsb`, whose start-up costs more than a few word moves (under
 * QEMU TCG, where the benchmark runs, it is emulated a byte at a time).
 * The bounds the check would enforce are the callers' invariants: their
 * spans lie inside the ring or the stage. Where unaligned loads are slow
 * or trap, and for larger payloads, this falls back to copy_from_user().
 */
static inline int qd_ring_from_user(u8 *to, const u8 __user *from, size_t n,
				    u32 len)
{
	unsigned long word;
	u8 byte;

	if (!IS_ENABLED(CONFIG_HAVE_EFFICIENT_UNALIGNED_ACCESS) ||
	    len > QD_SMALL_COPY)
		return copy_from_user(to, from, n) ? -EFAULT : 0;
	if (!n)
		return 0;	/* as copy_from_user() of nothing */
	might_fault();
	if (!user_read_access_begin(from, n))
		return -EFAULT;
	for (; n >= sizeof(word); n -= sizeof(word)) {
		unsafe_get_user(word, (const unsigned long __user *)from,
				fault);
		put_unaligned(word, (unsigned long *)to);
		from += sizeof(word);
		to += sizeof(word);
	}
	for (; n; n--) {
		unsafe_get_user(byte, from, fault);
		*to++ = byte;
		from++;
	}
	user_read_access_end();
	return 0;
fault:
	user_read_access_end();
	return -EFAULT;
}

/**
 * struct qd_push_src - where pushed messages come from
 * @count: number of messages offered
 * @uid: the sender recorded in the messages (see qd_write())
 * @describe: fill @len and @type of message @i (validating it)
 * @fill: copy @n bytes of message @i starting at byte @at into @dst
 * @queued: message @i is about to be queued as @id (last chance to fail)
 */
struct qd_push_src {
	unsigned int count;
	kuid_t uid;
	int (*describe)(struct qd_push_src *src, unsigned int i,
			u32 *len, u32 *type);
	int (*fill)(struct qd_push_src *src, unsigned int i, void *dst,
		    size_t at, size_t n);
	int (*queued)(struct qd_push_src *src, unsigned int i, u64 id);
};

/* Pop request for one message: which ones match and what to do. */
struct qd_pop_req {
	u32 type;
	u32 flags;		/* QD_F_EXCEPT, QD_F_PEEK, QD_F_RESERVE */
};

/**
 * struct qd_pop_dst - where popped messages go
 * @count: number of messages wanted
 * @describe: fill the request for message @i (validating it)
 * @deliver: hand message @i to the caller; an error leaves it queued
 */
struct qd_pop_dst {
	unsigned int count;
	int (*describe)(struct qd_pop_dst *dst, unsigned int i,
			struct qd_pop_req *req);
	int (*deliver)(struct qd_pop_dst *dst, unsigned int i,
		       const struct qd_view *v);
};

/* qd_queue.c */
int qd_entries_init(void);
void qd_entries_exit(void);
int qd_queue_init(struct qd_queue *q, u64 size, u64 max_size);
void qd_queue_destroy(struct qd_queue *q);
int qd_queue_push(struct qd_queue *q, struct qd_push_src *src,
		  const struct qd_wait *w, unsigned int *done);
int qd_queue_pop(struct qd_queue *q, struct qd_file *f,
		 struct qd_pop_dst *dst, const struct qd_wait *w,
		 unsigned int *done);
int qd_queue_ack(struct qd_queue *q, struct qd_file *f, u64 id);
int qd_queue_nack(struct qd_queue *q, struct qd_file *f, u64 id);
void qd_queue_release(struct qd_queue *q, struct qd_file *f);
int qd_queue_resize(struct qd_queue *q, u64 size);
void qd_queue_stats(struct qd_queue *q, struct qd_stats *st);
__poll_t qd_queue_poll_mask(struct qd_queue *q);
void qd_queue_show(struct qd_queue *q, struct seq_file *m);

/* qd_ioctl.c */
long qd_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
void qd_scratch_free(struct qd_file *f);
void qd_wait_init(struct qd_wait *w, const struct file *file, u32 flags,
		  s64 timeout_ns);

/* qd_sysfs.c */
extern const struct attribute_group *qd_groups[];

/* qd_debugfs.c */
void qd_debugfs_init(struct qd_queue *q);
void qd_debugfs_exit(void);

/* qd_main.c */
struct qd_queue *qd_dev_queue(struct device *dev);

#endif /* _QD_H */
