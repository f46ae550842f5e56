// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctl interface: uapi structs in, validated, handed to the queue,
 * results out. Every struct is checked completely (reserved fields, flags,
 * lengths, timeouts) before the queue is touched; the user copies that can
 * still fail afterwards run as queue callbacks, under the queue lock, so a
 * failure leaves the queue as it was. Two writes come after the lock is
 * dropped, to memory proven writable before it was taken: a batch's
 * `done` and a push batch's ids. Only a caller that unmaps or protects
 * that memory during the call sees them fail (-EFAULT, with the
 * messages moved).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/kernel.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "qd.h"

void qd_wait_init(struct qd_wait *w, const struct file *file, u32 flags,
		  s64 timeout_ns)
{
	w->nonblock = (flags & QD_F_NONBLOCK) || (file->f_flags & O_NONBLOCK);
	w->timed = flags & QD_F_TIMEOUT;
	w->deadline = w->timed ? ktime_add_safe(ktime_get(),
						ns_to_ktime(timeout_ns)) : 0;
}

/* timeout_ns is only meaningful, and must be >= 0, with QD_F_TIMEOUT. */
static int qd_check_timeout(u32 flags, s64 timeout_ns)
{
	if (flags & QD_F_TIMEOUT)
		return timeout_ns < 0 ? -EINVAL : 0;
	return timeout_ns ? -EINVAL : 0;
}

/* The checks shared by a single push and a batch entry. */
static int qd_check_push(const struct qd_msg *m, u32 allowed)
{
	if (m->__reserved || (m->flags & ~allowed) || m->type == QD_TYPE_ANY)
		return -EINVAL;
	return qd_check_timeout(m->flags, m->timeout_ns);
}

static int qd_check_pop(const struct qd_msg *m, u32 allowed)
{
	if (m->__reserved || (m->flags & ~allowed))
		return -EINVAL;
	if ((m->flags & QD_F_PEEK) && (m->flags & QD_F_RESERVE))
		return -EINVAL;
	if ((m->flags & QD_F_EXCEPT) && m->type == QD_TYPE_ANY)
		return -EINVAL;
	return qd_check_timeout(m->flags, m->timeout_ns);
}

static int qd_check_batch(const struct qd_batch *b)
{
	if (b->__reserved || (b->flags & ~(QD_F_NONBLOCK | QD_F_TIMEOUT)))
		return -EINVAL;
	if (!b->count || b->count > QD_BATCH_MAX)
		return -EINVAL;
	return qd_check_timeout(b->flags, b->timeout_ns);
}

/*
 * A set of struct qd_msg in user memory: one (QD_IOC_PUSH/POP, already
 * copied in and checked) or an array (batches: checked all at once when
 * the array could be copied in whole, else each entry when the queue
 * asks for it).
 *
 * What can be copied in before the queue lock is taken, is: a batch's
 * entries, in one user-access window (qd_msgs_get()), and a push
 * batch's payloads of up to QD_STAGE_MSG bytes, QD_STAGE_MAX in all,
 * into a staging buffer, a word at a time (qd_ring_from_user()). Under
 * the lock those payloads are then word moves into the ring, and the
 * lock is held for less (DESIGN.md, "Measured"). The rest (an entry
 * array that cannot be read, and for a push written, whole; larger
 * payloads; payloads past the limit; and a single push's payload, for
 * which the second copy cost more than the shorter hold saved:
 * "Measured an eighth time") is copied straight into the ring under the
 * lock. A payload that fails to copy in stops the staging and fails
 * with -EFAULT when the queue gets to it, so errors are reported for the
 * same message either way; nothing after a bad entry or payload is
 * copied at all. What can go out after the lock is dropped, does: the
 * ids of a push batch whose entries were copied in.
 * Staging memory is charged like the queue's, as a blocked push can hold
 * it for long.
 */
#define QD_STAGE_MAX	SZ_4K
#define QD_STAGE_MSG	256	/* larger payloads are not staged */
#define QD_STAGE_GFP	(GFP_KERNEL_ACCOUNT | __GFP_NOWARN)

/*
 * The memory a batch copies its entries and payloads into. A file keeps
 * the last one it used, for the next batch: allocating it anew each call
 * cost kmalloc's init_on_alloc memset of every byte, 7% of a batch's
 * profile (DESIGN.md, "Measured a third time"). Taken with xchg(), so
 * threads calling on one file at once each get their own. It is at most
 * QD_BATCH_MAX entries and QD_STAGE_MAX bytes (60 KiB), charged to the
 * caller, and freed with the file.
 */
