// SPDX-License-Identifier: GPL-2.0
/*
 * races - the races that break character drivers in practice, one
 * subcommand each, driven by tests/300-races.bats. Each expects an idle,
 * freshly loaded queue (qd_reset) and exits non-zero with a line naming
 * what differed.
 *
 *   close-pop [--reserve]    close an fd while another thread blocks in a
 *                            pop on it; the pop still completes, and with
 *                            --reserve the message comes back on release
 *   close-pop-signal         the same, the waiter is then interrupted: the
 *                            queue is untouched
 *   resize-blocked           grow and shrink while pushers and poppers wait
 *   signal-storm OPTIONS     thousands of signals at a waiting pop or push;
 *                            nothing lost, duplicated or reordered, EINTR
 *                            exactly when the contract says
 *   ack-other-fd [ROUNDS]    an fd hammers ACK/NACK on ids reserved by
 *                            another fd while the owner acks: always ENOENT
 *   wakeups [BURSTS]         consumers with overlapping type filters block in
 *                            pops while bursts of messages arrive: no
 *                            message stays queued while one of them sleeps
 *   wakeups-any [BURSTS]     the same with consumers that take every type
 *                            (reserve, NACK, batches): the pipe rule
 *   wake-rounds [ROUNDS]     rounds of one-shot waiters with random filters
 *                            and a few messages: each round settles with
 *                            no message next to a sleeping taker
 *   wake-rounds-any [ROUNDS] the same with every waiter taking every type:
 *                            the pipe rule (a push wakes one pop only into
 *                            an empty queue, a pop that slept passes on)
 *   wake-rounds-push [ROUNDS] the same with one-shot pushers of random sizes
 *                            at a full queue: no push that fits sleeps
 *   churn                    open, QD_IOC_STATS, close in a loop until killed
 *   hold                     keep the device open until killed
 *   wait-pop                 block in one pop; print what came
 *   push TEXT                push one QD_TYPE_JOB message
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/queue_driver.h>

static const char *dev = "/dev/queue_driver";
static const char *sysfs = "/sys/class/misc/queue_driver";
static const char *cmd_name = "races";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "races: %s: ", cmd_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static int open_dev(void)
{
	int fd = open(dev, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die("open %s: %s", dev, strerror(errno));
	return fd;
}

static uint64_t stat_u64(const char *name)
{
	char path[256];
	unsigned long long v;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", sysfs, name);
	f = fopen(path, "re");
	if (!f || fscanf(f, "%llu", &v) != 1)
		die("read %s failed", path);
	fclose(f);
	return v;
}

static void expect_stat(const char *name, uint64_t want)
{
	uint64_t v = stat_u64(name);

	if (v != want)
		die("sysfs %s is %llu, expected %llu", name,
		    (unsigned long long)v, (unsigned long long)want);
}

/* Wait (up to 20 s) until sysfs counter @name moves past @last. */
static uint64_t wait_more(const char *name, uint64_t last)
{
	static int fd = -1;
	static const char *open_name;
	char buf[32];
	struct timespec t0, t;

	if (!open_name || strcmp(open_name, name)) {
		char path[256];

		if (fd >= 0)
			close(fd);
		snprintf(path, sizeof(path), "%s/%s", sysfs, name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die("open %s: %s", path, strerror(errno));
		open_name = name;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		uint64_t v;

		if (n <= 0)
			die("read sysfs %s: %s", name, strerror(errno));
		buf[n] = 0;
		v = strtoull(buf, NULL, 10);
		if (v > last)
			return v;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 20)
			die("sysfs %s stuck at %llu: the child is not waiting",
			    name, (unsigned long long)last);
		sched_yield();
	}
}

/* Wait (up to 20 s) until @pid sleeps interruptibly inside ioctl(2). */
static void wait_sleeping(pid_t pid)
{
	char path[64], buf[512];
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		FILE *f;
		char *p;
		int sysno = -1;

		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		f = fopen(path, "re");
		if (!f || !fgets(buf, sizeof(buf), f))
			die("read %s: %s", path, strerror(errno));
		fclose(f);
		p = strrchr(buf, ')');
		if (p && p[1] == ' ' && p[2] == 'S') {
			snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
			f = fopen(path, "re");
			if (!f)
				die("open %s: %s", path, strerror(errno));
			if (fscanf(f, "%d", &sysno) != 1)
				sysno = -1;	/* "running" */
			fclose(f);
			if (sysno == SYS_ioctl)
				return;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 20)
			die("pid %d never slept in ioctl: %s", pid, buf);
		sched_yield();
	}
}

/* Wait (up to 10 s) until sysfs counter @name reaches @want. */
static void wait_stat(const char *name, uint64_t want)
{
	for (int i = 0; i < 1000; i++) {
		if (stat_u64(name) >= want)
			return;
		usleep(10000);
	}
	die("sysfs %s never reached %llu (is %llu)", name,
	    (unsigned long long)want, (unsigned long long)stat_u64(name));
}

static int push(int fd, uint32_t type, const void *data, uint32_t len,
		uint32_t flags, uint64_t *id)
{
	struct qd_msg m = { .data = (uintptr_t)data, .len = len, .type = type,
			    .flags = flags };
	int ret = ioctl(fd, QD_IOC_PUSH, &m);

	if (!ret && id)
		*id = m.id;
	return ret ? errno : 0;
}

static int pop(int fd, uint32_t type, void *buf, uint32_t *len,
	       uint32_t flags, int64_t timeout_ns, uint64_t *id)
{
	struct qd_msg m = { .data = (uintptr_t)buf, .len = *len, .type = type,
			    .flags = flags, .timeout_ns = timeout_ns };
	int ret = ioctl(fd, QD_IOC_POP, &m);

	if (!ret) {
		*len = m.len;
		if (id)
			*id = m.id;
	}
	return ret ? errno : 0;
}

static void sig_nop(int sig)
{
	(void)sig;
}

static void handle(int sig, bool restart)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sig_nop;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL))
		die("sigaction: %s", strerror(errno));
}

