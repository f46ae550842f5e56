// SPDX-License-Identifier: GPL-2.0
/*
 * The queue: a byte ring of payloads in push order plus one struct qd_entry
 * per message, FIFO per type, with blocking push and pop, reservations and
 * resizing. No user pointers here: see struct qd_push_src / qd_pop_dst.
 *
 * Invariants, whenever q->lock is free (a push or a pop that holds it
 * may have q->msgs behind its accounting, and puts that right before it
 * drops the lock):
 *  - q->msgs lists every queued message (reserved ones too) by id. (A
 *    push links its messages, and a pop unlinks a run of the oldest, in
 *    one step: qd_push_link_locked(), struct qd_pop_call.)
 *  - used == sum over q->msgs of QD_MSG_HEADER_SIZE + len <= size.
 *  - Payloads follow each other around the ring in the order of q->msgs,
 *    from head_off (the first entry's offset) for span bytes to tail_off;
 *    span <= size. Gaps between payloads are holes left by messages
 *    removed out of order. span may overestimate (see qd_forget_locked());
 *    qd_compact_locked() makes it exact.
 *  - nr_reserved counts entries with a struct qd_resv; each of those is
 *    on its owner's reserved list.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/hrtimer.h>
#include <linux/minmax.h>
#include <linux/pid.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uidgid.h>
#include <linux/user_namespace.h>

#include "qd.h"

/**
 * struct qd_entry - one queued message, 64 bytes
 * @node:	in q->msgs, by id
 * @resv:	the reservation holding it, or NULL
 * @pid:	the pusher's thread group (a reference)
 * @id:		message id
 * @time_ns:	CLOCK_REALTIME at push
 * @off:	offset of the payload in q->ring (size <= 1 GiB)
 * @len:	payload length
 * @type:	message type, non-zero
 * @uid:	the pusher's euid
 */
struct qd_entry {
	struct list_head node;
	struct qd_resv *resv;
	struct pid *pid;
	u64 id;
	u64 time_ns;
	u32 off;
	u32 len;
	u32 type;
	kuid_t uid;
};

/*
 * A reservation, allocated by the pop that takes it: only reserved
 * messages pay for the links, so a queued message costs 64 bytes.
 */
struct qd_resv {
	struct list_head node;	/* in the owning qd_file's reserved list */
	struct qd_entry *e;
};

/* The memory target (DESIGN.md); and @off must hold any ring offset. */
static_assert(sizeof(struct qd_entry) <= 64);
static_assert(QD_MAX_SIZE_LIMIT <= U32_MAX);

/*
 * Entries come from a cache of their own, charged to the pusher's memory
 * cgroup, so that a push gets the new entries it needs with
 * kmem_cache_alloc_bulk(), QD_BULK at a time, and a pop frees those the
 * pool does not take with kmem_cache_free_bulk(). Taken one kmalloc() at
 * a time, new entries made a push of messages that fill a large queue
 * cost about twice what it did with entries from the pool; in bulk
 * (measured 64 at a time, and 16 as fast in another test), about 1.5
 * times (DESIGN.md, "Measured a tenth time"). Debian's 6.1 leaks a new
 * cache's sysfs name if registering it fails (sysfs_slab_add() lacks a
 * kobject_put()): scripts/test-debug knows that leak of the kernel's.
 *
 * A push allocates the entries it expects to need before q->lock is
 * taken, and any more under the lock, a chunk at a time; entries are
 * freed after the lock is dropped. Lists of them travel through @node. A
 * freed entry goes to the queue's pool of spares, up to QD_POOL_MAX of
 * them, and the next push takes it from there: an allocation, its
 * init_on_alloc memset and a free were a sixth of a batch's time
 * (DESIGN.md, "Measured a third time"). A spare holds no pid reference.
 * The pool stays charged to whoever allocated its entries, for as long
 * as the module is loaded; it is at most 64 KiB, on top of the 64 bytes
 * per queued message.
 */
#define QD_POOL_MAX	QD_BATCH_MAX
#define QD_BULK		16U	/* entries a bulk call takes or gives */

static struct kmem_cache *qd_entry_cache;

int __init qd_entries_init(void)
{
	qd_entry_cache = KMEM_CACHE(qd_entry, SLAB_ACCOUNT);
	return qd_entry_cache ? 0 : -ENOMEM;
}

/* After every queue is destroyed. */
void qd_entries_exit(void)
{
	kmem_cache_destroy(qd_entry_cache);
}

/*
 * Allocate @n entries onto @list, QD_BULK at a time. A bulk call gets
 * all it asks for or nothing, and then the allocation stops. Returns how
 * many it got.
 */
static unsigned int qd_entries_new(struct list_head *list, unsigned int n)
{
	void *p[QD_BULK];
	unsigned int i = 0, got, j;
	struct qd_entry *e;

	while (i < n) {
		got = kmem_cache_alloc_bulk(qd_entry_cache, GFP_KERNEL,
					    min(n - i, QD_BULK), p);
		if (!got)
			break;
		for (j = 0; j < got; j++) {
			e = p[j];
			list_add_tail(&e->node, list);
		}
		i += got;
	}
	return i;
}

/* Free the entries on @list, in bulk. */
static void qd_entries_delete(struct list_head *list)
{
	struct qd_entry *e, *tmp;
	void *p[QD_BULK];
	unsigned int n = 0;

	list_for_each_entry_safe(e, tmp, list, node) {
		p[n++] = e;
		if (n == QD_BULK) {
			kmem_cache_free_bulk(qd_entry_cache, n, p);
			n = 0;
		}
	}
	if (n)
		kmem_cache_free_bulk(qd_entry_cache, n, p);
	INIT_LIST_HEAD(list);
}

/*
 * Move the first @n entries of @from, which has @count, to the front of
 * @to: in one step when that is all of them, else after a walk of @n.
 */
static void qd_list_move_first(struct list_head *to, struct list_head *from,
			       unsigned int n, unsigned int count)
{
	struct list_head *pos = from;
	LIST_HEAD(cut);

	if (!n)
		return;
	if (n == count) {
		list_splice_init(from, to);
		return;
	}
	while (n--)
		pos = pos->next;
	list_cut_position(&cut, from, pos);
	list_splice(&cut, to);
}

