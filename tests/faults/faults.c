// SPDX-License-Identifier: GPL-2.0
/*
 * faults: systematic fault injection into queue_driver calls.
 *
 * Usage: faults [-d DEVICE] [-m ENOMEM,EFAULT] OP
 *        faults load MODULE.ko [PARAMS]
 *
 * For one operation OP, for n = 1, 2, 3, ...: bring the queue into a known
 * state, write n to /proc/thread-self/fail-nth, make the one system call,
 * and learn from fail-nth whether the n-th fault point inside that call
 * was reached (the kernel then failed that allocation or user copy). The
 * sweep ends at the first n the call no longer reaches. Fault points are
 * every slab and page allocation (failslab, fail_page_alloc with
 * ignore-gfp-wait off and min-order 0, set up by the bats suite) and
 * every copy_{from,to}_user (fail_usercopy) the call makes.
 *
 * After each call the queue is checked against what the call returned:
 * - it failed: errno is ENOMEM or EFAULT and the queue is exactly as
 *   before (sizes, counters, and the messages themselves, popped and
 *   compared afterwards without faults);
 * - it succeeded (the failed allocation was optional, e.g. a kvmalloc
 *   that fell back to vmalloc): it did all of its work, nothing lost;
 * - a batch may also stop early: then `done` entries, in order, moved.
 *
 * OP: push pop peek reserve ack push-batch pop-batch push-batch-long
 *     resize-grow resize-shrink stats write read open, or load (needs the
 *     module unloaded; each successful load is unloaded again).
 *     push-batch-long pushes BATCH_LONG messages: more than the PREALLOC
 *     the driver gets entries for before it takes the queue lock, so it
 *     allocates more under the lock, a chunk at a time. Their payloads
 *     are short (LONG_PAYLOAD), copied a word at a time where
 *     fail_usercopy does not reach, so only allocations fail, and a
 *     failure under the lock must stop the batch after a prefix of more
 *     than PREALLOC messages: the run fails unless one did.
 *
 * A sweep fails each point once if their numbering is the same in every
 * call; it is not quite: an allocation that needs a fresh slab page (and,
 * for an accounted cache, its memcg vector) has points that the same
 * allocation served from a partly used slab has not, so a point can
 * shift past the n that would have hit it, and a sweep skips it (seen on
 * 2026-12-04: a push batch's one ENOMEM point, in one run of four).
 * With -m, the sweep is repeated, up to MAX_SWEEPS times in all, until at
 * least that many calls failed with ENOMEM and with EFAULT (what the
 * caller knows the path has).
 *
 * Prints one line: "OP: N calls, N faults injected (N ENOMEM, N EFAULT,
 * N absorbed)", counting every sweep. Exits 1 with a message naming what
 * differed.
 * With QD_FAULTS_TRACE set in the environment, also one line per fault
 * point on stderr: what the call returned when that point failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/queue_driver.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_POINTS	100000
/*
 * The payload size of every message. Payloads of up to 256 bytes go in
 * and out a word at a time (driver/qd.h, qd_view_to_user() and
 * qd_ring_from_user()), which fail_usercopy does not reach: 300-byte
 * messages make each payload copy one injectable EFAULT. The word
 * moves' faults are the bad-pointer and --page-end tests of 100, 110,
 * 160 and 170.
 */
#define PAYLOAD		300
#define BATCH		4
#define BATCH_LONG	100
#define PREALLOC	64	/* QD_PREALLOC_MAX in driver/qd_queue.c */
#define LONG_PAYLOAD	16	/* push-batch-long's payloads */
#define NMSG		3	/* messages queued before a pop-like call */
#define MAX_SWEEPS	4	/* with -m: sweeps until the minimums are seen */

static const char *dev_path = "/dev/queue_driver";
static const char *op;
static int fail_fd = -1;
static int qfd = -1;