/* ---- wake-ups: nothing is left queued while a pop that takes it sleeps ---- */

/*
 * Consumers with overlapping filters block in pops without a timeout; a
 * producer pushes bursts of types 1-3, one by one or as batches (of one
 * type or mixed). After most bursts it waits for the consumers to have
 * taken everything: a message still queued after WK_GRACE_S seconds, with
 * a consumer for its type asleep, is a lost wake-up. Every message is
 * taken exactly once (RESERVE consumers ACK; one of them NACKs every
 * fifth message first, which wakes the others).
 */
#define WK_GRACE_S	20

struct wk_consumer {
	pthread_t t;
	const char *name;
	int fd;
	uint32_t type;
	uint32_t flags;
	bool batch;
	bool nack;
	int done;
	unsigned long got;
};

static unsigned char *wk_seen;
static unsigned long wk_total;
static unsigned long wk_taken;
static int wk_stop;

static void wk_take(struct wk_consumer *c, const void *buf, uint32_t len)
{
	uint64_t seq;

	if (len != sizeof(seq))
		die("%s: popped a message of %u bytes, pushed 8", c->name, len);
	memcpy(&seq, buf, sizeof(seq));
	if (seq >= wk_total)
		die("%s: popped seq %" PRIu64 ", never pushed", c->name, seq);
	if (__atomic_exchange_n(&wk_seen[seq], 1, __ATOMIC_RELAXED))
		die("%s: seq %" PRIu64 " taken twice", c->name, seq);
	c->got++;
	__atomic_add_fetch(&wk_taken, 1, __ATOMIC_RELEASE);
}

static void *wk_consume(void *arg)
{
	struct wk_consumer *c = arg;
	unsigned long n = 0;

	while (!__atomic_load_n(&wk_stop, __ATOMIC_ACQUIRE)) {
		uint64_t bufs[4], id = 0;
		uint32_t len = sizeof(bufs[0]);
		int err;

		if (c->batch) {
			struct qd_msg m[4];
			struct qd_batch b = { .msgs = (uintptr_t)m, .count = 4 };

			memset(m, 0, sizeof(m));
			for (int i = 0; i < 4; i++) {
				m[i].data = (uintptr_t)&bufs[i];
				m[i].len = sizeof(bufs[i]);
				m[i].type = c->type;
				m[i].flags = c->flags;
			}
			if (ioctl(c->fd, QD_IOC_POP_BATCH, &b)) {
				if (errno == EINTR)
					continue;
				die("%s: QD_IOC_POP_BATCH: %s", c->name,
				    strerror(errno));
			}
			for (uint32_t i = 0; i < b.done; i++)
				wk_take(c, &bufs[i], m[i].len);
			continue;
		}
		err = pop(c->fd, c->type, bufs, &len, c->flags, 0, &id);
		if (err == EINTR)
			continue;
		if (err)
			die("%s: pop: %s", c->name, strerror(err));
		if (!(c->flags & QD_F_RESERVE)) {
			wk_take(c, bufs, len);
			continue;
		}
		if (c->nack && ++n % 5 == 0) {
			if (ioctl(c->fd, QD_IOC_NACK, &id))
				die("%s: NACK %" PRIu64 ": %s", c->name, id,
				    strerror(errno));
			continue;
		}
		if (ioctl(c->fd, QD_IOC_ACK, &id))
			die("%s: ACK %" PRIu64 ": %s", c->name, id,
			    strerror(errno));
		wk_take(c, bufs, len);
	}
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Wait until the consumers have taken @want messages. */
static void wk_drained(unsigned long want, unsigned long burst)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (__atomic_load_n(&wk_taken, __ATOMIC_ACQUIRE) < want) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > WK_GRACE_S)
			die("lost wake-up: after burst %lu, %lu of %lu messages still queued (sysfs messages=%" PRIu64 ") with a consumer for each type waiting",
			    burst, want - wk_taken, want, stat_u64("messages"));
		usleep(200);
	}
}

