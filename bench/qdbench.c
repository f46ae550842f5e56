// SPDX-License-Identifier: GPL-2.0
/*
 * qdbench - the same message-passing work through queue_driver and the
 * kernel's own queues, so they can be compared side by side.
 *
 * One run = one mechanism x one case. A throughput case ("64B_4p4c") forks
 * P producer and C consumer processes; producers push N messages of S bytes
 * in total, consumers pop until each has seen an end-of-stream sentinel.
 * A latency case ("1K_pingpong") forks a client and an echo server and
 * times N round trips through two channels (two queues, or two message
 * types on one queue for queue_driver).
 *
 * Every message carries (producer, sequence, checksum of its body) and the
 * consumers verify each one and tick it off in a shared bitmap, so a run
 * that lost, duplicated, reordered (per producer) or corrupted a message
 * fails instead of producing a figure.
 *
 * Output: one CSV line
 *   mechanism,case,count,size,seconds,msgs_per_s,mb_per_s,p50_us,p99_us
 * (MB = 10^6 bytes of payload; for ping-pong, msgs_per_s = round trips/s).
 *
 * Capacity: every mechanism is given the same budget C (--capacity,
 * default 65536 bytes) in its own unit of account:
 *   queue_driver  size = C: holds C / (S + 8) messages
 *   posix_mq      mq_maxmsg = C / (S + 8), mq_msgsize = S (same messages)
 *   sysv_msg      msg_qbytes = (C / (S + 8)) * S            (same messages)
 *   pipe          F_SETPIPE_SZ(C) in packet mode (one page slot a message)
 *   unix_seqpacket sk_sndbuf = C (skb truesize is charged per message)
 * `qdbench capacity` measures how many messages each one really holds.
 *
 * Exit status: 0 ok, 1 failure (one line on stderr says what), 2 the
 * mechanism cannot do this case (e.g. read/write ping-pong), 64 usage.
 */
#define _GNU_SOURCE
#include <argp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <linux/queue_driver.h>

#define EXIT_UNSUPPORTED	2
#define EXIT_USAGE		64

#define HEADROOM	8	/* room for SysV's long mtype before a payload */
#define HDR_SIZE	16	/* producer, sequence, checksum */
#define MIN_MSG		HDR_SIZE
#define MAX_MSG		(1U << 20)
#define MAX_PROCS	64
#define QD_BATCH	32	/* messages per qd_batch call */
#define MAX_BATCH	QD_BATCH
#define SENTINEL	0xffffffffU
#define PP_WARMUP	20	/* untimed round trips before a ping-pong */
#define QD_TYPE_PING	1
#define QD_TYPE_PONG	2

/* ------------------------------------------------------------------ */
/* options and state                                                   */

struct ctx {
	const struct mech *m;
	const char *case_name;
	size_t size;			/* payload bytes per message */
	unsigned int producers, consumers;
	bool pingpong;
	uint64_t count;			/* messages (or round trips) */
	size_t capacity;		/* budget in bytes, see top comment */
	unsigned int timeout;		/* seconds before the run is abandoned */
	bool raise_limits;		/* may write /proc/sys to fit the budget */
	bool verbose;			/* calls and sleeps per message */
	char inject;			/* 'c'orrupt, 'd'rop or d'u'plicate one */
	const char *device;
	const char *sysfs;

	/* mechanism objects, created by setup() and inherited by fork() */
	int pipefd[2][2];
	mqd_t mq[2];
	char mqname[2][64];
	int msqid;
	int sv[2];
	uint64_t qd_saved_size;
};

/* one process's handle on the mechanism */
struct ep {
	int fd;
};

/* a message buffer: payload at mem + HEADROOM */
struct buf {
	unsigned char *mem;
	size_t len;
};

static inline unsigned char *payload(const struct buf *b)
{
	return b->mem + HEADROOM;
}

struct mech {
	const char *name;
	unsigned int batch;		/* messages per send/recv call */
	bool pingpong;			/* can do the latency case */
	int (*setup)(struct ctx *c);
	int (*attach)(struct ctx *c, struct ep *e);
	void (*detach)(struct ctx *c, struct ep *e);
	/* return how many were done (>= 1) or -errno */
	int (*send)(struct ctx *c, struct ep *e, int chan, struct buf *b,
		    unsigned int n, bool nonblock);
	int (*recv)(struct ctx *c, struct ep *e, int chan, struct buf *b,
		    unsigned int n, bool nonblock);
	void (*teardown)(struct ctx *c);
	const char *(*unsupported)(const struct ctx *c);
};

static const char *prog = "qdbench";
static char what[128] = "";	/* "mech case", prefixed to errors */

static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s%s", prog, what, what[0] ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* small file helpers                                                  */

static int read_file(const char *path, char *out, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	ssize_t r;

	if (fd < 0)
		return -errno;
	while (got + 1 < cap && (r = read(fd, out + got, cap - 1 - got)) > 0)
		got += (size_t)r;
	close(fd);
	out[got] = '\0';
	return (int)got;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t r;
	int err;

	if (fd < 0)
		return -errno;
	r = write(fd, s, strlen(s));
	err = r < 0 ? -errno : 0;
	close(fd);
	return err;
}

static long long read_ll(const char *path)
{
	char b[64];

	if (read_file(path, b, sizeof(b)) <= 0)
		return -1;
	return strtoll(b, NULL, 10);
}

/* raise a sysctl to at least @want (only with --raise-limits) */
static void need_sysctl(const struct ctx *c, const char *path, long long want)
{
	long long cur = read_ll(path);
	char b[32];
	int err;

	if (cur >= want)
		return;
	if (!c->raise_limits)
		die("%s is %lld, this case needs %lld (run with --raise-limits as root)",
		    path, cur, want);
	snprintf(b, sizeof(b), "%lld", want);
	err = write_file(path, b);
	if (err)
		die("raising %s to %lld: %s", path, want, strerror(-err));
}

/* ------------------------------------------------------------------ */
/* payload: header + a body derived from (producer, seq), checksummed  */

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static void fill_msg(unsigned char *p, size_t size, uint32_t prod, uint32_t seq)
{
	uint64_t base = mix64(((uint64_t)prod << 32) | seq);
	uint64_t a = 0, b = 0, w;
	size_t i, nw = (size - HDR_SIZE) / 8;

	for (i = 0; i < nw; i++) {
		w = base + i * 0x9e3779b97f4a7c15ULL;
		memcpy(p + HDR_SIZE + i * 8, &w, 8);
		a += w;
		b += a;
	}
	w = a ^ (b << 1) ^ base;
	memcpy(p, &prod, 4);
	memcpy(p + 4, &seq, 4);
	memcpy(p + 8, &w, 8);
}

/* 0 if the message is intact, else a reason */
static const char *check_msg(const unsigned char *p, size_t len, size_t size,
			     uint32_t *prod, uint32_t *seq)
{
	uint64_t base, a = 0, b = 0, w, want;
	size_t i, nw = (size - HDR_SIZE) / 8;

	if (len != size)
		return "wrong length";
	memcpy(prod, p, 4);
	memcpy(seq, p + 4, 4);
	if (*prod == SENTINEL)
		return NULL;
	base = mix64(((uint64_t)*prod << 32) | *seq);
	for (i = 0; i < nw; i++) {
		memcpy(&w, p + HDR_SIZE + i * 8, 8);
		if (i == 0 && w != base)
			return "body does not belong to its header";
		a += w;
		b += a;
	}
	memcpy(&want, p + 8, 8);
	if ((a ^ (b << 1) ^ base) != want)
		return "checksum mismatch";
	return NULL;
}

static void fill_sentinel(unsigned char *p, size_t size)
{
	uint32_t s = SENTINEL;

	memset(p, 0, size);
	memcpy(p, &s, 4);
}

/* ------------------------------------------------------------------ */
/* queue_driver                                                        */

