// SPDX-License-Identifier: GPL-2.0
/*
 * compat-test - the ioctl contract, checked from one program that is built
 * both natively and with -m32 (tests/bin/compat-test-m32), so the 32-bit
 * build goes through the driver's compat_ioctl path. Run by
 * tests/150-compat.bats as root on an empty queue of the default size; it
 * leaves the queue empty at that size again.
 *
 * Exits 0 after printing "compat-test: ok (N checks, BITS-bit)", or 1 with
 * one line naming the first check that differed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/queue_driver.h>

/* The layouts must not depend on the ABI: same sizes and offsets. */
_Static_assert(sizeof(struct qd_msg) == 56, "struct qd_msg size");
_Static_assert(sizeof(struct qd_batch) == 32, "struct qd_batch size");
_Static_assert(sizeof(struct qd_stats) == 128, "struct qd_stats size");
_Static_assert(__builtin_offsetof(struct qd_msg, len) == 32, "qd_msg.len");
_Static_assert(__builtin_offsetof(struct qd_msg, __reserved) == 52,
	       "qd_msg.__reserved");
_Static_assert(__builtin_offsetof(struct qd_batch, timeout_ns) == 24,
	       "qd_batch.timeout_ns");

/* A user address above 4 GiB: never valid for a 32-bit process. */
#define HIGH_PTR	0xffffffff00001000ULL
#define LOW_PTR		0x10ULL