static void cmd_wakeups(unsigned long bursts, bool any_only)
{
	struct wk_consumer mixed[] = {
		{ .name = "type-1", .type = 1 },
		{ .name = "type-1-reserve", .type = 1, .flags = QD_F_RESERVE },
		{ .name = "type-2-batch", .type = 2, .batch = true },
		{ .name = "any", .type = QD_TYPE_ANY },
		{ .name = "any-batch", .type = QD_TYPE_ANY, .batch = true },
		{ .name = "except-1-reserve-nack", .type = 1,
		  .flags = QD_F_EXCEPT | QD_F_RESERVE, .nack = true },
		{ .name = "except-2", .type = 2, .flags = QD_F_EXCEPT },
	};
	/* No filter at all: the driver's pipe rule, under load. */
	struct wk_consumer any[] = {
		{ .name = "any", .type = QD_TYPE_ANY },
		{ .name = "any-2", .type = QD_TYPE_ANY },
		{ .name = "any-reserve", .type = QD_TYPE_ANY,
		  .flags = QD_F_RESERVE },
		{ .name = "any-reserve-nack", .type = QD_TYPE_ANY,
		  .flags = QD_F_RESERVE, .nack = true },
		{ .name = "any-batch", .type = QD_TYPE_ANY, .batch = true },
		{ .name = "any-batch-2", .type = QD_TYPE_ANY, .batch = true },
	};
	struct wk_consumer *cs = any_only ? any : mixed;
	const size_t nc = any_only ? sizeof(any) / sizeof(any[0]) :
				     sizeof(mixed) / sizeof(mixed[0]);
	unsigned int seed = (unsigned int)time(NULL);
	unsigned long seq = 0;
	int fd = open_dev();

	printf("seed %u\n", seed);
	srand(seed);
	wk_total = bursts * 8;
	wk_seen = calloc(wk_total, 1);
	if (!wk_seen)
		die("out of memory");
	handle(SIGUSR1, false);
	for (size_t i = 0; i < nc; i++) {
		cs[i].fd = open_dev();
		if (pthread_create(&cs[i].t, NULL, wk_consume, &cs[i]))
			die("pthread_create failed");
	}

	for (unsigned long b = 0; b < bursts; b++) {
		unsigned int n = 1 + rand() % 8, mode = rand() % 3;
		uint32_t one_type = 1 + rand() % 3;
		uint64_t data[8];
		struct qd_msg m[8];

		memset(m, 0, sizeof(m));
		for (unsigned int i = 0; i < n; i++) {
			data[i] = seq + i;
			m[i].data = (uintptr_t)&data[i];
			m[i].len = sizeof(data[i]);
			m[i].type = mode == 2 ? one_type : (uint32_t)(1 + rand() % 3);
		}
		if (mode == 0) {
			for (unsigned int i = 0; i < n; i++)
				if (ioctl(fd, QD_IOC_PUSH, &m[i]))
					die("push: %s", strerror(errno));
		} else {
			struct qd_batch pb = { .msgs = (uintptr_t)m,
					       .count = n };

			if (ioctl(fd, QD_IOC_PUSH_BATCH, &pb) || pb.done != n)
				die("push batch of %u: %s (done %u)", n,
				    strerror(errno), pb.done);
		}
		seq += n;
		/* Mostly let every consumer fall asleep again. */
		if (rand() % 4)
			wk_drained(seq, b);
	}
	wk_total = seq;
	wk_drained(seq, bursts);

	__atomic_store_n(&wk_stop, 1, __ATOMIC_RELEASE);
	for (size_t i = 0; i < nc; i++) {
		while (!__atomic_load_n(&cs[i].done, __ATOMIC_ACQUIRE)) {
			pthread_kill(cs[i].t, SIGUSR1);
			usleep(1000);
		}
		pthread_join(cs[i].t, NULL);
		printf("%s took %lu\n", cs[i].name, cs[i].got);
		close(cs[i].fd);
	}
	for (unsigned long i = 0; i < seq; i++)
		if (!wk_seen[i])
			die("seq %lu was never taken", i);
	expect_stat("messages", 0);
	expect_stat("reserved", 0);
	printf("%lu messages in %lu bursts, each taken once, no wake-up lost\n",
	       seq, bursts);
	free(wk_seen);
	close(fd);
}

/*
 * One-shot waiters: each pops one message (some RESERVE and ACK it) and
 * exits, like `qdctl read -n 1`. Per round, 2-WR_MAX of them with random
 * filters fall asleep one after the other (so the order of the wait queue
 * is random too), then 1-WR_MAX messages of random types arrive, one by
 * one or as a batch. WR_MAX is above the driver's QD_WAKE_BATCH, so a
 * batch's wake-up sometimes wakes some waiters after its lock and the
 * rest in place. Whatever happens, the round must settle with every message
 * taken or with no sleeping waiter that would take one of those left: a
 * waiter chosen for one type that takes an older message of another (its
 * filter matches both) must pass the wake-up on, or the waiter for that
 * type sleeps on next to its message. With @any_only (wake-rounds-any)
 * every waiter takes every type, which is when the driver wakes pops as
 * a pipe wakes its readers (one per push into an empty queue, then each
 * that slept passes on); a batch is then of one type, so that it takes
 * that path rather than the wake-up of everyone a mixed batch gets.
 */
#define WR_MAX	12

struct wr_waiter {
	pthread_t t;
	int fd;
	struct qd_pop_req_like {
		uint32_t type;
		uint32_t flags;
	} f;
	int done;		/* 1: took a message, 2: interrupted */
	uint32_t took;
};

static bool wr_matches(const struct wr_waiter *w, uint32_t type)
{
	if (w->f.flags & QD_F_EXCEPT)
		return type != w->f.type;
	return w->f.type == QD_TYPE_ANY || type == w->f.type;
}