static unsigned int qd_msgs(const struct ctx *c)
{
	return (unsigned int)(c->capacity / (c->size + QD_MSG_HEADER_SIZE));
}

static char qd_attr_buf[PATH_MAX];

static const char *qd_attr(const struct ctx *c, const char *name)
{
	snprintf(qd_attr_buf, sizeof(qd_attr_buf), "%s/%s", c->sysfs, name);
	return qd_attr_buf;
}

static int qd_open(const struct ctx *c)
{
	int fd = open(c->device, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die("%s: %s%s", c->device, strerror(errno),
		    errno == ENOENT ? " (is the module loaded?)" : "");
	return fd;
}

/* pop everything left over so a run starts from an empty queue */
static uint64_t qd_drain(int fd)
{
	static unsigned char b[1 << 16];
	struct qd_stats st;
	uint64_t n = 0;

	for (;;) {
		struct qd_msg m = {
			.data = (uintptr_t)b, .len = sizeof(b),
			.flags = QD_F_NONBLOCK,
		};

		if (ioctl(fd, QD_IOC_POP, &m) == 0) {
			n++;
			continue;
		}
		if (errno == EMSGSIZE)	/* bigger than 64 KiB: enlarge */
			die("queue holds a message of %u bytes; drain it first",
			    m.len);
		break;
	}
	if (ioctl(fd, QD_IOC_STATS, &st))
		die("QD_IOC_STATS: %s", strerror(errno));
	if (st.messages)
		die("queue still holds %llu messages (reserved by someone?)",
		    (unsigned long long)st.messages);
	return n;
}

static void qd_set_size(const struct ctx *c, uint64_t size)
{
	char b[32];
	int err;

	snprintf(b, sizeof(b), "%llu", (unsigned long long)size);
	err = write_file(qd_attr(c, "size"), b);
	if (err)
		die("writing %s to %s: %s", b, qd_attr(c, "size"),
		    strerror(-err));
}

static int qd_setup(struct ctx *c)
{
	int fd = qd_open(c);
	uint64_t n = qd_drain(fd);

	if (n)
		fprintf(stderr, "%s: %s: drained %llu stale messages\n", prog,
			what, (unsigned long long)n);
	c->qd_saved_size = (uint64_t)read_ll(qd_attr(c, "size"));
	qd_set_size(c, c->capacity);
	close(fd);
	return 0;
}

static void qd_teardown(struct ctx *c)
{
	int fd = qd_open(c);

	qd_drain(fd);
	close(fd);
	if (c->qd_saved_size > 0)
		qd_set_size(c, c->qd_saved_size);
}

static int qd_attach(struct ctx *c, struct ep *e)
{
	e->fd = qd_open(c);
	return 0;
}

static void qd_detach(struct ctx *c, struct ep *e)
{
	(void)c;
	close(e->fd);
}

static int qd_send(struct ctx *c, struct ep *e, int chan, struct buf *b,
		   unsigned int n, bool nonblock)
{
	struct qd_msg m = {
		.data = (uintptr_t)payload(b),
		.len = (uint32_t)b->len,
		.type = chan ? QD_TYPE_PONG : QD_TYPE_PING,
		.flags = nonblock ? QD_F_NONBLOCK : 0,
	};

	(void)c;
	(void)n;
	return ioctl(e->fd, QD_IOC_PUSH, &m) ? -errno : 1;
}

static int qd_recv(struct ctx *c, struct ep *e, int chan, struct buf *b,
		   unsigned int n, bool nonblock)
{
	struct qd_msg m = {
		.data = (uintptr_t)payload(b),
		.len = (uint32_t)c->size,
		/* throughput: any type; ping-pong: this channel's type */
		.type = c->pingpong ? (chan ? QD_TYPE_PONG : QD_TYPE_PING) :
			QD_TYPE_ANY,
		.flags = nonblock ? QD_F_NONBLOCK : 0,
	};

	(void)n;
	if (ioctl(e->fd, QD_IOC_POP, &m))
		return -errno;
	b->len = m.len;
	return 1;
}

static int qd_send_batch(struct ctx *c, struct ep *e, int chan, struct buf *b,
			 unsigned int n, bool nonblock)
{
	struct qd_msg m[MAX_BATCH];
	struct qd_batch bt;
	unsigned int i;

	(void)c;
	memset(m, 0, sizeof(m[0]) * n);
	for (i = 0; i < n; i++) {
		m[i].data = (uintptr_t)payload(&b[i]);
		m[i].len = (uint32_t)b[i].len;
		m[i].type = chan ? QD_TYPE_PONG : QD_TYPE_PING;
	}
	bt = (struct qd_batch){
		.msgs = (uintptr_t)m,
		.count = n,
		.flags = nonblock ? QD_F_NONBLOCK : 0,
	};
	if (ioctl(e->fd, QD_IOC_PUSH_BATCH, &bt))
		return -errno;
	if (bt.done < 1 || bt.done > n)
		die("QD_IOC_PUSH_BATCH returned 0 with done=%u of %u",
		    bt.done, n);
	return (int)bt.done;
}

static int qd_recv_batch(struct ctx *c, struct ep *e, int chan, struct buf *b,
			 unsigned int n, bool nonblock)
{
	struct qd_msg m[MAX_BATCH];
	struct qd_batch bt;
	unsigned int i;

	(void)chan;
	memset(m, 0, sizeof(m[0]) * n);
	for (i = 0; i < n; i++) {
		m[i].data = (uintptr_t)payload(&b[i]);
		m[i].len = (uint32_t)c->size;
		m[i].type = QD_TYPE_ANY;
	}
	bt = (struct qd_batch){
		.msgs = (uintptr_t)m,
		.count = n,
		.flags = nonblock ? QD_F_NONBLOCK : 0,
	};
	if (ioctl(e->fd, QD_IOC_POP_BATCH, &bt))
		return -errno;
	if (bt.done < 1 || bt.done > n)
		die("QD_IOC_POP_BATCH returned 0 with done=%u of %u",
		    bt.done, n);
	for (i = 0; i < bt.done; i++)
		b[i].len = m[i].len;
	return (int)bt.done;
}

static int qd_rw_send(struct ctx *c, struct ep *e, int chan, struct buf *b,
		      unsigned int n, bool nonblock)
{
	ssize_t r;

	(void)c;
	(void)chan;
	(void)n;
	if (nonblock)
		return -EOPNOTSUPP;
	r = write(e->fd, payload(b), b->len);
	if (r < 0)
		return -errno;
	if ((size_t)r != b->len)
		die("short write(2): %zd of %zu", r, b->len);
	return 1;
}

static int qd_rw_recv(struct ctx *c, struct ep *e, int chan, struct buf *b,
		      unsigned int n, bool nonblock)
{
	ssize_t r;

	(void)chan;
	(void)n;
	if (nonblock)
		return -EOPNOTSUPP;
	r = read(e->fd, payload(b), c->size);
	if (r < 0)
		return -errno;
	b->len = (size_t)r;
	return 1;
}

static const char *qd_rw_unsupported(const struct ctx *c)
{
	if (c->pingpong)
		return "read(2)/write(2) carry one message type only, no ping-pong";
	return NULL;
}

static const char *qd_batch_unsupported(const struct ctx *c)
{
	if (c->pingpong)
		return "a round trip is one message each way: see qd_ioctl";
	return NULL;
}

/* ------------------------------------------------------------------ */
/* pipe in packet mode                                                 */

static int pipe_setup(struct ctx *c)
{
	int ch, i;

	for (ch = 0; ch < 2; ch++) {
		int got;

		if (pipe2(c->pipefd[ch], O_DIRECT | O_CLOEXEC))
			die("pipe2(O_DIRECT): %s", strerror(errno));
		got = fcntl(c->pipefd[ch][1], F_SETPIPE_SZ, (int)c->capacity);
		if (got < 0)
			die("F_SETPIPE_SZ %zu: %s", c->capacity,
			    strerror(errno));
		if ((size_t)got < c->capacity)
			die("pipe size %d, asked %zu", got, c->capacity);
		for (i = 0; i < 2; i++)
			fcntl(c->pipefd[ch][i], F_SETFD, 0);
	}
	return 0;
}

static void pipe_teardown(struct ctx *c)
{
	int ch;

	for (ch = 0; ch < 2; ch++) {
		close(c->pipefd[ch][0]);
		close(c->pipefd[ch][1]);
	}
}

static int pipe_send(struct ctx *c, struct ep *e, int chan, struct buf *b,
		     unsigned int n, bool nonblock)
{
	int fd = c->pipefd[chan][1];
	ssize_t r;

	(void)e;
	(void)n;
	if (nonblock) {
		/* only `capacity` uses this; it owns the pipe */
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	}
	r = write(fd, payload(b), b->len);
	if (r < 0)
		return -errno;
	if ((size_t)r != b->len)
		die("short pipe write: %zd of %zu", r, b->len);
	return 1;
}

/*
 * A packet-mode read returns one packet; writes above PIPE_BUF are cut
 * into page-sized packets, so a big message takes several reads (only
 * correct with one writer and one reader, see pipe_unsupported()).
 */
static int pipe_recv(struct ctx *c, struct ep *e, int chan, struct buf *b,
		     unsigned int n, bool nonblock)
{
	int fd = c->pipefd[chan][0];
	size_t got = 0;

	(void)e;
	(void)n;
	if (nonblock)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	do {
		ssize_t r = read(fd, payload(b) + got, c->size - got);

		if (r < 0)
			return -errno;
		if (r == 0)
			die("pipe: unexpected EOF");
		got += (size_t)r;
	} while (got < c->size);
	b->len = got;
	return 1;
}

static const char *pipe_unsupported(const struct ctx *c)
{
	if (c->size > PIPE_BUF && (c->producers > 1 || c->consumers > 1))
		return "pipe writes above PIPE_BUF are not atomic: 1p1c only";
	return NULL;
}

/* ------------------------------------------------------------------ */
/* POSIX message queue                                                 */

static int mq_setup(struct ctx *c)
{
	struct mq_attr a = { 0 };
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	int ch;

	a.mq_maxmsg = (long)qd_msgs(c);
	a.mq_msgsize = (long)c->size;
	if (a.mq_maxmsg < 1)
		a.mq_maxmsg = 1;
	need_sysctl(c, "/proc/sys/fs/mqueue/msg_max", a.mq_maxmsg);
	need_sysctl(c, "/proc/sys/fs/mqueue/msgsize_max", a.mq_msgsize);
	/* RLIMIT_MSGQUEUE has no capability bypass */
	setrlimit(RLIMIT_MSGQUEUE, &rl);
	for (ch = 0; ch < 2; ch++) {
		snprintf(c->mqname[ch], sizeof(c->mqname[ch]),
			 "/qdbench-%d-%d", (int)getpid(), ch);
		mq_unlink(c->mqname[ch]);
		c->mq[ch] = mq_open(c->mqname[ch], O_RDWR | O_CREAT | O_EXCL,
				    0600, &a);
		if (c->mq[ch] == (mqd_t)-1)
			die("mq_open %s (maxmsg %ld, msgsize %ld): %s",
			    c->mqname[ch], a.mq_maxmsg, a.mq_msgsize,
			    strerror(errno));
	}
	return 0;
}

static void mq_teardown(struct ctx *c)
{
	int ch;

	for (ch = 0; ch < 2; ch++) {
		mq_close(c->mq[ch]);
		mq_unlink(c->mqname[ch]);
	}
}

static int mq_nonblock(mqd_t q)
{
	struct mq_attr a = { .mq_flags = O_NONBLOCK };

	return mq_setattr(q, &a, NULL);
}

static int pmq_send(struct ctx *c, struct ep *e, int chan, struct buf *b,
		    unsigned int n, bool nonblock)
{
	(void)e;
	(void)n;
	if (nonblock)
		mq_nonblock(c->mq[chan]);
	return mq_send(c->mq[chan], (char *)payload(b), b->len, 0) ? -errno : 1;
}

static int pmq_recv(struct ctx *c, struct ep *e, int chan, struct buf *b,
		    unsigned int n, bool nonblock)
{
	ssize_t r;

	(void)e;
	(void)n;
	if (nonblock)
		mq_nonblock(c->mq[chan]);
	r = mq_receive(c->mq[chan], (char *)payload(b), c->size, NULL);
	if (r < 0)
		return -errno;
	b->len = (size_t)r;
	return 1;
}

/* ------------------------------------------------------------------ */
/* System V message queue: two types on one queue, like queue_driver   */

static int sysv_setup(struct ctx *c)
{
	struct msqid_ds ds;
	unsigned long qbytes = (unsigned long)qd_msgs(c) * c->size;

	if (qbytes < c->size)
		qbytes = c->size;
	need_sysctl(c, "/proc/sys/kernel/msgmax", (long long)c->size);
	need_sysctl(c, "/proc/sys/kernel/msgmnb", (long long)qbytes);
	c->msqid = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	if (c->msqid < 0)
		die("msgget: %s", strerror(errno));
	if (msgctl(c->msqid, IPC_STAT, &ds))
		die("msgctl IPC_STAT: %s", strerror(errno));
	ds.msg_qbytes = qbytes;
	if (msgctl(c->msqid, IPC_SET, &ds))
		die("msgctl IPC_SET msg_qbytes=%lu: %s", qbytes,
		    strerror(errno));
	return 0;
}

static void sysv_teardown(struct ctx *c)
{
	msgctl(c->msqid, IPC_RMID, NULL);
}

static int sysv_send(struct ctx *c, struct ep *e, int chan, struct buf *b,
		     unsigned int n, bool nonblock)
{
	long type = chan + 1;

	(void)e;
	(void)n;
	memcpy(b->mem, &type, sizeof(type));
	return msgsnd(c->msqid, b->mem, b->len, nonblock ? IPC_NOWAIT : 0) ?
		-errno : 1;
}

static int sysv_recv(struct ctx *c, struct ep *e, int chan, struct buf *b,
		     unsigned int n, bool nonblock)
{
	ssize_t r;

	(void)e;
	(void)n;
	r = msgrcv(c->msqid, b->mem, c->size, chan + 1,
		   nonblock ? IPC_NOWAIT : 0);
	if (r < 0)
		return -errno;
	b->len = (size_t)r;
	return 1;
}

/* ------------------------------------------------------------------ */
/* AF_UNIX SOCK_SEQPACKET socketpair                                   */

static int seqp_setup(struct ctx *c)
{
	/* the kernel doubles SO_SNDBUF(FORCE): ask half to get capacity */
	int v = (int)(c->capacity / 2), i;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, c->sv))
		die("socketpair: %s", strerror(errno));
	for (i = 0; i < 2; i++) {
		if (setsockopt(c->sv[i], SOL_SOCKET, SO_SNDBUFFORCE, &v,
			       sizeof(v)) &&
		    setsockopt(c->sv[i], SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)))
			die("SO_SNDBUF %d: %s", v, strerror(errno));
	}
	return 0;
}