static int fd = -1;
static unsigned int checks;
static const char *dev = "/dev/queue_driver";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "compat-test (%zu-bit): FAIL: ", sizeof(void *) * 8);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t uptr(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* Call an ioctl; return 0 or the errno. */
static int ioc(unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? errno : 0;
}

static void expect_err(const char *what, int got, int want)
{
	checks++;
	if (got != want)
		die("%s: got %s, want %s", what,
		    got ? strerrorname_np(got) : "success",
		    want ? strerrorname_np(want) : "success");
}

static void expect_u64(const char *what, uint64_t got, uint64_t want)
{
	checks++;
	if (got != want)
		die("%s: got %" PRIu64 ", want %" PRIu64, what, got, want);
}

static struct qd_stats stats(void)
{
	struct qd_stats s;

	memset(&s, 0xa5, sizeof(s));
	expect_err("STATS", ioc(QD_IOC_STATS, &s), 0);
	expect_u64("stats: used + free", s.used + s.free, s.size);
	expect_u64("stats: max_msg_size", s.max_msg_size, s.size - 8);
	for (int i = 0; i < 4; i++)
		expect_u64("stats: __spare", s.__spare[i], 0);
	return s;
}

static uint64_t push(uint32_t type, const char *data)
{
	struct qd_msg m = {
		.data = uptr(data), .len = (uint32_t)strlen(data), .type = type,
	};

	expect_err("PUSH", ioc(QD_IOC_PUSH, &m), 0);
	return m.id;
}

static struct qd_msg pop(uint32_t type, uint32_t flags, char *buf,
			 uint32_t len, int want_err)
{
	struct qd_msg m = {
		.data = uptr(buf), .len = len, .type = type, .flags = flags,
	};

	expect_err("POP", ioc(QD_IOC_POP, &m), want_err);
	return m;
}

static void expect_msg(const char *what, const struct qd_msg *m,
		       const char *buf, uint64_t id, uint32_t type,
		       const char *data)
{
	checks++;
	if (m->id != id || m->type != type || m->len != strlen(data) ||
	    memcmp(buf, data, m->len))
		die("%s: got id=%" PRIu64 " type=%u len=%u '%.*s', want id=%"
		    PRIu64 " type=%u '%s'", what, (uint64_t)m->id, m->type,
		    m->len, (int)m->len, buf, id, type, data);
}

static void test_push_pop(void)
{
	struct timespec t0, t1;
	char buf[64];
	uint64_t a, b, c;
	struct qd_msg m;

	clock_gettime(CLOCK_REALTIME, &t0);
	a = push(QD_TYPE_LOG, "log-1");
	b = push(QD_TYPE_JOB, "job-1");
	c = push(QD_TYPE_LOG, "log-2");
	clock_gettime(CLOCK_REALTIME, &t1);
	checks++;
	if (!(a < b && b < c))
		die("ids not increasing: %" PRIu64 " %" PRIu64 " %" PRIu64, a, b, c);
	expect_u64("messages after 3 pushes", stats().messages, 3);
	expect_u64("used after 3 pushes", stats().used, 3 * 8 + 15);

	/* type filter: the job, without disturbing the logs */
	memset(buf, 0xa5, sizeof(buf));
	m = pop(QD_TYPE_JOB, 0, buf, sizeof(buf), 0);
	expect_msg("pop --type job", &m, buf, b, QD_TYPE_JOB, "job-1");
	expect_u64("byte past len untouched", (unsigned char)buf[m.len], 0xa5);
	expect_u64("sender_pid", m.sender_pid, (uint64_t)getpid());
	expect_u64("sender_uid", m.sender_uid, (uint64_t)geteuid());
	checks++;
	if (m.time_ns < (uint64_t)t0.tv_sec * 1000000000ULL + (uint64_t)t0.tv_nsec ||
	    m.time_ns > (uint64_t)t1.tv_sec * 1000000000ULL + (uint64_t)t1.tv_nsec)
		die("time_ns %" PRIu64 " outside the push window", (uint64_t)m.time_ns);

	/* short buffer: EMSGSIZE, len = needed, message kept */
	m = pop(0, 0, buf, 2, EMSGSIZE);
	expect_u64("EMSGSIZE len", m.len, 5);
	expect_u64("messages after EMSGSIZE", stats().messages, 2);

	/* bad pointers: EFAULT, queue unchanged */
	m = (struct qd_msg){ .data = HIGH_PTR, .len = sizeof(buf) };
	expect_err("pop to a >4G pointer", ioc(QD_IOC_POP, &m), EFAULT);
	m = (struct qd_msg){ .data = LOW_PTR, .len = sizeof(buf) };
	expect_err("pop to a low bad pointer", ioc(QD_IOC_POP, &m), EFAULT);
	m = (struct qd_msg){ .data = HIGH_PTR, .len = 4, .type = 1 };
	expect_err("push from a >4G pointer", ioc(QD_IOC_PUSH, &m), EFAULT);
	expect_u64("messages after EFAULT", stats().messages, 2);
	expect_u64("used after EFAULT", stats().used, 2 * 8 + 10);

	/* peek, then FIFO */
	m = pop(0, QD_F_PEEK, buf, sizeof(buf), 0);
	expect_msg("peek", &m, buf, a, QD_TYPE_LOG, "log-1");
	m = pop(0, 0, buf, sizeof(buf), 0);
	expect_msg("pop 1", &m, buf, a, QD_TYPE_LOG, "log-1");
	m = pop(QD_TYPE_LOG, QD_F_EXCEPT | QD_F_NONBLOCK, buf, sizeof(buf),
		EAGAIN);
	expect_u64("messages after except", stats().messages, 1);
}

static void test_errors(void)
{
	char buf[64] = "x";
	struct qd_msg m;
	struct qd_stats before = stats(), after;

	m = (struct qd_msg){ .data = uptr(buf), .len = 1, .type = 0 };
	expect_err("push type 0", ioc(QD_IOC_PUSH, &m), EINVAL);
	m = (struct qd_msg){ .data = uptr(buf), .len = 1, .type = 1,
			     .__reserved = 1 };
	expect_err("push __reserved", ioc(QD_IOC_PUSH, &m), EINVAL);
	m = (struct qd_msg){ .data = uptr(buf), .len = 1, .type = 1,
			     .flags = QD_F_PEEK };
	expect_err("push with a pop flag", ioc(QD_IOC_PUSH, &m), EINVAL);
	m = (struct qd_msg){ .data = uptr(buf), .len = 1, .type = 1,
			     .flags = 1U << 31 };
	expect_err("push unknown flag", ioc(QD_IOC_PUSH, &m), EINVAL);
	m = (struct qd_msg){ .data = uptr(buf), .len = 1, .type = 1,
			     .timeout_ns = 5 };
	expect_err("push timeout_ns without QD_F_TIMEOUT", ioc(QD_IOC_PUSH, &m),
		   EINVAL);
	m = (struct qd_msg){ .data = uptr(buf), .len = 1, .type = 1,
			     .flags = QD_F_TIMEOUT, .timeout_ns = -1 };
	expect_err("push negative timeout", ioc(QD_IOC_PUSH, &m), EINVAL);
	m = (struct qd_msg){ .data = uptr(buf), .len = (uint32_t)before.size,
			     .type = 1 };
	expect_err("push len > size - 8", ioc(QD_IOC_PUSH, &m), EMSGSIZE);
	m = (struct qd_msg){ .data = uptr(buf), .len = sizeof(buf),
			     .flags = QD_F_PEEK | QD_F_RESERVE };
	expect_err("pop peek|reserve", ioc(QD_IOC_POP, &m), EINVAL);
	m = (struct qd_msg){ .data = uptr(buf), .len = sizeof(buf),
			     .flags = QD_F_EXCEPT };
	expect_err("pop except type 0", ioc(QD_IOC_POP, &m), EINVAL);
	m = (struct qd_msg){ .data = uptr(buf), .len = sizeof(buf),
			     .__reserved = 7 };
	expect_err("pop __reserved", ioc(QD_IOC_POP, &m), EINVAL);
	expect_err("unknown ioctl", ioc(_IO(QD_IOC_MAGIC, 0x7f), NULL), ENOTTY);
	expect_err("STATS to a bad pointer",
		   ioctl(fd, QD_IOC_STATS, (void *)(uintptr_t)LOW_PTR) ? errno : 0,
		   EFAULT);
	after = stats();
	expect_u64("messages after errors", after.messages, before.messages);
	expect_u64("used after errors", after.used, before.used);
	expect_u64("pushes after errors", after.pushes, before.pushes);
}

static void test_nonblock_timeout(void)
{
	char buf[16];
	struct qd_msg m;
	struct qd_stats before = stats();

	m = (struct qd_msg){ .data = uptr(buf), .len = sizeof(buf),
			     .type = 4242, .flags = QD_F_NONBLOCK };
	expect_err("nonblock pop of an absent type", ioc(QD_IOC_POP, &m), EAGAIN);
	m = (struct qd_msg){ .data = uptr(buf), .len = sizeof(buf),
			     .type = 4242, .flags = QD_F_TIMEOUT,
			     .timeout_ns = 1000000 };
	expect_err("1 ms timeout pop", ioc(QD_IOC_POP, &m), ETIMEDOUT);
	expect_u64("timeouts counter", stats().timeouts, before.timeouts + 1);
}

static void test_batch(void)
{
	const char *data[4] = { "b0", "b1", "b2", "b3" };
	char bufs[4][16];
	struct qd_msg msgs[4];
	struct qd_batch b;

	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < 4; i++) {
		msgs[i].data = uptr(data[i]);
		msgs[i].len = 2;
		msgs[i].type = 77;
	}
	b = (struct qd_batch){ .msgs = uptr(msgs), .count = 4, .done = 99 };
	expect_err("PUSH_BATCH", ioc(QD_IOC_PUSH_BATCH, &b), 0);
	expect_u64("PUSH_BATCH done", b.done, 4);
	checks++;
	for (int i = 1; i < 4; i++)
		if (msgs[i].id <= msgs[i - 1].id)
			die("batch ids not increasing");

	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < 4; i++) {
		msgs[i].data = uptr(bufs[i]);
		msgs[i].len = sizeof(bufs[i]);
		msgs[i].type = 77;
	}
	b = (struct qd_batch){ .msgs = uptr(msgs), .count = 4, .done = 99,
			       .flags = QD_F_NONBLOCK };
	expect_err("POP_BATCH", ioc(QD_IOC_POP_BATCH, &b), 0);
	expect_u64("POP_BATCH done", b.done, 4);
	for (int i = 0; i < 4; i++)
		expect_msg("batch entry", &msgs[i], bufs[i], msgs[i].id, 77, data[i]);

	b = (struct qd_batch){ .msgs = uptr(msgs), .count = 4, .done = 99,
			       .flags = QD_F_NONBLOCK };
	expect_err("POP_BATCH on no message", ioc(QD_IOC_POP_BATCH, &b), EAGAIN);
	expect_u64("POP_BATCH done on error", b.done, 0);
	b = (struct qd_batch){ .msgs = HIGH_PTR, .count = 1,
			       .flags = QD_F_NONBLOCK };
	expect_err("POP_BATCH msgs >4G", ioc(QD_IOC_POP_BATCH, &b), EFAULT);
	b = (struct qd_batch){ .msgs = uptr(msgs), .count = 0 };
	expect_err("POP_BATCH count 0", ioc(QD_IOC_POP_BATCH, &b), EINVAL);
	b = (struct qd_batch){ .msgs = uptr(msgs), .count = 1, .__reserved = 1 };
	expect_err("PUSH_BATCH __reserved", ioc(QD_IOC_PUSH_BATCH, &b), EINVAL);
}