static unsigned long calls, injected, n_enomem, n_efault, absorbed;
static unsigned long n_locked_prefix;	/* push-batch-long stopped past PREALLOC */
static int long_batch;			/* OP is push-batch-long */
static unsigned int plen = PAYLOAD;	/* the payload size of this OP */

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "faults: %s: ", op ? op : "setup");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* --- fail-nth ------------------------------------------------------------- */

static void arm(unsigned long n)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%lu", n);

	if (pwrite(fail_fd, buf, len, 0) != len)
		die("arming fail-nth with %lu: %m", n);
}

/*
 * Was the armed fault injected? fail-nth reads 0 once it was. The read
 * itself copies to user space, a fault point too: when only one point was
 * left it fails with EFAULT, which also means the call did not reach it.
 * Either way fail-nth is disarmed afterwards.
 */
static int disarm(void)
{
	char buf[32] = "";
	ssize_t r = pread(fail_fd, buf, sizeof(buf) - 1, 0);
	int hit = r > 0 && buf[0] == '0';

	if (r < 0 && errno != EFAULT)
		die("reading fail-nth: %m");
	/* The write's own user copy may consume the last point: ignore it. */
	if (pwrite(fail_fd, "0", 1, 0) < 0 && errno != EFAULT)
		die("disarming fail-nth: %m");
	memset(buf, 0, sizeof(buf));
	if (pread(fail_fd, buf, sizeof(buf) - 1, 0) <= 0 || buf[0] != '0')
		die("fail-nth did not go back to 0 (reads '%s')", buf);
	return hit;
}

/* --- the queue ------------------------------------------------------------ */

static void qopen(void)
{
	if (qfd < 0) {
		qfd = open(dev_path, O_RDWR);
		if (qfd < 0)
			die("open %s: %m", dev_path);
	}
}

static void qclose(void)
{
	if (qfd >= 0)
		close(qfd);
	qfd = -1;
}

static struct qd_stats stats(void)
{
	struct qd_stats st;

	if (ioctl(qfd, QD_IOC_STATS, &st))
		die("QD_IOC_STATS: %m");
	return st;
}

static void fill(unsigned char *p, unsigned int len, unsigned int seed)
{
	for (unsigned int i = 0; i < len; i++)
		p[i] = (unsigned char)(seed * 31 + i * 7);
}

static int push_one(unsigned int type, unsigned int seed, unsigned int len)
{
	unsigned char buf[PAYLOAD];
	struct qd_msg m = { .data = (uintptr_t)buf, .len = len, .type = type,
			    .flags = QD_F_NONBLOCK };

	fill(buf, len, seed);
	return ioctl(qfd, QD_IOC_PUSH, &m);
}

/* Pop everything without faults; each message must be (type, seed) in order. */
static void expect_queue(const unsigned int *seeds, unsigned int n, const char *when)
{
	unsigned char buf[PAYLOAD], want[PAYLOAD];
	struct qd_stats st = stats();

	if (st.messages != n || st.reserved != 0)
		die("%s: %llu messages (%llu reserved) queued, expected %u",
		    when, st.messages, st.reserved, n);
	for (unsigned int i = 0; i < n; i++) {
		struct qd_msg m = { .data = (uintptr_t)buf, .len = plen,
				    .flags = QD_F_NONBLOCK };

		if (ioctl(qfd, QD_IOC_POP, &m))
			die("%s: popping message %u: %m", when, i);
		fill(want, plen, seeds[i]);
		if (m.type != 1000 + seeds[i] || m.len != plen ||
		    memcmp(buf, want, plen))
			die("%s: message %u is type %u len %u, expected type %u len %u%s",
			    when, i, m.type, m.len, 1000 + seeds[i], plen,
			    m.len == plen ? " (payload differs)" : "");
	}
	st = stats();
	if (st.messages || st.used)
		die("%s: queue not empty after popping %u messages", when, n);
}

static void queue_msgs(unsigned int first, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (push_one(1000 + first + i, first + i, PAYLOAD))
			die("setting up: push: %m");
}

