// SPDX-License-Identifier: GPL-2.0
/*
 * stress - producers, consumers and a resizer hammer /dev/queue_driver and
 * the run is then checked with exact accounting.
 *
 * Processes (fork, so consumers can be SIGKILLed):
 *   producers   push numbered messages: single or batch, blocking,
 *               QD_F_NONBLOCK or QD_F_TIMEOUT, a few types, sizes 0..max.
 *   consumers   pop (any type, one type, all but one type), peek, reserve
 *               and ack/nack, single or batch, blocking/nonblocking/timed;
 *               now and then one closes its fd while holding reservations,
 *               or offers itself to be killed while holding some.
 *   resizer     grows and shrinks the queue, through the ioctl and sysfs,
 *               and forces shrinks below `used` (it holds a reserved message
 *               of known length, so -EBUSY is certain); checks QD_IOC_STATS
 *               invariants on every snapshot.
 *   parent      kills offering consumers with SIGKILL and starts
 *               replacements, stops everything after --seconds, drains the
 *               queue and checks.
 *
 * Every payload is a deterministic function of (producer, seq, type, len):
 * a header {magic, producer, seq, type, len, checksum} followed by
 * pseudo-random bytes; a payload shorter than the header is the header's
 * prefix. Consumers compare every payload they get in full. Producers log
 * (id, producer, seq, type, len) of every push that returned 0. Consumers
 * log every message handed to them *at once*, before acking: a log entry
 * is written after the pop returns and its state moves RESERVED ->
 * ACK_INTENT (written before QD_IOC_ACK) -> ACKED, or RESERVED ->
 * NACK_INTENT -> NACKED, or stays RESERVED when the fd is closed or the
 * process killed. Kills happen only after a consumer announced that every
 * message it holds is logged (it then sleeps, in pause() or in a pop on a
 * type nobody pushes); a message is therefore never inside an unlogged
 * destructive pop when its consumer dies. (An ACK_INTENT whose ack did not
 * complete would be resolved below, but cannot occur with these kills.)
 *
 * Checks at the end (any failure: exit 1 with a line naming it):
 *  - every pushed message was consumed exactly once (popped, or acked by a
 *    consumer that logged it), by a consumer other than one that died
 *    holding it; every consumed message was pushed; contents, type, len and
 *    sender_pid match what was pushed;
 *  - ids: unique, and increasing with each producer's sequence (the kernel
 *    queues each producer's messages in push order);
 *  - FIFO: for each consumer process and each type, the ids it was handed
 *    increase, except for messages that were requeued at some point (NACK,
 *    close or kill). This is exactly what "the oldest visible message of
 *    the requested type" implies: a message older than one this consumer
 *    already got was visible at that earlier pop unless it was reserved;
 *  - counters: sysfs pushes, pops, requeued and timeouts moved by exactly
 *    the numbers this run counted (pushes returned 0; pops + acks; nacks +
 *    reservations dropped by close/kill; -ETIMEDOUT results), and the
 *    queue ends empty (messages, used, reserved 0, used + free == size);
 *  - every call returned 0 or an errno allowed for how it was made.
 * The device must be idle at start and nobody else may use it meanwhile.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/queue_driver.h>

#define PHDR_MAGIC	0x54534451u	/* "QDST" */
#define PAUSE_TYPE	999u		/* never pushed: a pop on it sleeps */
#define MIN_RSIZE	8192u		/* random resizes stay in */
#define MAX_RSIZE	262144u		/* [MIN_RSIZE, MAX_RSIZE] */
#define BUF_SIZE	MAX_RSIZE
#define MAX_BATCH	8
#define MAX_HELD	16
#define MAX_PRODUCERS	64
#define MAX_CONSUMERS	64
#define MAX_SLOTS	65535
#define SLOT_DRAIN	0
#define SLOT_RESIZER	1
#define SLOT_FIRST	2

static const uint32_t types[] = { QD_TYPE_LOG, QD_TYPE_JOB, 7, 1000 };
#define NTYPES	(sizeof(types) / sizeof(types[0]))

struct phdr {
	uint32_t magic;
	uint32_t producer;
	uint32_t seq;
	uint32_t type;
	uint32_t len;
	uint32_t csum;
};

/* One push that returned 0. */
struct prec {
	uint64_t id;
	uint32_t producer;
	uint32_t seq;
	uint32_t type;
	uint32_t len;
};

enum ekind {
	E_NONE,		/* slot taken, not written yet */
	E_POP,		/* destructive pop */
	E_RESERVED,	/* reserved; still held (requeued if fd closed/killed) */
	E_ACK_INTENT,	/* about to QD_IOC_ACK */
	E_ACKED,
	E_NACK_INTENT,	/* about to QD_IOC_NACK */
	E_NACKED,
	E_CLOSED,	/* fd closed while reserved */
};

/* One message handed to a consumer. */
struct entry {
	uint64_t id;
	uint32_t seq;		/* from the payload header, if len >= header */
	uint32_t producer;	/* idem; UINT32_MAX if len < header */
	uint32_t type;
	uint32_t len;
	uint32_t sender_pid;
	uint16_t slot;
	uint8_t kind;
	uint8_t prefix[sizeof(struct phdr)];	/* payload if len < header */
};

enum sstate { S_FREE, S_LIVE, S_OFFER, S_DEAD, S_DONE };

struct slot {
	int state;
	int pid;
};

struct shared {
	int stop_producers;
	int stop_consumers;
	int stop_resizer;
	int failed;
	char fail[512];
	uint64_t npush;		/* next free prec */
	uint64_t nlog;		/* next free entry */
	uint64_t cur_size;	/* set only by the resizer */
	/* statistics, updated atomically */
	uint64_t etimedout;
	uint64_t peeks, emsgsize_push, emsgsize_pop, eagain, batch_push,
		 batch_pop, reserves, nacks, closes_holding, grows, shrinks,
		 ebusy_shrinks, ebusy_forced, sysfs_resizes, pause_kills;
	int producer_pid[MAX_PRODUCERS];
	struct slot slots[MAX_SLOTS];
};

static struct shared *sh;
static struct prec *precs;
static struct entry *entries;

static const char *dev_path = "/dev/queue_driver";
static const char *sysfs_dir = "/sys/class/misc/queue_driver";
static unsigned int nprod = 4, ncons = 4, seconds = 60;
static uint64_t seed, max_push = 2000000, log_cap;
static unsigned int kill_permille = 30;
static bool verbose;
static struct timespec rt_start;
static pid_t parent_pid, resizer_pid, prod_pids[MAX_PRODUCERS];
static int prod_live, nslots = SLOT_FIRST;