static void *wr_wait(void *arg)
{
	struct wr_waiter *w = arg;
	uint64_t buf, id;
	uint32_t len = sizeof(buf);
	int err = pop(w->fd, w->f.type, &buf, &len, w->f.flags, 0, &id);

	if (err == EINTR) {
		__atomic_store_n(&w->done, 2, __ATOMIC_RELEASE);
		return NULL;
	}
	if (err)
		die("one-shot pop: %s", strerror(err));
	if (len != sizeof(buf))
		die("one-shot pop: %u bytes, pushed 8", len);
	if ((w->f.flags & QD_F_RESERVE) && ioctl(w->fd, QD_IOC_ACK, &id))
		die("ACK %" PRIu64 ": %s", id, strerror(errno));
	w->took = (uint32_t)(buf >> 32);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * End a one-shot waiter thread: SIGUSR1 (no SA_RESTART) until it says it
 * is done (a signal may land before it enters its call), then join it
 * and close its fd.
 */
static void end_one_shot(pthread_t t, const int *done, int fd)
{
	while (!__atomic_load_n(done, __ATOMIC_ACQUIRE)) {
		pthread_kill(t, SIGUSR1);
		usleep(500);
	}
	pthread_join(t, NULL);
	close(fd);
}

static void describe_round(unsigned long r, struct wr_waiter *ws, int nw,
			   const uint32_t *types, int nm)
{
	fprintf(stderr, "round %lu: messages", r);
	for (int i = 0; i < nm; i++)
		fprintf(stderr, " %u", types[i]);
	fprintf(stderr, "; waiters in sleep order:");
	for (int i = 0; i < nw; i++)
		fprintf(stderr, " %s%u%s(%s)",
			ws[i].f.flags & QD_F_EXCEPT ? "!" : "", ws[i].f.type,
			ws[i].f.flags & QD_F_RESERVE ? "r" : "",
			ws[i].done == 1 ? "took" : "asleep");
	fprintf(stderr, "\n");
}

static void cmd_wake_rounds(unsigned long rounds, bool any_only)
{
	unsigned int seed = (unsigned int)time(NULL);
	int fd = open_dev();

	printf("seed %u\n", seed);
	srand(seed);
	handle(SIGUSR1, false);
	for (unsigned long r = 0; r < rounds; r++) {
		struct wr_waiter ws[WR_MAX];
		uint32_t types[WR_MAX];
		uint64_t data[WR_MAX];
		struct qd_msg m[WR_MAX];
		int nw = 2 + rand() % (WR_MAX - 1), nm = 1 + rand() % WR_MAX;
		uint64_t blocked = stat_u64("blocked_readers");
		struct timespec t0, t;

		memset(ws, 0, sizeof(ws));
		for (int i = 0; i < nw; i++) {
			int k = any_only ? 0 : rand() % 4;

			ws[i].fd = open_dev();
			ws[i].f.type = k == 0 ? QD_TYPE_ANY :
				       (uint32_t)(1 + rand() % 3);
			ws[i].f.flags = (k == 1 ? QD_F_EXCEPT : 0) |
					(rand() % 3 ? 0 : QD_F_RESERVE);
			if (pthread_create(&ws[i].t, NULL, wr_wait, &ws[i]))
				die("pthread_create failed");
			blocked = wait_more("blocked_readers", blocked);
		}
		bool batch = rand() % 2 == 0;
		uint32_t one = 1 + (uint32_t)(rand() % 3);

		memset(m, 0, sizeof(m));
		for (int i = 0; i < nm; i++) {
			types[i] = any_only && batch ? one :
				   (uint32_t)(1 + rand() % 3);
			data[i] = (uint64_t)types[i] << 32 | (uint64_t)i;
			m[i].data = (uintptr_t)&data[i];
			m[i].len = sizeof(data[i]);
			m[i].type = types[i];
		}
		if (!batch) {
			for (int i = 0; i < nm; i++)
				if (ioctl(fd, QD_IOC_PUSH, &m[i]))
					die("push: %s", strerror(errno));
		} else {
			struct qd_batch b = { .msgs = (uintptr_t)m,
					      .count = (uint32_t)nm };

			if (ioctl(fd, QD_IOC_PUSH_BATCH, &b) ||
			    b.done != (uint32_t)nm)
				die("push batch: %s", strerror(errno));
		}

		/* Settle: nothing left that a sleeping waiter would take. */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			int left[4] = { 0 };
			bool stuck = false;

			for (int i = 0; i < nm; i++)
				left[types[i]]++;
			for (int i = 0; i < nw; i++)
				if (__atomic_load_n(&ws[i].done,
						    __ATOMIC_ACQUIRE) == 1)
					left[ws[i].took]--;
			for (int i = 0; i < nw; i++) {
				if (__atomic_load_n(&ws[i].done,
						    __ATOMIC_ACQUIRE))
					continue;
				for (uint32_t ty = 1; ty <= 3; ty++)
					if (left[ty] > 0 && wr_matches(&ws[i], ty))
						stuck = true;
			}
			if (!stuck)
				break;
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (t.tv_sec - t0.tv_sec > WK_GRACE_S) {
				describe_round(r, ws, nw, types, nm);
				die("lost wake-up in round %lu: a message waits while a waiter that takes it sleeps",
				    r);
			}
			usleep(500);
		}

		/* End the round: wake the rest, drain the queue. */
		for (int i = 0; i < nw; i++)
			end_one_shot(ws[i].t, &ws[i].done, ws[i].fd);
		for (;;) {
			uint64_t buf;
			uint32_t len = sizeof(buf);
			int err = pop(fd, QD_TYPE_ANY, &buf, &len,
				      QD_F_NONBLOCK, 0, NULL);

			if (err == EAGAIN)
				break;
			if (err)
				die("drain: %s", strerror(err));
		}
	}
	expect_stat("messages", 0);
	expect_stat("reserved", 0);
	printf("%lu rounds of one-shot waiters settled, no wake-up lost\n",
	       rounds);
	close(fd);
}

/* ---- close while another thread blocks in pop on the same fd ---- */

struct waiter {
	int fd;
	uint32_t type;
	uint32_t flags;
	int err;
	uint64_t id;
	uint32_t len;
	char buf[64];
	int done;
};

