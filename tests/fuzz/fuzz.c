// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz - throw random and boundary ioctls, reads and writes at
 * /dev/queue_driver from several threads, while another thread closes,
 * reopens and resizes, and check that every call returns what the contract
 * (driver/DESIGN.md) allows for exactly the arguments it was given.
 *
 * Each call is built from random parts: the command (the eight real ones,
 * the real ones with another size or direction, other numbers in 0xE8,
 * random numbers), the argument pointer (valid, unaligned, NULL, kernel,
 * non-canonical, straddling a guard page, read-only), the struct fields
 * (len 0, max, max + 1, 2^32 - 1; types 0 and ~0; known and unknown flags;
 * negative, zero and huge timeouts with and without QD_F_TIMEOUT; reserved
 * fields set; batch counts 0, 1, 1024, 1025, 2^32 - 1) and the data
 * pointers. From the arguments alone the fuzzer computes the set of
 * results the contract allows (e.g. a readable struct with a reserved field
 * set: EINVAL and nothing else; an unknown command: ENOTTY; a valid pop
 * into a writable buffer: 0, EAGAIN, EINTR, EMSGSIZE, ETIMEDOUT with
 * QD_F_TIMEOUT, never EFAULT) and fails, printing the call, on anything
 * else. Successful calls are checked too (a pop's length, type filter, and
 * the buffer bytes past the message untouched; a batch's done count not
 * past its first invalid entry; every QD_IOC_STATS snapshot consistent).
 *
 * Nothing hangs: a ticker thread sends SIGUSR1 (no SA_RESTART) to the
 * fuzzing threads every few milliseconds, so blocking calls end in EINTR.
 *
 * The run is cut in phases; between phases every thread stops and the
 * queue's invariants are checked: QD_IOC_STATS consistent (used + free ==
 * size, messages == 0 iff used == 0, used >= 8 * messages, reserved <=
 * messages, messages == pushes - pops), sysfs and debugfs stats equal to
 * it, the debugfs message list adding up to messages, reserved and used,
 * counters never going back. At the end every fd is closed, the queue
 * drained and its size restored. The kernel log is checked by scripts/vm.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/queue_driver.h>

#define NFD		4
#define MAX_THREADS	32
#define PAGE		4096u
#define RW_SIZE		(512u * 1024)
#define ZONE_STRUCT	0u			/* structs: [0, 4K) */
#define ZONE_ARRAY	PAGE			/* batch arrays: [4K, 64K+4K) */
#define ZONE_DATA	(128u * 1024)		/* buffers: [128K, 512K) */
#define CANARY		0xc5
#define KERNEL_PTR	0xffff888000000000ULL
#define NONCANON_PTR	0x8000000000000000ULL

/* ---- allowed results: a bit per errno we know, plus success ---- */
static const int errs[] = { 0, EINVAL, EMSGSIZE, EFAULT, EAGAIN, ETIMEDOUT,
			    EINTR, ENOTTY, ENOENT, EBUSY, EBADF, ENOMEM, EPERM };
#define NERRS	(sizeof(errs) / sizeof(errs[0]))

static unsigned int ebit(int e)
{
	for (unsigned int i = 0; i < NERRS; i++)
		if (errs[i] == e)
			return 1u << i;
	return 0;
}

#define OK	ebit(0)

static const char *ename(int e)
{
	const char *n = e ? strerrorname_np(e) : "success";

	return n ? n : "unknown errno";
}

static void set_str(unsigned int set, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = 0;
	for (unsigned int i = 0; i < NERRS; i++)
		if (set & (1u << i))
			n += snprintf(buf + n, n < size ? size - n : 0, "%s%s",
				      n ? "," : "", ename(errs[i]));
}

/* ---- shared state ---- */
static const char *dev_path = "/dev/queue_driver";
static const char *sysfs_dir = "/sys/class/misc/queue_driver";
static const char *debugfs_dir = "/sys/kernel/debug/queue_driver";
static unsigned int nthreads = 4, phase_ms = 2000;
static uint64_t seed, max_calls = UINT64_MAX, max_size;
static unsigned int seconds = 60;
static bool no_close, verbose;

static int fds[NFD];
static unsigned int fd_gen[NFD];	/* odd while closed by the chaos thread */
static int phase_stop, all_stop;
static pthread_barrier_t bar;
static uint64_t total_calls, total_ok;
static uint64_t stat_calls[16][NERRS + 1];
static uint64_t stat_ns[16];

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz: FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (seed %" PRIu64 ")\n", seed);
	fflush(stderr);
	_exit(1);
}

struct rng {
	uint64_t s;
};