/* The parent gives up: take every child with it. */
static void kill_children(void)
{
	for (unsigned int p = 0; p < nprod; p++)
		if (prod_pids[p] > 0)
			kill(prod_pids[p], SIGKILL);
	if (resizer_pid > 0)
		kill(resizer_pid, SIGKILL);
	for (int s = SLOT_FIRST; s < nslots; s++)
		if (sh->slots[s].state == S_LIVE || sh->slots[s].state == S_OFFER)
			kill(sh->slots[s].pid, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0)
		;
}

/* ---- helpers ---- */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sh && !__atomic_exchange_n(&sh->failed, 1, __ATOMIC_SEQ_CST))
		snprintf(sh->fail, sizeof(sh->fail), "%s", msg);
	fprintf(stderr, "stress: FAIL: %s (seed %" PRIu64 ")\n", msg, seed);
	if (sh && getpid() == parent_pid)
		kill_children();
	_exit(1);
}

#define STAT_INC(f) __atomic_fetch_add(&sh->f, 1, __ATOMIC_RELAXED)

static uint64_t rng_state;

static uint64_t rnd64(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t rnd(uint32_t n)
{
	return n ? (uint32_t)(rnd64() % n) : 0;
}

static void seed_role(uint64_t role, uint64_t index)
{
	rng_state = seed ^ (role * 0x1000193ULL + index * 0x100000001b3ULL);
	rnd64();
}

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t now_rt_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int type_index(uint32_t type)
{
	for (unsigned int i = 0; i < NTYPES; i++)
		if (types[i] == type)
			return (int)i;
	return -1;
}

static int open_dev(void)
{
	int fd = open(dev_path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		fail("open %s: %s", dev_path, strerror(errno));
	return fd;
}

static void get_stats(int fd, struct qd_stats *st)
{
	memset(st, 0xa5, sizeof(*st));
	if (ioctl(fd, QD_IOC_STATS, st))
		fail("QD_IOC_STATS: %s", strerror(errno));
}

static void check_stats(const struct qd_stats *st, const char *where)
{
	if (st->used + st->free != st->size)
		fail("%s: used %llu + free %llu != size %llu", where,
		     (unsigned long long)st->used, (unsigned long long)st->free,
		     (unsigned long long)st->size);
	if (st->max_msg_size != st->size - QD_MSG_HEADER_SIZE)
		fail("%s: max_msg_size %llu != size %llu - 8", where,
		     (unsigned long long)st->max_msg_size,
		     (unsigned long long)st->size);
	if ((st->messages == 0) != (st->used == 0))
		fail("%s: messages %llu but used %llu", where,
		     (unsigned long long)st->messages,
		     (unsigned long long)st->used);
	if (st->used < QD_MSG_HEADER_SIZE * st->messages)
		fail("%s: used %llu < 8 * messages %llu", where,
		     (unsigned long long)st->used,
		     (unsigned long long)st->messages);
	if (st->reserved > st->messages)
		fail("%s: reserved %llu > messages %llu", where,
		     (unsigned long long)st->reserved,
		     (unsigned long long)st->messages);
	for (int i = 0; i < 4; i++)
		if (st->__spare[i])
			fail("%s: __spare[%d] = %llu, not 0", where, i,
			     (unsigned long long)st->__spare[i]);
}

static uint64_t sysfs_read(const char *name)
{
	char path[256], buf[64], *end;
	unsigned long long v;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", sysfs_dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail("open %s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		fail("read %s: %s", path, n ? strerror(errno) : "empty");
	close(fd);
	buf[n] = 0;
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno || end == buf || strcmp(end, "\n"))
		fail("%s: not \"%%llu\\n\": \"%s\"", path, buf);
	return v;
}

/* The payload of (producer, seq, type, len), written to buf (>= 24 bytes). */
static void gen_payload(uint8_t *buf, uint32_t producer, uint32_t seq,
			uint32_t type, uint32_t len)
{
	struct phdr h = { PHDR_MAGIC, producer, seq, type, len, 0 };
	uint64_t x = ((uint64_t)producer << 32 | seq) ^ 0x243f6a8885a308d3ULL;
	uint32_t csum = 2166136261u;

	for (uint32_t i = sizeof(h); i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	memcpy(buf, &h, sizeof(h));
	for (uint32_t i = 0; i < (len > sizeof(h) ? len : sizeof(h)); i++)
		csum = (csum ^ buf[i]) * 16777619u;
	h.csum = csum;
	memcpy(buf, &h, sizeof(h));
}

static void sigusr1(int sig)
{
	(void)sig;
}

static void child_setup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sigusr1;	/* no SA_RESTART: waits end in EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
}

static bool stopping(const int *flag)
{
	return __atomic_load_n(flag, __ATOMIC_ACQUIRE) ||
	       __atomic_load_n(&sh->failed, __ATOMIC_RELAXED);
}

/* ---- producers ---- */

static void record_push(uint32_t p, uint32_t seq, const struct qd_msg *m,
			uint64_t *last_id)
{
	uint64_t i = __atomic_fetch_add(&sh->npush, 1, __ATOMIC_RELAXED);

	if (i >= max_push)
		fail("more than --max-messages %" PRIu64 " pushes", max_push);
	if (m->id <= *last_id)
		fail("producer %u: push returned id %llu after id %llu", p,
		     (unsigned long long)m->id, (unsigned long long)*last_id);
	*last_id = m->id;
	precs[i] = (struct prec){ m->id, p, seq, m->type, m->len };
}

static uint32_t pick_len(bool may_be_big)
{
	uint32_t r = rnd(100), cur;

	if (r < 55)
		return rnd(64);
	if (r < 85)
		return 64 + rnd(960);
	if (r < 97 || !may_be_big)
		return 1024 + rnd(MIN_RSIZE - 8 - 1024 + 1);
	cur = (uint32_t)__atomic_load_n(&sh->cur_size, __ATOMIC_RELAXED);
	/* sometimes exactly max, sometimes one more (-EMSGSIZE) */
	switch (rnd(4)) {
	case 0:
		return cur - 8;
	case 1:
		return cur - 7;
	default:
		return MIN_RSIZE - 8 + rnd(cur - MIN_RSIZE + 1);
	}
}

/* May this push (or pop) have failed with err, given how it was made? */
static void check_wait_errno(const char *what, int err, uint32_t flags,
			     const int *stop, const char *detail)
{
	if (err == EAGAIN && (flags & QD_F_NONBLOCK)) {
		STAT_INC(eagain);
		return;
	}
	if (err == ETIMEDOUT && (flags & QD_F_TIMEOUT)) {
		STAT_INC(etimedout);
		return;
	}
	if (err == EINTR && !(flags & QD_F_NONBLOCK) &&
	    __atomic_load_n(stop, __ATOMIC_ACQUIRE))
		return;	/* our SIGUSR1 at shutdown */
	fail("%s (%s, flags %#x): unexpected %s", what, detail, flags,
	     strerrorname_np(err) ? strerrorname_np(err) : strerror(err));
}

static void wait_flags(uint32_t *flags, int64_t *timeout_ns)
{
	uint32_t r = rnd(10);

	*timeout_ns = 0;
	if (r < 4) {
		*flags = 0;
	} else if (r < 7) {
		*flags = QD_F_NONBLOCK;
	} else {
		*flags = QD_F_TIMEOUT;
		*timeout_ns = rnd(8) ? (int64_t)rnd(3000000) : 0;
	}
}

static void producer(uint32_t p)
{
	static uint8_t buf[BUF_SIZE];
	struct qd_msg msgs[MAX_BATCH];
	uint32_t seq = 0;
	uint64_t last_id = 0;
	int fd;

	seed_role(1, p);
	child_setup();
	fd = open_dev();
	while (!stopping(&sh->stop_producers)) {
		uint32_t flags, count = rnd(10) < 7 ? 0 : 1 + rnd(MAX_BATCH);
		int64_t tmo;
		char detail[96];

		if (__atomic_load_n(&sh->npush, __ATOMIC_RELAXED) + MAX_BATCH >= max_push)
			break;
		wait_flags(&flags, &tmo);
		if (count == 0) {
			struct qd_msg m = { 0 };
			uint32_t len = pick_len(flags != 0);
			uint32_t type = types[rnd(NTYPES)];

			gen_payload(buf, p, seq, type, len);
			m.data = (uintptr_t)buf;
			m.len = len;
			m.type = type;
			m.flags = flags;
			m.timeout_ns = tmo;
			if (ioctl(fd, QD_IOC_PUSH, &m) == 0) {
				if (m.len != len || m.type != type)
					fail("push changed len/type");
				record_push(p, seq++, &m, &last_id);
				continue;
			}
			if (errno == EMSGSIZE) {
				if (len + 8u <= MIN_RSIZE)
					fail("push len %u: EMSGSIZE but size >= %u",
					     len, MIN_RSIZE);
				STAT_INC(emsgsize_push);
				continue;
			}
			snprintf(detail, sizeof(detail), "len %u", len);
			check_wait_errno("push", errno, flags,
					 &sh->stop_producers, detail);
			continue;
		}
		/* batch: payloads laid out one after another in buf */
		{
			struct qd_batch b = { 0 };
			size_t off = 0;
			int ret;

			for (uint32_t i = 0; i < count; i++) {
				uint32_t len = rnd(3) ? rnd(64) : rnd(2000);
				uint32_t type = types[rnd(NTYPES)];

				gen_payload(buf + off, p, seq + i, type, len);
				msgs[i] = (struct qd_msg){ .data = (uintptr_t)(buf + off),
							   .len = len, .type = type };
				off += len > sizeof(struct phdr) ? len : sizeof(struct phdr);
			}
			b.msgs = (uintptr_t)msgs;
			b.count = count;
			b.flags = flags;
			b.timeout_ns = tmo;
			b.done = 0xdead;
			ret = ioctl(fd, QD_IOC_PUSH_BATCH, &b);
			if (ret == 0) {
				if (b.done < 1 || b.done > count)
					fail("push batch of %u returned 0 with done %u",
					     count, b.done);
				for (uint32_t i = 0; i < b.done; i++)
					record_push(p, seq++, &msgs[i], &last_id);
				STAT_INC(batch_push);
				continue;
			}
			if (b.done != 0)
				fail("push batch failed (%s) with done %u, not 0",
				     strerror(errno), b.done);
			snprintf(detail, sizeof(detail), "batch of %u", count);
			check_wait_errno("push batch", errno, flags,
					 &sh->stop_producers, detail);
		}
	}
	close(fd);
	_exit(0);
}

/* ---- consumers ---- */

struct held {
	uint64_t id;
	uint64_t e;	/* entry index */
};

static uint16_t my_slot;

static struct entry *new_entry(uint64_t *idx)
{
	uint64_t i = __atomic_fetch_add(&sh->nlog, 1, __ATOMIC_RELAXED);

	if (i >= log_cap)
		fail("consumer log full (%" PRIu64 " entries)", log_cap);
	*idx = i;
	return &entries[i];
}

static void set_kind(uint64_t e, enum ekind k)
{
	__atomic_store_n(&entries[e].kind, (uint8_t)k, __ATOMIC_RELEASE);
}

/* Verify a message handed out by a pop and log it; returns entry index. */
static uint64_t take(const struct qd_msg *m, const uint8_t *data,
		     uint32_t filter, uint32_t mflags, enum ekind kind)
{
	struct entry *e;
	uint64_t idx, now = now_rt_ns();
	struct phdr h;

	if (m->type == 0 || type_index(m->type) < 0)
		fail("pop returned type %u, never pushed", m->type);
	if (filter && !(mflags & QD_F_EXCEPT) && m->type != filter)
		fail("pop filter %u returned type %u", filter, m->type);
	if (filter && (mflags & QD_F_EXCEPT) && m->type == filter)
		fail("pop except %u returned type %u", filter, m->type);
	if (m->time_ns > now ||
	    m->time_ns + 1000000000ULL < (uint64_t)rt_start.tv_sec * 1000000000ULL)
		fail("id %llu: time_ns %llu outside the run",
		     (unsigned long long)m->id, (unsigned long long)m->time_ns);
	if (m->sender_uid != (uint32_t)geteuid())
		fail("id %llu: sender_uid %u", (unsigned long long)m->id,
		     m->sender_uid);
	e = new_entry(&idx);
	memset(e, 0, sizeof(*e));
	e->id = m->id;
	e->type = m->type;
	e->len = m->len;
	e->sender_pid = m->sender_pid;
	e->slot = my_slot;
	e->producer = UINT32_MAX;
	if (m->len >= sizeof(h)) {
		static uint8_t want[BUF_SIZE];

		memcpy(&h, data, sizeof(h));
		if (h.magic != PHDR_MAGIC || h.producer >= nprod ||
		    h.len != m->len || h.type != m->type)
			fail("id %llu type %u len %u: corrupt header (magic %#x producer %u len %u type %u)",
			     (unsigned long long)m->id, m->type, m->len,
			     h.magic, h.producer, h.len, h.type);
		gen_payload(want, h.producer, h.seq, h.type, h.len);
		if (memcmp(want, data, m->len))
			fail("id %llu producer %u seq %u len %u: payload corrupt",
			     (unsigned long long)m->id, h.producer, h.seq,
			     m->len);
		if (m->sender_pid != (uint32_t)sh->producer_pid[h.producer])
			fail("id %llu: sender_pid %u, producer %u is pid %d",
			     (unsigned long long)m->id, m->sender_pid,
			     h.producer, sh->producer_pid[h.producer]);
		e->producer = h.producer;
		e->seq = h.seq;
	} else {
		memcpy(e->prefix, data, m->len);
	}
	set_kind(idx, kind);
	return idx;
}

static void peek_check(const struct qd_msg *m, const uint8_t *data)
{
	static uint8_t want[BUF_SIZE];
	struct phdr h;

	if (type_index(m->type) < 0)
		fail("peek returned type %u, never pushed", m->type);
	if (m->len < sizeof(h))
		return;
	memcpy(&h, data, sizeof(h));
	if (h.magic != PHDR_MAGIC || h.producer >= nprod || h.len != m->len ||
	    h.type != m->type)
		fail("peek id %llu: corrupt header", (unsigned long long)m->id);
	gen_payload(want, h.producer, h.seq, h.type, h.len);
	if (memcmp(want, data, m->len))
		fail("peek id %llu: payload corrupt", (unsigned long long)m->id);
}

static void ack_one(int fd, const struct held *h, bool ack)
{
	set_kind(h->e, ack ? E_ACK_INTENT : E_NACK_INTENT);
	if (ioctl(fd, ack ? QD_IOC_ACK : QD_IOC_NACK, &h->id))
		fail("%s of held id %llu: %s", ack ? "ACK" : "NACK",
		     (unsigned long long)h->id, strerror(errno));
	set_kind(h->e, ack ? E_ACKED : E_NACKED);
	if (!ack)
		STAT_INC(nacks);
}

static void resolve_held(int fd, struct held *held, unsigned int *nheld,
			 unsigned int nack_pct)
{
	/* in random order */
	while (*nheld) {
		unsigned int i = rnd(*nheld);

		ack_one(fd, &held[i], rnd(100) >= nack_pct);
		held[i] = held[--*nheld];
	}
}

/* Sleep, holding reservations, until the parent SIGKILLs us. */
static void __attribute__((noreturn)) offer_to_die(int fd)
{
	bool in_pop = rnd(2);

	__atomic_store_n(&sh->slots[my_slot].state, S_OFFER, __ATOMIC_SEQ_CST);
	for (;;) {
		if (in_pop) {
			// cppcheck-suppress unassignedVariable ; a pop writes it via m.data
			uint8_t b[8];
			struct qd_msg m = { .data = (uintptr_t)b, .len = 8,
					    .type = PAUSE_TYPE };

			if (ioctl(fd, QD_IOC_POP, &m) == 0)
				fail("pop on type %u returned a message",
				     PAUSE_TYPE);
			if (errno != EINTR)
				fail("blocking pop on an absent type: %s",
				     strerror(errno));
		} else {
			pause();
		}
	}
}

static void consumer(uint16_t slot)
{
	static uint8_t bufs[MAX_BATCH][BUF_SIZE];
	struct held held[MAX_HELD + MAX_BATCH];
	unsigned int nheld = 0;
	int fd;

	my_slot = slot;
	seed_role(2, slot);
	child_setup();
	fd = open_dev();
	while (!stopping(&sh->stop_consumers)) {
		uint32_t r = rnd(100), flags, filter = 0, mflags = 0;
		int64_t tmo;
		char detail[96];

		wait_flags(&flags, &tmo);
		switch (rnd(4)) {
		case 0:
			filter = types[rnd(NTYPES)];
			break;
		case 1:
			filter = types[rnd(NTYPES)];
			mflags = QD_F_EXCEPT;
			break;
		default:
			break;
		}
		snprintf(detail, sizeof(detail), "filter %u%s", filter,
			 mflags ? " except" : "");

		if (r < 50 || (r >= 80 && nheld >= MAX_HELD)) {
			/* single pop: plain, peek or reserve */
			struct qd_msg m = { 0 };
			uint32_t kind = rnd(10), buflen = BUF_SIZE;

			if (kind < 2)
				mflags |= QD_F_PEEK;
			else if (kind < 5 && nheld < MAX_HELD)
				mflags |= QD_F_RESERVE;
			if (rnd(10) == 0)
				buflen = rnd(32);	/* may be too short */
			m.data = (uintptr_t)bufs[0];
			m.len = buflen;
			m.type = filter;
			m.flags = flags | mflags;
			m.timeout_ns = tmo;
			if (ioctl(fd, QD_IOC_POP, &m) == 0) {
				if (m.len > buflen)
					fail("pop returned len %u > buffer %u",
					     m.len, buflen);
				if (mflags & QD_F_PEEK) {
					peek_check(&m, bufs[0]);
					STAT_INC(peeks);
				} else if (mflags & QD_F_RESERVE) {
					held[nheld].id = m.id;
					held[nheld++].e = take(&m, bufs[0], filter,
							       mflags, E_RESERVED);
					STAT_INC(reserves);
				} else {
					take(&m, bufs[0], filter, mflags, E_POP);
				}
			} else if (errno == EMSGSIZE) {
				if (buflen == BUF_SIZE || m.len <= buflen)
					fail("pop into %u bytes: EMSGSIZE with len %u",
					     buflen, m.len);
				STAT_INC(emsgsize_pop);
			} else {
				check_wait_errno("pop", errno, flags | mflags,
						 &sh->stop_consumers, detail);
			}
		} else if (r < 80) {
			/* batch pop, some entries reserving */
			struct qd_msg msgs[MAX_BATCH];
			uint32_t ftype[MAX_BATCH], fflags[MAX_BATCH];
			struct qd_batch b = { 0 };
			uint32_t count = 1 + rnd(MAX_BATCH);

			for (uint32_t i = 0; i < count; i++) {
				uint32_t ef = 0, et = 0;

				if (rnd(3) == 0 && nheld + count <= MAX_HELD + MAX_BATCH)
					ef |= QD_F_RESERVE;
				if (rnd(4) == 0)
					et = types[rnd(NTYPES)];
				if (et && rnd(2))
					ef |= QD_F_EXCEPT;
				ftype[i] = et;
				fflags[i] = ef;
				msgs[i] = (struct qd_msg){ .data = (uintptr_t)bufs[i],
							   .len = BUF_SIZE,
							   .type = et, .flags = ef };
			}
			b.msgs = (uintptr_t)msgs;
			b.count = count;
			b.flags = flags;
			b.timeout_ns = tmo;
			b.done = 0xdead;
			if (ioctl(fd, QD_IOC_POP_BATCH, &b) == 0) {
				if (b.done < 1 || b.done > count)
					fail("pop batch of %u returned 0 with done %u",
					     count, b.done);
				for (uint32_t i = 0; i < b.done; i++) {
					bool res = fflags[i] & QD_F_RESERVE;
					uint64_t e;

					if (msgs[i].flags != fflags[i])
						fail("pop batch changed entry flags %#x to %#x",
						     fflags[i], msgs[i].flags);
					e = take(&msgs[i], bufs[i], ftype[i], fflags[i],
						 res ? E_RESERVED : E_POP);
					if (res) {
						held[nheld].id = msgs[i].id;
						held[nheld++].e = e;
						STAT_INC(reserves);
					}
				}
				STAT_INC(batch_pop);
			} else {
				if (b.done != 0)
					fail("pop batch failed (%s) with done %u",
					     strerror(errno), b.done);
				snprintf(detail, sizeof(detail), "batch of %u",
					 count);
				check_wait_errno("pop batch", errno, flags,
						 &sh->stop_consumers, detail);
			}
		} else {
			/* nothing new: deal with what we hold */
		}

		if (!nheld)
			continue;
		/* holding reservations: die, close, keep, or ack/nack them */
		r = rnd(1000);
		if (r < kill_permille &&
		    __atomic_load_n(&sh->stop_consumers, __ATOMIC_ACQUIRE) == 0)
			offer_to_die(fd);
		if (r >= 990) {
			for (unsigned int i = 0; i < nheld; i++)
				set_kind(held[i].e, E_CLOSED);
			/* mark first: once closed, another may have them */
			close(fd);
			nheld = 0;
			STAT_INC(closes_holding);
			fd = open_dev();
			continue;
		}
		if (r >= 700 && nheld < MAX_HELD)
			continue;	/* keep them over the next pop */
		resolve_held(fd, held, &nheld, 10);
	}
	resolve_held(fd, held, &nheld, 0);
	close(fd);
	_exit(0);
}

/* ---- resizer ---- */

static int set_size(int fd, uint64_t size, bool via_sysfs)
{
	char path[256], buf[32];
	int sfd, n;

	if (!via_sysfs)
		return ioctl(fd, QD_IOC_SET_SIZE, &size) ? errno : 0;
	snprintf(path, sizeof(path), "%s/size", sysfs_dir);
	sfd = open(path, O_WRONLY | O_CLOEXEC);
	if (sfd < 0)
		fail("open %s: %s", path, strerror(errno));
	n = snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)size);
	STAT_INC(sysfs_resizes);
	if (write(sfd, buf, n) != n) {
		int err = errno;

		close(sfd);
		return err;
	}
	close(sfd);
	return 0;
}