static void test_reserve(void)
{
	char buf[16];
	uint64_t id = push(88, "r"), bogus;
	struct qd_msg m;

	m = pop(88, QD_F_RESERVE, buf, sizeof(buf), 0);
	expect_msg("reserve", &m, buf, id, 88, "r");
	expect_u64("reserved", stats().reserved, 1);
	pop(88, QD_F_NONBLOCK, buf, sizeof(buf), EAGAIN);
	expect_err("NACK", ioc(QD_IOC_NACK, &id), 0);
	expect_u64("reserved after nack", stats().reserved, 0);
	m = pop(88, QD_F_RESERVE, buf, sizeof(buf), 0);
	expect_msg("reserve again", &m, buf, id, 88, "r");
	expect_err("ACK", ioc(QD_IOC_ACK, &id), 0);
	expect_err("ACK twice", ioc(QD_IOC_ACK, &id), ENOENT);
	bogus = id + 1000;
	expect_err("NACK unknown id", ioc(QD_IOC_NACK, &bogus), ENOENT);
	expect_err("ACK from a >4G pointer",
		   ioctl(fd, QD_IOC_ACK, (void *)(uintptr_t)HIGH_PTR) ? errno : 0,
		   EFAULT);
	expect_u64("messages after ack", stats().messages, 0);
}