/*
 * Get @n entries for messages from the current task, sent as @uid, onto
 * @list: spares first, then allocated; and up to @extra more if there are
 * spares for them (never allocated). Returns how many it got: fewer than
 * @n only when memory ran out.
 */
static unsigned int qd_entries_alloc(struct qd_queue *q, struct list_head *list,
				     unsigned int n, unsigned int extra,
				     kuid_t uid)
{
	struct pid *pid = task_tgid(current);
	struct qd_entry *e;
	unsigned int i;
	LIST_HEAD(got);

	spin_lock(&q->pool_lock);
	i = min(n + extra, q->nr_pool);
	qd_list_move_first(&got, &q->pool, i, q->nr_pool);
	q->nr_pool -= i;
	spin_unlock(&q->pool_lock);
	if (i < n)
		i += qd_entries_new(&got, n - i);
	list_for_each_entry(e, &got, node) {
		e->resv = NULL;
		e->pid = get_pid(pid);
		e->uid = uid;
	}
	list_splice_tail(&got, list);
	return i;
}

/* Drop the pid references of the entries on @list and free them. */
static void qd_entries_free(struct qd_queue *q, struct list_head *list)
{
	struct qd_entry *e;
	unsigned int n = 0, keep;

	if (list_empty(list))
		return;	/* a push used all it took: leave the pool lock alone */
	list_for_each_entry(e, list, node) {
		put_pid(e->pid);
		n++;
	}
	spin_lock(&q->pool_lock);
	keep = min(n, QD_POOL_MAX - q->nr_pool);
	qd_list_move_first(&q->pool, list, keep, n);
	q->nr_pool += keep;
	spin_unlock(&q->pool_lock);
	qd_entries_delete(list);
}

static u64 qd_msg_bytes(u32 len)
{
	return QD_MSG_HEADER_SIZE + (u64)len;
}

static u8 *qd_ring_alloc(u64 size)
{
	return kvmalloc(size, GFP_KERNEL_ACCOUNT);
}

static size_t qd_ring_wrap(const struct qd_queue *q, size_t off)
{
	return off >= q->size ? off - q->size : off;
}

/* Bytes from ring offset @from forward to @to (0 for a full turn). */
static size_t qd_ring_dist(const struct qd_queue *q, size_t from, size_t to)
{
	return to >= from ? to - from : to + q->size - from;
}

/* Split @len bytes at ring offset @off into at most two spans. */
static void qd_ring_spans(const struct qd_queue *q, size_t off, size_t len,
			  size_t n[2])
{
	n[0] = min_t(size_t, len, q->size - off);
	n[1] = len - n[0];
}

/*
 * Move @len bytes from ring offset @src to @dst, where @dst is at or
 * before @src in ring order (holes are only ever closed towards the head).
 * Each piece wraps neither end, so memmove() is safe within it, and going
 * forward never overwrites bytes not yet moved.
 */
static void qd_ring_move(struct qd_queue *q, size_t dst, size_t src,
			 size_t len)
{
	while (len) {
		size_t n = min3(len, q->size - dst, q->size - src);

		memmove(q->ring + dst, q->ring + src, n);
		dst = qd_ring_wrap(q, dst + n);
		src = qd_ring_wrap(q, src + n);
		len -= n;
	}
}

static struct qd_entry *qd_first_locked(struct qd_queue *q)
{
	lockdep_assert_held(&q->lock);
	return list_first_entry_or_null(&q->msgs, struct qd_entry, node);
}

/* Squeeze the holes out of the ring so all free space is at the tail. */
static void qd_compact_locked(struct qd_queue *q)
{
	struct qd_entry *e, *first;
	size_t off, span = 0;

	lockdep_assert_held(&q->lock);
	first = qd_first_locked(q);
	if (!first) {
		q->head_off = 0;
		q->tail_off = 0;
		q->span = 0;
		return;
	}
	off = first->off;
	list_for_each_entry(e, &q->msgs, node) {
		if (e->off != off) {
			qd_ring_move(q, off, e->off, e->len);
			e->off = off;
		}
		span += e->len;
		off = qd_ring_wrap(q, off + e->len);
	}
	q->tail_off = off;
	q->span = span;
}

static bool qd_fits_locked(struct qd_queue *q, u32 len)
{
	lockdep_assert_held(&q->lock);
	return q->used + qd_msg_bytes(len) <= q->size;
}

/*
 * Account for @e leaving the queue. @first: if @e was the oldest message,
 * the oldest one left (if any), else NULL. Caller unlinks @e and wakes
 * writers.
 */
static void qd_forget_locked(struct qd_queue *q, const struct qd_entry *e,
			     const struct qd_entry *first)
{
	lockdep_assert_held(&q->lock);
	q->used -= qd_msg_bytes(e->len);
	q->nr_msgs--;
	q->pop_seq++;
	if (!q->nr_msgs) {
		/* Empty: start again at the beginning of the ring. */
		q->head_off = 0;
		q->tail_off = 0;
		q->span = 0;
	} else if (first) {
		/*
		 * The head moves up to the new first payload. A distance of
		 * a full turn reads as 0 (only an empty message at the tail
		 * of a full span can be there): span then stays too large,
		 * which costs one early compaction and nothing else.
		 */
		q->span -= qd_ring_dist(q, q->head_off, first->off);
		q->head_off = first->off;
	}
}

/*
 * Unlink @e from the queue and move it to @dead, which the caller frees
 * with qd_entries_free() after dropping the lock. Caller wakes writers.
 */
static void qd_remove_locked(struct qd_queue *q, struct qd_entry *e,
			     struct list_head *dead)
{
	bool was_first;

	lockdep_assert_held(&q->lock);
	was_first = e == qd_first_locked(q);
	list_move_tail(&e->node, dead);
	qd_forget_locked(q, e, was_first ? qd_first_locked(q) : NULL);
}

static bool qd_type_matches(const struct qd_pop_req *req, u32 type)
{
	if (req->flags & QD_F_EXCEPT)
		return type != req->type;
	return req->type == QD_TYPE_ANY || type == req->type;
}