struct qd_scratch {
	size_t size;
	u8 buf[];
};

static struct qd_scratch *qd_scratch_get(struct qd_file *f, size_t size)
{
	struct qd_scratch *s = xchg(&f->scratch, NULL);

	if (s && s->size >= size)
		return s;
	kvfree(s);
	s = kvmalloc(struct_size(s, buf, size), QD_STAGE_GFP);
	if (s)
		s->size = size;
	return s;
}

static void qd_scratch_put(struct qd_file *f, struct qd_scratch *s)
{
	kvfree(xchg(&f->scratch, s));
}

void qd_scratch_free(struct qd_file *f)
{
	kvfree(f->scratch);
}

struct qd_umsgs {
	union {
		struct qd_push_src src;
		struct qd_pop_dst dst;
	};
	struct qd_msg __user *umsgs;
	struct qd_msg *kmsgs;		/* all entries, copied in, or NULL */
	unsigned int nr_valid;		/* @kmsgs: [0, @nr_valid) checked */
	int invalid;			/* @kmsgs: the error of the next one */
	const struct qd_msg *cur;	/* the entry being worked on */
	struct qd_msg one;		/* it, when read alone */
	unsigned int cur_idx;		/* index of @cur, or UINT_MAX */
	unsigned int count;
	u32 entry_flags;		/* flags allowed in an entry */
	bool push;
	struct qd_scratch *scratch;	/* holds @kmsgs, then a batch's stage */
	/* pushes: payloads of messages [0, @staged) back to back */
	u8 *stage;
	unsigned int staged;
	bool stage_fault;		/* message @staged did not copy in */
	unsigned int stage_idx;		/* its payload is at @stage + @stage_at */
	size_t stage_at;
	u64 first_id;			/* message 0's id, with @kmsgs */
};

/*
 * struct qd_msg in and out a field at a time, in one user-access window,
 * rather than copy_{from,to}_user() of the whole struct: what a call
 * reads is its in-fields and what it writes is its out-fields, a move
 * each, as epoll_wait() and filldir() write their results. Where the
 * benchmark runs (QEMU TCG, a CPU with ERMS) copy_from_user() is an
 * emulated `rep movsb`, a byte an iteration, and for short messages
 * (qdctl's log lines) the entries and results were more bytes than the
 * payloads (DESIGN.md, "Measured a fourth time").
 *
 * With @clear_ids (a push batch's entries), each entry's id is set to 0
 * in the same window: that proves the array can be written before
 * anything is queued, so that the ids can go out in one window after
 * the lock is dropped (qd_umsgs_put_ids()), and leaves 0 in the entries
 * that are not queued.
 */
static bool qd_msgs_get(struct qd_msg *m, struct qd_msg __user *um,
			unsigned int n, bool clear_ids)
{
	if (!user_access_begin(um, n * sizeof(*um)))
		return false;
	for (; n; n--, m++, um++) {
		if (clear_ids)
			unsafe_put_user(0ULL, &um->id, fault);
		unsafe_get_user(m->data, &um->data, fault);
		unsafe_get_user(m->timeout_ns, &um->timeout_ns, fault);
		unsafe_get_user(m->len, &um->len, fault);
		unsafe_get_user(m->type, &um->type, fault);
		unsafe_get_user(m->flags, &um->flags, fault);
		unsafe_get_user(m->__reserved, &um->__reserved, fault);
		m->id = 0;
		m->time_ns = 0;
		m->sender_pid = 0;
		m->sender_uid = 0;
	}
	user_access_end();
	return true;
fault:
	user_access_end();
	return false;
}

/*
 * A popped message to the caller: payload to @to, results to @um. A
 * payload of up to QD_SMALL_COPY bytes goes out in the same user-access
 * window as the results (why by the word: qd_view_to_user()), a window
 * fewer per message under the queue lock: @to is checked with
 * access_ok() first, and user_write_access_begin() checks @um and puts
 * its speculation barrier after both checks, as a window over both
 * ranges would. A payload of none is not written, so any @to will do.
 */