static void *pop_thread(void *arg)
{
	struct waiter *w = arg;

	w->len = sizeof(w->buf);
	w->err = pop(w->fd, w->type, w->buf, &w->len, w->flags, 0, &w->id);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void cmd_close_pop(bool reserve, bool signal_it)
{
	struct waiter w = { .flags = reserve ? QD_F_RESERVE : 0 };
	uint64_t br = stat_u64("blocked_readers"), id, pops = stat_u64("pops");
	uint64_t requeued = stat_u64("requeued");
	pthread_t th;
	int fd2 = open_dev();

	handle(SIGUSR1, false);
	w.fd = open_dev();
	if (pthread_create(&th, NULL, pop_thread, &w))
		die("pthread_create");
	wait_stat("blocked_readers", br + 1);
	if (close(w.fd))
		die("close of the waiter's fd: %s", strerror(errno));
	usleep(200000);
	if (__atomic_load_n(&w.done, __ATOMIC_ACQUIRE))
		die("the pop returned (%s) when its fd was closed; it must keep waiting",
		    w.err ? strerror(w.err) : "a message");
	if (signal_it) {
		pthread_kill(th, SIGUSR1);
		pthread_join(th, NULL);
		if (w.err != EINTR)
			die("the interrupted pop returned %s, not EINTR",
			    w.err ? strerror(w.err) : "a message");
		expect_stat("messages", 0);
		expect_stat("pops", pops);
		printf("close-pop-signal: the waiter on a closed fd was interrupted with EINTR\n");
		close(fd2);
		return;
	}
	if (push(fd2, QD_TYPE_JOB, "after-close", 11, 0, &id))
		die("push: %s", strerror(errno));
	pthread_join(th, NULL);
	if (w.err)
		die("the pop on the closed fd failed: %s", strerror(w.err));
	if (w.id != id || w.len != 11 || memcmp(w.buf, "after-close", 11))
		die("the pop got id %llu len %u, pushed id %llu len 11",
		    (unsigned long long)w.id, w.len, (unsigned long long)id);
	if (!reserve) {
		expect_stat("messages", 0);
		expect_stat("pops", pops + 1);
		printf("close-pop: the waiter got id %llu after its fd was closed\n",
		       (unsigned long long)id);
	} else {
		/* the ioctl held the last reference: release requeued it */
		char buf[64];
		uint32_t len = sizeof(buf);
		uint64_t id2;

		expect_stat("reserved", 0);
		expect_stat("messages", 1);
		expect_stat("requeued", requeued + 1);
		expect_stat("pops", pops);
		if (pop(fd2, 0, buf, &len, QD_F_NONBLOCK, 0, &id2))
			die("pop of the requeued message: %s", strerror(errno));
		if (id2 != id || len != 11 || memcmp(buf, "after-close", 11))
			die("requeued message came back as id %llu len %u",
			    (unsigned long long)id2, len);
		printf("close-pop --reserve: id %llu, reserved through a closed fd, came back on release\n",
		       (unsigned long long)id);
	}
	close(fd2);
}

/* ---- resize while pushers and poppers block ---- */

struct pusher {
	int fd;
	uint32_t len;
	uint32_t type;
	int err;
	uint64_t id;
	const char *data;
};

static void *push_thread(void *arg)
{
	struct pusher *p = arg;

	p->err = push(p->fd, p->type, p->data, p->len, 0, &p->id);
	return NULL;
}

static void set_size(int fd, uint64_t size, int want)
{
	int err = ioctl(fd, QD_IOC_SET_SIZE, &size) ? errno : 0;

	if (err != want)
		die("resize to %llu: %s, expected %s", (unsigned long long)size,
		    err ? strerror(err) : "success",
		    want ? strerror(want) : "success");
}

#define NP 3

static void cmd_resize_blocked(void)
{
	static char big[8192], small[100], buf[8192];
	int fd = open_dev();
	struct pusher p[NP], huge;
	struct waiter w[NP];
	pthread_t pth[NP], wth[NP], hth;
	uint64_t bw = stat_u64("blocked_writers"), br = stat_u64("blocked_readers");
	uint64_t pushes = stat_u64("pushes"), last = 0;
	unsigned int got1 = 0, got2 = 0;

	memset(big, 'B', sizeof(big));
	memset(small, 's', sizeof(small));
	set_size(fd, 8192, 0);
	/* 4000 bytes used: 40 messages of 92 bytes + 8 */
	for (int i = 0; i < 40; i++)
		if (push(fd, 1, small, 92, QD_F_NONBLOCK, NULL))
			die("fill: %s", strerror(errno));
	expect_stat("used", 4000);
	/* poppers wait for type 7, which nobody pushed yet */
	for (int i = 0; i < NP; i++) {
		w[i] = (struct waiter){ .fd = open_dev(), .type = 7 };
		if (pthread_create(&wth[i], NULL, pop_thread, &w[i]))
			die("pthread_create");
	}
	/* pushers of 5000 bytes: none fits beside 4000 in 8192 */
	for (int i = 0; i < NP; i++) {
		p[i] = (struct pusher){ .fd = open_dev(), .len = 5000,
					.type = 2, .data = big };
		if (pthread_create(&pth[i], NULL, push_thread, &p[i]))
			die("pthread_create");
	}
	/* and one of 6000 bytes: fits in 8192, not in 6000 */
	huge = (struct pusher){ .fd = open_dev(), .len = 6000, .type = 3,
				.data = big };
	if (pthread_create(&hth, NULL, push_thread, &huge))
		die("pthread_create");
	wait_stat("blocked_writers", bw + NP + 1);
	wait_stat("blocked_readers", br + NP);

	/* below used: refused, nobody moves */
	set_size(fd, 3999, EBUSY);
	/* to 6000: the 6000-byte message can never fit any more */
	set_size(fd, 6000, 0);
	pthread_join(hth, NULL);
	if (huge.err != EMSGSIZE)
		die("a waiting push of 6000 bytes after a shrink to 6000 returned %s, not EMSGSIZE",
		    huge.err ? strerror(huge.err) : "success");
	usleep(100000);
	expect_stat("pushes", pushes + 40);
	/* grow: every waiting pusher fits now */
	set_size(fd, 65536, 0);
	for (int i = 0; i < NP; i++) {
		pthread_join(pth[i], NULL);
		if (p[i].err)
			die("pusher %d after the grow: %s", i, strerror(p[i].err));
	}
	/* the poppers still wait: give them their type */
	for (int i = 0; i < NP; i++)
		if (push(fd, 7, "seven", 5, 0, NULL))
			die("push type 7: %s", strerror(errno));
	for (int i = 0; i < NP; i++) {
		pthread_join(wth[i], NULL);
		if (w[i].err || w[i].len != 5 || memcmp(w[i].buf, "seven", 5))
			die("popper %d: %s len %u", i,
			    w[i].err ? strerror(w[i].err) : "ok", w[i].len);
	}
	/* what is left: 40 small ones, then the 3 pushed after the grow */
	for (;;) {
		uint32_t len = sizeof(buf);
		uint64_t id;
		struct qd_msg m = { .data = (uintptr_t)buf, .len = len,
				    .flags = QD_F_NONBLOCK };

		if (ioctl(fd, QD_IOC_POP, &m)) {
			if (errno != EAGAIN)
				die("drain: %s", strerror(errno));
			break;
		}
		id = m.id;
		if (id <= last)
			die("drain: id %llu after %llu", (unsigned long long)id,
			    (unsigned long long)last);
		last = id;
		if (m.type == 1 && m.len == 92 && !got2 && !memcmp(buf, small, 92))
			got1++;
		else if (m.type == 2 && m.len == 5000 && got1 == 40 &&
			 !memcmp(buf, big, 5000))
			got2++;
		else
			die("drain: unexpected message type %u len %u after %u + %u",
			    m.type, m.len, got1, got2);
	}
	if (got1 != 40 || got2 != NP)
		die("drain: %u of 40 fill messages, %u of %d waiting pushes",
		    got1, got2, NP);
	expect_stat("messages", 0);
	expect_stat("size", 65536);
	printf("resize-blocked: EBUSY below used, EMSGSIZE for a waiter that no longer fits, %d pushers and %d poppers completed\n",
	       NP, NP);
}

/* ---- signal storms during waits ---- */

struct storm_msg {
	uint32_t seq;
	char fill[60];
};

/*
 * Check a popped storm message. The length first: a short message leaves
 * @sm partly unwritten, and its seq would be whatever was on the stack.
 */
static void check_storm(const char *who, uint32_t len,
			const struct storm_msg *sm, uint32_t seq)
{
	if (len != sizeof(*sm))
		die("%s len %u, expected %zu (seq %u)", who, len, sizeof(*sm),
		    seq);
	// cppcheck-suppress uninitvar ; the kernel filled all of *sm (len above)
	if (sm->seq != seq)
		die("%s seq %u, expected seq %u", who, sm->seq, seq);
}

static void storm_child(bool push_side, bool restart, bool timed,
			unsigned int k, int result_fd)
{
	int fd = open_dev();
	unsigned long eintr = 0;
	uint32_t flags = timed ? QD_F_TIMEOUT : 0;
	int64_t tmo = timed ? 30000000000LL : 0;

	(void)restart;	/* the handler came with fork */
	for (uint32_t seq = 0; seq < k;) {
		struct storm_msg sm;
		int err;

		if (push_side) {
			struct qd_msg m = { .data = (uintptr_t)&sm,
					    .len = sizeof(sm), .type = 5,
					    .flags = flags, .timeout_ns = tmo };

			memset(&sm, 'x', sizeof(sm));
			sm.seq = seq;
			err = ioctl(fd, QD_IOC_PUSH, &m) ? errno : 0;
		} else {
			struct qd_msg m = { .data = (uintptr_t)&sm,
					    .len = sizeof(sm), .type = 5,
					    .flags = flags, .timeout_ns = tmo };

			err = ioctl(fd, QD_IOC_POP, &m) ? errno : 0;
			if (!err)
				check_storm("child popped", m.len, &sm, seq);
		}
		if (!err) {
			seq++;
		} else if (err == EINTR) {
			eintr++;
		} else {
			die("child %s: %s", push_side ? "push" : "pop",
			    strerror(err));
		}
	}
	if (write(result_fd, &eintr, sizeof(eintr)) != sizeof(eintr))
		die("write: %s", strerror(errno));
	_exit(0);
}

static void cmd_signal_storm(int argc, char **argv)
{
	bool push_side = false, restart = false, timed = false;
	unsigned long signals = 5000, k = 200, eintr = 0, sent = 0, synced = 0;
	uint64_t pushes = stat_u64("pushes"), pops = stat_u64("pops");
	uint64_t timeouts = stat_u64("timeouts");
	int fd = open_dev(), pfd[2], status;
	pid_t child;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--push"))
			push_side = true;
		else if (!strcmp(argv[i], "--restart"))
			restart = true;
		else if (!strcmp(argv[i], "--timeout"))
			timed = true;
		else if (!strcmp(argv[i], "--signals") && i + 1 < argc)
			signals = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--messages") && i + 1 < argc)
			k = strtoul(argv[++i], NULL, 0);
		else
			die("bad option %s", argv[i]);
	}
	if (!k)
		die("--messages must be > 0");
	/* a pushing child waits for room: 4 messages fill the queue */
	set_size(fd, push_side ? 4 * (sizeof(struct storm_msg) + 8) : 65536, 0);
	if (pipe(pfd))
		die("pipe: %s", strerror(errno));
	handle(SIGUSR1, restart);	/* before fork: no signal may kill the child */
	child = fork();
	if (child < 0)
		die("fork: %s", strerror(errno));
	if (child == 0) {
		close(pfd[0]);
		/* a pusher does 4 more: the last 4 fit without a wait */
		storm_child(push_side, restart, timed,
			    (unsigned int)(push_side ? k + 4 : k), pfd[1]);
	}
	close(pfd[1]);
	/*
	 * Per message: a burst of signals as fast as kill() goes, whatever
	 * the child is doing; then one signal sent while the child is known
	 * to sleep in the wait (state S inside ioctl), which must end that
	 * wait (EINTR, or a restart that waits again: the blocked_* count
	 * moves, as each call that has to sleep counts once); then the
	 * message that lets it go on.
	 */
	for (uint32_t seq = 0; seq < k; seq++) {
		struct storm_msg sm;
		unsigned long burst = signals / k + (seq < signals % k);
		uint64_t blocked;

		for (unsigned long i = 0; i < burst; i++, sent++)
			if (kill(child, SIGUSR1))
				die("kill: %s", strerror(errno));
		wait_sleeping(child);
		blocked = stat_u64(push_side ? "blocked_writers" : "blocked_readers");
		if (kill(child, SIGUSR1))
			die("kill: %s", strerror(errno));
		sent++;
		synced++;
		wait_more(push_side ? "blocked_writers" : "blocked_readers",
			  blocked);
		if (push_side) {
			struct qd_msg m = { .data = (uintptr_t)&sm,
					    .len = sizeof(sm), .type = 5 };

			if (ioctl(fd, QD_IOC_POP, &m))
				die("pop: %s", strerror(errno));
			check_storm("popped", m.len, &sm, seq);
		} else {
			memset(&sm, 'x', sizeof(sm));
			sm.seq = seq;
			if (push(fd, 5, &sm, sizeof(sm), 0, NULL))
				die("push: %s", strerror(errno));
		}
	}
	if (push_side) {
		/* the last pushes fit without waiting: take them */
		for (uint32_t seq = (uint32_t)k; ; seq++) {
			struct storm_msg sm;
			struct qd_msg m = { .data = (uintptr_t)&sm,
					    .len = sizeof(sm), .type = 5 };

			if (ioctl(fd, QD_IOC_POP, &m))
				die("pop: %s", strerror(errno));
			check_storm("popped", m.len, &sm, seq);
			if (seq + 1 == k + 4)
				break;
		}
	}
	if (waitpid(child, &status, 0) != child)
		die("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		die("the waiting child failed (status %#x)", status);
	if (read(pfd[0], &eintr, sizeof(eintr)) != sizeof(eintr))
		die("no result from the child");
	expect_stat("messages", 0);
	expect_stat("pushes", pushes + k + (push_side ? 4 : 0));
	expect_stat("pops", pops + k + (push_side ? 4 : 0));
	expect_stat("timeouts", timeouts);
	if (restart && !timed && eintr)
		die("%lu EINTR with SA_RESTART and no timeout: the wait must restart",
		    eintr);
	if ((!restart || timed) && (eintr < synced || eintr > sent))
		die("%lu signals (%lu at a sleeping %s), %lu EINTR",
		    sent, synced, push_side ? "push" : "pop", eintr);
	set_size(fd, 65536, 0);
	printf("signal-storm%s%s%s: %lu signals (%lu at a sleeping waiter), %lu messages in order, %lu EINTR\n",
	       push_side ? " --push" : "", restart ? " --restart" : "",
	       timed ? " --timeout" : "", sent, synced, k, eintr);
}

/* ---- ACK/NACK from another fd ---- */

static uint64_t cur_id;
static int hammer_stop;
static unsigned long hammered;
static int hammer_fd;

static void *hammer(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&hammer_stop, __ATOMIC_ACQUIRE)) {
		uint64_t id = __atomic_load_n(&cur_id, __ATOMIC_ACQUIRE);
		unsigned long cmd = hammered & 1 ? QD_IOC_NACK : QD_IOC_ACK;

		if (!id)
			continue;
		if (ioctl(hammer_fd, cmd, &id) == 0)
			die("%s of id %llu through another fd succeeded",
			    cmd == QD_IOC_ACK ? "ACK" : "NACK",
			    (unsigned long long)id);
		if (errno != ENOENT)
			die("%s of id %llu through another fd: %s, not ENOENT",
			    cmd == QD_IOC_ACK ? "ACK" : "NACK",
			    (unsigned long long)id, strerror(errno));
		hammered++;
	}
	return NULL;
}