static bool qd_matches(const struct qd_entry *e, const struct qd_pop_req *req)
{
	return !e->resv && qd_type_matches(req, e->type);
}

/*
 * The oldest message after @from on q->msgs that @req takes, or NULL.
 * @from is the list head itself or an entry's node: as with
 * list_prepare_entry(), @e starts as a pointer whose node alone is used.
 */
static struct qd_entry *qd_find_locked(struct qd_queue *q,
				       struct list_head *from,
				       const struct qd_pop_req *req)
{
	struct qd_entry *e = list_entry(from, struct qd_entry, node);

	lockdep_assert_held(&q->lock);
	if (q->nr_msgs == q->nr_reserved)
		return NULL;
	list_for_each_entry_continue(e, &q->msgs, node)
		if (qd_matches(e, req))
			return e;
	return NULL;
}

/*
 * Wake-ups (DESIGN.md, "Waiting"). Pops sleep on q->readers, pushes on
 * q->writers, poll() on q->pollers. Pops and pushes wait exclusively, so
 * a wake-up goes to as many waiters as there is work for, not to all:
 * while a pop (or peek) with a filter is asleep, a push wakes, per
 * message, one pop whose filter takes the pushed type (otherwise, the
 * pipe rule below); a pop wakes, per message it removed, one push whose
 * message fits in the room there now is. Peeks wait non-exclusively (at the head of the
 * queue) and are woken by every push of a type they match. The key of a
 * wake-up (struct qd_wake_key) says what arrived; a NULL key wakes every
 * waiter (resize, a closing file's requeue, a batch of mixed types).
 *
 * A waiter chosen by a keyed wake-up owes it to the others until it has
 * used it: a pop that then takes a message of another type (it matches
 * more than one) or fails to copy it out, and a push that leaves room
 * behind or fails, pass one wake-up on with the same kind of key. A
 * waiter holds at most one keyed wake-up at a time (qd_choose()). poll() has its
 * own queue because its wake function reads the key as an event mask.
 *
 * While every pop asleep takes every type (q->filtered_readers is 0),
 * pops are woken as a pipe's readers are: a push wakes one only if no
 * unreserved message was queued before its own, and a pop that slept
 * (filtered or not: the wake-up it used may have been one of these) and
 * leaves unreserved messages behind wakes the next, with a key of
 * QD_TYPE_ANY, which only a pop, not a peek, that takes every type
 * answers, and only if such a pop is asleep (q->any_readers). Nobody is
 * left asleep next to a message it would take: a pop that takes every
 * type only sleeps when nothing unreserved is queued (one between its
 * unlock and its sleep sees push_seq move); whatever ended that (a
 * push into the empty queue, a NACK, a closing file's requeue) woke a
 * pop, which is either on its way or, having slept, passes on what it
 * leaves; and a filtered pop that goes to sleep turns the per-message
 * rule back on, for pushes after it, as none of what was queued before
 * is a message it takes. One pop chosen and slow to run (throttled, low
 * priority) holds the others asleep meanwhile, as a pipe's reader does.
 * A message per wake-up made woken consumers preempt the producers that
 * keep the queue full, for one message each (DESIGN.md, "Measured a
 * twelfth time").
 */

#define QD_WAKE_BATCH	8	/* chosen tasks a key carries */

/**
 * struct qd_wake_key - what a keyed wake-up carries
 * @type:	readers: the type that arrived, or QD_TYPE_ANY: messages are
 *		left that a pop taking every type would take (no message
 *		has that type)
 * @room:	writers: free bytes
 * @nr_tasks:	how many of @tasks are set
 * @tasks:	chosen waiters, woken once the wait queue's lock is dropped
 *
 * A wake-up of a task runs with the wait queue's lock held and interrupts
 * off, and can spin until the task's CPU has finished switching away from
 * it; every other CPU that sleeps or wakes on that queue meanwhile spins
 * on the lock, with interrupts off too. So a keyed wake-up only chooses
 * its waiters under the lock (taking a task reference) and wakes them
 * after, as POSIX mq does with a wake_q (whose functions modules cannot
 * use). Up to QD_WAKE_BATCH at a time; any more are woken in place.
 */
struct qd_wake_key {
	u32 type;
	u64 room;
	unsigned int nr_tasks;
	struct task_struct *tasks[QD_WAKE_BATCH];
};

/**
 * struct qd_waiter - one sleeping pop or push
 * @wq:		on q->readers or q->writers
 * @req:	pops: which messages match
 * @need:	pushes: bytes the message takes
 * @chosen:	set (under the wait queue's lock) by a keyed wake-up
 * @type:	pops only: the type @chosen was for
 */
struct qd_waiter {
	struct wait_queue_entry wq;
	const struct qd_pop_req *req;
	u64 need;
	bool chosen;
	u32 type;
};

/*
 * Like autoremove_wake_function(), recording that @w was chosen; with a
 * key, the wake-up itself is left to qd_wake() while @k has room.
 */
static int qd_choose(struct qd_waiter *w, unsigned int mode, int sync,
		     struct qd_wake_key *k)
{
	struct task_struct *task = w->wq.private;
	int ret;

	/*
	 * Chosen already, while it was awake after a spurious wake-up
	 * (a late wake_up_process() from an earlier keyed wake-up, say):
	 * it is back on the queue only until qd_sleep() sees @chosen and
	 * finish_wait() takes it off. It can use one wake-up; a second
	 * would be lost.
	 */
	if (k && w->chosen)
		return 0;
	/*
	 * A task chosen while already awake (timed out, say) finds @chosen
	 * set before it sleeps again or when it returns: qd_sleep() and the
	 * callers' pass-on rules see to it that the wake-up is used, if
	 * later than a sleeping waiter would have (default_wake_function()
	 * passes a running task by).
	 */
	if (k && k->nr_tasks < QD_WAKE_BATCH) {
		get_task_struct(task);
		k->tasks[k->nr_tasks++] = task;
		ret = 1;
	} else {
		ret = default_wake_function(&w->wq, mode, sync, NULL);
	}
	if (ret) {
		if (k) {
			WRITE_ONCE(w->chosen, true);
			w->type = k->type;
		}
		/* Release: finish_wait() then sees @chosen. */
		list_del_init_careful(&w->wq.entry);
	}
	return ret;
}