static int qd_msg_put(struct qd_msg __user *um, u8 __user *to,
		      const struct qd_view *v)
{
	bool small = v->len && v->len <= QD_SMALL_COPY;

	if (!small && qd_view_to_user(to, v))
		return -EFAULT;
	might_fault();
	if (small && !access_ok(to, v->len))
		return -EFAULT;
	if (!user_write_access_begin(um, sizeof(*um)))
		return -EFAULT;
	if (small) {
		unsafe_copy_to_user(to, v->p[0], v->n[0], fault);
		if (v->n[1])
			unsafe_copy_to_user(to + v->n[0], v->p[1], v->n[1],
					    fault);
	}
	unsafe_put_user(v->id, &um->id, fault);
	unsafe_put_user(v->time_ns, &um->time_ns, fault);
	unsafe_put_user(v->len, &um->len, fault);
	unsafe_put_user(v->type, &um->type, fault);
	unsafe_put_user(v->sender_pid, &um->sender_pid, fault);
	unsafe_put_user(v->sender_uid, &um->sender_uid, fault);
	user_write_access_end();
	return 0;
fault:
	user_write_access_end();
	return -EFAULT;
}

static int qd_umsgs_check(const struct qd_umsgs *u, const struct qd_msg *m)
{
	return u->push ? qd_check_push(m, u->entry_flags) :
			 qd_check_pop(m, u->entry_flags);
}

/*
 * Make entry @i the current one. A batch's entries copied in were
 * checked then (qd_umsgs_prefetch()), up to the first invalid one, where
 * the batch stops; an entry read alone is checked here.
 */
static int qd_umsgs_load(struct qd_umsgs *u, unsigned int i)
{
	int ret;

	if (u->cur_idx == i)
		return 0;
	if (u->kmsgs) {
		/* Past the first invalid entry the batch has stopped. */
		if (i >= u->nr_valid)
			return WARN_ON_ONCE(!u->invalid) ? -EINVAL : u->invalid;
		u->cur = &u->kmsgs[i];
	} else {
		if (!qd_msgs_get(&u->one, &u->umsgs[i], 1, false))
			return -EFAULT;
		ret = qd_umsgs_check(u, &u->one);
		if (ret)
			return ret;
		u->cur = &u->one;
	}
	u->cur_idx = i;
	return 0;
}

/*
 * A batch: copy all its entries in at once if they are all readable, and
 * check them up to the first invalid one, before the queue lock is taken.
 */
static void qd_umsgs_prefetch(struct qd_umsgs *u, struct qd_file *f)
{
	size_t size = u->count * sizeof(*u->kmsgs);
	struct qd_scratch *s;
	unsigned int i;

	s = qd_scratch_get(f, size + (u->push ? QD_STAGE_MAX : 0));
	if (!s)
		return;
	if (!qd_msgs_get((struct qd_msg *)s->buf, u->umsgs, u->count,
			 u->push)) {
		qd_scratch_put(f, s);
		return;
	}
	u->scratch = s;
	u->kmsgs = (struct qd_msg *)s->buf;
	for (i = 0; i < u->count; i++) {
		u->invalid = qd_umsgs_check(u, &u->kmsgs[i]);
		if (u->invalid)
			break;
	}
	u->nr_valid = i;
}

/*
 * A push batch: copy in the payloads of the leading messages that are
 * valid, small and fit in QD_STAGE_MAX together, into the scratch
 * buffer past the entries. Needs the entries copied in (@kmsgs).
 */
static void qd_umsgs_stage(struct qd_umsgs *u)
{
	const struct qd_msg *m;
	unsigned int i, n = 0;
	size_t total = 0, at = 0;

	if (!u->kmsgs)
		return;
	for (i = 0; i < u->nr_valid; i++) {
		m = &u->kmsgs[i];
		if (m->len > QD_STAGE_MSG || m->len > QD_STAGE_MAX - total)
			break;
		total += m->len;
		n++;
	}
	u->stage = (u8 *)(u->kmsgs + u->count);
	for (i = 0; i < n; i++) {
		m = &u->kmsgs[i];
		if (qd_ring_from_user(u->stage + at, u64_to_user_ptr(m->data),
				      m->len, m->len)) {
			u->stage_fault = true;
			break;
		}
		at += m->len;
	}
	u->staged = i;
}

static void qd_umsgs_done(struct qd_umsgs *u, struct qd_file *f)
{
	if (u->scratch)
		qd_scratch_put(f, u->scratch);
}