static void seqp_teardown(struct ctx *c)
{
	close(c->sv[0]);
	close(c->sv[1]);
}

/* channel 0 goes sv[0] -> sv[1], channel 1 the other way */
static int seqp_send(struct ctx *c, struct ep *e, int chan, struct buf *b,
		     unsigned int n, bool nonblock)
{
	ssize_t r;

	(void)e;
	(void)n;
	r = send(c->sv[chan], payload(b), b->len, nonblock ? MSG_DONTWAIT : 0);
	if (r < 0)
		return -errno;
	if ((size_t)r != b->len)
		die("short send: %zd of %zu", r, b->len);
	return 1;
}

static int seqp_recv(struct ctx *c, struct ep *e, int chan, struct buf *b,
		     unsigned int n, bool nonblock)
{
	ssize_t r;

	(void)e;
	(void)n;
	r = recv(c->sv[!chan], payload(b), c->size,
		 nonblock ? MSG_DONTWAIT : 0);
	if (r < 0)
		return -errno;
	if (r == 0)
		die("socket: unexpected EOF");
	b->len = (size_t)r;
	return 1;
}

/* ------------------------------------------------------------------ */

static int no_attach(struct ctx *c, struct ep *e)
{
	(void)c;
	e->fd = -1;
	return 0;
}