/*
 * A pop that takes every type: only those sleep under the pipe rule.
 * (QD_F_EXCEPT with QD_TYPE_ANY is refused before it gets here.)
 */
static bool qd_takes_all(const struct qd_pop_req *req)
{
	return req->type == QD_TYPE_ANY && !(req->flags & QD_F_EXCEPT);
}

static int qd_reader_wake(struct wait_queue_entry *wq, unsigned int mode,
			  int sync, void *key)
{
	struct qd_waiter *w = container_of(wq, struct qd_waiter, wq);
	struct qd_wake_key *k = key;

	if (k && k->type == QD_TYPE_ANY) {
		/* Passed on: for a pop, not a peek, that takes every type. */
		if (!qd_takes_all(w->req) || (w->req->flags & QD_F_PEEK))
			return 0;
	} else if (k && !qd_type_matches(w->req, k->type)) {
		return 0;
	}
	return qd_choose(w, mode, sync, k);
}

static int qd_writer_wake(struct wait_queue_entry *wq, unsigned int mode,
			  int sync, void *key)
{
	struct qd_waiter *w = container_of(wq, struct qd_waiter, wq);
	struct qd_wake_key *k = key;

	if (k && w->need > k->room)
		return 0;
	return qd_choose(w, mode, sync, k);
}

static void qd_waiter_init(struct qd_waiter *w, wait_queue_func_t func)
{
	init_waitqueue_func_entry(&w->wq, func);
	w->wq.private = current;
	INIT_LIST_HEAD(&w->wq.entry);
}

/* Wake up to @nr waiters on @wq that @key picks (all if @key is NULL). */
static void qd_wake(wait_queue_head_t *wq, int nr, struct qd_wake_key *key)
{
	unsigned int i;

	if (!key) {
		__wake_up(wq, TASK_INTERRUPTIBLE, 0, NULL);
		return;
	}
	key->nr_tasks = 0;
	__wake_up(wq, TASK_INTERRUPTIBLE, nr, key);
	for (i = 0; i < key->nr_tasks; i++) {
		wake_up_process(key->tasks[i]);
		put_task_struct(key->tasks[i]);
	}
}

static void qd_wake_pollers(struct qd_queue *q, __poll_t events)
{
	if (wq_has_sleeper(&q->pollers))
		wake_up_interruptible_poll(&q->pollers, events);
}

/*
 * The pipe rule's pass-on (the comment above struct qd_wake_key): one
 * pop that takes every type. Pollers heard of these messages when they
 * were pushed.
 */
static void qd_pass_on_readers(struct qd_queue *q)
{
	struct qd_wake_key left = { .type = QD_TYPE_ANY };

	if (wq_has_sleeper(&q->readers))
		qd_wake(&q->readers, 1, &left);
}

/* Wake up to @nr pops for messages of @key's type (all if @key is NULL). */
static void qd_wake_readers(struct qd_queue *q, int nr,
			    struct qd_wake_key *key)
{
	if (wq_has_sleeper(&q->readers))
		qd_wake(&q->readers, nr, key);
	qd_wake_pollers(q, EPOLLIN | EPOLLRDNORM);
}

/* Wake up to @nr pushes that fit in @key's room (all if @key is NULL). */
static void qd_wake_writers(struct qd_queue *q, int nr,
			    struct qd_wake_key *key)
{
	if (wq_has_sleeper(&q->writers))
		qd_wake(&q->writers, nr, key);
	qd_wake_pollers(q, EPOLLOUT | EPOLLWRNORM);
}

static u64 qd_room_locked(struct qd_queue *q)
{
	lockdep_assert_held(&q->lock);
	return q->size - q->used;
}

/*
 * Sleep on @wq until *@seq moves away from @seen, @w is chosen by a
 * wake-up, the deadline passes or a signal arrives. Called without
 * q->lock. Returns 0 (look again) or -ERESTARTSYS or -EINTR: a wait with a
 * deadline is not restarted, since the restart would wait for the whole
 * timeout again. The condition is checked before the signal, as in
 * ___wait_event(), so a chosen waiter never drops its wake-up; one
 * woken by its wake-up leaves as soon as it runs.
 */
static int qd_sleep(wait_queue_head_t *wq, struct qd_waiter *w, bool excl,
		    const u64 *seq, u64 seen, const struct qd_wait *wait)
{
	ktime_t deadline = wait->deadline;
	long intr;
	int ret = 0;

	w->chosen = false;
	w->wq.flags = excl ? WQ_FLAG_EXCLUSIVE : 0;
	for (;;) {
		intr = prepare_to_wait_event(wq, &w->wq, TASK_INTERRUPTIBLE);
		if (READ_ONCE(w->chosen) || READ_ONCE(*seq) != seen)
			break;
		if (intr) {
			ret = wait->timed ? -EINTR : -ERESTARTSYS;
			break;
		}
		if (!wait->timed)
			schedule();
		else if (!schedule_hrtimeout_range(&deadline,
						   current->timer_slack_ns,
						   HRTIMER_MODE_ABS))
			break;	/* the caller sees the deadline has passed */
		/*
		 * Chosen: the wake-up took us off @wq already, so
		 * finish_wait() need not take its lock. Going round again
		 * would queue us only for finish_wait() to take us off:
		 * prepare_to_wait_event() and finish_wait() would each
		 * take @wq's lock, interrupts off (DESIGN.md, "Measured
		 * an eleventh time").
		 */
		if (READ_ONCE(w->chosen))
			break;
	}
	finish_wait(wq, &w->wq);
	return ret;
}

/*
 * Decide what a call that cannot proceed does: fail at once, or count the
 * first wait. Returns 0 if the caller should sleep.
 */