static int qd_src_describe(struct qd_push_src *src, unsigned int i,
			   u32 *len, u32 *type)
{
	struct qd_umsgs *u = container_of(src, struct qd_umsgs, src);
	int ret = qd_umsgs_load(u, i);

	if (ret)
		return ret;
	*len = u->cur->len;
	*type = u->cur->type;
	return 0;
}

/*
 * A staged payload (at most QD_STAGE_MSG bytes) into the ring, under the
 * queue lock: a word at a time, as it came into the stage. memcpy() is a
 * `rep movsb` where the CPU has ERMS, whose start-up costs more than the
 * few moves of a short payload. Measured only under QEMU TCG, where the
 * benchmark runs and the string instruction is emulated a byte at a
 * time: a push of 64-byte messages went from 460 to 315 ns a message
 * (DESIGN.md, "Measured a ninth time").
 */
static void qd_stage_to_ring(u8 *to, const u8 *from, size_t n)
{
	unsigned long word;

	if (!IS_ENABLED(CONFIG_HAVE_EFFICIENT_UNALIGNED_ACCESS)) {
		memcpy(to, from, n);
		return;
	}
	for (; n >= sizeof(word); n -= sizeof(word)) {
		word = get_unaligned((const unsigned long *)from);
		put_unaligned(word, (unsigned long *)to);
		from += sizeof(word);
		to += sizeof(word);
	}
	while (n--)
		*to++ = *from++;
}

static int qd_src_fill(struct qd_push_src *src, unsigned int i, void *dst,
		       size_t at, size_t n)
{
	struct qd_umsgs *u = container_of(src, struct qd_umsgs, src);
	const u8 __user *from = u64_to_user_ptr(u->cur->data);

	if (i < u->staged) {
		/* Messages are queued in order: walk forward to @i. */
		while (u->stage_idx < i)
			u->stage_at += u->kmsgs[u->stage_idx++].len;
		qd_stage_to_ring(dst, u->stage + u->stage_at + at, n);
		return 0;
	}
	if (i == u->staged && u->stage_fault)
		return -EFAULT;	/* once is enough */
	return qd_ring_from_user(dst, from + at, n, u->cur->len);
}

static int qd_src_queued(struct qd_push_src *src, unsigned int i, u64 id)
{
	struct qd_umsgs *u = container_of(src, struct qd_umsgs, src);

	if (u->kmsgs) {
		/* The ids go out after the lock is dropped: qd_ioc_batch(). */
		if (!i)
			u->first_id = id;
		else if (WARN_ON_ONCE(id != u->first_id + i))
			return -EINVAL;
		return 0;
	}
	return put_user(id, &u->umsgs[i].id) ? -EFAULT : 0;
}

/*
 * The ids of messages [0, @n) of a push batch whose entries were copied
 * in: consecutive, as the lock is only dropped to wait, and only the
 * first message waits. qd_msgs_get() wrote 0 to every id field before
 * the lock was taken, so these writes can only fault if the caller
 * unmapped or write-protected its array meanwhile; as with `done`, the
 * messages stay queued then.
 */
static int qd_umsgs_put_ids(const struct qd_umsgs *u, unsigned int n)
{
	struct qd_msg __user *um = u->umsgs;
	u64 id = u->first_id;

	if (!user_write_access_begin(um, n * sizeof(*um)))
		return -EFAULT;
	for (; n; n--, um++, id++)
		unsafe_put_user(id, &um->id, fault);
	user_write_access_end();
	return 0;
fault:
	user_write_access_end();
	return -EFAULT;
}

static int qd_dst_describe(struct qd_pop_dst *dst, unsigned int i,
			   struct qd_pop_req *req)
{
	struct qd_umsgs *u = container_of(dst, struct qd_umsgs, dst);
	int ret = qd_umsgs_load(u, i);

	if (ret)
		return ret;
	req->type = u->cur->type;
	req->flags = u->cur->flags;
	return 0;
}

static int qd_dst_deliver(struct qd_pop_dst *dst, unsigned int i,
			  const struct qd_view *v)
{
	struct qd_umsgs *u = container_of(dst, struct qd_umsgs, dst);
	u8 __user *to = u64_to_user_ptr(u->cur->data);

	if (v->len > u->cur->len) {
		/* Say how big a buffer it takes; the message stays. */
		if (put_user(v->len, &u->umsgs[i].len))
			return -EFAULT;
		return -EMSGSIZE;
	}
	return qd_msg_put(&u->umsgs[i], to, v);
}