static void resizer(void)
{
	static uint8_t buf[BUF_SIZE];
	uint64_t cur = sh->cur_size;
	struct qd_stats st;
	int fd;

	my_slot = SLOT_RESIZER;
	seed_role(3, 0);
	child_setup();
	fd = open_dev();
	while (!stopping(&sh->stop_resizer)) {
		uint32_t r = rnd(10);
		bool sysfs = rnd(4) == 0;

		get_stats(fd, &st);
		check_stats(&st, "resizer stats");
		if (st.size != cur)
			fail("size %llu, but the resizer set %llu",
			     (unsigned long long)st.size, (unsigned long long)cur);
		if (r < 3) {
			/* hold a message of known length and shrink below it */
			struct qd_msg m = { .data = (uintptr_t)buf,
					    .len = BUF_SIZE,
					    .flags = QD_F_NONBLOCK | QD_F_RESERVE };
			struct held h;

			if (ioctl(fd, QD_IOC_POP, &m)) {
				if (errno != EAGAIN)
					fail("resizer reserve: %s", strerror(errno));
				STAT_INC(eagain);
			} else {
				h.id = m.id;
				h.e = take(&m, buf, 0, 0, E_RESERVED);
				STAT_INC(reserves);
				if (m.len + 8u > QD_MIN_SIZE) {
					uint64_t target = QD_MIN_SIZE +
							  rnd(m.len + 8 - QD_MIN_SIZE);
					int err = set_size(fd, target, sysfs);

					if (err != EBUSY)
						fail("resize to %llu while holding a %u-byte message: %s, not EBUSY",
						     (unsigned long long)target,
						     m.len + 8, err ? strerror(err) : "success");
					STAT_INC(ebusy_forced);
				}
				ack_one(fd, &h, rnd(2));
			}
		} else {
			uint64_t target = MIN_RSIZE + rnd(MAX_RSIZE - MIN_RSIZE + 1);
			int err;

			if (rnd(4) == 0)
				target = cur / 2 < MIN_RSIZE ? MIN_RSIZE : cur / 2;
			err = set_size(fd, target, sysfs);
			if (err == 0) {
				cur = target;
				__atomic_store_n(&sh->cur_size, cur, __ATOMIC_RELEASE);
				if (target >= st.size)
					STAT_INC(grows);
				else
					STAT_INC(shrinks);
			} else if (err == EBUSY && target < cur) {
				STAT_INC(ebusy_shrinks);
			} else {
				fail("resize %llu -> %llu%s: %s",
				     (unsigned long long)cur,
				     (unsigned long long)target,
				     sysfs ? " (sysfs)" : "", strerror(err));
			}
			get_stats(fd, &st);
			check_stats(&st, "stats after resize");
			if (st.size != cur)
				fail("size %llu after resize to %llu (%s)",
				     (unsigned long long)st.size,
				     (unsigned long long)target,
				     err ? strerror(err) : "success");
		}
		usleep(500 + rnd(3000));
	}
	close(fd);
	_exit(0);
}