static int qd_may_wait_locked(struct qd_queue *q, const struct qd_wait *w,
			      bool *waited, u64 *blocked)
{
	lockdep_assert_held(&q->lock);
	if (w->nonblock)
		return -EAGAIN;
	if (w->timed && ktime_compare(ktime_get(), w->deadline) >= 0) {
		q->timeouts++;
		return -ETIMEDOUT;
	}
	if (!*waited) {
		*waited = true;
		(*blocked)++;
	}
	return 0;
}

/*
 * Queue message @i of @src, which fits and has room at the ring's tail,
 * stamped @now, in entry @e. The caller links @e (qd_push_link_locked()).
 */
static int qd_push_one_locked(struct qd_queue *q, struct qd_push_src *src,
			      unsigned int i, u32 len, u32 type,
			      struct qd_entry *e, u64 now)
{
	size_t n[2];
	int ret;

	lockdep_assert_held(&q->lock);
	qd_ring_spans(q, q->tail_off, len, n);
	ret = src->fill(src, i, q->ring + q->tail_off, 0, n[0]);
	if (!ret && n[1])
		ret = src->fill(src, i, q->ring, n[0], n[1]);
	if (!ret)
		ret = src->queued(src, i, q->next_id);
	if (ret)
		return ret;

	e->id = q->next_id++;
	e->time_ns = now;
	e->len = len;
	e->type = type;
	e->off = q->tail_off;
	if (q->nr_msgs++ == 0)
		q->head_off = e->off;
	q->span += len;
	q->tail_off = qd_ring_wrap(q, q->tail_off + len);
	q->used += qd_msg_bytes(len);
	q->pushes++;
	q->push_seq++;
	return 0;
}

/*
 * How many entries a push gets at a time, for @count messages: as many as
 * it has messages, up to QD_PREALLOC_MAX and to what the free room could
 * take; at least one, for the wait. Before the lock is taken (where the
 * room is read without it: an estimate), and again under the lock each
 * time those run out, so a batch that finds room for a few messages does
 * not allocate for all of them; but not after an allocation failed: the
 * message without an entry fails with -ENOMEM, as it would have had the
 * lock been held throughout.
 */
#define QD_PREALLOC_MAX	64U

static unsigned int qd_prealloc_count(struct qd_queue *q, unsigned int count)
{
	u64 size = READ_ONCE(q->size), used = READ_ONCE(q->used);
	u64 fit = used < size ? (size - used) / QD_MSG_HEADER_SIZE : 0;

	return clamp_t(u64, fit, 1, min(count, QD_PREALLOC_MAX));
}

/*
 * The next entry for a push with @left messages to go: the one after
 * @last on @spare (the entries up to @last are filled). When there is
 * none, a chunk is added to @spare (qd_prealloc_count()): spares from the
 * pool first, then new entries; and more spares, if the pool has them,
 * up to min(@left, QD_PREALLOC_MAX) in all, so that the pool lock is
 * taken once a chunk and new entries come QD_BULK at a time. NULL:
 * -ENOMEM.
 */
static struct qd_entry *qd_spare_entry_locked(struct qd_queue *q,
					      struct list_head *spare,
					      struct list_head *last,
					      bool *nomem, unsigned int left,
					      kuid_t uid)
{
	unsigned int n;

	lockdep_assert_held(&q->lock);
	if (list_is_last(last, spare) && !*nomem) {
		n = qd_prealloc_count(q, left);
		/* Spares come first: fewer than @n means memory ran out. */
		*nomem = qd_entries_alloc(q, spare, n,
					  min(left, QD_PREALLOC_MAX) - n,
					  uid) < n;
	}
	if (list_is_last(last, spare))
		return NULL;
	return list_entry(last->next, struct qd_entry, node);
}

/*
 * Link the entries a push filled, @spare's first ones up to *@last, at
 * the tail of q->msgs in one step, and start *@last again. Linking each
 * as it was filled cost a list_move_tail() a message, under the lock,
 * which with CONFIG_DEBUG_LIST (Debian's) checks every link it touches
 * (DESIGN.md, "Measured a ninth time").
 */
static void qd_push_link_locked(struct qd_queue *q, struct list_head *spare,
				struct list_head **last)
{
	LIST_HEAD(run);

	lockdep_assert_held(&q->lock);
	if (*last == spare)
		return;
	list_cut_position(&run, spare, *last);
	list_splice_tail(&run, &q->msgs);
	*last = spare;
}

/*
 * How many pops a push that has just queued @n > 0 messages wakes (the
 * comment above struct qd_wake_key): one per message if a pop with a
 * filter is asleep; else none if an unreserved message was queued
 * before them (the pops asleep all take every type, and one is on its
 * way to it), and one if none was. The lock has been held since the
 * first of them went in: only a push's first message waits.
 */
static unsigned int qd_readers_to_wake_locked(struct qd_queue *q,
					      unsigned int n)
{
	lockdep_assert_held(&q->lock);
	if (q->filtered_readers)
		return n;
	return q->nr_msgs - q->nr_reserved == n ? 1 : 0;
}

/**
 * qd_queue_push - queue up to @src->count messages
 * @q: the queue
 * @src: the messages
 * @w: how the first message may wait for room
 * @done: out: how many were queued
 *
 * What a message needs that does not need the lock (its entry and the
 * sender) is got before taking it. The messages of one call share a
 * timestamp, read once under the lock (and again after a wait), so that
 * time_ns never goes backwards as ids go up, clock steps aside.
 *
 * Return: 0 if at least one message was queued, else the error that
 * stopped the first one.
 */