static void qd_umsgs_init(struct qd_umsgs *u, bool push, void __user *msgs,
			  unsigned int count, u32 entry_flags)
{
	memset(u, 0, sizeof(*u));
	u->umsgs = msgs;
	u->count = count;
	u->cur_idx = UINT_MAX;
	u->entry_flags = entry_flags;
	u->push = push;
	if (push) {
		u->src.count = count;
		u->src.uid = current_euid();
		u->src.describe = qd_src_describe;
		u->src.fill = qd_src_fill;
		u->src.queued = qd_src_queued;
	} else {
		u->dst.count = count;
		u->dst.describe = qd_dst_describe;
		u->dst.deliver = qd_dst_deliver;
	}
}

static long qd_ioc_msg(struct file *file, bool push, void __user *argp)
{
	struct qd_file *f = file->private_data;
	struct qd_umsgs u;
	struct qd_wait w;
	unsigned int done;
	int ret;

	qd_umsgs_init(&u, push, argp, 1,
		      push ? QD_F_PUSH_MASK : QD_F_POP_MASK);
	ret = qd_umsgs_load(&u, 0);
	if (ret)
		return ret;
	qd_wait_init(&w, file, u.cur->flags, u.cur->timeout_ns);
	if (push)
		ret = qd_queue_push(f->q, &u.src, &w, &done);
	else
		ret = qd_queue_pop(f->q, f, &u.dst, &w, &done);
	qd_umsgs_done(&u, f);
	return ret;
}

static long qd_ioc_batch(struct file *file, bool push,
			 struct qd_batch __user *ub)
{
	struct qd_file *f = file->private_data;
	struct qd_umsgs u;
	struct qd_batch b;
	struct qd_wait w;
	unsigned int done = 0;
	int ret;

	if (copy_from_user(&b, ub, sizeof(b)))
		return -EFAULT;
	ret = qd_check_batch(&b);
	if (ret)
		return ret;
	/* Make sure the result can be reported before anything moves. */
	if (put_user(0, &ub->done))
		return -EFAULT;

	qd_umsgs_init(&u, push, u64_to_user_ptr(b.msgs), b.count,
		      push ? 0 : QD_F_EXCEPT | QD_F_RESERVE);
	qd_wait_init(&w, file, b.flags, b.timeout_ns);
	qd_umsgs_prefetch(&u, f);
	if (push) {
		qd_umsgs_stage(&u);
		ret = qd_queue_push(f->q, &u.src, &w, &done);
	} else {
		ret = qd_queue_pop(f->q, f, &u.dst, &w, &done);
	}
	if (push && done && u.kmsgs && qd_umsgs_put_ids(&u, done))
		ret = -EFAULT;
	qd_umsgs_done(&u, f);
	if (put_user(done, &ub->done))
		return -EFAULT;
	return ret;
}

static long qd_ioc_set_size(struct file *file, u64 __user *argp)
{
	struct qd_file *f = file->private_data;
	u64 size;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (get_user(size, argp))
		return -EFAULT;
	return qd_queue_resize(f->q, size);
}

static long qd_ioc_stats(struct file *file, struct qd_stats __user *argp)
{
	struct qd_file *f = file->private_data;
	struct qd_stats st;

	qd_queue_stats(f->q, &st);
	return copy_to_user(argp, &st, sizeof(st)) ? -EFAULT : 0;
}

static long qd_ioc_ack(struct file *file, u64 __user *argp, bool ack)
{
	struct qd_file *f = file->private_data;
	u64 id;

	if (get_user(id, argp))
		return -EFAULT;
	return ack ? qd_queue_ack(f->q, f, id) : qd_queue_nack(f->q, f, id);
}

long qd_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case QD_IOC_PUSH:
		return qd_ioc_msg(file, true, argp);
	case QD_IOC_POP:
		return qd_ioc_msg(file, false, argp);
	case QD_IOC_PUSH_BATCH:
		return qd_ioc_batch(file, true, argp);
	case QD_IOC_POP_BATCH:
		return qd_ioc_batch(file, false, argp);
	case QD_IOC_ACK:
		return qd_ioc_ack(file, argp, true);
	case QD_IOC_NACK:
		return qd_ioc_ack(file, argp, false);
	case QD_IOC_STATS:
		return qd_ioc_stats(file, argp);
	case QD_IOC_SET_SIZE:
		return qd_ioc_set_size(file, argp);
	default:
		return -ENOTTY;
	}
}