/* ---- parent ---- */

static pid_t spawn(void (*fn)(void), int slot, uint32_t arg, int kind)
{
	pid_t pid;

	fflush(NULL);
	/* before fork: the child may set S_OFFER at once */
	if (slot >= 0)
		__atomic_store_n(&sh->slots[slot].state, S_LIVE, __ATOMIC_SEQ_CST);
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		if (kind == 1)
			producer(arg);
		else if (kind == 2)
			consumer((uint16_t)slot);
		else
			fn();
		_exit(0);
	}
	if (slot >= 0)
		sh->slots[slot].pid = pid;
	return pid;
}

static int new_consumer(void)
{
	int slot;

	if (nslots >= MAX_SLOTS)
		return -1;
	slot = nslots++;
	spawn(NULL, slot, 0, 2);
	return slot;
}

/* Reap children; kill offering consumers; replace them if asked. */

static void child_exited(pid_t pid, int status)
{
	const char *who = "child";

	for (unsigned int p = 0; p < nprod; p++)
		if (prod_pids[p] == pid) {
			prod_pids[p] = 0;
			prod_live--;
			who = "producer";
		}
	if (pid == resizer_pid) {
		resizer_pid = 0;
		who = "resizer";
	}
	for (int s = SLOT_FIRST; s < nslots; s++)
		if (sh->slots[s].pid == pid) {
			who = "consumer";
			if (sh->slots[s].state == S_DEAD)
				return;
			sh->slots[s].state = S_DONE;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		if (!sh->failed) {
			sh->failed = 1;
			snprintf(sh->fail, sizeof(sh->fail),
				 "%s pid %d %s %d", who, pid,
				 WIFEXITED(status) ? "exited with" : "killed by signal",
				 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		}
	}
}

static void reap(bool replace)
{
	int status;
	pid_t pid;

	for (int s = SLOT_FIRST; s < nslots; s++) {
		if (__atomic_load_n(&sh->slots[s].state, __ATOMIC_SEQ_CST) != S_OFFER)
			continue;
		kill(sh->slots[s].pid, SIGKILL);
		if (waitpid(sh->slots[s].pid, &status, 0) < 0)
			fail("waitpid: %s", strerror(errno));
		sh->slots[s].state = S_DEAD;
		sh->pause_kills++;
		if (replace && !sh->failed)
			new_consumer();
	}
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		child_exited(pid, status);
}

static int live_consumers(void)
{
	int n = 0;

	for (int s = SLOT_FIRST; s < nslots; s++)
		if (sh->slots[s].state == S_LIVE || sh->slots[s].state == S_OFFER)
			n++;
	return n;
}

/* Say where each remaining child is, before giving up on it. */
static void dump_child(const char *who, int idx, pid_t pid)
{
	char path[64], buf[256];
	const char *files[] = { "wchan", "syscall", "stack" };

	fprintf(stderr, "stress: %s %d pid %d still running:\n", who, idx, pid);
	for (unsigned int i = 0; i < 3; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/%s", pid, files[i]);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(buf, sizeof(buf), f))
			fprintf(stderr, "stress:   %s: %s%s", files[i], buf,
				strchr(buf, '\n') ? "" : "\n");
		fclose(f);
	}
}

static void dump_children(void)
{
	for (unsigned int p = 0; p < nprod; p++)
		if (prod_pids[p] > 0)
			dump_child("producer", (int)p, prod_pids[p]);
	if (resizer_pid > 0)
		dump_child("resizer", 0, resizer_pid);
	for (int s = SLOT_FIRST; s < nslots; s++)
		if (sh->slots[s].state == S_LIVE || sh->slots[s].state == S_OFFER)
			dump_child(sh->slots[s].state == S_LIVE ? "consumer" :
				   "offering consumer", s, sh->slots[s].pid);
}

static void nudge(int kind)
{
	if (kind == 0) {
		for (unsigned int p = 0; p < nprod; p++)
			if (prod_pids[p])
				kill(prod_pids[p], SIGUSR1);
	} else {
		for (int s = SLOT_FIRST; s < nslots; s++)
			if (sh->slots[s].state == S_LIVE)
				kill(sh->slots[s].pid, SIGUSR1);
		if (resizer_pid)
			kill(resizer_pid, SIGUSR1);
	}
}

static void drain(int fd)
{
	static uint8_t buf[BUF_SIZE];

	my_slot = SLOT_DRAIN;
	for (;;) {
		struct qd_msg m = { .data = (uintptr_t)buf, .len = BUF_SIZE,
				    .flags = QD_F_NONBLOCK };

		if (ioctl(fd, QD_IOC_POP, &m)) {
			if (errno != EAGAIN)
				fail("drain pop: %s", strerror(errno));
			return;
		}
		take(&m, buf, 0, 0, E_POP);
	}
}

static int cmp_prec(const void *a, const void *b)
{
	const struct prec *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static const struct prec *find_prec(const struct prec *sorted, uint64_t n,
				    uint64_t id)
{
	uint64_t lo = 0, hi = n;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (sorted[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && sorted[lo].id == id ? &sorted[lo] : NULL;
}

struct counters {
	uint64_t pushes, pops, requeued, timeouts;
};

static void read_counters(struct counters *c)
{
	c->pushes = sysfs_read("pushes");
	c->pops = sysfs_read("pops");
	c->requeued = sysfs_read("requeued");
	c->timeouts = sysfs_read("timeouts");
}

#define MAX_REPORT 10
static unsigned int nerrors;

static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void problem(const char *fmt, ...)
{
	va_list ap;

	if (nerrors++ >= MAX_REPORT)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "stress: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

static void analyse(const struct counters *c0, const struct counters *c1)
{
	uint64_t n = sh->npush, nlog = sh->nlog;
	struct prec *sorted = malloc(n * sizeof(*sorted) + 1);
	uint32_t *consumed = calloc(n + 1, sizeof(*consumed));
	uint32_t *intents = calloc(n + 1, sizeof(*intents));
	uint8_t *requeued = calloc(n + 1, 1);
	uint16_t *by_slot = calloc(n + 1, sizeof(*by_slot));
	uint64_t *maxid = calloc((size_t)nslots * NTYPES, sizeof(*maxid));
	uint64_t *per_prod = calloc(nprod, sizeof(*per_prod));
	uint64_t **ids = calloc(nprod, sizeof(*ids));
	uint64_t pops = 0, acks = 0, requeues = 0, died_holding = 0, fifo_checked = 0;
	uint8_t want[sizeof(struct phdr)];

	if (!sorted || !consumed || !intents || !requeued || !by_slot ||
	    !maxid || !per_prod || !ids)
		fail("out of memory for the analysis");
	memcpy(sorted, precs, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_prec);

	/* pushes: unique ids, every seq once, ids increase with seq */
	for (uint64_t i = 0; i < n; i++) {
		if (i && sorted[i].id == sorted[i - 1].id)
			problem("id %llu returned by two pushes",
				(unsigned long long)sorted[i].id);
		per_prod[sorted[i].producer]++;
	}
	for (unsigned int p = 0; p < nprod; p++) {
		ids[p] = calloc(per_prod[p] + 1, sizeof(uint64_t));
		if (!ids[p])
			fail("out of memory");
	}
	for (uint64_t i = 0; i < n; i++) {
		const struct prec *r = &sorted[i];

		if (r->seq >= per_prod[r->producer] || ids[r->producer][r->seq])
			problem("producer %u seq %u pushed twice or out of range",
				r->producer, r->seq);
		else
			ids[r->producer][r->seq] = r->id;
	}
	for (unsigned int p = 0; p < nprod; p++)
		for (uint64_t s = 1; s < per_prod[p]; s++)
			if (ids[p][s] <= ids[p][s - 1])
				problem("producer %u: seq %llu got id %llu after id %llu (push order lost)",
					p, (unsigned long long)s,
					(unsigned long long)ids[p][s],
					(unsigned long long)ids[p][s - 1]);

	/* first pass: identity of every handed-out message, requeue set */
	for (uint64_t i = 0; i < nlog; i++) {
		const struct entry *e = &entries[i];
		const struct prec *r = find_prec(sorted, n, e->id);
		uint64_t k;
		int st;

		if (e->kind == E_NONE) {
			problem("log entry %llu never written", (unsigned long long)i);
			continue;
		}
		if (!r) {
			problem("slot %u got id %llu that no push returned",
				e->slot, (unsigned long long)e->id);
			continue;
		}
		k = (uint64_t)(r - sorted);
		if (r->type != e->type || r->len != e->len)
			problem("id %llu: pushed type %u len %u, got type %u len %u",
				(unsigned long long)e->id, r->type, r->len,
				e->type, e->len);
		if (e->sender_pid != (uint32_t)sh->producer_pid[r->producer])
			problem("id %llu: sender_pid %u, pushed by pid %d",
				(unsigned long long)e->id, e->sender_pid,
				sh->producer_pid[r->producer]);
		if (e->len >= sizeof(struct phdr)) {
			if (e->producer != r->producer || e->seq != r->seq)
				problem("id %llu: payload says producer %u seq %u, pushed as producer %u seq %u",
					(unsigned long long)e->id, e->producer,
					e->seq, r->producer, r->seq);
		} else {
			uint8_t full[sizeof(struct phdr)];

			gen_payload(full, r->producer, r->seq, r->type, r->len);
			memcpy(want, full, sizeof(want));
			if (memcmp(want, e->prefix, e->len))
				problem("id %llu (producer %u seq %u len %u): payload corrupt",
					(unsigned long long)e->id, r->producer,
					r->seq, r->len);
		}
		st = sh->slots[e->slot].state;
		switch (e->kind) {
		case E_POP:
			pops++;
			consumed[k]++;
			by_slot[k] = e->slot;
			break;
		case E_ACKED:
			acks++;
			consumed[k]++;
			by_slot[k] = e->slot;
			break;
		case E_ACK_INTENT:
			/* only a dead consumer can leave one */
			if (st != S_DEAD)
				problem("slot %u (exited normally) left id %llu in ack-intent",
					e->slot, (unsigned long long)e->id);
			intents[k]++;
			break;
		case E_RESERVED:
			if (st != S_DEAD)
				problem("slot %u exited holding id %llu",
					e->slot, (unsigned long long)e->id);
			died_holding++;
			/* fall through */
		case E_NACK_INTENT:
		case E_NACKED:
		case E_CLOSED:
			requeues++;
			requeued[k] = 1;
			break;
		default:
			problem("log entry %llu: bad kind %u",
				(unsigned long long)i, e->kind);
		}
	}
	/* exactly once */
	for (uint64_t k = 0; k < n; k++) {
		const struct prec *r = &sorted[k];

		if (consumed[k] == 0 && intents[k]) {
			/* the ack of a dying consumer completed */
			consumed[k] = 1;
			acks++;
		}
		if (consumed[k] != 1)
			problem("producer %u seq %u id %llu type %u len %u: consumed %u times",
				r->producer, r->seq, (unsigned long long)r->id,
				r->type, r->len, consumed[k]);
	}
	/* what a killed consumer held was consumed by someone else */
	for (uint64_t i = 0; i < nlog; i++) {
		const struct entry *e = &entries[i];
		const struct prec *r;

		if (e->kind != E_RESERVED)
			continue;
		r = find_prec(sorted, n, e->id);
		if (r && consumed[r - sorted] == 1 && by_slot[r - sorted] == e->slot)
			problem("id %llu held by killed slot %u was consumed by it",
				(unsigned long long)e->id, e->slot);
	}
	/* FIFO per consumer per type, in hand-out order */
	for (uint64_t i = 0; i < nlog; i++) {
		const struct entry *e = &entries[i];
		const struct prec *r = find_prec(sorted, n, e->id);
		int t = type_index(e->type);
		uint64_t *mx;

		if (!r || t < 0)
			continue;
		mx = &maxid[(size_t)e->slot * NTYPES + t];
		if (e->id < *mx && !requeued[r - sorted])
			problem("FIFO: slot %u got id %llu (type %u, never requeued) after id %llu",
				e->slot, (unsigned long long)e->id, e->type,
				(unsigned long long)*mx);
		if (e->id > *mx)
			*mx = e->id;
		fifo_checked++;
	}
	/* counters */
	if (c1->pushes - c0->pushes != n)
		problem("sysfs pushes moved by %llu, the run pushed %llu",
			(unsigned long long)(c1->pushes - c0->pushes),
			(unsigned long long)n);
	if (c1->pops - c0->pops != pops + acks)
		problem("sysfs pops moved by %llu, the run popped %llu and acked %llu",
			(unsigned long long)(c1->pops - c0->pops),
			(unsigned long long)pops, (unsigned long long)acks);
	if (c1->requeued - c0->requeued != requeues)
		problem("sysfs requeued moved by %llu, the run requeued %llu",
			(unsigned long long)(c1->requeued - c0->requeued),
			(unsigned long long)requeues);
	if (c1->timeouts - c0->timeouts != sh->etimedout)
		problem("sysfs timeouts moved by %llu, the run saw %llu ETIMEDOUT",
			(unsigned long long)(c1->timeouts - c0->timeouts),
			(unsigned long long)sh->etimedout);
	if (sh->ebusy_forced == 0)
		problem("no shrink below a held message was tried (EBUSY path not exercised)");

	printf("stress: seed %" PRIu64 ", %u producers, %u consumers (%d started), %u s\n",
	       seed, nprod, ncons, nslots - SLOT_FIRST, seconds);
	printf("stress: pushed %llu (batches %llu), popped %llu, acked %llu, requeued %llu (nacks %llu, closes %llu, killed %llu holding %llu)\n",
	       (unsigned long long)n, (unsigned long long)sh->batch_push,
	       (unsigned long long)pops, (unsigned long long)acks,
	       (unsigned long long)requeues, (unsigned long long)sh->nacks,
	       (unsigned long long)sh->closes_holding,
	       (unsigned long long)sh->pause_kills,
	       (unsigned long long)died_holding);
	printf("stress: peeks %llu, pop batches %llu, reserves %llu, EAGAIN %llu, ETIMEDOUT %llu, EMSGSIZE push %llu pop %llu\n",
	       (unsigned long long)sh->peeks, (unsigned long long)sh->batch_pop,
	       (unsigned long long)sh->reserves, (unsigned long long)sh->eagain,
	       (unsigned long long)sh->etimedout,
	       (unsigned long long)sh->emsgsize_push,
	       (unsigned long long)sh->emsgsize_pop);
	printf("stress: resizes: %llu grows, %llu shrinks, %llu shrinks refused EBUSY, %llu forced EBUSY, %llu via sysfs\n",
	       (unsigned long long)sh->grows, (unsigned long long)sh->shrinks,
	       (unsigned long long)sh->ebusy_shrinks,
	       (unsigned long long)sh->ebusy_forced,
	       (unsigned long long)sh->sysfs_resizes);
	printf("stress: checked %llu messages for exactly-once delivery and %llu hand-outs for FIFO order: %s\n",
	       (unsigned long long)n, (unsigned long long)fifo_checked,
	       nerrors ? "PROBLEMS above" : "all good");
}

static void usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: stress [options]\n"
		"  -s, --seconds N         run time (default 60)\n"
		"  -S, --seed N            random seed (default: time)\n"
		"  -p, --producers N       producer processes (default 4, max %d)\n"
		"  -c, --consumers N       consumer processes (default 4, max %d)\n"
		"  -k, --kill-permille N   chance a consumer holding reservations\n"
		"                          offers to be SIGKILLed, per mille (default 30)\n"
		"  -m, --max-messages N    stop pushing after N (default 2000000)\n"
		"  -d, --device PATH       (default /dev/queue_driver)\n"
		"  -v, --verbose\n",
		MAX_PRODUCERS, MAX_CONSUMERS);
	exit(status);
}

static unsigned long long num_arg(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || !*s || *end) {
		fprintf(stderr, "stress: bad %s: %s\n", what, s);
		exit(64);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'S' },
		{ "producers", required_argument, NULL, 'p' },
		{ "consumers", required_argument, NULL, 'c' },
		{ "kill-permille", required_argument, NULL, 'k' },
		{ "max-messages", required_argument, NULL, 'm' },
		{ "device", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct counters c0, c1;
	struct qd_stats st;
	size_t shsize;
	double deadline, t;
	uint64_t initial_size;
	int fd, opt, status;
	bool seeded = false;
	pid_t pid;

	while ((opt = getopt_long(argc, argv, "s:S:p:c:k:m:d:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 's': seconds = (unsigned int)num_arg(optarg, "seconds"); break;
		case 'S': seed = num_arg(optarg, "seed"); seeded = true; break;
		case 'p': nprod = (unsigned int)num_arg(optarg, "producers"); break;
		case 'c': ncons = (unsigned int)num_arg(optarg, "consumers"); break;
		case 'k': kill_permille = (unsigned int)num_arg(optarg, "kill-permille"); break;
		case 'm': max_push = num_arg(optarg, "max-messages"); break;
		case 'd': dev_path = optarg; break;
		case 'v': verbose = true; break;
		case 'h': usage(0); break;
		default: usage(64);
		}
	}
	if (optind != argc || !nprod || nprod > MAX_PRODUCERS || !ncons ||
	    ncons > MAX_CONSUMERS || kill_permille > 1000 || max_push < 100)
		usage(64);
	parent_pid = getpid();
	if (!seeded)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
	printf("stress: seed %" PRIu64 " (replay with --seed %" PRIu64 ")\n", seed, seed);
	fflush(stdout);
	clock_gettime(CLOCK_REALTIME, &rt_start);
	log_cap = max_push * 3 + 100000;

	shsize = sizeof(*sh);
	sh = mmap(NULL, shsize, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	precs = mmap(NULL, max_push * sizeof(*precs), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	entries = mmap(NULL, log_cap * sizeof(*entries), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (sh == MAP_FAILED || precs == MAP_FAILED || entries == MAP_FAILED) {
		sh = NULL;
		fail("mmap of the shared logs: %s", strerror(errno));
	}

	fd = open_dev();
	get_stats(fd, &st);
	check_stats(&st, "initial stats");
	if (st.messages || st.reserved)
		fail("device not idle at start: %llu messages, %llu reserved",
		     (unsigned long long)st.messages,
		     (unsigned long long)st.reserved);
	initial_size = st.size;
	sh->cur_size = st.size;
	if (st.size < MIN_RSIZE || st.size > MAX_RSIZE)
		fail("initial size %llu outside [%u, %u]",
		     (unsigned long long)st.size, MIN_RSIZE, MAX_RSIZE);
	read_counters(&c0);

	/* children inherit it: a SIGUSR1 never finds one without it */
	child_setup();
	for (unsigned int p = 0; p < nprod; p++) {
		prod_pids[p] = spawn(NULL, -1, p, 1);
		sh->producer_pid[p] = prod_pids[p];
		prod_live++;
	}
	/* producer pids must be visible to consumers before they pop */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	resizer_pid = spawn(resizer, -1, 0, 3);
	sh->slots[SLOT_RESIZER].pid = resizer_pid;
	sh->slots[SLOT_RESIZER].state = S_LIVE;
	sh->slots[SLOT_DRAIN].state = S_LIVE;
	for (unsigned int i = 0; i < ncons; i++)
		new_consumer();

	deadline = now_mono() + seconds;
	while (now_mono() < deadline && !sh->failed) {
		reap(true);
		if (prod_live != (int)nprod && !sh->failed)
			break;	/* --max-messages reached */
		usleep(1000);
	}
	if (verbose)
		fprintf(stderr, "stress: stopping producers\n");
	__atomic_store_n(&sh->stop_producers, 1, __ATOMIC_SEQ_CST);
	for (t = now_mono(); prod_live > 0; usleep(2000)) {
		nudge(0);
		reap(false);
		if (now_mono() - t > 60) {
			dump_children();
			fail("producers did not stop within 60 s of the signal");
		}
	}
	if (verbose)
		fprintf(stderr, "stress: stopping consumers\n");
	__atomic_store_n(&sh->stop_consumers, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sh->stop_resizer, 1, __ATOMIC_SEQ_CST);
	for (t = now_mono(); live_consumers() > 0 || resizer_pid; usleep(2000)) {
		nudge(1);
		reap(false);
		if (now_mono() - t > 60) {
			dump_children();
			fail("consumers did not stop within 60 s of the signal");
		}
	}
	while ((pid = waitpid(-1, &status, 0)) > 0)
		child_exited(pid, status);
	if (sh->failed)
		fail("%s", sh->fail);

	get_stats(fd, &st);
	check_stats(&st, "stats after the run");
	if (st.reserved)
		fail("%llu messages still reserved with every consumer gone",
		     (unsigned long long)st.reserved);
	drain(fd);
	status = set_size(fd, initial_size, false);
	if (status)
		fail("restoring size %llu: %s", (unsigned long long)initial_size,
		     strerror(status));
	get_stats(fd, &st);
	check_stats(&st, "stats after the drain");
	if (st.messages || st.used || st.reserved || st.size != initial_size)
		fail("queue not empty after the drain: messages %llu used %llu reserved %llu size %llu",
		     (unsigned long long)st.messages, (unsigned long long)st.used,
		     (unsigned long long)st.reserved, (unsigned long long)st.size);
	read_counters(&c1);
	if (c1.pushes != st.pushes || c1.pops != st.pops ||
	    c1.requeued != st.requeued || c1.timeouts != st.timeouts)
		fail("sysfs counters differ from QD_IOC_STATS");
	close(fd);

	analyse(&c0, &c1);
	if (nerrors) {
		fprintf(stderr, "stress: FAIL: %u problems (seed %" PRIu64 ")\n",
			nerrors, seed);
		return 1;
	}
	printf("stress: OK\n");
	return 0;
}