static uint64_t rnd64(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t rnd(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(rnd64(r) % n) : 0;
}

/* ---- per-thread memory and pointers ---- */

struct mem {
	uint8_t *rw;	/* RW_SIZE, then a guard page, an RO page, a guard page */
	uint8_t *ro;
};

/* Whether a user range is accessible for a given length. */
enum acc { GOOD, BAD, EITHER };

struct uptr {
	uint64_t p;
	enum acc rd, wr;
	uint64_t wr_room;	/* writable bytes from p on */
	const char *kind;
};

static enum acc acc_for(bool ok, uint64_t len)
{
	if (len == 0)	/* a zero-length copy may or may not look */
		return ok ? GOOD : EITHER;
	return ok ? GOOD : BAD;
}

/* A data pointer for a buffer of @len bytes in zone [lo, hi) of rw. */
static struct uptr gen_ptr(struct rng *r, struct mem *m, uint64_t len,
			   uint32_t lo, uint32_t hi)
{
	struct uptr u = { 0 };
	uint32_t k;

	switch (rnd(r, 16)) {
	default: /* valid, aligned or not */
		k = lo + rnd(r, (hi - lo) / 2);
		if (rnd(r, 3) == 0)
			k |= 1 + rnd(r, 7);
		u.p = (uintptr_t)(m->rw + k);
		u.kind = "rw";
		u.rd = u.wr = acc_for(len <= RW_SIZE - k, len);
		u.wr_room = RW_SIZE - k;
		break;
	case 8: /* ends at or just before the guard page */
		k = rnd(r, 64);
		u.p = (uintptr_t)(m->rw + RW_SIZE - k);
		u.kind = "edge";
		u.rd = u.wr = acc_for(len <= k, len);
		u.wr_room = k;
		break;
	case 9:
		u.p = 0;
		u.kind = "NULL";
		u.rd = u.wr = acc_for(false, len);
		break;
	case 10:
		u.p = KERNEL_PTR + rnd(r, 4096);
		u.kind = "kernel";
		u.rd = u.wr = acc_for(false, len);
		break;
	case 11:
		u.p = NONCANON_PTR | rnd64(r);
		u.kind = "non-canonical";
		u.rd = u.wr = acc_for(false, len);
		break;
	case 12:
		u.p = (uintptr_t)(m->rw + RW_SIZE + rnd(r, PAGE));
		u.kind = "guard";
		u.rd = u.wr = acc_for(false, len);
		break;
	case 13:
		k = rnd(r, PAGE);
		u.p = (uintptr_t)(m->ro + k);
		u.kind = "read-only";
		u.rd = acc_for(len <= PAGE - k, len);
		u.wr = acc_for(false, len);
		break;
	}
	return u;
}

/* Where the ioctl's own struct goes. */
enum spk { S_OK, S_UNALIGNED, S_NULL, S_KERNEL, S_STRADDLE, S_RO };

static const char *const spk_name[] = { "rw", "unaligned", "NULL", "kernel",
					"straddling the guard", "read-only" };

/* Read-only page contents, fixed at start (offsets in the RO page). */
#define RO_PUSH		0	/* struct qd_msg: valid nonblocking push */
#define RO_POP		64	/* struct qd_msg: valid nonblocking pop */
#define RO_BATCH	128	/* struct qd_batch: valid pop batch of 1 */
#define RO_U64		192	/* u64: 65536 */
#define RO_DATA		256	/* 16 bytes of payload */

static enum spk pick_spk(struct rng *r)
{
	uint32_t x = rnd(r, 19);

	if (x < 13)
		return S_OK;
	if (x < 15)
		return S_UNALIGNED;
	return (enum spk)(x - 13);	/* 15..18 -> NULL..RO */
}

/* Place a struct of @size for the call; returns the user address. */
static uint64_t place(struct mem *m, enum spk k, const void *s, size_t size,
		      uint32_t ro_off, struct rng *r)
{
	uint8_t *p;

	switch (k) {
	case S_OK:
		p = m->rw + ZONE_STRUCT + 64;
		break;
	case S_UNALIGNED:
		p = m->rw + ZONE_STRUCT + 64 + 1 + rnd(r, 7);
		break;
	case S_NULL:
		return 0;
	case S_KERNEL:
		return KERNEL_PTR;
	case S_STRADDLE:
		p = m->rw + RW_SIZE - 1 - rnd(r, (uint32_t)size - 1);
		memcpy(p, s, m->rw + RW_SIZE - p);
		return (uintptr_t)p;
	default:
		return (uintptr_t)(m->ro + ro_off);
	}
	memcpy(p, s, size);
	return (uintptr_t)p;
}

/* ---- field generators ---- */

static uint32_t gen_len(struct rng *r, uint32_t cur_max)
{
	switch (rnd(r, 12)) {
	case 0: return 0;
	case 1: return cur_max;
	case 2: return cur_max + 1;
	case 3: return UINT32_MAX;
	case 4: return (uint32_t)max_size - 8 + rnd(r, 3);
	case 5: return 1u << (rnd(r, 32));
	case 6: return 2000 + rnd(r, 70000);
	default: return rnd(r, 200);
	}
}

static uint32_t gen_type(struct rng *r)
{
	static const uint32_t t[] = { QD_TYPE_LOG, QD_TYPE_JOB, 1, 2, 3 };

	switch (rnd(r, 10)) {
	case 0: return 0;
	case 1: return UINT32_MAX;
	case 2: return (uint32_t)rnd64(r);
	default: return t[rnd(r, 5)];
	}
}

static uint32_t gen_flags(struct rng *r, uint32_t mask)
{
	switch (rnd(r, 10)) {
	case 0: return (uint32_t)rnd64(r);
	case 1: return 1u << rnd(r, 32);
	default: return (uint32_t)rnd64(r) & mask;
	}
}

static int64_t gen_timeout(struct rng *r, uint32_t flags)
{
	switch (rnd(r, 10)) {
	case 0: return -1;
	case 1: return INT64_MIN;
	case 2: return INT64_MAX;
	case 3: return (int64_t)rnd64(r);
	case 4: return 1;
	default:
		return (flags & QD_F_TIMEOUT) ? (int64_t)rnd(r, 2000000) : 0;
	}
}

static uint32_t gen_reserved(struct rng *r)
{
	return rnd(r, 8) ? 0 : 1u << rnd(r, 32);
}

static bool timeout_ok(uint32_t flags, int64_t t)
{
	return (flags & QD_F_TIMEOUT) ? t >= 0 : t == 0;
}

/* The results a wait may end in, for a call that may wait. */
static unsigned int wait_errs(uint32_t flags)
{
	unsigned int s = ebit(EAGAIN);	/* the fd may be O_NONBLOCK */

	if (flags & QD_F_TIMEOUT)
		s |= ebit(ETIMEDOUT);
	if (!(flags & QD_F_NONBLOCK))
		s |= ebit(EINTR);
	return s;
}

/* ---- one call ---- */

struct thr {
	pthread_t th;
	unsigned int idx;
	struct rng r;
	struct mem m;
	uint64_t calls;
	uint64_t ids[16];	/* recently reserved ids */
};

/* racy hint only: a recent QD_IOC_STATS max_msg_size */
static uint64_t max_msg_hint = 65536 - 8;

static uint64_t cur_max_msg(void)
{
	return __atomic_load_n(&max_msg_hint, __ATOMIC_RELAXED);
}

enum cls { C_PUSH, C_POP, C_STATS, C_SETSIZE, C_ACK, C_NACK, C_PUSHB,
	   C_POPB, C_BADCMD, C_READ, C_WRITE, C_POLL, C_FCNTL, NCLS };
static const char *const cls_name[] = { "PUSH", "POP", "STATS", "SET_SIZE",
	"ACK", "NACK", "PUSH_BATCH", "POP_BATCH", "bad command", "read",
	"write", "poll", "fcntl" };

static void check_stats(const struct qd_stats *st, const char *where)
{
	if (st->used + st->free != st->size ||
	    st->max_msg_size != st->size - QD_MSG_HEADER_SIZE ||
	    (st->messages == 0) != (st->used == 0) ||
	    st->used < QD_MSG_HEADER_SIZE * st->messages ||
	    st->reserved > st->messages || st->size < QD_MIN_SIZE ||
	    st->size > max_size || st->__spare[0] || st->__spare[1] ||
	    st->__spare[2] || st->__spare[3])
		fail("%s: inconsistent stats: size %llu used %llu free %llu messages %llu reserved %llu max_msg_size %llu",
		     where, (unsigned long long)st->size,
		     (unsigned long long)st->used, (unsigned long long)st->free,
		     (unsigned long long)st->messages,
		     (unsigned long long)st->reserved,
		     (unsigned long long)st->max_msg_size);
}

static bool is_vfs_cmd(uint32_t cmd)
{
	static const uint32_t vfs[] = {
		FIOCLEX, FIONCLEX, FIONBIO, FIOASYNC, FIOQSIZE, FIFREEZE,
		FITHAW, FS_IOC_FIEMAP, FIGETBSZ, FICLONE, FICLONERANGE,
		FIDEDUPERANGE, FS_IOC_GETFLAGS, FS_IOC_SETFLAGS,
		FS_IOC_FSGETXATTR, FS_IOC_FSSETXATTR,
	};

	for (unsigned int i = 0; i < sizeof(vfs) / sizeof(vfs[0]); i++)
		if (cmd == vfs[i])
			return true;
	return false;
}

static bool is_qd_cmd(uint32_t cmd)
{
	return cmd == QD_IOC_SET_SIZE || cmd == QD_IOC_PUSH ||
	       cmd == QD_IOC_POP || cmd == QD_IOC_STATS ||
	       cmd == QD_IOC_PUSH_BATCH || cmd == QD_IOC_POP_BATCH ||
	       cmd == QD_IOC_ACK || cmd == QD_IOC_NACK;
}

static uint32_t gen_bad_cmd(struct rng *r)
{
	static const uint32_t real[] = { QD_IOC_SET_SIZE, QD_IOC_PUSH,
		QD_IOC_POP, QD_IOC_STATS, QD_IOC_PUSH_BATCH, QD_IOC_POP_BATCH,
		QD_IOC_ACK, QD_IOC_NACK };
	uint32_t cmd;

	do {
		uint32_t base = real[rnd(r, 8)];

		switch (rnd(r, 6)) {
		case 0: /* real number, other size */
			cmd = (base & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT)) |
			      (rnd(r, 1u << _IOC_SIZEBITS) << _IOC_SIZESHIFT);
			break;
		case 1: /* real number, other direction */
			cmd = (base & ~(_IOC_DIRMASK << _IOC_DIRSHIFT)) |
			      (rnd(r, 4) << _IOC_DIRSHIFT);
			break;
		case 2: /* other nr in 0xE8 */
			cmd = _IOC(rnd(r, 4), QD_IOC_MAGIC, rnd(r, 256),
				   rnd(r, 1u << _IOC_SIZEBITS));
			break;
		case 3: /* real, nr just past the last */
			cmd = _IOWR(QD_IOC_MAGIC, 0x08 + rnd(r, 4), struct qd_msg);
			break;
		case 4: /* a neighbour magic */
			cmd = (base & ~(_IOC_TYPEMASK << _IOC_TYPESHIFT)) |
			      ((QD_IOC_MAGIC - 1 + rnd(r, 3) * 1u) << _IOC_TYPESHIFT);
			break;
		default:
			cmd = (uint32_t)rnd64(r);
		}
	} while (is_qd_cmd(cmd) || is_vfs_cmd(cmd));
	return cmd;
}