static void cmd_ack_other_fd(unsigned long rounds)
{
	int owner = open_dev();
	uint64_t pops = stat_u64("pops"), requeued = stat_u64("requeued");
	pthread_t th;

	hammer_fd = open_dev();
	if (pthread_create(&th, NULL, hammer, NULL))
		die("pthread_create");
	for (unsigned long r = 0; r < rounds; r++) {
		char buf[32];
		uint32_t len = sizeof(buf);
		uint64_t id = 0, id2 = 0;

		if (push(owner, QD_TYPE_JOB, "job", 3, 0, &id))
			die("push: %s", strerror(errno));
		if (pop(owner, 0, buf, &len, QD_F_RESERVE | QD_F_NONBLOCK, 0, &id2))
			die("reserve: %s", strerror(errno));
		if (id2 != id)
			die("reserved id %llu, pushed %llu", (unsigned long long)id2,
			    (unsigned long long)id);
		__atomic_store_n(&cur_id, id, __ATOMIC_RELEASE);
		for (int i = 0; i < 20; i++)
			sched_yield();
		if (r & 1) {
			/* NACK by the owner, then a plain pop takes it */
			if (ioctl(owner, QD_IOC_NACK, &id))
				die("owner NACK of %llu: %s", (unsigned long long)id,
				    strerror(errno));
			len = sizeof(buf);
			if (pop(owner, 0, buf, &len, QD_F_NONBLOCK, 0, &id2) || id2 != id)
				die("pop after NACK did not give id %llu back",
				    (unsigned long long)id);
		} else if (ioctl(owner, QD_IOC_ACK, &id)) {
			die("owner ACK of %llu: %s", (unsigned long long)id,
			    strerror(errno));
		}
	}
	__atomic_store_n(&hammer_stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	expect_stat("messages", 0);
	expect_stat("reserved", 0);
	expect_stat("pops", pops + rounds);
	expect_stat("requeued", requeued + rounds / 2);
	printf("ack-other-fd: %lu rounds, %lu ACK/NACK from the other fd, all ENOENT\n",
	       rounds, hammered);
}

/* ---- helpers for the shell ---- */

/* Open, ask for stats, close, about a thousand times a second, until killed
 * (flat out it would starve a 2-CPU TCG guest). */
static void cmd_churn(void)
{
	for (unsigned long n = 0;; n++) {
		struct qd_stats st;
		int fd = open(dev, O_RDWR | O_CLOEXEC);

		if (fd < 0)
			die("open number %lu: %s", n, strerror(errno));
		if (ioctl(fd, QD_IOC_STATS, &st))
			die("QD_IOC_STATS: %s", strerror(errno));
		close(fd);
		usleep(1000);
	}
}

/* Keep the device open until killed. */
static void cmd_hold(void)
{
	int fd = open_dev();

	printf("holding fd %d\n", fd);
	for (;;)
		pause();
}

static void cmd_wait_pop(void)
{
	char buf[4096];
	uint32_t len = sizeof(buf);
	uint64_t id;
	int fd = open_dev();
	int err = pop(fd, 0, buf, &len, 0, 0, &id);

	if (err)
		die("pop: %s", strerror(err));
	printf("id=%llu len=%u data=%.*s\n", (unsigned long long)id, len,
	       (int)len, buf);
}

static void cmd_push(const char *text)
{
	int fd = open_dev();
	uint64_t id;

	if (push(fd, QD_TYPE_JOB, text, (uint32_t)strlen(text), QD_F_NONBLOCK, &id))
		die("push: %s", strerror(errno));
	printf("id=%llu\n", (unsigned long long)id);
}

/*
 * The same for pushes: a full 512-byte queue, 2-6 one-shot pushers of
 * random sizes asleep one after the other, then 1-4 pops. The round must
 * settle with no sleeping pusher whose message fits in the free room: a
 * pusher woken for room that leaves room behind passes the wake-up on.
 */
struct ww_pusher {
	pthread_t t;
	int fd;
	uint32_t len;
	int done;
};

static void *ww_push(void *arg)
{
	struct ww_pusher *p = arg;
	char buf[200] = { 0 };
	int err = push(p->fd, 1, buf, p->len, 0, NULL);

	if (err && err != EINTR)
		die("one-shot push of %u bytes: %s", p->len, strerror(err));
	__atomic_store_n(&p->done, err ? 2 : 1, __ATOMIC_RELEASE);
	return NULL;
}

static void cmd_wake_rounds_push(unsigned long rounds)
{
	unsigned int seed = (unsigned int)time(NULL);
	int fd = open_dev();

	printf("seed %u\n", seed);
	srand(seed);
	handle(SIGUSR1, false);
	set_size(fd, 512, 0);
	for (unsigned long r = 0; r < rounds; r++) {
		struct ww_pusher ps[6];
		int np = 2 + rand() % 5, npop = 1 + rand() % 4;
		uint64_t blocked = stat_u64("blocked_writers");
		struct timespec t0, t;
		char buf[512];

		/* Fill the queue to the last byte with 56-byte messages... */
		while (stat_u64("free") >= 64)
			if (push(fd, 2, buf, 56, QD_F_NONBLOCK, NULL))
				die("fill: %s", strerror(errno));
		/* ...and the rest with one smaller message. */
		if (stat_u64("free") >= 8 &&
		    push(fd, 2, buf, (uint32_t)stat_u64("free") - 8,
			 QD_F_NONBLOCK, NULL))
			die("fill the rest: %s", strerror(errno));
		memset(ps, 0, sizeof(ps));
		for (int i = 0; i < np; i++) {
			ps[i].fd = open_dev();
			ps[i].len = (uint32_t)(rand() % 200);
			if (pthread_create(&ps[i].t, NULL, ww_push, &ps[i]))
				die("pthread_create failed");
			blocked = wait_more("blocked_writers", blocked);
		}
		for (int i = 0; i < npop; i++) {
			uint32_t len = sizeof(buf);

			if (pop(fd, 2, buf, &len, QD_F_NONBLOCK, 0, NULL))
				break;
		}

		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			uint64_t room = stat_u64("free");
			bool stuck = false;

			for (int i = 0; i < np; i++)
				if (!__atomic_load_n(&ps[i].done,
						     __ATOMIC_ACQUIRE) &&
				    8 + ps[i].len <= room)
					stuck = true;
			if (!stuck)
				break;
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (t.tv_sec - t0.tv_sec > WK_GRACE_S) {
				fprintf(stderr, "round %lu: %" PRIu64 " bytes free; pushers in sleep order:",
					r, room);
				for (int i = 0; i < np; i++)
					fprintf(stderr, " %u(%s)", 8 + ps[i].len,
						ps[i].done ? "pushed" : "asleep");
				fprintf(stderr, "\n");
				die("lost wake-up in round %lu: a push that fits sleeps",
				    r);
			}
			usleep(500);
		}

		for (int i = 0; i < np; i++)
			end_one_shot(ps[i].t, &ps[i].done, ps[i].fd);
		for (;;) {
			uint32_t len = sizeof(buf);

			if (pop(fd, QD_TYPE_ANY, buf, &len, QD_F_NONBLOCK, 0,
				NULL))
				break;
		}
	}
	expect_stat("messages", 0);
	printf("%lu rounds of one-shot pushers settled, no wake-up lost\n",
	       rounds);
	set_size(fd, 65536, 0);
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: races close-pop [--reserve] | close-pop-signal | resize-blocked |\n"
				"       signal-storm [--push] [--restart] [--timeout] [--signals N] [--messages N] |\n"
				"       ack-other-fd [ROUNDS] | wakeups [BURSTS] | wakeups-any [BURSTS] |\n"
				"       wake-rounds [ROUNDS] | wake-rounds-any [ROUNDS] | wake-rounds-push [ROUNDS] |\n"
				"       churn | hold | wait-pop | push TEXT\n");
		return 64;
	}
	cmd_name = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "close-pop"))
		cmd_close_pop(argc > 2 && !strcmp(argv[2], "--reserve"), false);
	else if (!strcmp(argv[1], "close-pop-signal"))
		cmd_close_pop(false, true);
	else if (!strcmp(argv[1], "resize-blocked"))
		cmd_resize_blocked();
	else if (!strcmp(argv[1], "signal-storm"))
		cmd_signal_storm(argc, argv);
	else if (!strcmp(argv[1], "ack-other-fd"))
		cmd_ack_other_fd(argc > 2 ? strtoul(argv[2], NULL, 0) : 200);
	else if (!strcmp(argv[1], "wakeups"))
		cmd_wakeups(argc > 2 ? strtoul(argv[2], NULL, 0) : 2000, false);
	else if (!strcmp(argv[1], "wakeups-any"))
		cmd_wakeups(argc > 2 ? strtoul(argv[2], NULL, 0) : 2000, true);
	else if (!strcmp(argv[1], "wake-rounds"))
		cmd_wake_rounds(argc > 2 ? strtoul(argv[2], NULL, 0) : 300,
				false);
	else if (!strcmp(argv[1], "wake-rounds-any"))
		cmd_wake_rounds(argc > 2 ? strtoul(argv[2], NULL, 0) : 300,
				true);
	else if (!strcmp(argv[1], "wake-rounds-push"))
		cmd_wake_rounds_push(argc > 2 ? strtoul(argv[2], NULL, 0) : 300);
	else if (!strcmp(argv[1], "churn"))
		cmd_churn();
	else if (!strcmp(argv[1], "hold"))
		cmd_hold();
	else if (!strcmp(argv[1], "wait-pop"))
		cmd_wait_pop();
	else if (!strcmp(argv[1], "push") && argc == 3)
		cmd_push(argv[2]);
	else
		die("unknown subcommand (run without arguments for usage)");
	return 0;
}