int qd_queue_push(struct qd_queue *q, struct qd_push_src *src,
		  const struct qd_wait *w, unsigned int *done)
{
	struct qd_waiter waiter = { };
	struct qd_wake_key pushed = { }, room = { };
	bool waited = false, mixed = false, owe = false, nomem;
	unsigned int i = 0, want, wake;
	struct qd_entry *e;
	LIST_HEAD(spare);
	struct list_head *last = &spare;
	u32 len, type;
	int ret = 0;
	u64 now;

	want = qd_prealloc_count(q, src->count);
	nomem = qd_entries_alloc(q, &spare, want, 0, src->uid) < want;
	qd_waiter_init(&waiter, qd_writer_wake);
	mutex_lock(&q->lock);
	now = ktime_get_real_ns();
	while (i < src->count) {
		u64 seen;

		ret = src->describe(src, i, &len, &type);
		if (ret)
			break;
		if (qd_msg_bytes(len) > q->size) {
			ret = -EMSGSIZE;
			break;
		}
		if (qd_fits_locked(q, len)) {
			e = qd_spare_entry_locked(q, &spare, last, &nomem,
						  src->count - i, src->uid);
			if (!e) {
				ret = -ENOMEM;
				break;
			}
			/* The accounting says it fits; make the ring agree. */
			if (q->size - q->span < len) {
				qd_push_link_locked(q, &spare, &last);
				qd_compact_locked(q);
			}
			ret = qd_push_one_locked(q, src, i, len, type, e, now);
			if (ret)
				break;
			last = &e->node;
			if (i && type != pushed.type)
				mixed = true;
			pushed.type = type;
			i++;
			continue;
		}
		if (i) {
			ret = -EAGAIN;
			break;
		}
		ret = qd_may_wait_locked(q, w, &waited, &q->blocked_writers);
		if (ret)
			break;
		seen = q->pop_seq;
		room.room = qd_room_locked(q);
		waiter.need = qd_msg_bytes(len);
		qd_push_link_locked(q, &spare, &last);	/* nothing yet: i == 0 */
		mutex_unlock(&q->lock);
		/* Chosen, but someone took the room first: pass on the rest. */
		if (owe && room.room >= QD_MSG_HEADER_SIZE)
			qd_wake_writers(q, 1, &room);
		ret = qd_sleep(&q->writers, &waiter, true, &q->pop_seq, seen, w);
		owe = waiter.chosen;
		mutex_lock(&q->lock);
		now = ktime_get_real_ns();
		if (ret)
			break;
	}
	qd_push_link_locked(q, &spare, &last);
	room.room = qd_room_locked(q);
	wake = i ? qd_readers_to_wake_locked(q, i) : 0;
	mutex_unlock(&q->lock);

	qd_entries_free(q, &spare);
	if (wake)
		qd_wake_readers(q, wake, mixed ? NULL : &pushed);
	else if (i)
		qd_wake_pollers(q, EPOLLIN | EPOLLRDNORM);
	if (owe && room.room >= QD_MSG_HEADER_SIZE)
		qd_wake_writers(q, 1, &room);
	*done = i;
	return i ? 0 : ret;
}

/**
 * struct qd_pop_call - what one qd_queue_pop() carries from message to message
 * @dead:	entries removed, freed after unlocking
 * @run:	the last of the oldest messages removed, or &q->msgs (below)
 * @removed:	number of entries removed
 * @pid:	the last sender whose pid was translated for the caller, or NULL
 * @pid_nr:	its pid in the caller's pid namespace
 * @kuid:	the last sender's uid translated, or INVALID_UID
 * @uid:	@kuid in the caller's user namespace
 *
 * A sender is translated once per run of its messages, not per message: a
 * batch is mostly one sender's (DESIGN.md, "Measured again"). @pid is only
 * compared, never dereferenced, and only while q->lock is held from when
 * it was recorded: a queued or just removed entry holds a reference to it
 * until after unlocking, so no other pid can have its address meanwhile.
 *
 * A run of the oldest messages that the call removes stays linked on
 * q->msgs, from its first entry to @run, until qd_pop_call_unlink_locked()
 * moves it to @dead in one step before the lock is dropped: the
 * accounting and the ring's head have moved past it, and the call looks
 * for messages after @run. The rest of the messages removed move to
 * @dead one by one. A list_move_tail() a message, under the lock, was
 * a tenth of a batch's time: CONFIG_DEBUG_LIST (Debian's) checks every
 * link it touches (DESIGN.md, "Measured a ninth time").
 */
struct qd_pop_call {
	struct list_head dead;
	struct list_head *run;
	unsigned int removed;
	const struct pid *pid;
	pid_t pid_nr;
	kuid_t kuid;
	uid_t uid;
};

/* Remove @e, which the call handed out, from the queue. */
static void qd_pop_call_remove_locked(struct qd_queue *q,
				      struct qd_pop_call *c,
				      struct qd_entry *e)
{
	lockdep_assert_held(&q->lock);
	if (c->run->next == &e->node) {
		/* The oldest message left: the run grows by one. */
		c->run = &e->node;
		qd_forget_locked(q, e, list_is_last(c->run, &q->msgs) ?
				 NULL : list_next_entry(e, node));
	} else {
		list_move_tail(&e->node, &c->dead);
		qd_forget_locked(q, e, NULL);
	}
	c->removed++;
}

/* Move the run of oldest messages removed to @dead. */
static void qd_pop_call_unlink_locked(struct qd_queue *q,
				      struct qd_pop_call *c)
{
	LIST_HEAD(run);

	lockdep_assert_held(&q->lock);
	if (c->run == &q->msgs)
		return;
	list_cut_position(&run, &q->msgs, c->run);
	list_splice(&run, &c->dead);
	c->run = &q->msgs;
}

/* Forget the translations: q->lock is about to be dropped. */
static void qd_pop_call_forget(struct qd_pop_call *c)
{
	c->pid = NULL;
	c->pid_nr = 0;		/* pid_vnr(NULL) */
	c->kuid = INVALID_UID;
}

static void qd_pop_call_sender_locked(struct qd_queue *q,
				      struct qd_pop_call *c,
				      const struct qd_entry *e,
				      struct qd_view *v)
{
	lockdep_assert_held(&q->lock);
	if (c->pid != e->pid) {
		c->pid = e->pid;
		c->pid_nr = pid_vnr(e->pid);
	}
	if (!uid_eq(c->kuid, e->uid)) {
		c->kuid = e->uid;
		c->uid = from_kuid_munged(current_user_ns(), e->uid);
	}
	v->sender_pid = c->pid_nr;
	v->sender_uid = c->uid;
}