struct call {
	enum cls cls;
	uint32_t cmd;
	char desc[400];
	unsigned int allowed;
	long ret;
	int err;
};

static void report(struct thr *t, struct call *c) __attribute__((noreturn));
static void report(struct thr *t, struct call *c)
{
	char a[200];

	set_str(c->allowed, a, sizeof(a));
	fail("thread %u call %llu: %s cmd %#x: %s -> %ld %s; allowed: %s",
	     t->idx, (unsigned long long)t->calls, cls_name[c->cls], c->cmd,
	     c->desc, c->ret, c->ret < 0 ? ename(c->err) : "", a);
}

static void finish(struct thr *t, struct call *c, unsigned int slot,
		   unsigned int gen0)
{
	unsigned int got = c->ret < 0 ? ebit(c->err) : OK;
	unsigned int gen1 = __atomic_load_n(&fd_gen[slot], __ATOMIC_ACQUIRE);

	if ((gen0 & 1) || gen0 != gen1)
		c->allowed |= ebit(EBADF);	/* the chaos thread closed it */
	if (!got || !(got & c->allowed))
		report(t, c);
	/* report() does not return: got is one known result's bit */
	__atomic_fetch_add(&stat_calls[c->cls][__builtin_ctz(got)], 1,
			   __ATOMIC_RELAXED);
}

static void do_msg(struct thr *t, struct call *c, int fd, bool push)
{
	struct rng *r = &t->r;
	struct qd_msg m, *um;
	enum spk sk = pick_spk(r);
	struct uptr d;
	uint32_t inlen;
	bool valid;
	uint64_t arg;
	uint8_t *buf = NULL;

	memset(&m, 0, sizeof(m));
	m.len = gen_len(r, (uint32_t)cur_max_msg());
	m.type = push ? gen_type(r) : (rnd(r, 2) ? 0 : gen_type(r));
	m.flags = gen_flags(r, push ? QD_F_PUSH_MASK : QD_F_POP_MASK);
	if (rnd(r, 16))
		m.flags |= QD_F_NONBLOCK;	/* a wait lasts until SIGUSR1 */
	m.timeout_ns = gen_timeout(r, m.flags);
	m.__reserved = gen_reserved(r);
	m.id = rnd(r, 4) ? 0 : rnd64(r);	/* outputs: ignored on input */
	m.sender_pid = rnd(r, 4) ? 0 : (uint32_t)rnd64(r);
	d = gen_ptr(r, &t->m, m.len, ZONE_DATA, RW_SIZE);
	m.data = d.p;
	if (!push && d.wr == GOOD && !strcmp(d.kind, "rw")) {
		buf = (uint8_t *)(uintptr_t)d.p;
		memset(buf, CANARY, m.len < 512 ? m.len : 512);
		if ((uint8_t *)buf + m.len + 16 <= t->m.rw + RW_SIZE)
			memset(buf + m.len, CANARY, 16);
	}
	inlen = m.len;
	c->cmd = push ? QD_IOC_PUSH : QD_IOC_POP;
	arg = place(&t->m, sk, &m, sizeof(m), push ? RO_PUSH : RO_POP, r);
	if (sk == S_RO)
		memcpy(&m, t->m.ro + (push ? RO_PUSH : RO_POP), sizeof(m));
	snprintf(c->desc, sizeof(c->desc),
		 "struct@%s {data=%s %#llx len=%u type=%u flags=%#x timeout_ns=%lld __reserved=%#x}",
		 spk_name[sk], sk == S_RO ? "ro-data" : d.kind,
		 (unsigned long long)m.data, m.len, m.type, m.flags,
		 (long long)m.timeout_ns, m.__reserved);

	if (push)
		valid = !m.__reserved && !(m.flags & ~QD_F_PUSH_MASK) &&
			m.type && timeout_ok(m.flags, m.timeout_ns);
	else
		valid = !m.__reserved && !(m.flags & ~QD_F_POP_MASK) &&
			!((m.flags & QD_F_PEEK) && (m.flags & QD_F_RESERVE)) &&
			!((m.flags & QD_F_EXCEPT) && !m.type) &&
			timeout_ok(m.flags, m.timeout_ns);
	if (sk == S_NULL || sk == S_KERNEL || sk == S_STRADDLE) {
		c->allowed = ebit(EFAULT);
	} else if (!valid) {
		c->allowed = ebit(EINVAL);
	} else if ((uint64_t)m.len + 8 > max_size && push) {
		c->allowed = ebit(EMSGSIZE);
	} else if (push) {
		enum acc rd = sk == S_RO ? GOOD : d.rd;

		c->allowed = wait_errs(m.flags) | ebit(ENOMEM);
		if (m.len + 8u > QD_MIN_SIZE)
			c->allowed |= ebit(EMSGSIZE);
		if (rd != BAD)
			c->allowed |= OK;
		if (rd != GOOD)
			c->allowed |= ebit(EFAULT);
		if (sk == S_RO)	/* the id cannot be written back */
			c->allowed = (c->allowed & ~OK) | ebit(EFAULT);
	} else {
		c->allowed = wait_errs(m.flags) | ebit(EMSGSIZE) | OK;
		if (m.flags & QD_F_RESERVE)	/* the reservation record */
			c->allowed |= ebit(ENOMEM);
		if (d.wr != GOOD)
			c->allowed |= ebit(EFAULT);
		if (sk == S_RO)
			c->allowed = (c->allowed & ~(OK | ebit(EMSGSIZE))) |
				     ebit(EFAULT);
	}
	c->ret = ioctl(fd, c->cmd, (void *)(uintptr_t)arg);
	c->err = errno;
	if (c->ret != 0 || push || (sk != S_OK && sk != S_UNALIGNED))
		goto check_emsgsize;
	/* a pop that returned a message */
	um = (struct qd_msg *)(uintptr_t)arg;
	if (um->len > inlen || um->type == 0 ||
	    (m.type && !(m.flags & QD_F_EXCEPT) && um->type != m.type) ||
	    ((m.flags & QD_F_EXCEPT) && um->type == m.type)) {
		snprintf(c->desc + strlen(c->desc), sizeof(c->desc) - strlen(c->desc),
			 " returned len %u type %u", um->len, um->type);
		c->allowed = 0;
		report(t, c);
	}
	if (um->len > d.wr_room) {
		snprintf(c->desc + strlen(c->desc), sizeof(c->desc) - strlen(c->desc),
			 " delivered %u bytes where %llu are writable", um->len,
			 (unsigned long long)d.wr_room);
		c->allowed = 0;
		report(t, c);
	}
	if (buf) {
		uint32_t end = um->len + 64 < inlen ? um->len + 64 : inlen;

		for (uint32_t i = um->len; i < end && i < 512; i++)
			if (buf[i] != CANARY)
				goto overwritten;
		if ((uint8_t *)buf + inlen + 16 <= t->m.rw + RW_SIZE)
			for (uint32_t i = inlen; i < inlen + 16; i++)
				if (buf[i] != CANARY)
					goto overwritten;
	}
	if ((m.flags & QD_F_RESERVE) && um->id)
		t->ids[rnd(r, 16)] = um->id;
	return;
overwritten:
	snprintf(c->desc + strlen(c->desc), sizeof(c->desc) - strlen(c->desc),
		 " wrote past the %u-byte message", um->len);
	c->allowed = 0;
	report(t, c);
check_emsgsize:
	if (!push && c->ret < 0 && c->err == EMSGSIZE &&
	    (sk == S_OK || sk == S_UNALIGNED)) {
		um = (struct qd_msg *)(uintptr_t)arg;
		if (um->len <= inlen) {
			snprintf(c->desc + strlen(c->desc), sizeof(c->desc) - strlen(c->desc),
				 " EMSGSIZE but len says %u", um->len);
			c->allowed = 0;
			report(t, c);
		}
		if (buf)
			for (uint32_t i = 0; i < inlen && i < 512; i++)
				if (buf[i] != CANARY) {
					snprintf(c->desc + strlen(c->desc),
						 sizeof(c->desc) - strlen(c->desc),
						 " EMSGSIZE but the buffer was written");
					c->allowed = 0;
					report(t, c);
				}
	}
}