/*
 * The driver keeps up to QD_BATCH_MAX freed entries for the next pushes
 * (QD_POOL_MAX in driver/qd_queue.c), so a push after the pops of the
 * last step may allocate nothing and have no allocation to fail. Before a
 * faulted push, queue that many empty messages of BALLAST_TYPE: they
 * take every spare, so the push allocates. They are popped again (by
 * type) before the queue is checked.
 */
#define BALLAST_TYPE	999

static void ballast(int on)
{
	static struct qd_msg ms[QD_BATCH_MAX];
	struct qd_batch b = { .msgs = (uintptr_t)ms, .count = QD_BATCH_MAX,
			      .flags = QD_F_NONBLOCK };

	for (unsigned int i = 0; i < QD_BATCH_MAX; i++)
		ms[i] = (struct qd_msg){ .type = BALLAST_TYPE };
	if (ioctl(qfd, on ? QD_IOC_PUSH_BATCH : QD_IOC_POP_BATCH, &b))
		die("%s the ballast: %m", on ? "queuing" : "popping");
	if (b.done != QD_BATCH_MAX)
		die("%s the ballast: done %u of %u", on ? "queuing" : "popping",
		    b.done, QD_BATCH_MAX);
}

static void set_size(unsigned long long size)
{
	__u64 s = size;

	if (ioctl(qfd, QD_IOC_SET_SIZE, &s))
		die("setting up: QD_IOC_SET_SIZE %llu: %m", size);
}

/* Classify one faulted call; returns 1 if it failed. */
static int outcome(long ret, int err, int hit, unsigned long n)
{
	if (getenv("QD_FAULTS_TRACE"))
		fprintf(stderr, "faults: %s: point %lu: %s, ret %ld (%s)\n", op, n,
			hit ? "hit" : "not reached", ret, ret < 0 ? strerror(err) : "ok");
	calls++;
	if (!hit) {
		if (ret < 0)
			die("call %lu failed (%s) although no fault was injected",
			    n, strerror(err));
		return 0;
	}
	injected++;
	if (ret >= 0) {
		absorbed++;
		return 0;
	}
	if (err == ENOMEM)
		n_enomem++;
	else if (err == EFAULT)
		n_efault++;
	else
		die("fault point %lu made the call fail with %s, not ENOMEM or EFAULT",
		    n, strerror(err));
	return 1;
}

static void check_counters(const struct qd_stats *a, const struct qd_stats *b,
			   long dpush, long dpop, const char *when)
{
	if (b->pushes != a->pushes + dpush || b->pops != a->pops + dpop)
		die("%s: pushes %llu->%llu, pops %llu->%llu; expected +%ld, +%ld",
		    when, a->pushes, b->pushes, a->pops, b->pops, dpush, dpop);
	if (b->used + b->free != b->size)
		die("%s: used %llu + free %llu != size %llu", when, b->used,
		    b->free, b->size);
}

/* --- the operations --------------------------------------------------------- */