/* Hand @e to @dst as message @i, then remove, reserve or keep it. */
static int qd_pop_one_locked(struct qd_queue *q, struct qd_file *f,
			     struct qd_pop_dst *dst, unsigned int i,
			     const struct qd_pop_req *req, struct qd_entry *e,
			     struct qd_pop_call *c)
{
	struct qd_resv *r = NULL;
	struct qd_view v;
	int ret;

	lockdep_assert_held(&q->lock);
	if (req->flags & QD_F_RESERVE) {
		r = kmalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
		if (!r)
			return -ENOMEM;
	}
	v.p[0] = q->ring + e->off;
	v.p[1] = q->ring;
	qd_ring_spans(q, e->off, e->len, v.n);
	v.id = e->id;
	v.time_ns = e->time_ns;
	v.len = e->len;
	v.type = e->type;
	qd_pop_call_sender_locked(q, c, e, &v);

	ret = dst->deliver(dst, i, &v);
	if (ret) {
		kfree(r);
		return ret;
	}

	if (req->flags & QD_F_PEEK)
		return 0;
	if (r) {
		r->e = e;
		e->resv = r;
		list_add_tail(&r->node, &f->reserved);
		q->nr_reserved++;
		return 0;
	}
	qd_pop_call_remove_locked(q, c, e);
	q->pops++;
	return 0;
}

/**
 * qd_queue_pop - pop, peek at or reserve up to @dst->count messages
 * @q: the queue
 * @f: the open file (owner of reservations)
 * @dst: where they go and which ones match
 * @w: how the first message may wait
 * @done: out: how many were handed out
 *
 * Return: 0 if at least one message was handed out, else the error that
 * stopped the first one. A message whose delivery fails stays queued.
 */
int qd_queue_pop(struct qd_queue *q, struct qd_file *f,
		 struct qd_pop_dst *dst, const struct qd_wait *w,
		 unsigned int *done)
{
	struct qd_pop_req req;
	struct qd_waiter waiter = { .req = &req };
	struct qd_pop_call call = { .dead = LIST_HEAD_INIT(call.dead),
				    .run = &q->msgs, .kuid = INVALID_UID };
	struct qd_wake_key owed = { }, room = { };
	bool waited = false, owe = false, slept = false, pass_on;
	unsigned int i = 0;
	struct qd_entry *e;
	int ret = 0;

	qd_waiter_init(&waiter, qd_reader_wake);
	mutex_lock(&q->lock);
	while (i < dst->count) {
		bool peek, filtered, any;
		u64 seen;
		u32 type;

		ret = dst->describe(dst, i, &req);
		if (ret)
			break;
		e = qd_find_locked(q, call.run, &req);
		if (e) {
			type = e->type;
			ret = qd_pop_one_locked(q, f, dst, i, &req, e, &call);
			if (ret)
				break;
			if (type == owed.type)
				owe = false;
			i++;
			continue;
		}
		if (i) {
			ret = -EAGAIN;
			break;
		}
		/* Chosen, but another pop took the message first. */
		owe = false;
		ret = qd_may_wait_locked(q, w, &waited, &q->blocked_readers);
		if (ret)
			break;
		seen = q->push_seq;
		peek = req.flags & QD_F_PEEK;
		filtered = !qd_takes_all(&req);
		any = !filtered && !peek;	/* answers a pass-on */
		q->filtered_readers += filtered;
		q->any_readers += any;
		qd_pop_call_unlink_locked(q, &call);
		qd_pop_call_forget(&call);
		mutex_unlock(&q->lock);
		ret = qd_sleep(&q->readers, &waiter, !peek, &q->push_seq, seen,
			       w);
		/* Passed on (QD_TYPE_ANY): nothing owed for a type. */
		if (waiter.chosen && !peek && waiter.type != QD_TYPE_ANY) {
			owe = true;
			owed.type = waiter.type;
		}
		slept |= !peek;
		mutex_lock(&q->lock);
		q->filtered_readers -= filtered;
		q->any_readers -= any;
		if (ret)
			break;
	}
	qd_pop_call_unlink_locked(q, &call);
	room.room = qd_room_locked(q);
	/* Slept and leaves messages: the comment above struct qd_wake_key. */
	pass_on = slept && q->nr_msgs != q->nr_reserved && q->any_readers;
	mutex_unlock(&q->lock);

	qd_entries_free(q, &call.dead);
	if (call.removed)
		qd_wake_writers(q, call.removed, &room);
	if (owe)
		qd_wake_readers(q, 1, &owed);
	if (pass_on)
		qd_pass_on_readers(q);
	*done = i;
	return i ? 0 : ret;
}

static struct qd_resv *qd_reserved_locked(struct qd_file *f, u64 id)
{
	struct qd_resv *r;

	lockdep_assert_held(&f->q->lock);
	list_for_each_entry(r, &f->reserved, node)
		if (r->e->id == id)
			return r;
	return NULL;
}

/* End reservation @r; returns its message. */
static struct qd_entry *qd_resv_end_locked(struct qd_queue *q,
					   struct qd_resv *r)
{
	struct qd_entry *e = r->e;

	lockdep_assert_held(&q->lock);
	list_del(&r->node);
	kfree(r);
	e->resv = NULL;
	q->nr_reserved--;
	return e;
}

/* Give a reserved message back: it keeps its place by id. */
static struct qd_entry *qd_unreserve_locked(struct qd_queue *q,
					    struct qd_resv *r)
{
	lockdep_assert_held(&q->lock);
	q->requeued++;
	q->push_seq++;
	return qd_resv_end_locked(q, r);
}

int qd_queue_ack(struct qd_queue *q, struct qd_file *f, u64 id)
{
	struct qd_wake_key room = { };
	struct qd_resv *r;
	LIST_HEAD(dead);

	mutex_lock(&q->lock);
	r = qd_reserved_locked(f, id);
	if (!r) {
		mutex_unlock(&q->lock);
		return -ENOENT;
	}
	qd_remove_locked(q, qd_resv_end_locked(q, r), &dead);
	q->pops++;
	room.room = qd_room_locked(q);
	mutex_unlock(&q->lock);

	qd_entries_free(q, &dead);
	qd_wake_writers(q, 1, &room);
	return 0;
}