static void no_detach(struct ctx *c, struct ep *e)
{
	(void)c;
	(void)e;
}

static const struct mech mechs[] = {
	{ "qd_ioctl", 1, true, qd_setup, qd_attach, qd_detach,
	  qd_send, qd_recv, qd_teardown, NULL },
	{ "qd_batch", QD_BATCH, false, qd_setup, qd_attach, qd_detach,
	  qd_send_batch, qd_recv_batch, qd_teardown, qd_batch_unsupported },
	{ "qd_rw", 1, false, qd_setup, qd_attach, qd_detach,
	  qd_rw_send, qd_rw_recv, qd_teardown, qd_rw_unsupported },
	{ "pipe", 1, true, pipe_setup, no_attach, no_detach,
	  pipe_send, pipe_recv, pipe_teardown, pipe_unsupported },
	{ "posix_mq", 1, true, mq_setup, no_attach, no_detach,
	  pmq_send, pmq_recv, mq_teardown, NULL },
	{ "sysv_msg", 1, true, sysv_setup, no_attach, no_detach,
	  sysv_send, sysv_recv, sysv_teardown, NULL },
	{ "unix_seqpacket", 1, true, seqp_setup, no_attach, no_detach,
	  seqp_send, seqp_recv, seqp_teardown, NULL },
};

#define N_MECHS (sizeof(mechs) / sizeof(mechs[0]))