static void do_batch(struct thr *t, struct call *c, int fd, bool push)
{
	struct rng *r = &t->r;
	struct qd_batch b, *ub;
	struct qd_msg *arr = (struct qd_msg *)(t->m.rw + ZONE_ARRAY);
	enum spk sk = pick_spk(r);
	uint32_t first_bad = UINT32_MAX, n, e0len = 0;
	unsigned int e0 = 0;
	struct uptr ap;
	bool hdr_ok;
	uint64_t arg;
	uint32_t counts[] = { 0, 1, 2, 3, 8, QD_BATCH_MAX, QD_BATCH_MAX + 1,
			      UINT32_MAX };
	enum acc e0rd = GOOD;

	memset(&b, 0, sizeof(b));
	b.count = rnd(r, 3) ? 1 + rnd(r, 8) : counts[rnd(r, 8)];
	b.flags = gen_flags(r, QD_F_NONBLOCK | QD_F_TIMEOUT);
	if (rnd(r, 16))
		b.flags |= QD_F_NONBLOCK;
	b.timeout_ns = gen_timeout(r, b.flags);
	b.__reserved = gen_reserved(r);
	b.done = (uint32_t)rnd64(r);
	n = b.count;
	if (n > QD_BATCH_MAX)
		n = QD_BATCH_MAX;
	/* the array: usually in rw, sometimes a bad pointer */
	if (rnd(r, 8)) {
		ap.p = (uintptr_t)arr;
		ap.kind = "rw";
	} else {
		/* whatever is there: garbage entries, or unreadable */
		ap = gen_ptr(r, &t->m, (uint64_t)n * sizeof(struct qd_msg),
			     ZONE_DATA, RW_SIZE);
	}
	b.msgs = ap.p;
	for (uint32_t i = 0; i < n && ap.p == (uintptr_t)arr; i++) {
		struct qd_msg *m = &arr[i];
		struct uptr d;
		bool ok;

		if (i >= 8 && i < n - 1) {	/* long batches: copies */
			*m = arr[i % 8];
			m->flags &= push ? 0 : (QD_F_EXCEPT | QD_F_RESERVE);
			m->timeout_ns = 0;
			m->__reserved = 0;
			if (push && !m->type)
				m->type = 1;
			if (!push && (m->flags & QD_F_EXCEPT) && !m->type)
				m->type = 1;
			m->len = push ? 0 : m->len;
			m->data = push ? 0 : (uintptr_t)(t->m.rw + ZONE_DATA);
			if (!push && m->len > RW_SIZE - ZONE_DATA)
				m->len = 16;
			continue;
		}
		memset(m, 0, sizeof(*m));
		m->len = rnd(r, 4) ? rnd(r, 100) : gen_len(r, (uint32_t)cur_max_msg());
		m->type = push ? gen_type(r) : (rnd(r, 2) ? 0 : gen_type(r));
		m->flags = rnd(r, 5) ? 0 : gen_flags(r, push ? 0 :
					QD_F_EXCEPT | QD_F_RESERVE);
		if (!push && rnd(r, 3) == 0)
			m->flags |= QD_F_RESERVE;
		m->timeout_ns = rnd(r, 10) ? 0 : gen_timeout(r, 0);
		m->__reserved = gen_reserved(r);
		d = gen_ptr(r, &t->m, m->len, ZONE_DATA, RW_SIZE);
		m->data = d.p;
		if (push)
			ok = m->type && !m->flags && !m->timeout_ns &&
			     !m->__reserved;
		else
			ok = !(m->flags & ~(QD_F_EXCEPT | QD_F_RESERVE)) &&
			     !((m->flags & QD_F_EXCEPT) && !m->type) &&
			     !m->timeout_ns && !m->__reserved;
		if (!ok && first_bad == UINT32_MAX)
			first_bad = i;
		if (i == 0) {
			e0 = ok ? 1 : 0;
			e0rd = push ? d.rd : d.wr;
			e0len = m->len;
		}
	}
	c->cmd = push ? QD_IOC_PUSH_BATCH : QD_IOC_POP_BATCH;
	arg = place(&t->m, sk, &b, sizeof(b), RO_BATCH, r);
	if (sk == S_RO) {
		memcpy(&b, t->m.ro + RO_BATCH, sizeof(b));
		first_bad = UINT32_MAX;
		e0 = 1;
		e0rd = GOOD;
	}
	snprintf(c->desc, sizeof(c->desc),
		 "struct@%s {msgs=%s%s count=%u flags=%#x timeout_ns=%lld __reserved=%#x}, first bad entry %d, entry 0 valid %u len %u",
		 spk_name[sk], ap.p == (uintptr_t)arr ? "" : "random ", ap.kind, b.count, b.flags, (long long)b.timeout_ns,
		 b.__reserved, (int)first_bad, e0, e0len);
	hdr_ok = !b.__reserved && !(b.flags & ~(QD_F_NONBLOCK | QD_F_TIMEOUT)) &&
		 b.count && b.count <= QD_BATCH_MAX &&
		 timeout_ok(b.flags, b.timeout_ns);
	if (sk == S_NULL || sk == S_KERNEL || sk == S_STRADDLE) {
		c->allowed = ebit(EFAULT);
	} else if (!hdr_ok) {
		c->allowed = ebit(EINVAL);
	} else if (sk == S_RO) {
		c->allowed = ebit(EFAULT);	/* done cannot be written */
	} else if (ap.p != (uintptr_t)arr && ap.rd == BAD &&
		   strcmp(ap.kind, "rw") && strcmp(ap.kind, "edge") &&
		   strcmp(ap.kind, "read-only")) {
		c->allowed = ebit(EFAULT);	/* no entry can be read */
	} else if (ap.p != (uintptr_t)arr) {
		/* the array itself may be unreadable */
		c->allowed = ebit(EFAULT) | ebit(EINVAL) | ebit(EMSGSIZE) |
			     ebit(ENOMEM) | wait_errs(b.flags) | OK;
	} else if (first_bad == 0) {
		c->allowed = ebit(EINVAL);
	} else {
		/* ENOMEM: a push's entry, a reserving pop's record */
		c->allowed = wait_errs(b.flags) | OK | ebit(EMSGSIZE) |
			     ebit(ENOMEM);
		if (e0rd != GOOD)
			c->allowed |= ebit(EFAULT);
	}
	c->ret = ioctl(fd, c->cmd, (void *)(uintptr_t)arg);
	c->err = errno;
	if (sk != S_OK && sk != S_UNALIGNED)
		return;
	ub = (struct qd_batch *)(uintptr_t)arg;
	if (!hdr_ok)
		return;
	if ((c->ret == 0 && (ub->done < 1 || ub->done > b.count ||
			     (first_bad != UINT32_MAX && ub->done > first_bad))) ||
	    (c->ret < 0 && ub->done != 0 && c->err != EFAULT &&
	     c->err != EBADF)) {
		snprintf(c->desc + strlen(c->desc), sizeof(c->desc) - strlen(c->desc),
			 " -> done %u", ub->done);
		c->allowed = 0;
		report(t, c);
	}
	if (c->ret == 0 && !push && ap.p == (uintptr_t)arr)
		for (uint32_t i = 0; i < ub->done && i < 8; i++)
			if ((arr[i].flags & QD_F_RESERVE) && arr[i].id)
				t->ids[rnd(r, 16)] = arr[i].id;
}

