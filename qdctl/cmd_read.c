// SPDX-License-Identifier: GPL-2.0
/*
 * qdctl read: take messages off the queue and print them.
 *
 * Messages come off in QD_IOC_POP_BATCH calls of up to QD_BATCH_MAX
 * entries (never more than -n still wants), each entry with a slice of
 * one buffer. Slices start small (a dense buffer is cheap to touch) and
 * double up to READ_SLOT_MAX when a message does not fit; a message
 * bigger than that is taken alone with a buffer of its size.
 *
 * Output: per message on a terminal, per batch on a pipe, and for files
 * when the buffer is full; always before waiting for the next message, so
 * whoever reads our output never waits on a message we hold. A message
 * that was taken off the queue is written out before we exit, also after
 * SIGINT/SIGTERM; if stdout fails, the error says how many were lost.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qd.h"

#define READ_SLOT_MIN	256		/* bytes per batch entry, at first */
#define READ_SLOT_MAX	16384		/* ... at most */
#define READ_OUT	(1U << 20)	/* output buffer */

enum { OPT_TIMESTAMPS = 0x100, OPT_SENDER };
enum out_mode { OUT_TTY, OUT_PIPE, OUT_FILE };

struct read_args {
	uint64_t count;
	bool count_set, peek, nul, timestamps, sender;
	struct qd_wait wait;
};

struct reader {
	const struct read_args *a;
	int fd;
	enum out_mode mode;
	char *out;
	size_t out_len;
	uint64_t out_msgs;	/* messages complete in out[] */
	uint64_t held;		/* taken off the queue, not yet written */
	uint64_t got;		/* messages taken off the queue */
	char *big;		/* for a message bigger than a slot */
	size_t big_cap;
	int status;
};

static const struct argp_option read_options[] = {
	{ "count", 'n', "COUNT", 0, "Stop after COUNT messages", 0 },
	{ "timeout", QD_OPT_TIMEOUT, "SEC", 0,
	  "Stop when no message comes for SEC seconds (fractions allowed)", 0 },
	{ "nonblock", QD_OPT_NONBLOCK, NULL, 0,
	  "Print what is queued now, do not wait for more", 0 },
	{ "peek", 'p', NULL, 0,
	  "Print the oldest matching message without removing it, then exit", 0 },
	{ "null", '0', NULL, 0, "End each message with a NUL byte, not a newline", 0 },
	{ "timestamps", OPT_TIMESTAMPS, NULL, 0,
	  "Prefix each message with the time it was pushed (UTC, ISO 8601)", 0 },
	{ "sender", OPT_SENDER, NULL, 0,
	  "Prefix each message with the pid and uid of its sender", 0 },
	{ 0 }
};