static const struct mech *find_mech(const char *name)
{
	size_t i;

	for (i = 0; i < N_MECHS; i++)
		if (!strcmp(mechs[i].name, name))
			return &mechs[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* processes                                                           */

struct cons_stat {
	uint64_t received;
	uint64_t last_ns;	/* when the last data message arrived */
	uint64_t calls;		/* receive calls that returned messages */
};

struct shared {
	uint64_t send_calls;	/* producers' send calls (--verbose) */
	uint64_t pp_ns;		/* ping-pong: timed span */
	uint64_t p50_ns, p99_ns;
	struct cons_stat cons[MAX_PROCS];
	/* followed by the per-message bitmap */
	uint64_t bits[];
};

static struct shared *sh;
static pid_t kids[2 * MAX_PROCS + 1];
static unsigned int nkids;

static void kill_kids(void)
{
	unsigned int i;

	for (i = 0; i < nkids; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGKILL);
}

static void on_alarm(int sig)
{
	static const char msg[] = "qdbench: timed out, killing the run\n";

	(void)sig;
	kill_kids();
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

static void alloc_bufs(const struct ctx *c, struct buf *b, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (posix_memalign((void **)&b[i].mem, 64,
				   HEADROOM + c->size))
			die("out of memory");
		memset(b[i].mem, 0, HEADROOM + c->size);
		b[i].len = c->size;
	}
}

static void free_bufs(struct buf *b, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		free(b[i].mem);
}

/* send all @n messages in @b, retrying the rest after a partial batch */
static void send_all(struct ctx *c, struct ep *e, int chan, struct buf *b,
		     unsigned int n)
{
	unsigned int off = 0;

	while (off < n) {
		int r = c->m->send(c, e, chan, b + off, n - off, false);

		if (r == -EINTR)
			continue;
		if (r < 0)
			die("send: %s", strerror(-r));
		off += (unsigned int)r;
		__atomic_fetch_add(&sh->send_calls, 1, __ATOMIC_RELAXED);
	}
}

static int recv_some(struct ctx *c, struct ep *e, int chan, struct buf *b,
		     unsigned int n)
{
	int r;

	do {
		r = c->m->recv(c, e, chan, b, n, false);
	} while (r == -EINTR);
	if (r < 0)
		die("recv: %s", strerror(-r));
	return r;
}

static uint64_t share_of(const struct ctx *c, unsigned int p)
{
	uint64_t q = c->count / c->producers;

	return q + (p < c->count % c->producers ? 1 : 0);
}

static uint64_t msg_index(const struct ctx *c, uint32_t prod, uint32_t seq)
{
	uint64_t idx = 0;
	unsigned int p;

	for (p = 0; p < prod; p++)
		idx += share_of(c, p);
	return idx + seq;
}

static int ready_fd = -1;

/* tell the parent this process is attached, then wait for the start */
static void wait_go(int gofd)
{
	char x = 'r';

	if (write(ready_fd, &x, 1) != 1)
		die("ready pipe: %s", strerror(errno));
	close(ready_fd);
	while (read(gofd, &x, 1) < 0 && errno == EINTR)
		;
}

static void producer(struct ctx *c, unsigned int id, int gofd)
{
	struct buf b[MAX_BATCH];
	unsigned int i, batch = c->m->batch;
	uint64_t n = share_of(c, id), seq = 0;
	struct ep e;

	alloc_bufs(c, b, batch);
	c->m->attach(c, &e);
	wait_go(gofd);
	while (seq < n) {
		unsigned int k = (unsigned int)(n - seq < batch ? n - seq : batch);

		for (i = 0; i < k; i++)
			fill_msg(payload(&b[i]), c->size, id,
				 (uint32_t)(seq + i));
		if (c->inject && id == 0 && seq <= n / 2 && n / 2 < seq + k) {
			/* a deliberate fault, to prove the checks catch it */
			i = (unsigned int)(n / 2 - seq);
			switch (c->inject) {
			case 'c':	/* flip a bit at the end of the body */
				payload(b + i)[c->size - 1] ^= 1;
				break;
			case 'd':	/* lose it */
				send_all(c, &e, 0, b, i);
				send_all(c, &e, 0, b + i + 1, k - i - 1);
				seq += k;
				continue;
			case 'u':	/* send it twice */
				send_all(c, &e, 0, b + i, 1);
				break;
			}
		}
		send_all(c, &e, 0, b, k);
		seq += k;
	}
	c->m->detach(c, &e);
	free_bufs(b, batch);
}

static void consumer(struct ctx *c, unsigned int id, int gofd)
{
	struct buf b[MAX_BATCH];
	uint32_t last[MAX_PROCS];
	unsigned int batch = c->m->batch, i, k;
	struct cons_stat *st = &sh->cons[id];
	uint32_t prod, seq;
	const char *bad;
	uint64_t idx, bit;
	struct ep e;

	memset(last, 0xff, sizeof(last));
	alloc_bufs(c, b, batch);
	c->m->attach(c, &e);
	wait_go(gofd);
	for (;;) {
		k = (unsigned int)recv_some(c, &e, 0, b, batch);
		st->calls++;
		for (i = 0; i < k; i++) {
			bad = check_msg(payload(&b[i]), b[i].len, c->size,
					&prod, &seq);
			if (bad)
				die("consumer %u: message %llu: %s", id,
				    (unsigned long long)st->received, bad);
			if (prod == SENTINEL)
				goto out;
			if (prod >= c->producers || seq >= share_of(c, prod))
				die("consumer %u: message from producer %u seq %u out of range",
				    id, prod, seq);
			if (last[prod] != UINT32_MAX && seq <= last[prod])
				die("consumer %u: producer %u seq %u after seq %u (FIFO broken)",
				    id, prod, seq, last[prod]);
			last[prod] = seq;
			idx = msg_index(c, prod, seq);
			bit = 1ULL << (idx % 64);
			if (__atomic_fetch_or(&sh->bits[idx / 64], bit,
					      __ATOMIC_RELAXED) & bit)
				die("consumer %u: producer %u seq %u received twice",
				    id, prod, seq);
			st->received++;
		}
		st->last_ns = now_ns();
	}
out:
	c->m->detach(c, &e);
	free_bufs(b, batch);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void pp_client(struct ctx *c, int gofd)
{
	uint64_t total = c->count + PP_WARMUP, i, start = 0;
	uint64_t *lat = calloc(c->count, sizeof(*lat));
	struct buf out, in;
	uint32_t prod, seq;
	struct ep e;

	if (!lat)
		die("out of memory");
	alloc_bufs(c, &out, 1);
	alloc_bufs(c, &in, 1);
	c->m->attach(c, &e);
	wait_go(gofd);
	for (i = 0; i < total; i++) {
		uint64_t t0, t1;
		const char *bad;

		fill_msg(payload(&out), c->size, 0, (uint32_t)i);
		if (i == PP_WARMUP)
			start = now_ns();
		t0 = now_ns();
		send_all(c, &e, 0, &out, 1);
		recv_some(c, &e, 1, &in, 1);
		t1 = now_ns();
		bad = check_msg(payload(&in), in.len, c->size, &prod, &seq);
		if (bad)
			die("client: reply %llu: %s", (unsigned long long)i,
			    bad);
		if (prod != 0 || seq != (uint32_t)i)
			die("client: sent seq %llu, got back %u/%u",
			    (unsigned long long)i, prod, seq);
		if (i >= PP_WARMUP)
			lat[i - PP_WARMUP] = t1 - t0;
	}
	sh->pp_ns = now_ns() - start;
	fill_sentinel(payload(&out), c->size);
	send_all(c, &e, 0, &out, 1);
	qsort(lat, c->count, sizeof(*lat), cmp_u64);
	/* nearest rank */
	sh->p50_ns = lat[(c->count * 50 + 99) / 100 - 1];
	sh->p99_ns = lat[(c->count * 99 + 99) / 100 - 1];
	sh->cons[0].received = c->count;
	c->m->detach(c, &e);
	free(lat);
}

static void pp_server(struct ctx *c, int gofd)
{
	struct buf b;
	uint32_t prod, seq;
	struct ep e;

	alloc_bufs(c, &b, 1);
	c->m->attach(c, &e);
	wait_go(gofd);
	for (;;) {
		recv_some(c, &e, 0, &b, 1);
		memcpy(&prod, payload(&b), 4);
		memcpy(&seq, payload(&b) + 4, 4);
		if (prod == SENTINEL)
			break;
		send_all(c, &e, 1, &b, 1);
	}
	c->m->detach(c, &e);
}

static int ready[2];

static pid_t spawn(void (*fn)(struct ctx *, unsigned int, int),
		   struct ctx *c, unsigned int id, int go[2])
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(go[1]);
		close(ready[0]);
		ready_fd = ready[1];
		alarm(0);
		fn(c, id, go[0]);
		fflush(NULL);
		_exit(0);
	}
	kids[nkids++] = pid;
	return pid;
}

static void pp_client_fn(struct ctx *c, unsigned int id, int gofd)
{
	(void)id;
	pp_client(c, gofd);
}

static void pp_server_fn(struct ctx *c, unsigned int id, int gofd)
{
	(void)id;
	pp_server(c, gofd);
}

/*
 * Wait for any child; returns its index in kids[]. A child that failed
 * ends the whole run at once (the others would wait forever for it).
 * @names: what kids[i] is, for the message.
 */
static unsigned int reap_any(const char *(*name)(unsigned int))
{
	unsigned int i;
	int st;
	pid_t pid;

	for (;;) {
		pid = wait(&st);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			die("wait: %s", strerror(errno));
		for (i = 0; i < nkids; i++)
			if (kids[i] == pid)
				break;
		if (i == nkids)
			continue;
		kids[i] = 0;
		if (WIFSIGNALED(st)) {
			kill_kids();
			die("%s killed by signal %d", name(i), WTERMSIG(st));
		}
		if (WEXITSTATUS(st)) {
			kill_kids();
			die("%s failed (see above)", name(i));
		}
		return i;
	}
}

static unsigned int n_consumers;

static const char *tp_name(unsigned int i)
{
	return i < n_consumers ? "a consumer" : "a producer";
}

static const char *pp_name(unsigned int i)
{
	return i == 0 ? "the ping-pong server" : "the ping-pong client";
}

static void run(struct ctx *c)
{
	unsigned int i, np, nc;
	uint64_t t0, got = 0, words, bytes;
	long long br0 = 0, bw0 = 0;
	double secs, mps;
	size_t shsize;
	struct buf sb;
	struct ep e;
	int go[2];

	words = c->pingpong ? 0 : (c->count + 63) / 64;
	shsize = sizeof(struct shared) + words * 8;
	sh = mmap(NULL, shsize, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap: %s", strerror(errno));

	c->m->setup(c);
	if (pipe2(go, O_CLOEXEC) || pipe2(ready, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	signal(SIGALRM, on_alarm);
	alarm(c->timeout);

	if (c->pingpong) {
		np = nc = 1;
		spawn(pp_server_fn, c, 0, go);
		spawn(pp_client_fn, c, 0, go);
	} else {
		np = c->producers;
		nc = c->consumers;
		for (i = 0; i < nc; i++)
			spawn(consumer, c, i, go);
		for (i = 0; i < np; i++)
			spawn(producer, c, i, go);
	}
	close(go[0]);
	close(ready[1]);
	/* every child attached and waiting: start the clock */
	for (i = 0; i < np + nc; i++) {
		char x;
		ssize_t r = read(ready[0], &x, 1);

		if (r < 0 && errno == EINTR) {
			i--;
			continue;
		}
		if (r != 1) {
			kill_kids();
			die("a process died before the start");
		}
	}
	close(ready[0]);
	if (c->verbose && !strncmp(c->m->name, "qd_", 3)) {
		br0 = read_ll(qd_attr(c, "blocked_readers"));
		bw0 = read_ll(qd_attr(c, "blocked_writers"));
	}
	t0 = now_ns();
	close(go[1]);

	if (c->pingpong) {
		/* the server exits 0 only on the client's final sentinel */
		reap_any(pp_name);
		reap_any(pp_name);
		secs = (double)sh->pp_ns / 1e9;
		got = sh->cons[0].received;
	} else {
		uint64_t t_end = 0, sends, idx;

		n_consumers = nc;
		for (i = 0; i < np; i++)
			if (reap_any(tp_name) < nc) {
				kill_kids();
				die("a consumer exited before the end of the stream");
			}
		sends = __atomic_load_n(&sh->send_calls, __ATOMIC_RELAXED);
		/* one sentinel at a time, so no batch can swallow two */
		alloc_bufs(c, &sb, 1);
		fill_sentinel(payload(&sb), c->size);
		c->m->attach(c, &e);
		for (i = 0; i < nc; i++) {
			send_all(c, &e, 0, &sb, 1);
			reap_any(tp_name);
		}
		c->m->detach(c, &e);
		free_bufs(&sb, 1);
		for (i = 0; i < nc; i++) {
			got += sh->cons[i].received;
			if (sh->cons[i].last_ns > t_end)
				t_end = sh->cons[i].last_ns;
		}
		if (got != c->count)
			die("consumers received %llu of %llu messages",
			    (unsigned long long)got,
			    (unsigned long long)c->count);
		for (idx = 0; idx < c->count; idx++)
			if (!(sh->bits[idx / 64] & (1ULL << (idx % 64))))
				die("message %llu never arrived",
				    (unsigned long long)idx);
		secs = (double)(t_end - t0) / 1e9;
		if (c->verbose) {
			uint64_t recvs = 0;

			for (i = 0; i < nc; i++)
				recvs += sh->cons[i].calls;
			fprintf(stderr, "%s: %s: %.2f messages a send call, %.2f a receive call",
				prog, what, (double)got / (double)sends,
				(double)got / (double)recvs);
			if (!strncmp(c->m->name, "qd_", 3))
				fprintf(stderr, "; slept: %lld pops, %lld pushes (sentinel waits included)",
					read_ll(qd_attr(c, "blocked_readers")) - br0,
					read_ll(qd_attr(c, "blocked_writers")) - bw0);
			fputc('\n', stderr);
		}
	}
	alarm(0);
	c->m->teardown(c);

	mps = (double)got / secs;
	bytes = got * c->size;
	printf("%s,%s,%llu,%zu,%.6f,%.1f,%.3f,", c->m->name, c->case_name,
	       (unsigned long long)got, c->size, secs, mps,
	       (double)bytes / secs / 1e6);
	if (c->pingpong)
		printf("%.2f,%.2f\n", (double)sh->p50_ns / 1e3,
		       (double)sh->p99_ns / 1e3);
	else
		printf(",\n");
	munmap(sh, shsize);
}

/*
 * How many messages fit: push without blocking until the mechanism says
 * it is full. Prints "mechanism,size,capacity_bytes,messages".
 */
static void capacity(struct ctx *c)
{
	uint64_t n = 0;
	struct buf b;
	struct ep e;

	c->m->setup(c);
	c->m->attach(c, &e);
	alloc_bufs(c, &b, 1);
	fill_msg(payload(&b), c->size, 0, 0);
	for (;;) {
		int r = c->m->send(c, &e, 0, &b, 1, true);

		if (r == -EAGAIN)
			break;
		if (r == -EOPNOTSUPP)
			die("no non-blocking send");
		if (r < 0)
			die("send: %s", strerror(-r));
		if (++n > 100000000)
			die("never full");
	}
	/* empty it again (pipes and sockets just get closed) */
	while (c->m->recv(c, &e, 0, &b, 1, true) > 0)
		;
	c->m->detach(c, &e);
	c->m->teardown(c);
	printf("%s,%zu,%zu,%llu\n", c->m->name, c->size, c->capacity,
	       (unsigned long long)n);
}

/* ------------------------------------------------------------------ */
/* memory: kernel memory of a full queue vs capacity + messages * 64   */

struct memsnap {
	long long memfree, slab, vmalloc;	/* bytes, from /proc/meminfo */
};

static char big[1 << 16];

static long long meminfo_bytes(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	if (!p)
		die("/proc/meminfo has no %s", key + 1);
	return strtoll(p + strlen(key), NULL, 10) * 1024;
}

/* give empty slabs back, so the deltas below are live objects */
static void shrink_slabs(void)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dir = opendir("/sys/kernel/slab");

	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink",
			 d->d_name);
		write_file(path, "1");
	}
	closedir(dir);
}

/*
 * Slab in /proc/meminfo counts slab pages and, since 5.x, large kmalloc
 * pages too; VmallocUsed counts vmalloc (kvmalloc) pages: together what
 * a module can allocate. MemFree is printed as a cross-check.
 */
static void snap(struct memsnap *s)
{
	sync();
	write_file("/proc/sys/vm/drop_caches", "3");
	shrink_slabs();
	if (read_file("/proc/meminfo", big, sizeof(big)) <= 0)
		die("/proc/meminfo: cannot read");
	s->memfree = meminfo_bytes(big, "\nMemFree:");
	s->slab = meminfo_bytes(big, "\nSlab:");
	s->vmalloc = meminfo_bytes(big, "\nVmallocUsed:");
}

static void memory(struct ctx *c, unsigned int nsizes, const size_t *sizes)
{
	struct memsnap s0, s1, s2;
	struct qd_msg m[1024];
	unsigned char *data;
	struct qd_batch bt;
	unsigned int i, k;
	int fd;

	fd = qd_open(c);
	c->qd_saved_size = (uint64_t)read_ll(qd_attr(c, "size"));
	data = calloc(1, MAX_MSG);
	if (!data)
		die("out of memory");
	printf("capacity,msg_size,messages,bound_bytes,kernel_bytes,ratio_to_bound,per_msg_bytes,memfree_drop,after_drain_bytes\n");
	for (k = 0; k < nsizes; k++) {
		long long used, bound, empty;
		uint64_t n = 0;

		qd_drain(fd);
		qd_set_size(c, QD_MIN_SIZE);
		snap(&s0);
		qd_set_size(c, c->capacity);
		for (;;) {
			memset(m, 0, sizeof(m));
			for (i = 0; i < 1024; i++) {
				m[i].data = (uintptr_t)data;
				m[i].len = (uint32_t)sizes[k];
				m[i].type = QD_TYPE_PING;
			}
			bt = (struct qd_batch){
				.msgs = (uintptr_t)m, .count = 1024,
				.flags = QD_F_NONBLOCK,
			};
			if (ioctl(fd, QD_IOC_PUSH_BATCH, &bt)) {
				if (errno == EAGAIN)
					break;
				die("QD_IOC_PUSH_BATCH: %s", strerror(errno));
			}
			n += bt.done;
			if (bt.done < 1024)
				break;
		}
		if (n != c->capacity / (sizes[k] + QD_MSG_HEADER_SIZE))
			die("a %zu-byte queue took %llu messages of %zu bytes",
			    c->capacity, (unsigned long long)n, sizes[k]);
		snap(&s1);
		qd_drain(fd);
		snap(&s2);
		used = (s1.slab + s1.vmalloc) - (s0.slab + s0.vmalloc);
		empty = (s2.slab + s2.vmalloc) - (s0.slab + s0.vmalloc);
		bound = (long long)c->capacity + (long long)n * 64;
		printf("%zu,%zu,%llu,%lld,%lld,%.3f,%.1f,%lld,%lld\n",
		       c->capacity, sizes[k], (unsigned long long)n, bound, used,
		       (double)used / (double)bound,
		       (double)(used - (long long)c->capacity) / (double)n,
		       s0.memfree - s1.memfree, empty);
	}
	qd_drain(fd);
	if (c->qd_saved_size > 0)
		qd_set_size(c, c->qd_saved_size);
	close(fd);
	free(data);
}

/* ------------------------------------------------------------------ */
/* alone: each side of a batch, without the other                     */

/*
 * Push batches of QD_BATCH messages of @size bytes until the queue
 * (--capacity) is full, then pop them all, until at least @count were
 * pushed and popped (whole rounds); one process, so neither side waits
 * for or contends with the other. Prints
 * "size,messages,push_ns_per_msg,pop_ns_per_msg": what a message costs
 * each side alone, calls and their user-side set-up included (and the
 * one call a round that finds the queue full, or empty), to set against
 * a 1p1c run's rate.
 */
static void alone(struct ctx *c, size_t size, uint64_t count)
{
	struct qd_msg m[QD_BATCH];
	uint64_t pushed = 0, popped = 0, tpush = 0, tpop = 0, t0;
	unsigned char *data;
	struct qd_batch bt;
	unsigned int i;
	int fd, push;

	if (!size || size + QD_MSG_HEADER_SIZE > c->capacity)
		die("a %zu-byte message does not fit in %zu bytes",
		    size, c->capacity);
	fd = qd_open(c);
	c->qd_saved_size = (uint64_t)read_ll(qd_attr(c, "size"));
	qd_drain(fd);
	qd_set_size(c, c->capacity);
	data = calloc(QD_BATCH, size);
	if (!data)
		die("out of memory");
	while (popped < count) {
		for (push = 1; push >= 0; push--) {
			t0 = now_ns();
			for (;;) {
				memset(m, 0, sizeof(m));
				for (i = 0; i < QD_BATCH; i++) {
					m[i].data = (uintptr_t)(data + i * size);
					m[i].len = (uint32_t)size;
					m[i].type = push ? QD_TYPE_PING : QD_TYPE_ANY;
				}
				bt = (struct qd_batch){
					.msgs = (uintptr_t)m, .count = QD_BATCH,
					.flags = QD_F_NONBLOCK,
				};
				if (ioctl(fd, push ? QD_IOC_PUSH_BATCH :
					  QD_IOC_POP_BATCH, &bt)) {
					if (errno == EAGAIN)
						break;
					die("%s: %s", push ? "QD_IOC_PUSH_BATCH" :
					    "QD_IOC_POP_BATCH", strerror(errno));
				}
				if (push)
					pushed += bt.done;
				else
					popped += bt.done;
			}
			if (push)
				tpush += now_ns() - t0;
			else
				tpop += now_ns() - t0;
		}
		if (!pushed || pushed != popped)
			die("pushed %llu, popped %llu",
			    (unsigned long long)pushed,
			    (unsigned long long)popped);
	}
	printf("%zu,%llu,%.0f,%.0f\n", size, (unsigned long long)pushed,
	       (double)tpush / (double)pushed, (double)tpop / (double)popped);
	if (c->qd_saved_size > 0)
		qd_set_size(c, c->qd_saved_size);
	close(fd);
	free(data);
}

/* ------------------------------------------------------------------ */
/* log generator for the fill/read comparison                          */

static void genlog(uint64_t lines)
{
	static const char *const lvl[] = { "INFO", "WARN", "DEBUG", "ERROR" };
	static const char *const event[] = {
		"request served", "cache miss", "retrying upstream",
		"session opened", "session closed", "slow query",
	};
	static char out[1 << 16];
	size_t used = 0;
	uint64_t i;

	for (i = 0; i < lines; i++) {
		uint64_t r = mix64(i);
		int len = snprintf(out + used, sizeof(out) - used,
				   "%08llu %s %s id=%llu\n",
				   (unsigned long long)i, lvl[r & 3],
				   event[(r >> 2) % 6],
				   (unsigned long long)((r >> 8) % 100000));

		used += (size_t)len;
		if (sizeof(out) - used < 128) {
			if (fwrite(out, 1, used, stdout) != used)
				die("write: %s", strerror(errno));
			used = 0;
		}
	}
	if (fwrite(out, 1, used, stdout) != used || fflush(stdout))
		die("write: %s", strerror(errno));
}

/* ------------------------------------------------------------------ */
/* command line                                                        */

enum { OPT_VERBOSE = 'v', OPT_RAISE = 1000, OPT_INJECT, OPT_DEVICE, OPT_SYSFS, OPT_TIMEOUT, OPT_LIST };

static const char doc[] =
	"Compare queue_driver with pipes, POSIX/SysV message queues and "
	"Unix sockets.\v"
	"Commands:\n"
	"  run       (default) one measurement: --mech M --case C\n"
	"  suite     run a plan from stdin, lines \"RUN MECH CASE COUNT\"\n"
	"  capacity  how many --case-sized messages --mech holds\n"
	"  memory    kernel memory of a full queue_driver queue, per --size\n"
	"  alone     ns a message costs a batch push, and a batch pop, each\n"
	"            alone (one process; --size, default 64; at least -n)\n"
	"  genlog N  write an N-line sample log to stdout\n\n"
	"Cases: SIZE_PpCc (e.g. 64B_1p1c, 1K_4p4c, 16K_1p1c) or "
	"SIZE_pingpong (e.g. 64B_pingpong). SIZE: bytes, with B/K suffix, "
	"a multiple of 8, at least 16.\n"
	"Mechanisms: qd_ioctl qd_batch qd_rw pipe posix_mq sysv_msg "
	"unix_seqpacket.\n\n"
	"Output (run): mechanism,case,count,size,seconds,msgs_per_s,"
	"mb_per_s,p50_us,p99_us. Exit 2 if the mechanism cannot run the case.";

static const struct argp_option options[] = {
	{ "mech", 'm', "NAME", 0, "mechanism to measure", 0 },
	{ "case", 'c', "CASE", 0, "workload, e.g. 64B_4p4c", 0 },
	{ "count", 'n', "N", 0,
	  "messages in total (round trips for ping-pong)", 0 },
	{ "capacity", 'C', "BYTES", 0,
	  "queue budget, default 65536 (see the source's top comment)", 0 },
	{ "size", 's', "BYTES", 0,
	  "memory: a message size to fill with (repeatable); alone: the size",
	  0 },
	{ "raise-limits", OPT_RAISE, NULL, 0,
	  "write /proc/sys limits that are too low for the budget", 0 },
	{ "device", OPT_DEVICE, "PATH", 0,
	  "queue_driver device, default /dev/queue_driver", 0 },
	{ "sysfs", OPT_SYSFS, "DIR", 0,
	  "its sysfs dir, default /sys/class/misc/queue_driver", 0 },
	{ "timeout", OPT_TIMEOUT, "SEC", 0,
	  "give up on a run after SEC seconds (default 300)", 0 },
	{ "list", OPT_LIST, NULL, 0, "list the mechanisms", 0 },
	{ "inject", OPT_INJECT, "FAULT", 0,
	  "corrupt, drop or dup the middle message of producer 0 (to test "
	  "that the run then fails)", 0 },
	{ "verbose", OPT_VERBOSE, NULL, 0,
	  "run: print calls per message (and the driver's sleeps) on stderr",
	  0 },
	{ 0 }
};

struct args {
	struct ctx c;
	const char *cmd;
	const char *arg;
	size_t sizes[16];
	unsigned int nsizes;
	bool count_set;
};

static uint64_t parse_num(struct argp_state *st, const char *s,
			  const char *what_)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		argp_error(st, "%s: not a number: %s", what_, s);
	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M')
		v <<= 20, end++;
	else if (*end == 'B')
		end++;
	if (*end)
		argp_error(st, "%s: not a number: %s", what_, s);
	return v;
}