static void do_u64(struct thr *t, struct call *c, int fd, enum cls k)
{
	struct rng *r = &t->r;
	enum spk sk = pick_spk(r);
	uint64_t v, arg;

	if (k == C_SETSIZE) {
		const uint64_t sz[] = { 0, 63, 64, 65, 4096, 65536, 65536,
					262144, max_size + 1, UINT32_MAX,
					UINT64_MAX };

		/* max_size itself rarely: a 64 MiB ring is slow on TCG */
		if (rnd(r, 50) == 0)
			v = max_size;
		else if (rnd(r, 4) == 0)
			v = QD_MIN_SIZE + rnd(r, 1u << 20);
		else
			v = sz[rnd(r, sizeof(sz) / sizeof(sz[0]))];
		c->cmd = QD_IOC_SET_SIZE;
	} else {
		v = rnd(r, 2) ? t->ids[rnd(r, 16)] :
		    rnd(r, 2) ? rnd64(r) : rnd(r, 3);
		c->cmd = k == C_ACK ? QD_IOC_ACK : QD_IOC_NACK;
	}
	arg = place(&t->m, sk, &v, sizeof(v), RO_U64, r);
	if (sk == S_RO)
		v = 65536;
	snprintf(c->desc, sizeof(c->desc), "u64@%s = %llu", spk_name[sk],
		 (unsigned long long)v);
	if (sk == S_NULL || sk == S_KERNEL || sk == S_STRADDLE)
		c->allowed = ebit(EFAULT);
	else if (k != C_SETSIZE)
		c->allowed = ebit(ENOENT) | OK;
	else if (v < QD_MIN_SIZE || v > max_size)
		c->allowed = ebit(EINVAL);
	else
		c->allowed = OK | ebit(EBUSY) | ebit(ENOMEM);
	c->ret = ioctl(fd, c->cmd, (void *)(uintptr_t)arg);
	c->err = errno;
}

static void do_stats(struct thr *t, struct call *c, int fd)
{
	enum spk sk = pick_spk(&t->r);
	struct qd_stats st;
	uint64_t arg;

	memset(&st, 0x5a, sizeof(st));
	if (sk == S_STRADDLE || sk == S_RO)
		memset(&st, 0, sizeof(st));
	arg = place(&t->m, sk, &st, sizeof(st), RO_DATA, &t->r);
	c->cmd = QD_IOC_STATS;
	snprintf(c->desc, sizeof(c->desc), "struct@%s", spk_name[sk]);
	c->allowed = (sk == S_OK || sk == S_UNALIGNED) ? OK : ebit(EFAULT);
	c->ret = ioctl(fd, c->cmd, (void *)(uintptr_t)arg);
	c->err = errno;
	if (c->ret == 0 && (sk == S_OK || sk == S_UNALIGNED)) {
		memcpy(&st, (void *)(uintptr_t)arg, sizeof(st));
		check_stats(&st, "QD_IOC_STATS during fuzzing");
		__atomic_store_n(&max_msg_hint, st.max_msg_size, __ATOMIC_RELAXED);
	}
}

