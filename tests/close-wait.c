// SPDX-License-Identifier: GPL-2.0
/*
 * close-wait - a thread blocked in push or pop on a file that another
 * thread closes is not stranded: the call finishes when the queue lets it,
 * and the queue stays consistent. Run by tests/120-blocking.bats on an
 * empty queue of the default size.
 *
 *   close-wait pop    a thread waits in QD_IOC_POP on fd A; the main thread
 *                     closes A, then pushes through fd B; the waiter must
 *                     return that message.
 *   close-wait push   the same for a push waiting for room (queue resized
 *                     to 64 and filled first; restored to 65536 at the end).
 *
 * Prints "close-wait: ok" and exits 0, or one line naming what differed
 * and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/queue_driver.h>

static const char *dev = "/dev/queue_driver";
static int fd_a;
static int waiter_err = -1;
static struct qd_msg waiter_msg;
static char waiter_buf[64];

static void die(const char *what, int err)
{
	if (err)
		fprintf(stderr, "close-wait: FAIL: %s: %s\n", what, strerror(err));
	else
		fprintf(stderr, "close-wait: FAIL: %s\n", what);
	exit(1);
}

static struct qd_stats stats(int fd)
{
	struct qd_stats s;

	if (ioctl(fd, QD_IOC_STATS, &s))
		die("QD_IOC_STATS", errno);
	return s;
}

static void *pop_waiter(void *arg)
{
	(void)arg;
	waiter_msg = (struct qd_msg){
		.data = (uint64_t)(uintptr_t)waiter_buf,
		.len = sizeof(waiter_buf),
	};
	waiter_err = ioctl(fd_a, QD_IOC_POP, &waiter_msg) ? errno : 0;
	return NULL;
}

static void *push_waiter(void *arg)
{
	(void)arg;
	strcpy(waiter_buf, "late");
	waiter_msg = (struct qd_msg){
		.data = (uint64_t)(uintptr_t)waiter_buf,
		.len = 4, .type = 9,
	};
	waiter_err = ioctl(fd_a, QD_IOC_PUSH, &waiter_msg) ? errno : 0;
	return NULL;
}

/* Wait up to 60 s for a blocked_* counter to pass @old. */
static void wait_blocked(int fd, int writers, uint64_t old)
{
	for (int i = 0; i < 6000; i++) {
		struct qd_stats s = stats(fd);

		if ((writers ? s.blocked_writers : s.blocked_readers) > old)
			return;
		usleep(10000);
	}
	die("the waiter never blocked", 0);
}

int main(int argc, char **argv)
{
	int push_mode, fd_b, err;
	struct qd_stats s;
	pthread_t t;
	char buf[64];
	struct qd_msg m;

	if (argc != 2 || (strcmp(argv[1], "pop") && strcmp(argv[1], "push"))) {
		fprintf(stderr, "usage: close-wait pop|push\n");
		return 2;
	}
	push_mode = !strcmp(argv[1], "push");
	fd_a = open(dev, O_RDWR | O_CLOEXEC);
	fd_b = open(dev, O_RDWR | O_CLOEXEC);
	if (fd_a < 0 || fd_b < 0)
		die("open", errno);
	s = stats(fd_b);
	if (s.messages)
		die("the queue is not empty", 0);

	if (push_mode) {
		uint64_t size = 64;

		if (ioctl(fd_b, QD_IOC_SET_SIZE, &size))
			die("QD_IOC_SET_SIZE 64", errno);
		m = (struct qd_msg){ .data = (uint64_t)(uintptr_t)buf,
				     .len = 56, .type = 1 };
		memset(buf, 'f', sizeof(buf));
		if (ioctl(fd_b, QD_IOC_PUSH, &m))
			die("filling push", errno);
	}
	s = stats(fd_b);
	err = pthread_create(&t, NULL, push_mode ? push_waiter : pop_waiter, NULL);
	if (err)
		die("pthread_create", err);
	wait_blocked(fd_b, push_mode, push_mode ? s.blocked_writers :
					       s.blocked_readers);
	/* the waiter's file loses its last fd while it sleeps */
	if (close(fd_a))
		die("close", errno);

	if (push_mode) {
		m = (struct qd_msg){ .data = (uint64_t)(uintptr_t)buf,
				     .len = sizeof(buf), .type = 1 };
		if (ioctl(fd_b, QD_IOC_POP, &m))
			die("pop making room", errno);
	} else {
		m = (struct qd_msg){ .data = (uint64_t)(uintptr_t)"wake",
				     .len = 4, .type = QD_TYPE_LOG };
		if (ioctl(fd_b, QD_IOC_PUSH, &m))
			die("waking push", errno);
	}
	err = pthread_join(t, NULL);
	if (err)
		die("pthread_join", err);
	if (waiter_err)
		die("the waiter's call failed", waiter_err);

	if (push_mode) {
		uint64_t size = 65536;

		m = (struct qd_msg){ .data = (uint64_t)(uintptr_t)buf,
				     .len = sizeof(buf), .type = 9,
				     .flags = QD_F_NONBLOCK };
		if (ioctl(fd_b, QD_IOC_POP, &m))
			die("popping the waiter's message", errno);
		if (m.len != 4 || memcmp(buf, "late", 4))
			die("the waiter's message differs", 0);
		if (ioctl(fd_b, QD_IOC_SET_SIZE, &size))
			die("QD_IOC_SET_SIZE 65536", errno);
	} else if (waiter_msg.len != 4 || memcmp(waiter_buf, "wake", 4)) {
		die("the waiter got another message", 0);
	}
	s = stats(fd_b);
	if (s.messages || s.used || s.reserved)
		die("the queue is not empty at the end", 0);
	close(fd_b);
	printf("close-wait: ok\n");
	return 0;
}