/* "64B_4p4c", "1K_1p1c", "64B_pingpong" */
static int parse_case(struct ctx *c, const char *s)
{
	char sz[32];
	const char *us = strchr(s, '_');
	unsigned long long v;
	unsigned int p, q;
	char *end;
	int len;

	if (!us || us - s >= (long)sizeof(sz))
		return -1;
	memcpy(sz, s, (size_t)(us - s));
	sz[us - s] = '\0';
	v = strtoull(sz, &end, 10);
	if (end == sz)
		return -1;
	if (*end == 'K')
		v <<= 10, end++;
	else if (*end == 'B')
		end++;
	if (*end || v < MIN_MSG || v > MAX_MSG || v % 8)
		return -1;
	c->size = (size_t)v;
	if (!strcmp(us + 1, "pingpong")) {
		c->pingpong = true;
		c->producers = c->consumers = 1;
		return 0;
	}
	if (sscanf(us + 1, "%up%uc%n", &p, &q, &len) != 2 ||
	    us[1 + len] != '\0' || !p || !q || p > MAX_PROCS ||
	    q > MAX_PROCS)
		return -1;
	c->producers = p;
	c->consumers = q;
	return 0;
}

static error_t parse_opt(int key, char *arg, struct argp_state *st)
{
	struct args *a = st->input;
	size_t i;

	switch (key) {
	case 'm':
		a->c.m = find_mech(arg);
		if (!a->c.m)
			argp_error(st, "unknown mechanism: %s", arg);
		break;
	case 'c':
		if (parse_case(&a->c, arg))
			argp_error(st, "bad case: %s", arg);
		a->c.case_name = arg;
		break;
	case 'n':
		a->c.count = parse_num(st, arg, "count");
		a->count_set = true;
		break;
	case 'C':
		a->c.capacity = parse_num(st, arg, "capacity");
		if (a->c.capacity < QD_MIN_SIZE)
			argp_error(st, "capacity below %d", QD_MIN_SIZE);
		break;
	case 's':
		if (a->nsizes == 16)
			argp_error(st, "too many --size");
		a->sizes[a->nsizes++] = parse_num(st, arg, "size");
		break;
	case OPT_RAISE:
		a->c.raise_limits = true;
		break;
	case OPT_VERBOSE:
		a->c.verbose = true;
		break;
	case OPT_INJECT:
		if (!strcmp(arg, "corrupt"))
			a->c.inject = 'c';
		else if (!strcmp(arg, "drop"))
			a->c.inject = 'd';
		else if (!strcmp(arg, "dup"))
			a->c.inject = 'u';
		else
			argp_error(st, "--inject: corrupt, drop or dup");
		break;
	case OPT_DEVICE:
		a->c.device = arg;
		break;
	case OPT_SYSFS:
		a->c.sysfs = arg;
		break;
	case OPT_TIMEOUT:
		a->c.timeout = (unsigned int)parse_num(st, arg, "timeout");
		break;
	case OPT_LIST:
		for (i = 0; i < N_MECHS; i++)
			printf("%s\n", mechs[i].name);
		exit(0);
	case ARGP_KEY_ARG:
		if (!a->cmd)
			a->cmd = arg;
		else if (!a->arg)
			a->arg = arg;
		else
			argp_error(st, "too many arguments");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp argp = { options, parse_opt, "[COMMAND [ARG]]", doc,
				  NULL, NULL, NULL };

/* checks and runs one measurement; returns the exit status */
static int run_one(struct ctx *c, bool count_set)
{
	const char *why = NULL;

	snprintf(what, sizeof(what), "%s %s", c->m->name, c->case_name);
	if (c->size + QD_MSG_HEADER_SIZE > c->capacity)
		why = "the message does not fit in the capacity";
	else if (c->m->unsupported)
		why = c->m->unsupported(c);
	if (!why && c->pingpong && !c->m->pingpong)
		why = "no ping-pong";
	if (why) {
		fprintf(stderr, "%s: %s: unsupported: %s\n", prog, what, why);
		return EXIT_UNSUPPORTED;
	}
	if (!count_set)
		c->count = c->pingpong ? 2000 : 20000;
	if (!c->count || c->count >= (1ULL << 32) * c->producers)
		die("bad count");
	run(c);
	return 0;
}

/* read all of @fd into @buf (NUL-terminated, cut at @cap) */
static void slurp(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	char sink[256];

	for (;;) {
		/* @buf full: read on into @sink, so the writer never blocks */
		bool room = got + 1 < cap;
		ssize_t r = room ? read(fd, buf + got, cap - 1 - got) :
				   read(fd, sink, sizeof(sink));

		if (r == 0 || (r < 0 && errno != EINTR))
			break;
		if (r > 0 && room)
			got += (size_t)r;
	}
	buf[got] = '\0';
}

static void chomp(char *s)
{
	char *p;

	for (p = s; *p; p++)
		if (*p == '\n' || *p == ',')
			*p = *p == '\n' ? ' ' : ';';
	while (p > s && p[-1] == ' ')
		*--p = '\0';
}

/* Suite progress, stderr: "qdbench: suite: run 3 done (12:34:56 UTC)" */
static void suite_progress(unsigned int runno)
{
	char when[16] = "?";
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	fprintf(stderr, "%s: suite: run %u done (%s UTC)\n", prog, runno, when);
}

/*
 * `qdbench suite`: run a plan read from stdin, one "RUN MECH CASE COUNT"
 * a line, each in a child process (a failure ends only that run), and
 * print one line per plan line:
 *   ok,RUN,mechanism,case,count,size,seconds,msgs_per_s,mb_per_s,p50,p99
 *   unsupported,RUN,MECH,CASE,why
 *   failed,RUN,MECH,CASE,why
 * and a progress line on stderr whenever RUN changes. One long-lived
 * process instead of one exec per run: under software emulation an exec
 * costs as much as a small run. Whoever reads the lines should not fork
 * for each as it comes: that would run beside the next measurement.
 */
static int suite(const struct ctx *defaults)
{
	char line[256], mname[64], cname[64], out[4096], err[4096];
	unsigned long long count;
	unsigned int runno, prev = 0;
	int po[2], pe[2], st, failed = 0;
	struct ctx c;
	pid_t pid;

	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "%u %63s %63s %llu", &runno, mname, cname,
			   &count) != 4) {
			fprintf(stderr, "%s: suite: bad plan line: %s", prog,
				line);
			return EXIT_USAGE;
		}
		if (prev && runno != prev)
			suite_progress(prev);
		prev = runno;
		c = *defaults;
		c.m = find_mech(mname);
		c.case_name = cname;
		c.count = count;
		if (!c.m || parse_case(&c, cname)) {
			printf("failed,%u,%s,%s,unknown mechanism or case\n",
			       runno, mname, cname);
			failed = 1;
			continue;
		}
		if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC))
			die("pipe: %s", strerror(errno));
		fflush(stdout);
		pid = fork();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			dup2(po[1], 1);
			dup2(pe[1], 2);
			_exit(run_one(&c, true));
		}
		close(po[1]);
		close(pe[1]);
		slurp(po[0], out, sizeof(out));
		slurp(pe[0], err, sizeof(err));
		close(po[0]);
		close(pe[0]);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		chomp(err);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && out[0]) {
			out[strcspn(out, "\n")] = '\0';
			printf("ok,%u,%s\n", runno, out);
			if (err[0])	/* warnings */
				fprintf(stderr, "%s\n", err);
		} else if (WIFEXITED(st) && WEXITSTATUS(st) == EXIT_UNSUPPORTED) {
			printf("unsupported,%u,%s,%s,%s\n", runno, mname, cname,
			       err);
		} else {
			if (WIFSIGNALED(st))
				snprintf(err + strlen(err), sizeof(err) - strlen(err),
					 " (killed by signal %d)", WTERMSIG(st));
			printf("failed,%u,%s,%s,%s\n", runno, mname, cname, err);
			fprintf(stderr, "%s\n", err);
			failed = 1;
		}
	}
	if (prev)
		suite_progress(prev);
	return failed;
}