static void do_rw(struct thr *t, struct call *c, int fd, bool wr)
{
	struct rng *r = &t->r;
	uint64_t len = rnd(r, 3) ? rnd(r, 300) : gen_len(r, (uint32_t)cur_max_msg());
	struct uptr d;
	enum acc a;

	if (rnd(r, 20) == 0)
		len = SIZE_MAX - rnd(r, 2);	/* the kernel caps the count */
	d = gen_ptr(r, &t->m, len, ZONE_DATA, RW_SIZE);
	a = wr ? d.rd : d.wr;
	snprintf(c->desc, sizeof(c->desc), "buf=%s %#llx count=%llu", d.kind,
		 (unsigned long long)d.p, (unsigned long long)len);
	c->cmd = 0;
	if (wr) {
		if (len == 0)	/* the VFS may check the pointer first */
			c->allowed = OK | (a != GOOD ? ebit(EFAULT) : 0);
		else if (len > SSIZE_MAX)
			c->allowed = ebit(EFAULT) | ebit(EINVAL);
		else if (len + 8 > max_size)
			c->allowed = ebit(EMSGSIZE) | ebit(EFAULT);
		else
			c->allowed = ebit(EAGAIN) | ebit(EINTR) | ebit(ENOMEM) |
				     (len + 8 > QD_MIN_SIZE ? ebit(EMSGSIZE) : 0) |
				     (a != BAD ? OK : 0) | (a != GOOD ? ebit(EFAULT) : 0);
		c->ret = write(fd, (void *)(uintptr_t)d.p, len);
	} else {
		c->allowed = ebit(EAGAIN) | ebit(EINTR) | ebit(EMSGSIZE) | OK |
			     (a != GOOD ? ebit(EFAULT) : 0) |
			     (len > SSIZE_MAX ? ebit(EINVAL) : 0);
		c->ret = read(fd, (void *)(uintptr_t)d.p, len);
	}
	c->err = errno;
	if (c->ret > 0 && (uint64_t)c->ret > len) {
		c->allowed = 0;
		report(t, c);
	}
	if (wr && c->ret > 0 && (uint64_t)c->ret != len) {
		snprintf(c->desc + strlen(c->desc), sizeof(c->desc) - strlen(c->desc),
			 " short write");
		c->allowed = 0;
		report(t, c);
	}
	if (c->ret > 0)
		c->ret = 0;
}

static void one_call(struct thr *t)
{
	struct rng *r = &t->r;
	unsigned int slot = rnd(r, NFD), gen0, x = rnd(r, 100);
	struct call c = { 0 };
	int fd;

	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	gen0 = __atomic_load_n(&fd_gen[slot], __ATOMIC_ACQUIRE);
	fd = __atomic_load_n(&fds[slot], __ATOMIC_RELAXED);
	t->calls++;
	if (x < 18) {
		c.cls = C_PUSH;
		do_msg(t, &c, fd, true);
	} else if (x < 38) {
		c.cls = C_POP;
		do_msg(t, &c, fd, false);
	} else if (x < 44) {
		c.cls = C_PUSHB;
		do_batch(t, &c, fd, true);
	} else if (x < 52) {
		c.cls = C_POPB;
		do_batch(t, &c, fd, false);
	} else if (x < 53 && rnd(r, 2)) {	/* resizing is slow on TCG */
		c.cls = C_SETSIZE;
		do_u64(t, &c, fd, C_SETSIZE);
	} else if (x < 58) {
		c.cls = C_STATS;
		do_stats(t, &c, fd);
	} else if (x < 63) {
		c.cls = C_ACK;
		do_u64(t, &c, fd, C_ACK);
	} else if (x < 67) {
		c.cls = C_NACK;
		do_u64(t, &c, fd, C_NACK);
	} else if (x < 85) {
		struct uptr p = gen_ptr(r, &t->m, 64, 0, PAGE);

		c.cls = C_BADCMD;
		c.cmd = gen_bad_cmd(r);
		snprintf(c.desc, sizeof(c.desc), "arg=%s %#llx", p.kind,
			 (unsigned long long)p.p);
		c.allowed = ebit(ENOTTY);
		c.ret = ioctl(fd, c.cmd, (void *)(uintptr_t)p.p);
		c.err = errno;
	} else if (x < 90) {
		c.cls = C_READ;
		do_rw(t, &c, fd, false);
	} else if (x < 95) {
		c.cls = C_WRITE;
		do_rw(t, &c, fd, true);
	} else if (x < 98) {
		struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };

		c.cls = C_POLL;
		snprintf(c.desc, sizeof(c.desc), "POLLIN|POLLOUT, timeout 0");
		/*
		 * With nothing ready, poll(2) reports a pending signal (the
		 * ticker's) as EINTR even with timeout 0: do_poll() checks
		 * signal_pending() before it looks at the timeout.
		 */
		c.allowed = OK | ebit(EINTR);
		c.ret = poll(&p, 1, 0);
		c.err = errno;
		if (c.ret == 1 && (p.revents & ~(POLLIN | POLLOUT | POLLRDNORM |
						 POLLWRNORM | POLLNVAL)))
			report(t, &c);
		if (c.ret > 0 && (p.revents & POLLNVAL))
			c.ret = -1, c.err = EBADF;	/* closed under us */
		else if (c.ret > 0)
			c.ret = 0;
	} else {
		int fl = fcntl(fd, F_GETFL);

		c.cls = C_FCNTL;
		snprintf(c.desc, sizeof(c.desc), "toggle O_NONBLOCK");
		c.allowed = OK;
		c.ret = fl < 0 ? -1 : fcntl(fd, F_SETFL, fl ^ O_NONBLOCK);
		c.err = errno;
	}
	finish(t, &c, slot, gen0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	__atomic_fetch_add(&stat_ns[c.cls], (uint64_t)((b.tv_sec - a.tv_sec) * 1000000000LL +
						       b.tv_nsec - a.tv_nsec), __ATOMIC_RELAXED);
}

/* ---- threads ---- */

static void sigusr1(int sig)
{
	(void)sig;
}

static void phase_wait(void)
{
	pthread_barrier_wait(&bar);	/* stopped: main checks */
	pthread_barrier_wait(&bar);	/* main done */
}

