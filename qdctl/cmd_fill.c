// SPDX-License-Identifier: GPL-2.0
/*
 * qdctl fill: push one message per input line.
 *
 * Input is read in large chunks; every complete line in a chunk becomes a
 * struct qd_msg pointing into the chunk, and up to QD_BATCH_MAX of them go
 * to the kernel in one QD_IOC_PUSH_BATCH. Pending entries are always pushed
 * before the buffer is reused or read(2) may wait, so lines typed at a
 * terminal or trickling through a pipe are queued at once.
 *
 * What was pushed is always exact: on any error the lines before the one
 * named in the message were pushed, that line and everything after it
 * were not.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "qd.h"

#define FILL_CHUNK	(1U << 20)	/* input buffer, grown for long lines */

enum { OPT_STDIN_ONLY = 0x100 };

struct fill_args {
	char **files;
	int nfiles;
	bool split, stdin_only, verbose;
	struct qd_wait wait;
};

struct filler {
	const struct fill_args *a;
	int fd;
	uint32_t type;
	uint64_t max;			/* largest payload */
	char *buf;
	size_t cap;
	const char *name;		/* input being read, for messages */
	struct qd_msg msgs[QD_BATCH_MAX];
	uint64_t line[QD_BATCH_MAX];	/* input line of each pending entry */
	unsigned int n;			/* pending entries */
	uint64_t pushed;
	int status;			/* exit status once failed */
};

static const struct argp_option fill_options[] = {
	{ "split", 's', NULL, 0,
	  "Cut a line longer than the largest message into several messages "
	  "(default: stop with an error at that line)", 0 },
	{ "stdin-only", OPT_STDIN_ONLY, NULL, 0,
	  "Read standard input only; refuse FILE arguments", 0 },
	{ "nonblock", QD_OPT_NONBLOCK, NULL, 0,
	  "Fail instead of waiting when the queue is full", 0 },
	{ "timeout", QD_OPT_TIMEOUT, "SEC", 0,
	  "Fail when the queue stays full for SEC seconds (fractions allowed)", 0 },
	{ "verbose", 'v', NULL, 0, "Print how many messages were pushed", 0 },
	{ 0 }
};