static void test_resize(void)
{
	uint64_t size = 4096, tiny = 16, orig = stats().size;
	char buf[16];
	uint64_t a = push(5, "first"), b = push(5, "second"), c;
	struct qd_msg m;

	expect_err("SET_SIZE 4096", ioc(QD_IOC_SET_SIZE, &size), 0);
	expect_u64("size after resize", stats().size, 4096);
	expect_err("SET_SIZE below minimum", ioc(QD_IOC_SET_SIZE, &tiny), EINVAL);
	size = 64;
	c = push(5, "0123456789012345678901234567890123");
	expect_err("SET_SIZE below used", ioc(QD_IOC_SET_SIZE, &size), EBUSY);
	expect_err("SET_SIZE from a >4G pointer",
		   ioctl(fd, QD_IOC_SET_SIZE, (void *)(uintptr_t)HIGH_PTR) ? errno : 0,
		   EFAULT);
	m = pop(5, 0, buf, sizeof(buf), 0);
	expect_msg("order kept by resize", &m, buf, a, 5, "first");
	m = pop(5, 0, buf, sizeof(buf), 0);
	expect_msg("order kept by resize", &m, buf, b, 5, "second");
	pop(5, 0, buf, sizeof(buf), EMSGSIZE);
	{
		char big[64];

		m = pop(5, 0, big, sizeof(big), 0);
		expect_msg("kept after EMSGSIZE", &m, big, c, 5,
			   "0123456789012345678901234567890123");
	}
	expect_err("SET_SIZE back", ioc(QD_IOC_SET_SIZE, &orig), 0);
	expect_u64("size restored", stats().size, orig);
}

int main(int argc, char **argv)
{
	struct qd_stats s;

	if (argc > 1)
		dev = argv[1];
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open %s: %s", dev, strerror(errno));
	s = stats();
	if (s.messages)
		die("the queue is not empty (%" PRIu64 " messages)", (uint64_t)s.messages);

	test_push_pop();
	{
		/* drain what test_push_pop left: log-2 */
		char buf[16];

		pop(QD_TYPE_LOG, 0, buf, sizeof(buf), 0);
	}
	test_errors();
	test_nonblock_timeout();
	test_batch();
	test_reserve();
	test_resize();
	expect_u64("queue empty at the end", stats().messages, 0);
	printf("compat-test: ok (%u checks, %zu-bit)\n", checks, sizeof(void *) * 8);
	return 0;
}