int qd_queue_nack(struct qd_queue *q, struct qd_file *f, u64 id)
{
	struct qd_wake_key back = { };
	struct qd_resv *r;

	mutex_lock(&q->lock);
	r = qd_reserved_locked(f, id);
	if (!r) {
		mutex_unlock(&q->lock);
		return -ENOENT;
	}
	back.type = qd_unreserve_locked(q, r)->type;
	mutex_unlock(&q->lock);

	qd_wake_readers(q, 1, &back);
	return 0;
}

/* The file is closing: everything it still holds goes back. */
void qd_queue_release(struct qd_queue *q, struct qd_file *f)
{
	struct qd_resv *r, *tmp;
	bool any = false;

	mutex_lock(&q->lock);
	list_for_each_entry_safe(r, tmp, &f->reserved, node) {
		qd_unreserve_locked(q, r);
		any = true;
	}
	mutex_unlock(&q->lock);

	if (any)
		qd_wake_readers(q, 0, NULL);
}

/**
 * qd_queue_resize - change the capacity, keeping every message in order
 * @q: the queue
 * @size: new capacity in bytes
 *
 * Return: 0, -EINVAL outside [QD_MIN_SIZE, max_size], -EBUSY if the
 * messages would not fit, -ENOMEM.
 */
int qd_queue_resize(struct qd_queue *q, u64 size)
{
	struct qd_entry *e;
	u8 *ring, *old;
	size_t off = 0;

	if (size < QD_MIN_SIZE || size > q->max_size)
		return -EINVAL;

	ring = qd_ring_alloc(size);
	if (!ring)
		return -ENOMEM;

	mutex_lock(&q->lock);
	if (q->used > size) {
		mutex_unlock(&q->lock);
		kvfree(ring);
		return -EBUSY;
	}
	/* Copy the payloads in order to the start of the new ring. */
	list_for_each_entry(e, &q->msgs, node) {
		size_t n[2];

		qd_ring_spans(q, e->off, e->len, n);
		memcpy(ring + off, q->ring + e->off, n[0]);
		memcpy(ring + off + n[0], q->ring, n[1]);
		e->off = off;
		off += e->len;
	}
	old = q->ring;
	q->ring = ring;
	q->size = size;
	q->head_off = 0;
	q->span = off;
	q->tail_off = off;	/* < size: the 8-byte headers take room too */
	/* Waiting pushers look again: room grew, or their message no longer fits. */
	q->pop_seq++;
	mutex_unlock(&q->lock);

	kvfree(old);
	qd_wake_writers(q, 0, NULL);
	return 0;
}

void qd_queue_stats(struct qd_queue *q, struct qd_stats *st)
{
	memset(st, 0, sizeof(*st));
	mutex_lock(&q->lock);
	st->size = q->size;
	st->used = q->used;
	st->free = q->size - q->used;
	st->messages = q->nr_msgs;
	st->pushes = q->pushes;
	st->pops = q->pops;
	st->blocked_readers = q->blocked_readers;
	st->blocked_writers = q->blocked_writers;
	st->reserved = q->nr_reserved;
	st->requeued = q->requeued;
	st->timeouts = q->timeouts;
	st->max_msg_size = q->size - QD_MSG_HEADER_SIZE;
	mutex_unlock(&q->lock);
}

/* Lockless snapshot for poll(); the wait queues make it exact enough. */
__poll_t qd_queue_poll_mask(struct qd_queue *q)
{
	__poll_t mask = 0;

	if (READ_ONCE(q->nr_msgs) != READ_ONCE(q->nr_reserved))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (READ_ONCE(q->used) + QD_MSG_HEADER_SIZE <= READ_ONCE(q->size))
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

static void qd_show_preview(struct seq_file *m, const struct qd_queue *q,
			    const struct qd_entry *e)
{
	size_t i, n = min_t(size_t, e->len, QD_PREVIEW_LEN);

	seq_puts(m, " data=\"");
	for (i = 0; i < n; i++) {
		u8 c = q->ring[qd_ring_wrap(q, e->off + i)];

		switch (c) {
		case '\n':
			seq_puts(m, "\\n");
			break;
		case '\t':
			seq_puts(m, "\\t");
			break;
		case '\\':
		case '"':
			seq_putc(m, '\\');
			seq_putc(m, c);
			break;
		default:
			if (c >= 0x20 && c < 0x7f)
				seq_putc(m, c);
			else
				seq_printf(m, "\\x%02x", c);
		}
	}
	seq_printf(m, "%s\"\n", e->len > n ? "..." : "");
}

/* debugfs "messages": one line per queued message, oldest first. */
void qd_queue_show(struct qd_queue *q, struct seq_file *m)
{
	struct qd_entry *e;

	mutex_lock(&q->lock);
	list_for_each_entry(e, &q->msgs, node) {
		seq_printf(m, "id=%llu type=%u len=%u reserved=%d pid=%d",
			   e->id, e->type, e->len, e->resv ? 1 : 0,
			   pid_vnr(e->pid));
		qd_show_preview(m, q, e);
	}
	mutex_unlock(&q->lock);
}

int qd_queue_init(struct qd_queue *q, u64 size, u64 max_size)
{
	if (max_size < QD_MIN_SIZE || max_size > QD_MAX_SIZE_LIMIT ||
	    size < QD_MIN_SIZE || size > max_size)
		return -EINVAL;

	q->ring = qd_ring_alloc(size);
	if (!q->ring)
		return -ENOMEM;
	mutex_init(&q->lock);
	init_waitqueue_head(&q->readers);
	init_waitqueue_head(&q->writers);
	init_waitqueue_head(&q->pollers);
	INIT_LIST_HEAD(&q->msgs);
	spin_lock_init(&q->pool_lock);
	INIT_LIST_HEAD(&q->pool);
	q->size = size;
	q->max_size = max_size;
	q->next_id = 1;
	return 0;
}

void qd_queue_destroy(struct qd_queue *q)
{
	/* No file is open: nothing is reserved and nobody waits. */
	qd_entries_free(q, &q->msgs);
	qd_entries_delete(&q->pool);
	q->nr_pool = 0;
	kvfree(q->ring);
	mutex_destroy(&q->lock);
}