static error_t read_parse(int key, char *arg, struct argp_state *state)
{
	struct read_args *a = state->input;

	switch (key) {
	case 'n':
		if (qd_parse_count(arg, &a->count))
			argp_error(state, "invalid count '%s': give a number > 0", arg);
		a->count_set = true;
		return 0;
	case QD_OPT_TIMEOUT:
	case QD_OPT_NONBLOCK:
		return qd_wait_parse(&a->wait, key, arg, state);
	case 'p':
		a->peek = true;
		return 0;
	case '0':
		a->nul = true;
		return 0;
	case OPT_TIMESTAMPS:
		a->timestamps = true;
		return 0;
	case OPT_SENDER:
		a->sender = true;
		return 0;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		return 0;
	case ARGP_KEY_END:
		qd_wait_check(&a->wait, state);
		if (a->peek && a->count_set && a->count != 1)
			argp_error(state, "--peek shows one message: it cannot be combined with -n %"
				   PRIu64, a->count);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp read_argp = {
	.options = read_options,
	.parser = read_parse,
	.doc = "Take messages of type log (or --type TYPE; any for every type) off the "
	       "queue, oldest first, and print each followed by a newline."
	       "\vWithout -n, --timeout or --nonblock it waits for messages forever, "
	       "like the seed's reader. With -n COUNT it exits 1 if --timeout or "
	       "--nonblock ends it before COUNT messages. Every message taken off the "
	       "queue is printed, also when interrupted by SIGINT (exit 130).\n\n"
	       "Examples:\n  qdctl read -n 10 --timeout 5\n  qdctl read --type any "
	       "--nonblock --sender\n  qdctl read -0 | xargs -0 -n1 echo",
	.children = qd_device_type_children,
};

static int read_fail(struct reader *r, int err)
{
	qd_err("stdout: %s (%" PRIu64 " messages taken off the queue were not written)",
	       strerror(err), r->held);
	r->status = QD_EXIT_FAIL;
	return -1;
}

static int read_flush(struct reader *r)
{
	int err;

	if (!r->out_len)
		return 0;
	err = qd_write_all(STDOUT_FILENO, r->out, r->out_len);
	if (err)
		return read_fail(r, -err);
	r->held -= r->out_msgs;
	r->out_len = 0;
	r->out_msgs = 0;
	return 0;
}

static void read_append(struct reader *r, const void *p, size_t len)
{
	memcpy(r->out + r->out_len, p, len);
	r->out_len += len;
}

/* Output one message taken off the queue; -1 if stdout failed. */
static int read_emit(struct reader *r, const struct qd_msg *m, const char *data)
{
	char pre[128];
	size_t plen = 0;

	if (r->a->timestamps) {
		time_t sec = (time_t)(m->time_ns / 1000000000ULL);
		struct tm tm;

		gmtime_r(&sec, &tm);
		plen = strftime(pre, sizeof(pre), "%Y-%m-%dT%H:%M:%S", &tm);
		plen += (size_t)snprintf(pre + plen, sizeof(pre) - plen, ".%06uZ ",
					 (unsigned int)(m->time_ns % 1000000000ULL / 1000));
	}
	if (r->a->sender)
		plen += (size_t)snprintf(pre + plen, sizeof(pre) - plen, "pid=%u uid=%u ",
					 m->sender_pid, m->sender_uid);

	if (plen + m->len + 1 > READ_OUT - r->out_len && read_flush(r))
		return -1;
	if (plen + m->len + 1 > READ_OUT) {
		/* Bigger than the buffer: straight out, the terminator follows. */
		int err = qd_write_all(STDOUT_FILENO, pre, plen);
		if (!err)
			err = qd_write_all(STDOUT_FILENO, data, m->len);
		if (err)
			return read_fail(r, -err);
	} else {
		read_append(r, pre, plen);
		read_append(r, data, m->len);
	}
	read_append(r, r->a->nul ? "" : "\n", 1);
	r->out_msgs++;
	if (r->mode == OUT_TTY)
		return read_flush(r);
	return 0;
}

/* How a pop waits: as asked, or not at all while the queue is not drained. */
static uint32_t read_flags(const struct read_args *a, bool may_wait)
{
	return may_wait ? qd_wait_flags(&a->wait) : QD_F_NONBLOCK;
}

/* Take one message with a buffer of its size; 1 if done, 0 if gone, -errno. */
static int read_one(struct reader *r, uint32_t type, uint32_t flags)
{
	for (;;) {
		struct qd_msg m = {
			.data = qd_ptr(r->big),
			.len = (uint32_t)r->big_cap,
			.type = type,
			.flags = flags,
		};

		if (flags & QD_F_TIMEOUT)
			m.timeout_ns = r->a->wait.timeout_ns;
		if (ioctl(r->fd, QD_IOC_POP, &m) == 0) {
			if (!(flags & QD_F_PEEK)) {
				r->got++;
				r->held++;
			}
			return read_emit(r, &m, r->big) ? -EIO : 1;
		}
		if (errno == EAGAIN && !(flags & QD_F_PEEK))
			return 0;	/* another reader took it */
		if (errno != EMSGSIZE)
			return -errno;
		{
			size_t cap = m.len > r->big_cap ? m.len : r->big_cap * 2;
			char *nb = realloc(r->big, cap);

			if (!nb)
				return -ENOMEM;
			r->big = nb;
			r->big_cap = cap;
		}
	}
}

/* The reason we stopped early, when -n asked for more. */
static void read_short(struct reader *r, const char *why)
{
	if (read_flush(r))
		return;
	qd_err("%s: %" PRIu64 " of %" PRIu64 " messages read", why, r->got, r->a->count);
	r->status = QD_EXIT_FAIL;
}

static void read_error(struct reader *r, int err)
{
	if (err == EINTR) {
		r->status = qd_signal_exit();
	} else if (err == EAGAIN || err == ETIMEDOUT) {
		if (r->a->count_set)
			read_short(r, err == EAGAIN ? "no more messages queued (--nonblock)"
				   : "no message within the --timeout");
	} else if (err != EIO) {	/* EIO: stdout failed, already said */
		qd_err_dev(qd_opt.device, err);
		r->status = QD_EXIT_FAIL;
	}
}

static void read_peek(struct reader *r, uint32_t type)
{
	int ret;

	do {
		ret = read_one(r, type, QD_F_PEEK | read_flags(r->a, true));
	} while (ret == -EINTR && !qd_signal);
	if (ret == -EAGAIN || ret == -ETIMEDOUT) {
		qd_err("no message to peek at %s", ret == -EAGAIN ?
		       "(--nonblock)" : "within the --timeout");
		r->status = QD_EXIT_FAIL;
	} else if (ret < 0) {
		read_error(r, -ret);
	}
}

static void read_loop(struct reader *r, uint32_t type)
{
	struct qd_msg *msgs = calloc(QD_BATCH_MAX, sizeof(*msgs));
	size_t slot = READ_SLOT_MIN;
	char *slots = malloc(QD_BATCH_MAX * slot);
	bool may_wait = true;	/* last batch was short: the queue is drained */
	uint32_t i, want;

	if (!msgs || !slots) {
		qd_err("%s", strerror(ENOMEM));
		r->status = QD_EXIT_FAIL;
		goto out;
	}
	while (!r->a->count_set || r->got < r->a->count) {
		struct qd_batch b = { .msgs = qd_ptr(msgs) };
		uint64_t left = r->a->count_set ? r->a->count - r->got : QD_BATCH_MAX;

		want = left < QD_BATCH_MAX ? (uint32_t)left : QD_BATCH_MAX;
		if (qd_signal) {
			read_error(r, EINTR);
			break;
		}
		/* About to wait: whoever reads our output gets it first. */
		if (may_wait && read_flush(r))
			break;
		for (i = 0; i < want; i++) {
			memset(&msgs[i], 0, sizeof(msgs[i]));
			msgs[i].data = qd_ptr(slots + i * slot);
			msgs[i].len = (uint32_t)slot;
			msgs[i].type = type;
		}
		b.count = want;
		b.flags = read_flags(r->a, may_wait);
		if (b.flags & QD_F_TIMEOUT)
			b.timeout_ns = r->a->wait.timeout_ns;
		if (ioctl(r->fd, QD_IOC_POP_BATCH, &b) < 0) {
			int err = errno;

			if (err == EAGAIN && !may_wait) {
				may_wait = true;	/* drained: flush, then wait */
				continue;
			}
			if (err == EMSGSIZE && msgs[0].len > slot &&
			    msgs[0].len <= READ_SLOT_MAX) {
				/* The kernel said how big: bigger slices, again. */
				char *ns;

				while (slot < msgs[0].len)
					slot *= 2;
				ns = realloc(slots, QD_BATCH_MAX * slot);
				if (!ns) {
					read_error(r, ENOMEM);
					break;
				}
				slots = ns;
				may_wait = false;
				continue;
			}
			if (err == EMSGSIZE) {
				int ret = read_one(r, type, QD_F_NONBLOCK);

				if (ret < 0) {
					read_error(r, -ret);
					break;
				}
				may_wait = false;
				continue;
			}
			if (err == EINTR && !qd_signal)
				continue;
			if (err == EAGAIN || err == ETIMEDOUT) {
				if (r->a->count_set)
					read_error(r, err);
				break;
			}
			read_error(r, err);
			break;
		}
		r->got += b.done;
		r->held += b.done;
		for (i = 0; i < b.done; i++)
			if (read_emit(r, &msgs[i], slots + i * slot))
				goto out;
		if (r->mode == OUT_PIPE && read_flush(r))
			goto out;
		may_wait = b.done < want;
	}
out:
	free(msgs);
	free(slots);
}

static enum out_mode read_out_mode(void)
{
	struct stat st;

	if (isatty(STDOUT_FILENO))
		return OUT_TTY;
	if (fstat(STDOUT_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return OUT_PIPE;
	return OUT_FILE;
}

int cmd_read(int argc, char **argv)
{
	struct read_args a = { 0 };
	struct reader r = { .a = &a };
	uint32_t type;

	argp_parse(&read_argp, argc, argv, 0, NULL, &a);
	type = qd_type_or(QD_TYPE_LOG);
	r.fd = qd_open(0);
	if (r.fd < 0)
		return QD_EXIT_FAIL;
	r.mode = read_out_mode();
	r.out = malloc(READ_OUT);
	r.big_cap = 2 * READ_SLOT_MAX;
	r.big = malloc(r.big_cap);
	if (!r.out || !r.big) {
		qd_err("%s", strerror(ENOMEM));
		return QD_EXIT_FAIL;
	}
	signal(SIGPIPE, SIG_IGN);	/* a closed stdout is an error we report */
	qd_catch_signals();

	if (a.peek)
		read_peek(&r, type);
	else
		read_loop(&r, type);
	if (read_flush(&r) == 0 && r.status == QD_EXIT_OK && qd_signal)
		r.status = qd_signal_exit();
	close(r.fd);
	free(r.out);
	free(r.big);
	return r.status;
}