static void *fuzz_thread(void *arg)
{
	struct thr *t = arg;

	while (!__atomic_load_n(&all_stop, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&phase_stop, __ATOMIC_ACQUIRE)) {
			phase_wait();
			continue;
		}
		for (int i = 0; i < 64; i++)
			one_call(t);
		__atomic_fetch_add(&total_calls, 64, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int open_dev(void)
{
	int fd = open(dev_path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		fail("open %s: %s", dev_path, strerror(errno));
	return fd;
}

static void drain_some(int fd, unsigned int max)
{
	static uint8_t buf[1u << 20];

	while (max--) {
		struct qd_msg m = { .data = (uintptr_t)buf, .len = sizeof(buf),
				    .flags = QD_F_NONBLOCK };

		if (ioctl(fd, QD_IOC_POP, &m)) {
			if (errno == EAGAIN)
				return;
			if (errno == EMSGSIZE)	/* bigger than 1 MiB */
				continue;
			fail("chaos drain: %s", strerror(errno));
		}
	}
}

static pthread_t ticker_th;
static struct thr *thrs;

static void *ticker(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&all_stop, __ATOMIC_ACQUIRE)) {
		for (unsigned int i = 0; i < nthreads; i++)
			pthread_kill(thrs[i].th, SIGUSR1);
		usleep(3000);
	}
	return NULL;
}

static void *chaos(void *arg)
{
	struct rng r = { seed ^ 0xc4a05ULL };
	int own = open_dev();

	(void)arg;
	while (!__atomic_load_n(&all_stop, __ATOMIC_ACQUIRE)) {
		unsigned int x = rnd(&r, 10), slot = rnd(&r, NFD);

		if (__atomic_load_n(&phase_stop, __ATOMIC_ACQUIRE)) {
			phase_wait();
			continue;
		}
		if (x < 2) {
			/* replace: the old file is closed under any caller */
			int nfd = open_dev();

			if (dup2(nfd, fds[slot]) < 0)
				fail("dup2: %s", strerror(errno));
			close(nfd);
		} else if (x < 4 && !no_close) {
			int old = fds[slot], nfd;

			__atomic_fetch_add(&fd_gen[slot], 1, __ATOMIC_SEQ_CST);
			close(old);
			usleep(rnd(&r, 300));
			nfd = open_dev();
			if (nfd != old) {
				if (dup2(nfd, old) < 0)
					fail("dup2: %s", strerror(errno));
				close(nfd);
			}
			__atomic_fetch_add(&fd_gen[slot], 1, __ATOMIC_SEQ_CST);
		} else if (x < 7) {
			uint64_t size = 4096u << rnd(&r, 7);

			if (ioctl(own, QD_IOC_SET_SIZE, &size) &&
			    errno != EBUSY && errno != ENOMEM &&
			    !(errno == EINVAL && size > max_size))
				fail("chaos resize to %llu: %s",
				     (unsigned long long)size, strerror(errno));
		} else {
			drain_some(own, 64);
		}
		usleep(200 + rnd(&r, 800));
	}
	close(own);
	return NULL;
}

/* ---- invariants between phases ---- */

static uint64_t sysfs_u64(const char *name)
{
	char path[256], buf[64], *end;
	unsigned long long v;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", sysfs_dir, name);
	f = fopen(path, "re");
	if (!f || !fgets(buf, sizeof(buf), f))
		fail("read %s: %s", path, strerror(errno));
	fclose(f);
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno || end == buf || strcmp(end, "\n"))
		fail("%s: \"%s\" is not a number and a newline", path, buf);
	return v;
}

static struct qd_stats prev;
static bool have_debugfs;

static void check_invariants(const char *when)
{
	struct qd_stats st;
	int fd = open_dev();
	struct {
		const char *name;
		uint64_t v;
	} f[] = {
		{ "size", 0 }, { "used", 0 }, { "free", 0 }, { "messages", 0 },
		{ "max_msg_size", 0 }, { "pushes", 0 }, { "pops", 0 },
		{ "blocked_readers", 0 }, { "blocked_writers", 0 },
		{ "reserved", 0 }, { "requeued", 0 }, { "timeouts", 0 },
	};

	if (ioctl(fd, QD_IOC_STATS, &st))
		fail("%s: QD_IOC_STATS: %s", when, strerror(errno));
	close(fd);
	check_stats(&st, when);
	f[0].v = st.size; f[1].v = st.used; f[2].v = st.free;
	f[3].v = st.messages; f[4].v = st.max_msg_size; f[5].v = st.pushes;
	f[6].v = st.pops; f[7].v = st.blocked_readers;
	f[8].v = st.blocked_writers; f[9].v = st.reserved;
	f[10].v = st.requeued; f[11].v = st.timeouts;
	for (unsigned int i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		uint64_t s = sysfs_u64(f[i].name);

		if (s != f[i].v)
			fail("%s: sysfs %s = %llu, QD_IOC_STATS says %llu", when,
			     f[i].name, (unsigned long long)s,
			     (unsigned long long)f[i].v);
	}
	if (st.pushes - st.pops != st.messages)
		fail("%s: pushes %llu - pops %llu != messages %llu", when,
		     (unsigned long long)st.pushes, (unsigned long long)st.pops,
		     (unsigned long long)st.messages);
	if (st.pushes < prev.pushes || st.pops < prev.pops ||
	    st.requeued < prev.requeued || st.timeouts < prev.timeouts ||
	    st.blocked_readers < prev.blocked_readers ||
	    st.blocked_writers < prev.blocked_writers)
		fail("%s: a cumulative counter went back", when);
	prev = st;

	if (have_debugfs) {
		char path[256], line[512];
		uint64_t n = 0, res = 0, used = 0, lastid = 0;
		FILE *fp;

		snprintf(path, sizeof(path), "%s/messages", debugfs_dir);
		fp = fopen(path, "re");
		if (!fp)
			fail("open %s: %s", path, strerror(errno));
		while (fgets(line, sizeof(line), fp)) {
			unsigned long long id;
			unsigned int type, len;
			int r;

			if (!strchr(line, '\n')) {	/* long preview: skip rest */
				int ch;

				while ((ch = fgetc(fp)) != EOF && ch != '\n')
					;
			}
			if (sscanf(line, "id=%llu type=%u len=%u reserved=%d",
				   &id, &type, &len, &r) != 4 || (r != 0 && r != 1))
				fail("%s: bad line: %s", path, line);
			if (id <= lastid)
				fail("%s: id %llu after %llu (not oldest first)",
				     path, id, (unsigned long long)lastid);
			lastid = id;
			n++;
			res += (uint64_t)r;
			used += (uint64_t)len + QD_MSG_HEADER_SIZE;
		}
		fclose(fp);
		if (n != st.messages || res != st.reserved || used != st.used)
			fail("%s: debugfs lists %llu messages, %llu reserved, %llu bytes; stats say %llu, %llu, %llu",
			     when, (unsigned long long)n, (unsigned long long)res,
			     (unsigned long long)used,
			     (unsigned long long)st.messages,
			     (unsigned long long)st.reserved,
			     (unsigned long long)st.used);
	}
	if (verbose)
		fprintf(stderr, "fuzz: %s: ok (size %llu, %llu messages, %llu reserved)\n",
			when, (unsigned long long)st.size,
			(unsigned long long)st.messages,
			(unsigned long long)st.reserved);
}

/* ---- main ---- */