int main(int argc, char **argv)
{
	struct args a = {
		.c = {
			.capacity = 65536,
			.timeout = 300,
			.device = "/dev/" QD_DEVICE_NAME,
			.sysfs = "/sys/class/misc/" QD_DEVICE_NAME,
		},
	};
	struct ctx *c = &a.c;

	argp_parse(&argp, argc, argv, 0, NULL, &a);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (a.cmd && !strcmp(a.cmd, "genlog")) {
		if (!a.arg)
			die("genlog: how many lines?");
		genlog(strtoull(a.arg, NULL, 10));
		return 0;
	}
	if (a.cmd && !strcmp(a.cmd, "memory")) {
		snprintf(what, sizeof(what), "memory");
		if (!a.nsizes) {
			a.sizes[a.nsizes++] = 16;
			a.sizes[a.nsizes++] = 64;
			a.sizes[a.nsizes++] = 1024;
		}
		memory(c, a.nsizes, a.sizes);
		return 0;
	}
	if (a.cmd && !strcmp(a.cmd, "alone")) {
		snprintf(what, sizeof(what), "alone");
		alone(c, a.nsizes ? a.sizes[0] : 64,
		      a.count_set ? c->count : 300000);
		return 0;
	}
	if (a.cmd && !strcmp(a.cmd, "suite"))
		return suite(c);
	if (a.cmd && strcmp(a.cmd, "run") && strcmp(a.cmd, "capacity")) {
		fprintf(stderr, "%s: unknown command: %s\n", prog, a.cmd);
		return EXIT_USAGE;
	}
	if (!c->m || !c->case_name) {
		fprintf(stderr, "%s: --mech and --case are required\n", prog);
		return EXIT_USAGE;
	}
	if (a.cmd && !strcmp(a.cmd, "capacity")) {
		snprintf(what, sizeof(what), "%s %s", c->m->name, c->case_name);
		if (c->size + QD_MSG_HEADER_SIZE > c->capacity) {
			fprintf(stderr, "%s: %s: unsupported: the message does not fit\n",
				prog, what);
			return EXIT_UNSUPPORTED;
		}
		capacity(c);
		return 0;
	}
	return run_one(c, a.count_set);
}