static error_t fill_parse(int key, char *arg, struct argp_state *state)
{
	struct fill_args *a = state->input;

	switch (key) {
	case 's':
		a->split = true;
		return 0;
	case OPT_STDIN_ONLY:
		a->stdin_only = true;
		return 0;
	case 'v':
		a->verbose = true;
		return 0;
	case QD_OPT_NONBLOCK:
	case QD_OPT_TIMEOUT:
		return qd_wait_parse(&a->wait, key, arg, state);
	case ARGP_KEY_ARGS:
		a->files = state->argv + state->next;
		a->nfiles = state->argc - state->next;
		return 0;
	case ARGP_KEY_END:
		if (a->stdin_only && a->nfiles)
			argp_error(state, "--stdin-only takes no FILE arguments");
		qd_wait_check(&a->wait, state);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp fill_argp = {
	.options = fill_options,
	.parser = fill_parse,
	.args_doc = "[FILE...]",
	.doc = "Push one message per line of each FILE (standard input when none "
	       "is given or FILE is -), of type log unless --type says otherwise."
	       "\vThe newline is not part of the message; an empty line is an empty "
	       "message, and a last line without a newline is a message too. "
	       "Waits while the queue is full unless --nonblock or --timeout.\n\n"
	       "On an error (a line longer than the largest message, a full queue "
	       "with --nonblock or --timeout, a signal) the message names FILE:LINE: "
	       "every line before it was pushed, it and every line after it were not, "
	       "and the exit status is non-zero.\n\nExamples:\n"
	       "  qdctl fill < app.log\n  tail -F app.log | qdctl fill\n"
	       "  qdctl fill --type 7 --split big.txt",
	.children = qd_device_type_children,
};

static void fill_report(struct filler *f, int err, uint64_t line, uint32_t len)
{
	const char *name = f->name;

	switch (err) {
	case EAGAIN:
		qd_err("%s:%" PRIu64 ": the queue is full (--nonblock): this line and the rest "
		       "were not pushed (%" PRIu64 " pushed)", name, line, f->pushed);
		break;
	case ETIMEDOUT:
		qd_err("%s:%" PRIu64 ": the queue stayed full for %.9g s (--timeout): this line "
		       "and the rest were not pushed (%" PRIu64 " pushed)", name, line,
		       (double)f->a->wait.timeout_ns / 1e9, f->pushed);
		break;
	case EINTR:
		qd_err("%s:%" PRIu64 ": interrupted: this line and the rest were not pushed (%"
		       PRIu64 " pushed)", name, line, f->pushed);
		f->status = qd_signal_exit();
		return;
	case EMSGSIZE:
		qd_err("%s:%" PRIu64 ": line is %" PRIu32 " bytes, more than the largest message "
		       "(%" PRIu64 " bytes; was the queue resized?): this line and the rest were "
		       "not pushed (%" PRIu64 " pushed)", name, line, len, qd_max_msg_size(f->fd),
		       f->pushed);
		break;
	default:
		qd_err("%s: %s%s (%s:%" PRIu64 " and the rest were not pushed, %" PRIu64
		       " pushed)", qd_opt.device, strerror(err),
		       err == ENOTTY ? " (not a queue_driver device?)" : "",
		       name, line, f->pushed);
	}
	f->status = QD_EXIT_FAIL;
}

/* Push every pending entry; 0, or -1 after reporting the first not pushed. */
static int fill_flush(struct filler *f)
{
	unsigned int off = 0;

	while (off < f->n) {
		struct qd_batch b = {
			.msgs = qd_ptr(&f->msgs[off]),
			.count = f->n - off,
			.flags = qd_wait_flags(&f->a->wait),
			.timeout_ns = qd_wait_timeout(&f->a->wait),
		};

		if (ioctl(f->fd, QD_IOC_PUSH_BATCH, &b) < 0 || b.done == 0) {
			int err = b.done ? EIO : errno;

			if (err == EINTR && !qd_signal)
				continue;
			fill_report(f, err, f->line[off], f->msgs[off].len);
			return -1;
		}
		off += b.done;
		f->pushed += b.done;
	}
	f->n = 0;
	return 0;
}

static int fill_add(struct filler *f, const char *p, size_t len, uint64_t line)
{
	struct qd_msg *m;

	if (f->n == QD_BATCH_MAX && fill_flush(f))
		return -1;
	m = &f->msgs[f->n];
	memset(m, 0, sizeof(*m));
	m->data = qd_ptr(p);
	m->len = (uint32_t)len;
	m->type = f->type;
	f->line[f->n++] = line;
	return 0;
}

static void fill_too_long(struct filler *f, uint64_t line, size_t len)
{
	qd_err("%s:%" PRIu64 ": line is %zu bytes, more than the largest message (%" PRIu64
	       " bytes): this line and the rest were not pushed (%" PRIu64 " pushed; "
	       "--split cuts long lines)", f->name, line, len, f->max, f->pushed);
	f->status = QD_EXIT_FAIL;
}

/* A line, or with --split the first @len bytes of one with no newline yet. */
static int fill_line(struct filler *f, const char *p, size_t len, uint64_t line,
		     bool complete)
{
	if (len > f->max && !f->a->split) {
		if (fill_flush(f) == 0)
			fill_too_long(f, line, len);
		return -1;
	}
	while (len > f->max) {
		if (fill_add(f, p, f->max, line))
			return -1;
		p += f->max;
		len -= f->max;
	}
	if (!complete)
		return 0;
	return fill_add(f, p, len, line);
}

/* Bytes up to the end of the current line of @in, for the error message. */
static size_t fill_rest_of_line(struct filler *f, int in)
{
	size_t n = 0;

	for (;;) {
		ssize_t r = read(in, f->buf, f->cap);
		char *nl;

		if (r < 0 && errno == EINTR && !qd_signal)
			continue;
		if (r <= 0)
			return n;
		nl = memchr(f->buf, '\n', (size_t)r);
		if (nl)
			return n + (size_t)(nl - f->buf);
		n += (size_t)r;
	}
}

/* Push every line of @in; 0, or -1 after reporting. */
static int fill_file(struct filler *f, int in)
{
	size_t have = 0, rest;
	uint64_t line = 0;
	char *p, *end, *nl;

	for (;;) {
		ssize_t r = read(in, f->buf + have, f->cap - have);

		if (r < 0) {
			if (errno == EINTR) {
				if (!qd_signal)
					continue;
				f->status = qd_signal_exit();
				return -1;
			}
			qd_err("%s: %s", f->name, strerror(errno));
			f->status = QD_EXIT_FAIL;
			return -1;
		}
		if (r == 0)
			break;
		have += (size_t)r;
		p = f->buf;
		end = f->buf + have;
		while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
			if (fill_line(f, p, (size_t)(nl - p), ++line, true))
				return -1;
			p = nl + 1;
		}
		rest = (size_t)(end - p);
		if (rest > f->max && !f->a->split) {
			/* Longer than any message: push the lines before it, stop. */
			if (fill_flush(f) == 0)
				fill_too_long(f, line + 1, rest + fill_rest_of_line(f, in));
			return -1;
		}
		if (rest > f->max) {
			/* --split: cut it now, keep the last piece for its newline. */
			if (fill_line(f, p, rest, line + 1, false))
				return -1;
			p += rest - rest % f->max;
			if (rest % f->max == 0)
				p -= f->max;	/* keep a piece for the newline */
			rest = (size_t)(end - p);
		}
		/* Entries point into buf: push them before it is reused. */
		if (fill_flush(f))
			return -1;
		memmove(f->buf, p, rest);
		have = rest;
		if (have == f->cap) {
			size_t cap = f->cap * 2 > f->max + 1 ? f->max + 1 : f->cap * 2;
			char *nb = realloc(f->buf, cap);

			if (!nb) {
				qd_err("%s: %s", f->name, strerror(ENOMEM));
				f->status = QD_EXIT_FAIL;
				return -1;
			}
			f->buf = nb;
			f->cap = cap;
		}
	}
	if (have && fill_line(f, f->buf, have, ++line, true))
		return -1;
	return fill_flush(f);
}

int cmd_fill(int argc, char **argv)
{
	static char *stdin_only[] = { "-" };
	struct fill_args a = { 0 };
	struct filler *f;
	int *in, i, ret;

	argp_parse(&fill_argp, argc, argv, 0, NULL, &a);
	if (!a.nfiles) {
		a.files = stdin_only;
		a.nfiles = 1;
	}
	f = calloc(1, sizeof(*f));
	in = calloc((size_t)a.nfiles, sizeof(*in));
	if (!f || !in) {
		qd_err("%s", strerror(ENOMEM));
		return QD_EXIT_FAIL;
	}
	f->a = &a;
	f->type = qd_type_or(QD_TYPE_LOG);

	/* Open every input first: a missing file pushes nothing at all. */
	for (i = 0; i < a.nfiles; i++) {
		if (!strcmp(a.files[i], "-")) {
			in[i] = STDIN_FILENO;
			continue;
		}
		in[i] = open(a.files[i], O_RDONLY | O_CLOEXEC);
		if (in[i] < 0) {
			qd_err("%s: %s (nothing was pushed)", a.files[i], strerror(errno));
			return QD_EXIT_FAIL;
		}
	}
	f->fd = qd_open(0);
	if (f->fd < 0)
		return QD_EXIT_FAIL;
	f->max = qd_max_msg_size(f->fd);
	if (!f->max) {
		qd_err_dev(qd_opt.device, ENOTTY);
		return QD_EXIT_FAIL;
	}
	f->cap = f->max + 1 < FILL_CHUNK ? f->max + 1 : FILL_CHUNK;
	f->buf = malloc(f->cap);
	if (!f->buf) {
		qd_err("%s", strerror(ENOMEM));
		return QD_EXIT_FAIL;
	}
	qd_catch_signals();

	ret = QD_EXIT_OK;
	for (i = 0; i < a.nfiles; i++) {
		f->name = in[i] == STDIN_FILENO ? "<stdin>" : a.files[i];
		if (fill_file(f, in[i])) {
			ret = f->status;
			break;
		}
		if (in[i] != STDIN_FILENO)
			close(in[i]);
	}
	if (a.verbose)
		printf("%" PRIu64 " messages pushed\n", f->pushed);
	if (qd_flush_stdout())
		ret = QD_EXIT_FAIL;
	close(f->fd);
	free(f->buf);
	free(f);
	free(in);
	return ret;
}