static void setup_mem(struct thr *t)
{
	uint8_t *p = mmap(NULL, RW_SIZE + 3 * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct qd_msg push = { 0 }, pop = { 0 };
	struct qd_batch b = { 0 };
	uint64_t v = 65536;

	if (p == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	t->m.rw = p;
	t->m.ro = p + RW_SIZE + PAGE;
	push.data = (uintptr_t)(t->m.ro + RO_DATA);
	push.len = 16;
	push.type = QD_TYPE_JOB;
	push.flags = QD_F_NONBLOCK;
	pop.data = (uintptr_t)(p + ZONE_DATA);
	pop.len = RW_SIZE - ZONE_DATA;
	pop.flags = QD_F_NONBLOCK;
	b.msgs = (uintptr_t)(p + ZONE_ARRAY);
	b.count = 1;
	b.flags = QD_F_NONBLOCK;
	memcpy(t->m.ro + RO_PUSH, &push, sizeof(push));
	memcpy(t->m.ro + RO_POP, &pop, sizeof(pop));
	memcpy(t->m.ro + RO_BATCH, &b, sizeof(b));
	memcpy(t->m.ro + RO_U64, &v, sizeof(v));
	memset(t->m.ro + RO_DATA, 'r', 16);
	if (mprotect(p + RW_SIZE, PAGE, PROT_NONE) ||
	    mprotect(t->m.ro, PAGE, PROT_READ) ||
	    mprotect(t->m.ro + PAGE, PAGE, PROT_NONE))
		fail("mprotect: %s", strerror(errno));
}

static unsigned long long num_arg(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || !*s || *end) {
		fprintf(stderr, "fuzz: bad %s: %s\n", what, s);
		exit(64);
	}
	return v;
}

static void usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: fuzz [options]\n"
		"  -s, --seconds N     stop after N seconds (default 60)\n"
		"  -n, --calls N       stop after about N calls (default: no limit)\n"
		"  -t, --threads N     fuzzing threads (default 4, max %d)\n"
		"  -S, --seed N        random seed (default: time)\n"
		"  -P, --phase-ms N    check invariants every N ms (default 2000)\n"
		"      --no-close      the chaos thread does not close fds (only dup2)\n"
		"  -d, --device PATH   (default /dev/queue_driver)\n"
		"  -v, --verbose       per-phase and per-result counts\n",
		MAX_THREADS);
	exit(status);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "calls", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, 'S' },
		{ "phase-ms", required_argument, NULL, 'P' },
		{ "no-close", no_argument, NULL, 'C' },
		{ "device", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct sigaction sa;
	struct timespec t0, t1;
	pthread_t chaos_th;
	struct qd_stats st;
	uint64_t initial_size;
	bool seeded = false;
	unsigned int phases = 0;
	int opt, fd;
	double elapsed;

	while ((opt = getopt_long(argc, argv, "s:n:t:S:P:d:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 's': seconds = (unsigned int)num_arg(optarg, "seconds"); break;
		case 'n': max_calls = num_arg(optarg, "calls"); break;
		case 't': nthreads = (unsigned int)num_arg(optarg, "threads"); break;
		case 'S': seed = num_arg(optarg, "seed"); seeded = true; break;
		case 'P': phase_ms = (unsigned int)num_arg(optarg, "phase-ms"); break;
		case 'C': no_close = true; break;
		case 'd': dev_path = optarg; break;
		case 'v': verbose = true; break;
		case 'h': usage(0); break;
		default: usage(64);
		}
	}
	if (optind != argc || !nthreads || nthreads > MAX_THREADS || !phase_ms)
		usage(64);
	if (!seeded)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
	printf("fuzz: seed %" PRIu64 " (replay with --seed %" PRIu64 "; thread interleaving is not replayed)\n",
	       seed, seed);
	fflush(stdout);

	{
		FILE *f = fopen("/sys/module/queue_driver/parameters/max_size", "re");
		unsigned long long v;

		if (!f || fscanf(f, "%llu", &v) != 1)
			fail("cannot read the max_size module parameter");
		fclose(f);
		max_size = v;
	}
	have_debugfs = access(debugfs_dir, R_OK) == 0;
	if (!have_debugfs)
		printf("fuzz: %s not there: debugfs checks not done\n", debugfs_dir);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sigusr1;	/* no SA_RESTART */
	sigaction(SIGUSR1, &sa, NULL);

	fd = open_dev();
	if (ioctl(fd, QD_IOC_STATS, &st))
		fail("QD_IOC_STATS: %s", strerror(errno));
	initial_size = st.size;
	close(fd);
	check_invariants("start");

	for (unsigned int i = 0; i < NFD; i++)
		fds[i] = open_dev();
	thrs = calloc(nthreads, sizeof(*thrs));
	if (!thrs)
		fail("out of memory");
	if (pthread_barrier_init(&bar, NULL, nthreads + 2))
		fail("pthread_barrier_init");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned int i = 0; i < nthreads; i++) {
		thrs[i].idx = i;
		thrs[i].r.s = seed * 0x9e3779b97f4a7c15ULL + i + 1;
		setup_mem(&thrs[i]);
		if (pthread_create(&thrs[i].th, NULL, fuzz_thread, &thrs[i]))
			fail("pthread_create");
	}
	if (pthread_create(&chaos_th, NULL, chaos, NULL) ||
	    pthread_create(&ticker_th, NULL, ticker, NULL))
		fail("pthread_create");

	for (;;) {
		char when[64];
		bool last;

		usleep(phase_ms * 1000);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		elapsed = (double)(t1.tv_sec - t0.tv_sec) +
			  (t1.tv_nsec - t0.tv_nsec) / 1e9;
		last = elapsed >= seconds ||
		       __atomic_load_n(&total_calls, __ATOMIC_RELAXED) >= max_calls;
		__atomic_store_n(&phase_stop, 1, __ATOMIC_SEQ_CST);
		pthread_barrier_wait(&bar);
		snprintf(when, sizeof(when), "after phase %u", ++phases);
		check_invariants(when);
		if (last)
			__atomic_store_n(&all_stop, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&phase_stop, 0, __ATOMIC_SEQ_CST);
		pthread_barrier_wait(&bar);
		if (last)
			break;
	}
	for (unsigned int i = 0; i < nthreads; i++)
		pthread_join(thrs[i].th, NULL);
	pthread_join(chaos_th, NULL);
	pthread_join(ticker_th, NULL);

	/* closing every fd gives back what it reserved */
	for (unsigned int i = 0; i < NFD; i++)
		close(fds[i]);
	fd = open_dev();
	if (ioctl(fd, QD_IOC_STATS, &st))
		fail("QD_IOC_STATS: %s", strerror(errno));
	if (st.reserved)
		fail("%llu messages still reserved with every fd closed",
		     (unsigned long long)st.reserved);
	drain_some(fd, UINT32_MAX);
	if (ioctl(fd, QD_IOC_SET_SIZE, &initial_size))
		fail("restoring size %llu: %s", (unsigned long long)initial_size,
		     strerror(errno));
	if (ioctl(fd, QD_IOC_STATS, &st))
		fail("QD_IOC_STATS: %s", strerror(errno));
	close(fd);
	if (st.messages || st.used)
		fail("queue not empty after the drain: %llu messages, %llu bytes",
		     (unsigned long long)st.messages, (unsigned long long)st.used);
	check_invariants("end");

	total_ok = 0;
	for (unsigned int k = 0; k < NCLS; k++)
		total_ok += stat_calls[k][0];
	printf("fuzz: %llu calls in %.1f s from %u threads, %u phases, invariants held; %llu succeeded\n",
	       (unsigned long long)total_calls, elapsed, nthreads, phases,
	       (unsigned long long)total_ok);
	if (verbose) {
		for (unsigned int k = 0; k < NCLS; k++) {
			uint64_t n = 0;

			for (unsigned int i = 0; i <= NERRS; i++)
				n += stat_calls[k][i];
			printf("fuzz:   %-12s %6.1f us/call:", cls_name[k],
			       n ? stat_ns[k] / 1e3 / n : 0.0);
			for (unsigned int i = 0; i <= NERRS; i++)
				if (stat_calls[k][i])
					printf(" %s %llu", i < NERRS ? ename(errs[i]) : "?",
					       (unsigned long long)stat_calls[k][i]);
			printf("\n");
		}
	}
	printf("fuzz: OK\n");
	return 0;
}