/* Returns 1 when the n-th point was not reached: all points done. */
static int step(unsigned long n)
{
	static unsigned int seeds[NMSG + BATCH_LONG];
	unsigned char buf[PAYLOAD];
	struct qd_msg m = { .data = (uintptr_t)buf, .len = PAYLOAD,
			    .flags = QD_F_NONBLOCK };
	struct qd_msg ms[BATCH_LONG];
	struct qd_batch b = { .msgs = (uintptr_t)ms, .count = BATCH,
			      .flags = QD_F_NONBLOCK };
	struct qd_stats before, after;
	long ret;
	int err, hit, failed;
	char what[64];

	for (unsigned int i = 0; i < NMSG + BATCH_LONG; i++)
		seeds[i] = 1 + i;
	snprintf(what, sizeof(what), "after fault point %lu", n);
	qopen();
	memset(buf, 0, sizeof(buf));
	memset(ms, 0, sizeof(ms));

	if (!strcmp(op, "push") || !strcmp(op, "write")) {
		ballast(1);
		before = stats();
		fill(buf, PAYLOAD, 1);
		m.type = 1001;
		arm(n);
		if (!strcmp(op, "push"))
			ret = ioctl(qfd, QD_IOC_PUSH, &m);
		else
			ret = write(qfd, buf, PAYLOAD);
		err = errno;
		hit = disarm();
		failed = outcome(ret, err, hit, n);
		after = stats();
		check_counters(&before, &after, !failed, 0, what);
		ballast(0);
		if (!strcmp(op, "write")) {
			/* write(2) pushes QD_TYPE_LOG: check it by hand. */
			if (after.messages != QD_BATCH_MAX + (unsigned int)!failed)
				die("%s: %llu messages queued", what, after.messages);
			if (!failed) {
				struct qd_msg p = { .data = (uintptr_t)buf,
						    .len = PAYLOAD, .type = QD_TYPE_LOG,
						    .flags = QD_F_NONBLOCK };
				unsigned char want[PAYLOAD];

				if (ioctl(qfd, QD_IOC_POP, &p) || p.len != PAYLOAD)
					die("%s: the written message is gone", what);
				fill(want, PAYLOAD, 1);
				if (memcmp(buf, want, PAYLOAD))
					die("%s: the written message is corrupt", what);
			}
		} else {
			expect_queue(seeds, !failed, what);
		}
		return !hit;
	}

	if (!strcmp(op, "pop") || !strcmp(op, "peek") || !strcmp(op, "reserve") ||
	    !strcmp(op, "read")) {
		int peek = !strcmp(op, "peek"), rsv = !strcmp(op, "reserve");
		int rd = !strcmp(op, "read");

		if (rd) {
			/* read(2) pops QD_TYPE_LOG messages */
			fill(buf, PAYLOAD, 1);
			if (write(qfd, buf, PAYLOAD) != PAYLOAD)
				die("setting up: write: %m");
		} else {
			queue_msgs(1, NMSG);
		}
		before = stats();
		memset(buf, 0, sizeof(buf));
		m.flags |= peek ? QD_F_PEEK : rsv ? QD_F_RESERVE : 0;
		arm(n);
		if (rd)
			ret = read(qfd, buf, PAYLOAD);
		else
			ret = ioctl(qfd, QD_IOC_POP, &m);
		err = errno;
		hit = disarm();
		failed = outcome(ret, err, hit, n);
		after = stats();
		if (!failed) {
			unsigned char want[PAYLOAD];

			fill(want, PAYLOAD, 1);
			if (memcmp(buf, want, PAYLOAD))
				die("%s: the call succeeded but the payload differs", what);
			if (!rd && (m.type != 1001 || m.len != PAYLOAD))
				die("%s: popped type %u len %u, expected 1001 len %u",
				    what, m.type, m.len, PAYLOAD);
		}
		if (rsv && !failed) {
			if (after.reserved != 1)
				die("%s: reserve succeeded, %llu reserved", what, after.reserved);
			if (ioctl(qfd, QD_IOC_ACK, &m.id))
				die("%s: ACK of the reserved message: %m", what);
			after = stats();
		}
		check_counters(&before, &after, 0, !failed && !peek, what);
		if (rd) {
			if (after.messages != (unsigned int)failed)
				die("%s: %llu messages left", what, after.messages);
			if (failed) {
				struct qd_msg p = { .data = (uintptr_t)buf,
						    .len = PAYLOAD, .type = QD_TYPE_LOG,
						    .flags = QD_F_NONBLOCK };

				if (ioctl(qfd, QD_IOC_POP, &p) || p.len != PAYLOAD)
					die("%s: the message read(2) failed on is gone", what);
			}
		} else if (failed || peek) {
			expect_queue(seeds, NMSG, what);
		} else {
			expect_queue(seeds + 1, NMSG - 1, what);
		}
		return !hit;
	}

	if (!strcmp(op, "ack")) {
		queue_msgs(1, 1);
		m.flags |= QD_F_RESERVE;
		if (ioctl(qfd, QD_IOC_POP, &m))
			die("setting up: reserve: %m");
		before = stats();
		arm(n);
		ret = ioctl(qfd, QD_IOC_ACK, &m.id);
		err = errno;
		hit = disarm();
		failed = outcome(ret, err, hit, n);
		after = stats();
		check_counters(&before, &after, 0, !failed, what);
		if (failed && ioctl(qfd, QD_IOC_ACK, &m.id))
			die("%s: the failed ACK lost the reservation: %m", what);
		expect_queue(seeds, 0, what);
		return !hit;
	}

	if (!strcmp(op, "push-batch") || !strcmp(op, "pop-batch") ||
	    long_batch) {
		int push = strcmp(op, "pop-batch") != 0;
		unsigned int nb = long_batch ? BATCH_LONG : BATCH;
		static unsigned char bufs[BATCH_LONG][PAYLOAD];
		unsigned int done;

		b.count = nb;
		if (!push)
			queue_msgs(1, nb);
		else
			ballast(1);
		for (unsigned int i = 0; i < nb; i++) {
			ms[i].data = (uintptr_t)bufs[i];
			ms[i].len = plen;
			if (push) {
				ms[i].type = 1001 + i;
				fill(bufs[i], plen, 1 + i);
			} else {
				memset(bufs[i], 0, plen);
			}
		}
		before = stats();
		arm(n);
		ret = ioctl(qfd, push ? QD_IOC_PUSH_BATCH : QD_IOC_POP_BATCH, &b);
		err = errno;
		hit = disarm();
		failed = outcome(ret, err, hit, n);
		after = stats();
		done = failed ? 0 : b.done;
		if (failed && b.done != 0)
			die("%s: the batch failed but reports done=%u", what, b.done);
		if (!failed && done != nb && !hit)
			die("%s: done=%u of %u without a fault", what, done, nb);
		if (!failed && hit && long_batch && done > PREALLOC && done < nb)
			n_locked_prefix++;
		check_counters(&before, &after, push ? done : 0, push ? 0 : done, what);
		if (push) {
			ballast(0);
			expect_queue(seeds, done, what);
		} else {
			for (unsigned int i = 0; i < done; i++) {
				unsigned char want[PAYLOAD];

				fill(want, plen, 1 + i);
				if (ms[i].type != 1001 + i || memcmp(bufs[i], want, plen))
					die("%s: batch entry %u is wrong", what, i);
			}
			expect_queue(seeds + done, nb - done, what);
		}
		return !hit;
	}

	if (!strcmp(op, "resize-grow") || !strcmp(op, "resize-shrink")) {
		int grow = !strcmp(op, "resize-grow");
		__u64 size = grow ? 1 << 20 : 4096;

		set_size(grow ? 65536 : 1 << 20);
		queue_msgs(1, NMSG);
		before = stats();
		arm(n);
		ret = ioctl(qfd, QD_IOC_SET_SIZE, &size);
		err = errno;
		hit = disarm();
		failed = outcome(ret, err, hit, n);
		after = stats();
		check_counters(&before, &after, 0, 0, what);
		if (after.size != (failed ? before.size : size))
			die("%s: size is %llu after the resize %s", what, after.size,
			    failed ? "failed" : "succeeded");
		expect_queue(seeds, NMSG, what);
		set_size(65536);
		return !hit;
	}

	if (!strcmp(op, "stats")) {
		struct qd_stats st;

		queue_msgs(1, NMSG);
		before = stats();
		memset(&st, 0, sizeof(st));
		arm(n);
		ret = ioctl(qfd, QD_IOC_STATS, &st);
		err = errno;
		hit = disarm();
		failed = outcome(ret, err, hit, n);
		if (!failed && memcmp(&st, &before, sizeof(st)))
			die("%s: QD_IOC_STATS succeeded with different values", what);
		expect_queue(seeds, NMSG, what);
		return !hit;
	}

	if (!strcmp(op, "open")) {
		int fd;

		queue_msgs(1, NMSG);
		before = stats();
		arm(n);
		fd = open(dev_path, O_RDWR);
		err = errno;
		hit = disarm();
		failed = outcome(fd, err, hit, n);
		if (!failed) {
			struct qd_msg p = { .data = (uintptr_t)buf, .len = PAYLOAD,
					    .flags = QD_F_NONBLOCK | QD_F_PEEK };

			/* The new file works. */
			if (ioctl(fd, QD_IOC_POP, &p) || p.type != 1001)
				die("%s: the opened file cannot peek: %m", what);
			close(fd);
		}
		after = stats();
		check_counters(&before, &after, 0, 0, what);
		expect_queue(seeds, NMSG, what);
		return !hit;
	}

	die("unknown operation (see the comment at the top of faults.c)");
}

/* --- module load ------------------------------------------------------------ */

static int loaded(void)
{
	struct stat st;

	return stat("/sys/module/queue_driver", &st) == 0;
}

static int load_step(const char *ko, const char *params, unsigned long n)
{
	struct stat st;
	long ret;
	int fd, err, hit;

	if (loaded())
		die("queue_driver is loaded before fault point %lu (rmmod it first)", n);
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open %s: %m", ko);
	arm(n);
	ret = syscall(SYS_finit_module, fd, params, 0);
	err = errno;
	hit = disarm();
	close(fd);
	if (!outcome(ret, err, hit, n)) {
		if (stat("/sys/class/misc/queue_driver/size", &st))
			die("load succeeded after fault point %lu but there is no sysfs size: %m", n);
		if (syscall(SYS_delete_module, "queue_driver", O_NONBLOCK))
			die("unloading after fault point %lu: %m", n);
	}
	if (loaded())
		die("queue_driver still loaded after fault point %lu", n);
	return !hit;
}

static int usage(void)
{
	fprintf(stderr, "usage: faults [-d DEVICE] [-m ENOMEM,EFAULT] OP | faults load MODULE.ko [PARAMS]\n");
	return 64;
}

int main(int argc, char **argv)
{
	const char *ko = NULL, *params = "";
	unsigned long n, min_enomem = 0, min_efault = 0;
	int opt, sweep;
	char tail;

	while ((opt = getopt(argc, argv, "d:m:")) != -1) {
		if (opt == 'd') {
			dev_path = optarg;
		} else if (opt != 'm' ||
			   sscanf(optarg, "%lu,%lu%c", &min_enomem, &min_efault,
				  &tail) != 2) {
			return usage();
		}
	}
	if (optind >= argc)
		return usage();
	op = argv[optind];
	long_batch = !strcmp(op, "push-batch-long");
	if (long_batch)
		plen = LONG_PAYLOAD;
	if (!strcmp(op, "load")) {
		if (optind + 1 >= argc)
			die("which module file?");
		ko = argv[optind + 1];
		if (optind + 2 < argc)
			params = argv[optind + 2];
	}

	fail_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (fail_fd < 0)
		die("/proc/thread-self/fail-nth: %m (kernel without CONFIG_FAULT_INJECTION?)");
	/* No page faults between arming and the call (they are fault points). */
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		die("mlockall: %m");

	/* Without -m the minimums are 0: one sweep. */
	for (sweep = 0; sweep < MAX_SWEEPS; sweep++) {
		int done = 0;

		if (sweep && n_enomem >= min_enomem && n_efault >= min_efault &&
		    (!long_batch || n_locked_prefix))
			break;
		for (n = 1; n <= MAX_POINTS && !done; n++) {
			if (ko)
				done = load_step(ko, params, n);
			else
				done = step(n);
		}
		if (!done)
			die("still hitting fault points after %d calls", MAX_POINTS);
	}
	qclose();
	if (long_batch && !n_locked_prefix)
		die("no fault stopped the batch after more than %u messages: "
		    "nothing failed under the queue lock", PREALLOC);
	printf("%s: %lu calls, %lu faults injected (%lu ENOMEM, %lu EFAULT, %lu absorbed)\n",
	       op, calls, injected, n_enomem, n_efault, absorbed);
	return 0;
}
