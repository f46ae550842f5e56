// SPDX-License-Identifier: GPL-2.0
/*
 * qdt - a small, exact test client for /dev/queue_driver.
 *
 * The bats suites (tests/1NN-*.bats) drive the module through it, so every
 * ioctl field can be set by hand (reserved fields, unknown flags, bad
 * pointers) and every result read back in a form a test can match exactly.
 *
 *   qdt [GLOBAL...] OP [ARGS...]            one op on a freshly opened file
 *   qdt [GLOBAL...] run 'OP ARGS' ...       several ops on the SAME open file
 *   qdt [GLOBAL...] run -                   the ops read from stdin, one a line
 *
 * GLOBAL: -d|--device PATH (default $QD_DEV or /dev/queue_driver),
 *         --o-nonblock (open with O_NONBLOCK), --sig intr|restart (count
 *         SIGUSR1 in a handler installed without or with SA_RESTART;
 *         every output line then ends in signals=N, after data= too),
 *         --trace (print each struct before its ioctl on stderr),
 *         -h|--help.
 *
 * Output: every op prints exactly one line of space-separated key=value
 * fields on stdout, flushed at once (pop --count N and batch-pop print one
 * more line per message). "data=" is always the last field and runs to the
 * end of the line, escaped: \\ \n \t \r, other bytes outside 0x20..0x7e as
 * \xNN. A failing op prints "error=ENAME" (the errno's name) followed by
 * what the call still returned (pop: len=, batches: done=, ...).
 *
 * Exit status: 0 if every op succeeded, else the status of the first op
 * that failed: the errno value for a failed system call (EPERM 1, ENOENT 2,
 * EINTR 4, EAGAIN 11, EFAULT 14, EBUSY 16, EINVAL 22, ENOTTY 25, EMSGSIZE 90,
 * ETIMEDOUT 110), 253 when a --check-* verification failed (stderr says what
 * differed), 254 for a usage error. In run mode the later ops still run.
 *
 * run mode: slot 0 is opened first; "use N" switches to slot N (its own open
 * file), "close", "open", "nonblock on|off" (fcntl O_NONBLOCK), "sleep SEC",
 * "pause" (until a signal), "echo WORDS" act on it. In an op string, $id is
 * the id returned by the latest push/pop and $idN the one returned by op N
 * (1-based); quote the strings so the shell leaves them alone.
 *
 * Never run it against the device on a machine where the module is not
 * meant to be loaded; -d /dev/null exercises the parsing (ioctls: ENOTTY).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include <linux/queue_driver.h>

#define EXIT_CHECK	253
#define EXIT_USAGE	254

#define MAX_SLOTS	8
#define MAX_OPS		256
#define MAX_ARGS	64
#define DEFAULT_BUF	(1U << 20)

/* An address no test process has mapped: copies to or from it fault. */
#define BAD_PTR		0x10ULL
/* What buffers and out-fields are filled with before a call. */
#define SENTINEL	0xa5
#define PAT32		0xa5a5a5a5U
#define PAT64		0xa5a5a5a5a5a5a5a5ULL

static const char *dev_path = "/dev/queue_driver";
static bool o_nonblock;
static bool trace;
static enum { SIG_NONE, SIG_INTR, SIG_RESTART } sig_mode;
static volatile sig_atomic_t nsignals;

static int fds[MAX_SLOTS] = { -1, -1, -1, -1, -1, -1, -1, -1 };
static bool slot_nonblock[MAX_SLOTS];
static int cur;

static uint64_t last_id;
static bool have_last_id;
static uint64_t op_ids[MAX_OPS + 1];
static bool op_has_id[MAX_OPS + 1];
static int op_index;		/* 1-based index of the running op */

/* ---- output ---------------------------------------------------------- */

static bool line_started;

static void field(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void field(const char *fmt, ...)
{
	va_list ap;

	if (line_started)
		putchar(' ');
	line_started = true;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

static void end_line(void)
{
	if (sig_mode != SIG_NONE)
		field("signals=%d", (int)nsignals);
	putchar('\n');
	fflush(stdout);
	line_started = false;
}

static void print_escaped(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];

		switch (c) {
		case '\\': fputs("\\\\", stdout); break;
		case '\n': fputs("\\n", stdout); break;
		case '\t': fputs("\\t", stdout); break;
		case '\r': fputs("\\r", stdout); break;
		default:
			if (c >= 0x20 && c < 0x7f)
				putchar(c);
			else
				printf("\\x%02x", c);
		}
	}
}

static void data_field(const void *p, size_t n, bool hex)
{
	field("data=");
	if (hex) {
		for (size_t i = 0; i < n; i++)
			printf("%02x", ((const unsigned char *)p)[i]);
	} else {
		print_escaped(p, n);
	}
}

static const char *errname(int err)
{
	static char buf[32];
	const char *n = strerrorname_np(err);

	if (n)
		return n;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

/* Print error=NAME; the caller adds fields and ends the line. */
static int fail(int err)
{
	field("error=%s", errname(err));
	return err;
}

static int usage_error(const char *op, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int usage_error(const char *op, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "qdt: %s: ", op);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	field("error=usage");
	end_line();
	return EXIT_USAGE;
}

static int check_failed(const char *op, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int check_failed(const char *op, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "qdt: %s: check failed: ", op);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	field("error=check");
	return EXIT_CHECK;
}

/* ---- argument parsing ------------------------------------------------ */

enum kind { O_BOOL, O_U32, O_U64, O_S64, O_STR, O_FLAGS };

struct optdef {
	const char *name;
	enum kind kind;
	void *ptr;
	bool seen;
};

#define OPT(n, k, p)	{ .name = (n), .kind = (k), .ptr = (p) }
#define OPT_END		{ .name = NULL }

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return (errno || *end) ? -1 : 0;
}

static int parse_s64(const char *s, int64_t *v)
{
	char *end;

	if (!*s)
		return -1;
	errno = 0;
	*v = strtoll(s, &end, 0);
	return (errno || *end) ? -1 : 0;
}

static const struct {
	const char *name;
	uint32_t bit;
} flag_names[] = {
	{ "nonblock", QD_F_NONBLOCK },
	{ "timeout", QD_F_TIMEOUT },
	{ "peek", QD_F_PEEK },
	{ "except", QD_F_EXCEPT },
	{ "reserve", QD_F_RESERVE },
};

/* "nonblock,timeout" or "0x80000000" or "peek|0x100"; "" and "0" are 0 */
static int parse_flags(const char *s, uint32_t *v)
{
	char *copy = strdup(s), *save = NULL, *tok;
	int ret = 0;

	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",|", &save); tok;
	     tok = strtok_r(NULL, ",|", &save)) {
		uint64_t n;
		size_t i;

		for (i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
			if (!strcmp(tok, flag_names[i].name))
				break;
		if (i < sizeof(flag_names) / sizeof(flag_names[0])) {
			*v |= flag_names[i].bit;
		} else if (!parse_u64(tok, &n) && n <= UINT32_MAX) {
			*v |= (uint32_t)n;
		} else {
			ret = -1;
			break;
		}
	}
	free(copy);
	return ret;
}

/*
 * Parse --name, --name=value and --name value against defs; everything
 * else goes to pos[]. Returns 0 or EXIT_USAGE (already reported).
 */
static int parse_args(int argc, char **argv, struct optdef *defs,
		      char **pos, int maxpos, int *npos)
{
	const char *op = argv[0];

	*npos = 0;
	for (int i = 1; i < argc; i++) {
		char *a = argv[i], *val = NULL, *eq;
		struct optdef *d;
		size_t nlen;

		if (strncmp(a, "--", 2) || !a[2]) {
			if (*npos >= maxpos)
				return usage_error(op, "unexpected argument '%s'", a);
			pos[(*npos)++] = a;
			continue;
		}
		a += 2;
		eq = strchr(a, '=');
		nlen = eq ? (size_t)(eq - a) : strlen(a);
		for (d = defs; d && d->name; d++)
			if (strlen(d->name) == nlen && !strncmp(d->name, a, nlen))
				break;
		if (!d || !d->name)
			return usage_error(op, "unknown option '--%.*s'", (int)nlen, a);
		d->seen = true;
		if (d->kind == O_BOOL) {
			if (eq)
				return usage_error(op, "--%s takes no value", d->name);
			*(bool *)d->ptr = true;
			continue;
		}
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			return usage_error(op, "--%s needs a value", d->name);

		switch (d->kind) {
		case O_U32: {
			uint64_t n;

			if (parse_u64(val, &n) || n > UINT32_MAX)
				return usage_error(op, "--%s: bad number '%s'", d->name, val);
			*(uint32_t *)d->ptr = (uint32_t)n;
			break;
		}
		case O_U64:
			if (parse_u64(val, d->ptr))
				return usage_error(op, "--%s: bad number '%s'", d->name, val);
			break;
		case O_S64:
			if (parse_s64(val, d->ptr))
				return usage_error(op, "--%s: bad number '%s'", d->name, val);
			break;
		case O_STR:
			*(const char **)d->ptr = val;
			break;
		case O_FLAGS:
			if (parse_flags(val, d->ptr))
				return usage_error(op, "--%s: bad flags '%s'", d->name, val);
			break;
		case O_BOOL:
			break;
		}
	}
	return 0;
}

static bool seen(const struct optdef *defs, const char *name)
{
	for (; defs->name; defs++)
		if (!strcmp(defs->name, name))
			return defs->seen;
	return false;
}

/* Split "a,b,c" into up to max numbers; returns the count or -1. */
static int parse_u64_list(const char *s, uint64_t *v, int max)
{
	char *copy = strdup(s), *save = NULL, *tok;
	int n = 0;

	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (n >= max || parse_u64(tok, &v[n])) {
			n = -1;
			break;
		}
		n++;
	}
	free(copy);
	return n;
}

/* Unescape \n \t \r \\ \0 \xNN in place; returns the length. */
static size_t unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (*r != '\\' || !r[1]) {
			*w++ = *r;
			continue;
		}
		r++;
		switch (*r) {
		case 'n': *w++ = '\n'; break;
		case 't': *w++ = '\t'; break;
		case 'r': *w++ = '\r'; break;
		case '0': *w++ = '\0'; break;
		case 'x':
			if (r[1] && r[2]) {
				char hex[3] = { r[1], r[2], 0 };

				*w++ = (char)strtoul(hex, NULL, 16);
				r += 2;
			}
			break;
		default: *w++ = *r;
		}
	}
	return (size_t)(w - s);
}

/* The payload push --len N sends: 'a' + i % 26. */
static char *pattern(size_t n)
{
	char *p = malloc(n ? n : 1);

	if (!p) {
		perror("qdt: malloc");
		exit(1);
	}
	for (size_t i = 0; i < n; i++)
		p[i] = (char)('a' + i % 26);
	return p;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		perror("qdt: malloc");
		exit(1);
	}
	return p;
}

/*
 * push/pop --page-end OVER: a payload buffer of @size bytes whose last
 * OVER bytes (at most a page) lie in an inaccessible page, the rest
 * ending where an accessible page ends. The kernel must copy right up to
 * that end, and fault on the first byte past it.
 */
struct edge_buf {
	unsigned char *base, *p;
	size_t len;
};

static bool edge_alloc(struct edge_buf *e, size_t size, size_t over)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), mapped, span;

	if (over > size || over > page)
		return false;
	mapped = size - over;
	span = (mapped + page - 1) / page * page;
	e->len = span + page;
	e->base = mmap(NULL, e->len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (e->base == MAP_FAILED ||
	    mprotect(e->base + span, page, PROT_NONE)) {
		perror("qdt: mmap");
		exit(1);
	}
	e->p = e->base + span - mapped;
	return true;
}

static void edge_free(struct edge_buf *e)
{
	munmap(e->base, e->len);
}

/*
 * push/write --page-end: put the @n-byte payload @buf (NULL: none was
 * made) against the inaccessible page, its last @over bytes past it.
 */
static int edge_payload(const char *op, struct edge_buf *e, const char *buf,
			size_t n, size_t over)
{
	if (!buf || !edge_alloc(e, n, over))
		return usage_error(op,
			"--page-end needs a payload of at least that many bytes, at most a page more");
	/* what lies past the mapping is the kernel's to fault on */
	memcpy(e->p, buf, n - over);
	return 0;
}

/*
 * The payload an op asked for: --data STR, --data-esc STR or --len N (a
 * pattern). Returns 0, or EXIT_USAGE when they are combined.
 */
static int payload(const char *op, const struct optdef *defs, const char *data,
		   const char *data_esc, uint64_t len, char **buf, size_t *n)
{
	int kinds = !!data + !!data_esc + seen(defs, "len");

	if (kinds > 1)
		return usage_error(op, "use one of --data, --data-esc, --len");
	if (data) {
		*buf = strdup(data);
		*n = strlen(data);
	} else if (data_esc) {
		*buf = strdup(data_esc);
		*n = *buf ? unescape(*buf) : 0;
	} else {
		*buf = pattern(len);
		*n = len;
	}
	if (!*buf) {
		perror("qdt: strdup");
		exit(1);
	}
	return 0;
}

/* ---- the device ------------------------------------------------------ */

static int open_slot(void)
{
	int flags = O_RDWR | O_CLOEXEC;

	if (o_nonblock || slot_nonblock[cur])
		flags |= O_NONBLOCK;
	fds[cur] = open(dev_path, flags);
	return fds[cur] < 0 ? errno : 0;
}

/* The current slot's fd, opened on first use; -1 with error printed. */
static int dev_fd(int *status)
{
	int err;

	if (fds[cur] >= 0)
		return fds[cur];
	err = open_slot();
	if (err) {
		fail(err);
		field("what=open");
		end_line();
		*status = err;
		return -1;
	}
	return fds[cur];
}

static void trace_msg(const char *what, const struct qd_msg *m)
{
	if (!trace)
		return;
	fprintf(stderr,
		"qdt: %s: data=0x%" PRIx64 " id=%" PRIu64 " timeout_ns=%" PRId64
		" time_ns=%" PRIu64 " len=%u type=%u flags=0x%x sender_pid=%u"
		" sender_uid=%u __reserved=%u\n", what, (uint64_t)m->data,
		(uint64_t)m->id, (int64_t)m->timeout_ns, (uint64_t)m->time_ns,
		m->len, m->type, m->flags, m->sender_pid, m->sender_uid,
		m->__reserved);
}

static void record_id(uint64_t id)
{
	last_id = id;
	have_last_id = true;
	if (op_index > 0 && op_index <= MAX_OPS) {
		op_ids[op_index] = id;
		op_has_id[op_index] = true;
	}
}

static uint64_t user_ptr(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* ---- ops ------------------------------------------------------------- */

/*
 * The entry array of a batch: on the heap, or (--guard-tail) ending right
 * before an unmapped page, so that a count field above --count makes the
 * kernel read past what is mapped. Such an array is @len bytes at the end
 * of @span mapped ones.
 */
static void msgs_span(uint32_t count, size_t *len, size_t *span)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	*len = (count ? count : 1) * sizeof(struct qd_msg);
	*span = (*len + page - 1) / page * page;
}

static struct qd_msg *msgs_alloc(uint32_t count, bool guard)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len, span;
	char *p;

	if (!guard) {
		struct qd_msg *m = calloc(count ? count : 1, sizeof(*m));

		if (!m) {
			perror("qdt: calloc");
			exit(1);
		}
		return m;
	}
	msgs_span(count, &len, &span);
	p = mmap(NULL, span + page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || munmap(p + span, page)) {
		perror("qdt: mmap");
		exit(1);
	}
	return (struct qd_msg *)(p + span - len);
}

/* --read-only: the (--guard-tail) entry array can be read, not written. */
static void msgs_protect(struct qd_msg *m, uint32_t count)
{
	size_t len, span;

	msgs_span(count, &len, &span);
	if (mprotect((char *)m + len - span, span, PROT_READ)) {
		perror("qdt: mprotect");
		exit(1);
	}
}

static void msgs_free(struct qd_msg *m, uint32_t count, bool guard)
{
	size_t len, span;

	if (!guard) {
		free(m);
		return;
	}
	msgs_span(count, &len, &span);
	munmap((char *)m + len - span, span);
}

/*
 * QD_IOC_PUSH or QD_IOC_POP of @m; with @rdonly from a copy of it that
 * can be read, not written (no id or results come back), copied back.
 * Returns ioctl()'s result, errno as it left it.
 */
static int msg_ioctl(int fd, unsigned long cmd, struct qd_msg *m, bool rdonly)
{
	struct qd_msg *ro;
	int ret, err;

	if (!rdonly)
		return ioctl(fd, cmd, m);
	ro = msgs_alloc(1, true);
	*ro = *m;
	msgs_protect(ro, 1);
	ret = ioctl(fd, cmd, ro);
	err = errno;
	*m = *ro;
	msgs_free(ro, 1, true);
	errno = err;
	return ret;
}

static int op_push(int argc, char **argv)
{
	uint32_t type = QD_TYPE_LOG, flags = 0, reserved = 0;
	int64_t timeout = 0;
	uint64_t len = 0, ptr = 0, repeat = 1, first = 0, count, over = 0;
	bool nonblock = false, bad = false, meta = false, rdonly = false;
	struct edge_buf edge;
	const char *data = NULL, *data_esc = NULL;
	struct optdef defs[] = {
		OPT("type", O_U32, &type), OPT("flags", O_FLAGS, &flags),
		OPT("nonblock", O_BOOL, &nonblock), OPT("timeout-ns", O_S64, &timeout),
		OPT("len", O_U64, &len), OPT("data", O_STR, &data),
		OPT("data-esc", O_STR, &data_esc), OPT("bad-ptr", O_BOOL, &bad),
		OPT("ptr", O_U64, &ptr), OPT("reserved", O_U32, &reserved),
		OPT("repeat", O_U64, &repeat), OPT("meta", O_BOOL, &meta),
		OPT("page-end", O_U64, &over), OPT("read-only", O_BOOL, &rdonly),
		OPT_END
	};
	struct qd_msg m;
	char *buf;
	size_t n;
	int npos, ret, fd, status = 0;

	ret = parse_args(argc, argv, defs, NULL, 0, &npos);
	if (ret)
		return ret;
	if ((bad || seen(defs, "ptr")) && !seen(defs, "data") &&
	    !seen(defs, "data-esc")) {
		/* the kernel must not read it: no need for a real buffer */
		buf = NULL;
		n = len;
	} else {
		ret = payload(argv[0], defs, data, data_esc, len, &buf, &n);
		if (ret)
			return ret;
	}
	if (n > UINT32_MAX)
		return usage_error(argv[0], "--len too large");
	if (seen(defs, "page-end")) {
		ret = edge_payload(argv[0], &edge, buf, n, over);
		if (ret) {
			free(buf);
			return ret;
		}
	}
	if (nonblock)
		flags |= QD_F_NONBLOCK;
	fd = dev_fd(&status);
	if (fd < 0)
		return status;

	for (count = 0; count < repeat; count++) {
		memset(&m, 0, sizeof(m));
		m.data = bad ? BAD_PTR : seen(defs, "ptr") ? ptr :
			 seen(defs, "page-end") ? user_ptr(edge.p) : user_ptr(buf);
		m.len = (uint32_t)n;
		m.type = type;
		m.flags = flags;
		m.timeout_ns = timeout;
		m.__reserved = reserved;
		trace_msg("push", &m);
		if (msg_ioctl(fd, QD_IOC_PUSH, &m, rdonly)) {
			status = fail(errno);
			break;
		}
		if (!count)
			first = m.id;
		record_id(m.id);
	}
	if (repeat != 1) {
		field("count=%" PRIu64, count);
		if (count)
			field("first=%" PRIu64 " last=%" PRIu64, first, last_id);
	} else if (!status) {
		field("id=%" PRIu64, (uint64_t)m.id);
	}
	if (meta)
		field("pid=%d uid=%u", (int)getpid(), (unsigned int)geteuid());
	end_line();
	if (seen(defs, "page-end"))
		edge_free(&edge);
	free(buf);
	return status;
}

static int op_pop(int argc, char **argv)
{
	uint32_t type = QD_TYPE_ANY, flags = 0, reserved = 0;
	int64_t timeout = 0;
	uint64_t bufsize = DEFAULT_BUF, lenfield = 0, ptr = 0, count = 1;
	uint64_t over = 0, mapped;
	bool nonblock = false, peek = false, except = false, reserve = false;
	bool bad = false, untouched = false, chkstruct = false, meta = false;
	bool hex = false, nodata = false, rdonly = false;
	struct optdef defs[] = {
		OPT("type", O_U32, &type), OPT("flags", O_FLAGS, &flags),
		OPT("nonblock", O_BOOL, &nonblock), OPT("peek", O_BOOL, &peek),
		OPT("except", O_BOOL, &except), OPT("reserve", O_BOOL, &reserve),
		OPT("timeout-ns", O_S64, &timeout), OPT("buf", O_U64, &bufsize),
		OPT("len", O_U64, &lenfield), OPT("bad-ptr", O_BOOL, &bad),
		OPT("ptr", O_U64, &ptr), OPT("reserved", O_U32, &reserved),
		OPT("check-untouched", O_BOOL, &untouched),
		OPT("check-struct", O_BOOL, &chkstruct), OPT("meta", O_BOOL, &meta),
		OPT("hex", O_BOOL, &hex), OPT("no-data", O_BOOL, &nodata),
		OPT("count", O_U64, &count), OPT("read-only", O_BOOL, &rdonly),
		OPT("page-end", O_U64, &over), OPT_END
	};
	unsigned char *buf;
	struct qd_msg m;
	struct edge_buf edge;
	int npos, ret, fd, status = 0;

	ret = parse_args(argc, argv, defs, NULL, 0, &npos);
	if (ret)
		return ret;
	// cppcheck-suppress unsignedLessThanZero ; parse_args() sets lenfield via defs[]
	if (bufsize > UINT32_MAX || lenfield > UINT32_MAX)
		return usage_error(argv[0], "--buf/--len too large");
	if (!seen(defs, "len"))
		lenfield = bufsize;
	flags |= (nonblock ? QD_F_NONBLOCK : 0) | (peek ? QD_F_PEEK : 0) |
		 (except ? QD_F_EXCEPT : 0) | (reserve ? QD_F_RESERVE : 0);
	if (seen(defs, "page-end") && !edge_alloc(&edge, bufsize, over))
		return usage_error(argv[0], "--page-end larger than --buf or a page");
	mapped = bufsize - over;
	fd = dev_fd(&status);
	if (fd < 0)
		return status;
	buf = seen(defs, "page-end") ? edge.p : xmalloc(bufsize);

	for (uint64_t i = 0; i < count; i++) {
		memset(buf, SENTINEL, mapped);
		memset(&m, 0, sizeof(m));
		m.data = bad ? BAD_PTR : seen(defs, "ptr") ? ptr : user_ptr(buf);
		m.len = (uint32_t)lenfield;
		m.type = type;
		m.flags = flags;
		m.timeout_ns = timeout;
		m.__reserved = reserved;
		if (chkstruct) {
			m.id = PAT64;
			m.time_ns = PAT64;
			m.sender_pid = PAT32;
			m.sender_uid = PAT32;
		}
		trace_msg("pop", &m);
		if (msg_ioctl(fd, QD_IOC_POP, &m, rdonly)) {
			int err = errno;

			status = fail(err);
			if (err == EMSGSIZE)
				field("len=%u", m.len);
			end_line();
			break;
		}
		record_id(m.id);
		field("id=%" PRIu64 " type=%u len=%u", (uint64_t)m.id, m.type,
		      m.len);
		if (meta)
			field("time_ns=%" PRIu64 " sender_pid=%u sender_uid=%u",
			      (uint64_t)m.time_ns, m.sender_pid, m.sender_uid);
		if (m.len > lenfield) {
			status = check_failed(argv[0], "len %u > buffer %" PRIu64,
					      m.len, lenfield);
			end_line();
			break;
		}
		if (untouched) {
			uint64_t j;

			for (j = m.len; j < mapped; j++)
				if (buf[j] != SENTINEL)
					break;
			if (j < mapped) {
				status = check_failed(argv[0],
					"byte %" PRIu64 " past len %u was written (0x%02x)",
					j, m.len, buf[j]);
				end_line();
				break;
			}
			field("untouched=ok");
		}
		if (chkstruct) {
			const char *bad_field = NULL;

			if (m.id == PAT64 || m.id == 0)
				bad_field = "id";
			else if (m.time_ns == PAT64 || m.time_ns == 0)
				bad_field = "time_ns";
			else if (m.sender_pid == PAT32)
				bad_field = "sender_pid";
			else if (m.sender_uid == PAT32)
				bad_field = "sender_uid";
			else if (m.__reserved)
				bad_field = "__reserved";
			else if (m.flags != flags)
				bad_field = "flags";
			else if (m.timeout_ns != timeout)
				bad_field = "timeout_ns";
			else if (m.data != (bad ? BAD_PTR : seen(defs, "ptr") ?
					    ptr : user_ptr(buf)))
				bad_field = "data";
			if (bad_field) {
				status = check_failed(argv[0],
					"out-struct field %s not as expected",
					bad_field);
				end_line();
				break;
			}
			field("struct=ok");
		}
		if (!nodata)
			data_field(buf, m.len, hex);
		end_line();
	}
	if (seen(defs, "page-end"))
		edge_free(&edge);
	else
		free(buf);
	return status;
}

static int op_ack_nack(int argc, char **argv, unsigned long cmd,
		       const char *what)
{
	bool bad = false;
	struct optdef defs[] = { OPT("bad-ptr", O_BOOL, &bad), OPT_END };
	char *pos[1];
	uint64_t id;
	int npos, ret, fd, status = 0;

	ret = parse_args(argc, argv, defs, pos, 1, &npos);
	if (ret)
		return ret;
	if (npos != 1 || parse_u64(pos[0], &id))
		return usage_error(argv[0], "needs one message id");
	fd = dev_fd(&status);
	if (fd < 0)
		return status;
	if (ioctl(fd, cmd, bad ? (void *)(uintptr_t)BAD_PTR : &id))
		status = fail(errno);
	else
		field("%s=%" PRIu64, what, id);
	end_line();
	return status;
}

static int op_ack(int argc, char **argv)
{
	return op_ack_nack(argc, argv, QD_IOC_ACK, "acked");
}

static int op_nack(int argc, char **argv)
{
	return op_ack_nack(argc, argv, QD_IOC_NACK, "nacked");
}

static int op_stats(int argc, char **argv)
{
	bool bad = false, check = false;
	struct optdef defs[] = {
		OPT("bad-ptr", O_BOOL, &bad), OPT("check", O_BOOL, &check),
		OPT_END
	};
	struct qd_stats s;
	const struct {
		const char *name;
		const __u64 *v;
	} f[] = {
		{ "size", &s.size }, { "used", &s.used }, { "free", &s.free },
		{ "messages", &s.messages }, { "pushes", &s.pushes },
		{ "pops", &s.pops }, { "blocked_readers", &s.blocked_readers },
		{ "blocked_writers", &s.blocked_writers },
		{ "reserved", &s.reserved }, { "requeued", &s.requeued },
		{ "timeouts", &s.timeouts }, { "max_msg_size", &s.max_msg_size },
	};
	const size_t nf = sizeof(f) / sizeof(f[0]);
	char *pos[MAX_ARGS];
	int npos, ret, fd, status = 0;

	ret = parse_args(argc, argv, defs, pos, MAX_ARGS, &npos);
	if (ret)
		return ret;
	for (int i = 0; i < npos; i++) {
		size_t j;

		for (j = 0; j < nf; j++)
			if (!strcmp(pos[i], f[j].name))
				break;
		if (j == nf && strcmp(pos[i], "spare"))
			return usage_error(argv[0], "no counter '%s'", pos[i]);
	}
	fd = dev_fd(&status);
	if (fd < 0)
		return status;
	memset(&s, SENTINEL, sizeof(s));
	if (ioctl(fd, QD_IOC_STATS, bad ? (void *)(uintptr_t)BAD_PTR : &s)) {
		status = fail(errno);
		end_line();
		return status;
	}
	/* all counters in struct order, or the ones asked for in that order */
	for (int i = 0; i < (npos ? npos : (int)nf + 1); i++) {
		const char *name = npos ? pos[i] : i < (int)nf ? f[i].name : "spare";

		if (!strcmp(name, "spare")) {
			field("spare=%llu,%llu,%llu,%llu",
			      (unsigned long long)s.__spare[0],
			      (unsigned long long)s.__spare[1],
			      (unsigned long long)s.__spare[2],
			      (unsigned long long)s.__spare[3]);
			continue;
		}
		for (size_t j = 0; j < nf; j++)
			if (!strcmp(name, f[j].name))
				field("%s=%llu", name, (unsigned long long)*f[j].v);
	}
	if (check) {
		const char *what = NULL;

		if (s.used + s.free != s.size)
			what = "used + free != size";
		else if (s.max_msg_size != s.size - QD_MSG_HEADER_SIZE)
			what = "max_msg_size != size - 8";
		else if (s.reserved > s.messages)
			what = "reserved > messages";
		else if (s.used < s.messages * QD_MSG_HEADER_SIZE)
			what = "used < 8 * messages";
		else if (s.__spare[0] || s.__spare[1] || s.__spare[2] ||
			 s.__spare[3])
			what = "__spare not zeroed";
		if (what)
			status = check_failed(argv[0], "%s", what);
		else
			field("check=ok");
	}
	end_line();
	return status;
}

static int op_setsize(int argc, char **argv)
{
	bool bad = false;
	struct optdef defs[] = { OPT("bad-ptr", O_BOOL, &bad), OPT_END };
	char *pos[1];
	uint64_t size;
	int npos, ret, fd, status = 0;

	ret = parse_args(argc, argv, defs, pos, 1, &npos);
	if (ret)
		return ret;
	if (npos != 1 || parse_u64(pos[0], &size))
		return usage_error(argv[0], "needs one size in bytes");
	fd = dev_fd(&status);
	if (fd < 0)
		return status;
	if (ioctl(fd, QD_IOC_SET_SIZE, bad ? (void *)(uintptr_t)BAD_PTR : &size))
		status = fail(errno);
	else
		field("size=%" PRIu64, size);
	end_line();
	return status;
}

/* Options both batch ops share. */
struct batch_opts {
	uint64_t count, count_field, bad_entry, bufsize, len;
	uint32_t type, flags, reserved, entry_flags, entry_reserved;
	int64_t timeout, entry_timeout;
	const char *types, *data, *data_esc, *data_list, *sizes;
	bool bad, nodata, meta, hex, guard, rdonly, chkstruct, rest_ids;
};

#define BATCH_DEFS(o) \
	OPT("count", O_U64, &(o).count), \
	OPT("count-field", O_U64, &(o).count_field), \
	OPT("type", O_U32, &(o).type), OPT("types", O_STR, &(o).types), \
	OPT("flags", O_FLAGS, &(o).flags), \
	OPT("timeout-ns", O_S64, &(o).timeout), \
	OPT("reserved", O_U32, &(o).reserved), \
	OPT("entry-flags", O_FLAGS, &(o).entry_flags), \
	OPT("entry-timeout-ns", O_S64, &(o).entry_timeout), \
	OPT("entry-reserved", O_U32, &(o).entry_reserved), \
	OPT("bad-entry", O_U64, &(o).bad_entry), \
	OPT("bad-ptr", O_BOOL, &(o).bad), \
	OPT("guard-tail", O_BOOL, &(o).guard)

static int batch_call(int fd, unsigned long cmd, const struct batch_opts *o,
		      const struct optdef *defs, struct qd_msg *msgs,
		      uint32_t count, struct qd_batch *b)
{
	memset(b, 0, sizeof(*b));
	b->msgs = o->bad ? BAD_PTR : user_ptr(msgs);
	b->count = seen(defs, "count-field") ? (uint32_t)o->count_field : count;
	b->done = PAT32;	/* must be written back */
	b->flags = o->flags;
	b->__reserved = o->reserved;
	b->timeout_ns = o->timeout;
	if (trace) {
		fprintf(stderr, "qdt: batch: msgs=0x%" PRIx64 " count=%u flags=0x%x"
			" __reserved=%u timeout_ns=%" PRId64 "\n",
			(uint64_t)b->msgs, b->count, b->flags, b->__reserved,
			(int64_t)b->timeout_ns);
		for (uint32_t i = 0; i < count; i++)
			trace_msg("  entry", &msgs[i]);
	}
	return ioctl(fd, cmd, b) ? errno : 0;
}

static int op_batch_push(int argc, char **argv)
{
	struct batch_opts o = { .count = 0, .type = QD_TYPE_LOG };
	struct optdef defs[] = {
		BATCH_DEFS(o),
		OPT("len", O_U64, &o.len), OPT("data", O_STR, &o.data),
		OPT("data-esc", O_STR, &o.data_esc),
		OPT("data-list", O_STR, &o.data_list),
		OPT("sizes", O_STR, &o.sizes),
		OPT("read-only", O_BOOL, &o.rdonly),
		OPT("rest-ids", O_BOOL, &o.rest_ids),
		OPT_END
	};
	uint64_t types[QD_BATCH_MAX], sizes[QD_BATCH_MAX];
	char *lists[QD_BATCH_MAX] = { NULL };
	int ntypes = 0, nsizes = 0, nlist = 0, npos, ret, fd, status = 0;
	struct qd_msg *msgs;
	struct qd_batch b;
	uint32_t count;
	char *buf = NULL, *listcopy = NULL;
	size_t n = 0;

	ret = parse_args(argc, argv, defs, NULL, 0, &npos);
	if (ret)
		return ret;
	if (o.types && (ntypes = parse_u64_list(o.types, types, QD_BATCH_MAX)) < 0)
		return usage_error(argv[0], "bad --types");
	if (o.sizes && (nsizes = parse_u64_list(o.sizes, sizes, QD_BATCH_MAX)) < 0)
		return usage_error(argv[0], "bad --sizes");
	if (o.data_list) {
		char *save = NULL, *tok;

		listcopy = strdup(o.data_list);
		for (tok = strtok_r(listcopy, ",", &save); tok && nlist < QD_BATCH_MAX;
		     tok = strtok_r(NULL, ",", &save))
			lists[nlist++] = tok;
	}
	if (!o.data_list && !o.sizes) {
		ret = payload(argv[0], defs, o.data, o.data_esc, o.len, &buf, &n);
		if (ret)
			return ret;
	}
	count = (uint32_t)(seen(defs, "count") ? o.count :
		nlist ? (uint64_t)nlist : nsizes ? (uint64_t)nsizes :
		ntypes ? (uint64_t)ntypes : 1);
	if (count > QD_BATCH_MAX)
		return usage_error(argv[0], "--count above %d", QD_BATCH_MAX);
	fd = dev_fd(&status);
	if (fd < 0)
		return status;
	msgs = msgs_alloc(count, o.guard || o.rdonly);
	for (uint32_t i = 0; i < count; i++) {
		struct qd_msg *m = &msgs[i];

		m->id = PAT64;	/* --rest-ids: what the call left there */
		if (nlist) {
			const char *d = lists[i % nlist];

			m->data = user_ptr(d);
			m->len = (uint32_t)strlen(d);
		} else if (nsizes) {
			uint64_t sz = sizes[i % nsizes];

			m->data = user_ptr(pattern(sz));
			m->len = (uint32_t)sz;
		} else {
			m->data = user_ptr(buf);
			m->len = (uint32_t)n;
		}
		if (o.bad_entry == i && seen(defs, "bad-entry"))
			m->data = BAD_PTR;
		m->type = ntypes ? (uint32_t)types[i % ntypes] : o.type;
		m->flags = o.entry_flags;
		m->timeout_ns = o.entry_timeout;
		m->__reserved = o.entry_reserved;
	}
	if (o.rdonly)
		msgs_protect(msgs, count);
	status = batch_call(fd, QD_IOC_PUSH_BATCH, &o, defs, msgs, count, &b);
	if (status)
		fail(status);
	field("done=%u", b.done);
	if (!status && b.done != PAT32 && b.done <= count) {
		field("ids=");
		for (uint32_t i = 0; i < b.done; i++) {
			printf("%s%" PRIu64, i ? "," : "", (uint64_t)msgs[i].id);
			record_id(msgs[i].id);
		}
	}
	if (o.rest_ids && b.done <= count) {
		field("rest=");
		for (uint32_t i = b.done; i < count; i++)
			printf("%s%s", i > b.done ? "," : "",
			       msgs[i].id == PAT64 ? "untouched" :
			       msgs[i].id ? "set" : "0");
	}
	end_line();
	free(listcopy);
	free(buf);
	msgs_free(msgs, count, o.guard || o.rdonly);
	return status;
}

/*
 * --check-struct: a popped entry has every out-field written and its
 * in-fields as they were; an entry past done is not written at all, but
 * for the len of the one the batch stopped at if it did not fit (EMSGSIZE
 * sets it to the size it needs). len and type of a popped entry are only
 * checked for being written where they can be (type with filter 0):
 * the caller checks their values on the printed lines.
 */
static const char *batch_entry_check(const struct qd_msg *m, bool popped,
				     const struct batch_opts *o,
				     const unsigned char *buf, uint32_t type,
				     bool stopped_here)
{
	if (popped && type == QD_TYPE_ANY && m->type == QD_TYPE_ANY)
		return "type";
	if (!popped && m->type != type)
		return "type (written past done)";
	if (popped && (m->id == PAT64 || m->id == 0))
		return "id";
	if (popped && (m->time_ns == PAT64 || m->time_ns == 0))
		return "time_ns";
	if (popped && m->sender_pid == PAT32)
		return "sender_pid";
	if (popped && m->sender_uid == PAT32)
		return "sender_uid";
	if (!popped && (m->id != PAT64 || m->time_ns != PAT64 ||
			m->sender_pid != PAT32 || m->sender_uid != PAT32))
		return "id/time_ns/sender (written past done)";
	if (!popped && m->len != (uint32_t)o->bufsize &&
	    !(stopped_here && m->len > o->bufsize))
		return "len (written past done)";
	if (m->data != user_ptr(buf))
		return "data";
	if (m->flags != o->entry_flags)
		return "flags";
	if (m->timeout_ns != o->entry_timeout)
		return "timeout_ns";
	if (m->__reserved != o->entry_reserved)
		return "__reserved";
	return NULL;
}

static int op_batch_pop(int argc, char **argv)
{
	struct batch_opts o = { .count = 1, .bufsize = 65536 };
	struct optdef defs[] = {
		BATCH_DEFS(o),
		OPT("buf", O_U64, &o.bufsize), OPT("no-data", O_BOOL, &o.nodata),
		OPT("meta", O_BOOL, &o.meta), OPT("hex", O_BOOL, &o.hex),
		OPT("read-only", O_BOOL, &o.rdonly),
		OPT("check-struct", O_BOOL, &o.chkstruct),
		OPT_END
	};
	uint64_t types[QD_BATCH_MAX];
	int ntypes = 0, npos, ret, fd, status = 0;
	unsigned char *bufs;
	struct qd_msg *msgs;
	struct qd_batch b;
	uint32_t count;

	ret = parse_args(argc, argv, defs, NULL, 0, &npos);
	if (ret)
		return ret;
	if (o.types && (ntypes = parse_u64_list(o.types, types, QD_BATCH_MAX)) < 0)
		return usage_error(argv[0], "bad --types");
	if (o.count > QD_BATCH_MAX || o.bufsize > UINT32_MAX)
		return usage_error(argv[0], "--count or --buf too large");
	count = (uint32_t)o.count;
	fd = dev_fd(&status);
	if (fd < 0)
		return status;
	msgs = msgs_alloc(count, o.guard || o.rdonly);
	bufs = xmalloc((count ? count : 1) * o.bufsize);
	memset(bufs, SENTINEL, (count ? count : 1) * o.bufsize);
	for (uint32_t i = 0; i < count; i++) {
		struct qd_msg *m = &msgs[i];

		m->data = user_ptr(bufs + i * o.bufsize);
		if (o.bad_entry == i && seen(defs, "bad-entry"))
			m->data = BAD_PTR;
		m->len = (uint32_t)o.bufsize;
		m->type = ntypes ? (uint32_t)types[i % ntypes] : o.type;
		m->flags = o.entry_flags;
		m->timeout_ns = o.entry_timeout;
		m->__reserved = o.entry_reserved;
		if (o.chkstruct) {
			m->id = PAT64;
			m->time_ns = PAT64;
			m->sender_pid = PAT32;
			m->sender_uid = PAT32;
		}
	}
	if (o.rdonly)
		msgs_protect(msgs, count);
	status = batch_call(fd, QD_IOC_POP_BATCH, &o, defs, msgs, count, &b);
	if (status) {
		fail(status);
		if (status == EMSGSIZE && count)
			field("len=%u", msgs[0].len);
	}
	field("done=%u", b.done);
	end_line();
	for (uint32_t i = 0; !status && i < b.done && i < count; i++) {
		struct qd_msg *m = &msgs[i];

		record_id(m->id);
		field("id=%" PRIu64 " type=%u len=%u", (uint64_t)m->id, m->type,
		      m->len);
		if (o.meta)
			field("time_ns=%" PRIu64 " sender_pid=%u sender_uid=%u",
			      (uint64_t)m->time_ns, m->sender_pid, m->sender_uid);
		if (!o.nodata)
			data_field(bufs + i * o.bufsize,
				   m->len <= o.bufsize ? m->len : o.bufsize, o.hex);
		end_line();
	}
	bool chk_ok = o.chkstruct && (status == 0 || status == EMSGSIZE);

	for (uint32_t i = 0; chk_ok && i < count; i++) {
		uint32_t type = ntypes ? (uint32_t)types[i % ntypes] : o.type;
		const char *bad = batch_entry_check(&msgs[i], i < b.done, &o,
						    bufs + i * o.bufsize, type,
						    i == b.done);

		if (bad) {
			status = check_failed(argv[0], "entry %u: field %s not as expected",
					      i, bad);
			end_line();
			chk_ok = false;
		}
	}
	if (chk_ok) {
		field("struct=ok");
		end_line();
	}
	free(bufs);
	msgs_free(msgs, count, o.guard || o.rdonly);
	return status;
}

static const struct {
	const char *name;
	unsigned long cmd;
} ioc_names[] = {
	{ "set_size", QD_IOC_SET_SIZE }, { "push", QD_IOC_PUSH },
	{ "pop", QD_IOC_POP }, { "stats", QD_IOC_STATS },
	{ "push_batch", QD_IOC_PUSH_BATCH }, { "pop_batch", QD_IOC_POP_BATCH },
	{ "ack", QD_IOC_ACK }, { "nack", QD_IOC_NACK },
};

static int op_raw_ioctl(int argc, char **argv)
{
	uint64_t arg = 0;
	bool null = false;
	struct optdef defs[] = {
		OPT("arg", O_U64, &arg), OPT("null", O_BOOL, &null), OPT_END
	};
	static uint64_t zeroes[512];	/* 4 KiB of zero argument */
	unsigned long cmd = 0;
	char *pos[1];
	uint64_t n;
	int npos, ret, fd, status = 0;
	size_t i;

	ret = parse_args(argc, argv, defs, pos, 1, &npos);
	if (ret)
		return ret;
	if (npos != 1)
		return usage_error(argv[0], "needs one command number or name");
	for (i = 0; i < sizeof(ioc_names) / sizeof(ioc_names[0]); i++)
		if (!strcmp(pos[0], ioc_names[i].name))
			cmd = ioc_names[i].cmd;
	if (!cmd) {
		if (parse_u64(pos[0], &n) || n > UINT32_MAX)
			return usage_error(argv[0], "bad command '%s'", pos[0]);
		cmd = (unsigned long)n;
	}
	fd = dev_fd(&status);
	if (fd < 0)
		return status;
	memset(zeroes, 0, sizeof(zeroes));
	if (seen(defs, "arg"))
		ret = ioctl(fd, cmd, (unsigned long)arg);
	else
		ret = ioctl(fd, cmd, null ? NULL : zeroes);
	if (ret < 0)
		status = fail(errno);
	else
		field("ret=%d", ret);
	end_line();
	return status;
}

static int op_read(int argc, char **argv)
{
	uint64_t bufsize = DEFAULT_BUF;
	bool bad = false, untouched = false, nodata = false, hex = false;
	struct optdef defs[] = {
		OPT("buf", O_U64, &bufsize), OPT("bad-ptr", O_BOOL, &bad),
		OPT("check-untouched", O_BOOL, &untouched),
		OPT("no-data", O_BOOL, &nodata), OPT("hex", O_BOOL, &hex),
		OPT_END
	};
	unsigned char *buf;
	ssize_t r;
	int npos, ret, fd, status = 0;

	ret = parse_args(argc, argv, defs, NULL, 0, &npos);
	if (ret)
		return ret;
	fd = dev_fd(&status);
	if (fd < 0)
		return status;
	buf = xmalloc(bufsize);
	memset(buf, SENTINEL, bufsize);
	r = read(fd, bad ? (void *)(uintptr_t)BAD_PTR : buf, bufsize);
	if (r < 0) {
		status = fail(errno);
		end_line();
		free(buf);
		return status;
	}
	field("ret=%zd", r);
	if (untouched) {
		uint64_t j;

		for (j = (uint64_t)r; j < bufsize && buf[j] == SENTINEL; j++)
			;
		if (j < bufsize)
			status = check_failed(argv[0],
				"byte %" PRIu64 " past %zd was written", j, r);
		else
			field("untouched=ok");
	}
	if (!nodata && !status)
		data_field(buf, (size_t)r, hex);
	end_line();
	free(buf);
	return status;
}

static int op_write(int argc, char **argv)
{
	uint64_t len = 0, over = 0;
	bool bad = false;
	struct edge_buf edge;
	const char *data = NULL, *data_esc = NULL;
	struct optdef defs[] = {
		OPT("len", O_U64, &len), OPT("data", O_STR, &data),
		OPT("data-esc", O_STR, &data_esc), OPT("bad-ptr", O_BOOL, &bad),
		OPT("page-end", O_U64, &over), OPT_END
	};
	char *buf;
	const void *from;
	size_t n;
	ssize_t r;
	int npos, ret, fd, status = 0;

	ret = parse_args(argc, argv, defs, NULL, 0, &npos);
	if (ret)
		return ret;
	ret = payload(argv[0], defs, data, data_esc, len, &buf, &n);
	if (ret)
		return ret;
	from = bad ? (void *)(uintptr_t)BAD_PTR : buf;
	if (seen(defs, "page-end")) {
		ret = edge_payload(argv[0], &edge, buf, n, over);
		if (ret) {
			free(buf);
			return ret;
		}
		from = edge.p;
	}
	fd = dev_fd(&status);
	if (fd < 0)
		return status;
	r = write(fd, from, n);
	if (r < 0)
		status = fail(errno);
	else
		field("ret=%zd", r);
	end_line();
	if (seen(defs, "page-end"))
		edge_free(&edge);
	free(buf);
	return status;
}

static void print_revents(unsigned int ev)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} names[] = {
		{ POLLIN, "in" }, { POLLRDNORM, "rdnorm" }, { POLLPRI, "pri" },
		{ POLLOUT, "out" }, { POLLWRNORM, "wrnorm" }, { POLLERR, "err" },
		{ POLLHUP, "hup" }, { POLLNVAL, "nval" },
	};
	bool any = false;

	field("revents=");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (ev & names[i].bit) {
			printf("%s%s", any ? "," : "", names[i].name);
			any = true;
			ev &= ~names[i].bit;
		}
	}
	if (ev)
		printf("%s0x%x", any ? "," : "", ev);
	else if (!any)
		printf("none");
}

static int op_poll(int argc, char **argv)
{
	const char *events = "in,out", *method = "poll";
	int64_t timeout_ms = 0;
	struct optdef defs[] = {
		OPT("events", O_STR, &events), OPT("timeout-ms", O_S64, &timeout_ms),
		OPT("method", O_STR, &method), OPT_END
	};
	bool want_in;
	int npos, ret, fd, status = 0;
	unsigned int ev = 0, got = 0;

	ret = parse_args(argc, argv, defs, NULL, 0, &npos);
	if (ret)
		return ret;
	/* ask for the *NORM bits too: poll and epoll mask revents by events */
	want_in = strstr(events, "in") != NULL;
	if (want_in)
		ev |= POLLIN | POLLRDNORM;
	if (strstr(events, "out"))
		ev |= POLLOUT | POLLWRNORM;
	// cppcheck-suppress knownConditionTrueFalse ; parse_args() sets it via defs[]
	if (timeout_ms < -1 || timeout_ms > INT32_MAX)
		return usage_error(argv[0], "bad --timeout-ms");
	fd = dev_fd(&status);
	if (fd < 0)
		return status;

	if (!strcmp(method, "poll")) {
		struct pollfd p = { .fd = fd, .events = (short)ev };

		ret = poll(&p, 1, (int)timeout_ms);
		got = (unsigned short)p.revents;
	} else if (!strcmp(method, "select")) {
		struct timeval tv = {
			.tv_sec = timeout_ms / 1000,
			.tv_usec = (timeout_ms % 1000) * 1000,
		};
		fd_set r, w;

		FD_ZERO(&r);
		FD_ZERO(&w);
		if (ev & POLLIN)
			FD_SET(fd, &r);
		if (ev & POLLOUT)
			FD_SET(fd, &w);
		ret = select(fd + 1, &r, &w, NULL, timeout_ms < 0 ? NULL : &tv);
		if (ret >= 0)
			got = (FD_ISSET(fd, &r) ? POLLIN : 0) |
			      (FD_ISSET(fd, &w) ? POLLOUT : 0);
	} else if (!strcmp(method, "epoll")) {
		struct epoll_event e = { .events = ev }, out = { 0 };
		int ep = epoll_create1(EPOLL_CLOEXEC);

		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e)) {
			ret = -1;
		} else {
			ret = epoll_wait(ep, &out, 1, (int)timeout_ms);
			if (ret > 0)
				got = out.events;
		}
		if (ep >= 0) {
			int err = errno;

			close(ep);
			errno = err;
		}
	} else {
		return usage_error(argv[0], "--method poll|select|epoll");
	}
	if (ret < 0) {
		status = fail(errno);
	} else {
		field("ready=%d", ret);
		print_revents(got);
	}
	end_line();
	return status;
}

/* ---- run-mode ops ---------------------------------------------------- */

static int op_use(int argc, char **argv)
{
	bool nonblock = false;
	struct optdef defs[] = { OPT("nonblock", O_BOOL, &nonblock), OPT_END };
	char *pos[1];
	uint64_t slot;
	int npos, ret, status = 0;

	ret = parse_args(argc, argv, defs, pos, 1, &npos);
	if (ret)
		return ret;
	if (npos != 1 || parse_u64(pos[0], &slot) || slot >= MAX_SLOTS)
		return usage_error(argv[0], "needs a slot 0..%d", MAX_SLOTS - 1);
	cur = (int)slot;
	slot_nonblock[cur] = nonblock;
	if (dev_fd(&status) < 0)
		return status;
	field("slot=%d", cur);
	end_line();
	return 0;
}

static int op_open(int argc, char **argv)
{
	bool nonblock = false;
	struct optdef defs[] = { OPT("nonblock", O_BOOL, &nonblock), OPT_END };
	int npos, ret, status = 0;

	ret = parse_args(argc, argv, defs, NULL, 0, &npos);
	if (ret)
		return ret;
	if (fds[cur] >= 0)
		close(fds[cur]);
	fds[cur] = -1;
	slot_nonblock[cur] = nonblock;
	if (dev_fd(&status) < 0)
		return status;
	field("opened=%d", cur);
	end_line();
	return 0;
}

static int op_close(int argc, char **argv)
{
	int npos, ret, status = 0;

	ret = parse_args(argc, argv, NULL, NULL, 0, &npos);
	if (ret)
		return ret;
	if (fds[cur] < 0)
		return usage_error(argv[0], "slot %d is not open", cur);
	if (close(fds[cur]))
		status = fail(errno);
	else
		field("closed=%d", cur);
	fds[cur] = -1;
	end_line();
	return status;
}

static int op_nonblock(int argc, char **argv)
{
	char *pos[1];
	int npos, ret, fd, fl, status = 0;

	ret = parse_args(argc, argv, NULL, pos, 1, &npos);
	if (ret)
		return ret;
	if (npos != 1 || (strcmp(pos[0], "on") && strcmp(pos[0], "off")))
		return usage_error(argv[0], "needs on or off");
	fd = dev_fd(&status);
	if (fd < 0)
		return status;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, !strcmp(pos[0], "on") ?
			   fl | O_NONBLOCK : fl & ~O_NONBLOCK))
		status = fail(errno);
	else
		field("nonblock=%s", pos[0]);
	end_line();
	return status;
}

static int op_sleep(int argc, char **argv)
{
	char *pos[1], *end;
	double sec;
	struct timespec ts;
	int npos, ret;

	ret = parse_args(argc, argv, NULL, pos, 1, &npos);
	if (ret)
		return ret;
	if (npos != 1)
		return usage_error(argv[0], "needs seconds");
	sec = strtod(pos[0], &end);
	if (*end || sec < 0)
		return usage_error(argv[0], "bad seconds '%s'", pos[0]);
	ts.tv_sec = (time_t)sec;
	ts.tv_nsec = (long)((sec - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	field("slept=%s", pos[0]);
	end_line();
	return 0;
}

static int op_pause(int argc, char **argv)
{
	int npos, ret;

	ret = parse_args(argc, argv, NULL, NULL, 0, &npos);
	if (ret)
		return ret;
	pause();
	field("woken=1");
	end_line();
	return 0;
}

static int op_echo(int argc, char **argv)
{
	field("echo=");
	for (int i = 1; i < argc; i++)
		printf("%s%s", i > 1 ? " " : "", argv[i]);
	end_line();
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	bool run_only;
} ops[] = {
	{ "ack", op_ack, false },
	{ "batch-pop", op_batch_pop, false },
	{ "batch-push", op_batch_push, false },
	{ "close", op_close, true },
	{ "echo", op_echo, true },
	{ "nack", op_nack, false },
	{ "nonblock", op_nonblock, true },
	{ "open", op_open, true },
	{ "pause", op_pause, false },
	{ "poll", op_poll, false },
	{ "pop", op_pop, false },
	{ "push", op_push, false },
	{ "raw-ioctl", op_raw_ioctl, false },
	{ "read", op_read, false },
	{ "setsize", op_setsize, false },
	{ "sleep", op_sleep, true },
	{ "stats", op_stats, false },
	{ "use", op_use, true },
	{ "write", op_write, false },
};

static int dispatch(int argc, char **argv, bool in_run)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(argv[0], ops[i].name))
			continue;
		if (ops[i].run_only && !in_run)
			return usage_error(argv[0], "only inside 'qdt run'");
		return ops[i].fn(argc, argv);
	}
	return usage_error(argv[0], "unknown op (qdt --help lists them)");
}

/* ---- run mode -------------------------------------------------------- */

/* Split an op string into words: blanks separate, '...' and "..." quote. */
static int split_words(char *s, char **argv, int max)
{
	int argc = 0;
	char *w = s;

	while (*s) {
		char *start;

		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		if (!*s)
			break;
		if (argc >= max - 1)
			return -1;
		start = w;
		while (*s && *s != ' ' && *s != '\t' && *s != '\n') {
			if (*s == '\'' || *s == '"') {
				char q = *s++;

				while (*s && *s != q)
					*w++ = *s++;
				if (*s)
					s++;
			} else if (*s == '\\' && s[1]) {
				*w++ = s[1];
				s += 2;
			} else {
				*w++ = *s++;
			}
		}
		if (*s)
			s++;
		*w++ = '\0';
		argv[argc++] = start;
	}
	argv[argc] = NULL;
	return argc;
}

/* Replace $id and $idN in a word; returns a malloc'ed string or NULL. */
static char *expand(const char *word)
{
	size_t cap = strlen(word) + 64 * 4 + 1, n = 0;
	char *out = xmalloc(cap);

	for (const char *p = word; *p;) {
		if (strncmp(p, "$id", 3)) {
			if (n + 1 >= cap)
				break;
			out[n++] = *p++;
			continue;
		}
		p += 3;
		if (*p >= '0' && *p <= '9') {
			long k = strtol(p, (char **)&p, 10);

			if (k < 1 || k > MAX_OPS || !op_has_id[k]) {
				free(out);
				return NULL;
			}
			n += (size_t)snprintf(out + n, cap - n, "%" PRIu64, op_ids[k]);
		} else {
			if (!have_last_id) {
				free(out);
				return NULL;
			}
			n += (size_t)snprintf(out + n, cap - n, "%" PRIu64, last_id);
		}
		if (n >= cap - 24)
			break;
	}
	out[n] = '\0';
	return out;
}

static int run_one(const char *text)
{
	char *copy = strdup(text), *words[MAX_ARGS], *expanded[MAX_ARGS];
	int argc, status;

	if (!copy) {
		perror("qdt: strdup");
		exit(1);
	}
	argc = split_words(copy, words, MAX_ARGS);
	if (argc <= 0) {
		free(copy);
		return argc < 0 ? usage_error("run", "too many words in '%s'", text) : 0;
	}
	for (int i = 0; i < argc; i++) {
		expanded[i] = expand(words[i]);
		if (!expanded[i]) {
			int ret = usage_error(words[0], "no id for '%s' yet",
					      words[i]);

			for (int j = 0; j < i; j++)
				free(expanded[j]);
			free(copy);
			return ret;
		}
	}
	expanded[argc] = NULL;
	status = dispatch(argc, expanded, true);
	for (int i = 0; i < argc; i++)
		free(expanded[i]);
	free(copy);
	return status;
}

static int run_mode(int argc, char **argv)
{
	int status = 0, first_status = 0;

	/* slot 0 is open before the first op, so "run pause" holds the device */
	if (dev_fd(&status) < 0)
		return status;

	if (argc == 2 && !strcmp(argv[1], "-")) {
		char *line = NULL;
		size_t cap = 0;

		while (getline(&line, &cap, stdin) > 0) {
			char *p = line;

			while (*p == ' ' || *p == '\t')
				p++;
			if (!*p || *p == '\n' || *p == '#')
				continue;
			op_index++;
			status = run_one(p);
			if (status && !first_status)
				first_status = status;
		}
		free(line);
		return first_status;
	}
	if (argc - 1 > MAX_OPS)
		return usage_error("run", "at most %d ops", MAX_OPS);
	for (int i = 1; i < argc; i++) {
		op_index = i;
		status = run_one(argv[i]);
		if (status && !first_status)
			first_status = status;
	}
	return first_status;
}

/* ---- main ------------------------------------------------------------ */

static void on_signal(int sig)
{
	(void)sig;
	nsignals++;
}

static void help(void)
{
	puts(
"usage: qdt [GLOBAL...] OP [ARGS...]\n"
"       qdt [GLOBAL...] run 'OP ARGS' ...   (ops on one open file; '-' = stdin)\n"
"GLOBAL: -d|--device PATH  --o-nonblock  --sig intr|restart  --trace\n"
"OPS (numbers may be hex; FLAGS = nonblock,timeout,peek,except,reserve,0xN):\n"
"  push [--type T] [--flags F] [--nonblock] [--timeout-ns N] [--len N |\n"
"       --data S | --data-esc S] [--bad-ptr | --ptr A] [--reserved X]\n"
"       [--repeat N] [--meta] [--page-end OVER]     -> id=N\n"
"       [--read-only] (the struct: the id cannot be written back)\n"
"  pop [--type T] [--flags F] [--nonblock] [--peek] [--except] [--reserve]\n"
"      [--timeout-ns N] [--buf N] [--len N] [--bad-ptr | --ptr A]\n"
"      [--reserved X] [--check-untouched] [--check-struct] [--meta] [--hex]\n"
"      [--read-only] (the struct: the result cannot be written back)\n"
"      [--no-data] [--count N]          -> id=N type=T len=L ... data=...\n"
"    push/pop/write --page-end OVER: the payload buffer's last OVER bytes are\n"
"      in an inaccessible page, the rest ends where an accessible one ends\n"
"  ack ID | nack ID [--bad-ptr]                     -> acked=ID | nacked=ID\n"
"  stats [FIELD...] [--check] [--bad-ptr]  -> size=.. used=.. (FIELDs: in that order)\n"
"  setsize N [--bad-ptr]                            -> size=N\n"
"  batch-push [--count N] [--count-field X] [--type T] [--types a,b]\n"
"      [--data S | --data-esc S | --len N | --data-list a,b | --sizes a,b]\n"
"      [--flags F] [--timeout-ns N] [--reserved X] [--entry-flags F]\n"
"      [--entry-timeout-ns N] [--entry-reserved X] [--bad-entry I]\n"
"      [--bad-ptr] [--guard-tail] [--read-only] (the entry array)\n"
"      [--rest-ids] (rest=0|untouched|set,... for entries not queued)\n"
"                                                   -> done=N ids=a,b\n"
"  batch-pop [same batch options] [--buf N] [--no-data] [--meta] [--hex]\n"
"      [--read-only] (the entry array: results cannot be written back)\n"
"      [--check-struct] (out-fields written, in-fields kept, nothing past\n"
"      done but an EMSGSIZE entry's len)\n"
"                                 -> done=N, then one line per message\n"
"  raw-ioctl CMD|NAME [--arg V | --null]            -> ret=N\n"
"  read [--buf N] [--bad-ptr] [--check-untouched] [--no-data] [--hex]\n"
"  write [--data S | --data-esc S | --len N] [--bad-ptr] [--page-end OVER]\n"
"  poll [--events in,out] [--timeout-ms N] [--method poll|select|epoll]\n"
"                                                   -> ready=N revents=...\n"
"  pause, and in run mode: use N [--nonblock], open [--nonblock], close,\n"
"  nonblock on|off, sleep SEC, echo WORDS; $id / $idN = id of last / op N\n"
"Failure: error=ENAME ...; exit = errno, 253 check failed, 254 usage.");
}

int main(int argc, char **argv)
{
	const char *env = getenv("QD_DEV");
	int i;

	if (env && *env)
		dev_path = env;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			help();
			return 0;
		} else if ((!strcmp(a, "-d") || !strcmp(a, "--device")) &&
			   i + 1 < argc) {
			dev_path = argv[++i];
		} else if (!strncmp(a, "--device=", 9)) {
			dev_path = a + 9;
		} else if (!strcmp(a, "--o-nonblock")) {
			o_nonblock = true;
		} else if (!strcmp(a, "--trace")) {
			trace = true;
		} else if (!strcmp(a, "--sig") && i + 1 < argc) {
			const char *m = argv[++i];

			if (!strcmp(m, "intr")) {
				sig_mode = SIG_INTR;
			} else if (!strcmp(m, "restart")) {
				sig_mode = SIG_RESTART;
			} else {
				fprintf(stderr, "qdt: --sig intr|restart\n");
				return EXIT_USAGE;
			}
		} else {
			fprintf(stderr, "qdt: unknown option '%s' (qdt --help)\n", a);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		help();
		return EXIT_USAGE;
	}
	if (sig_mode != SIG_NONE) {
		struct sigaction sa = { .sa_handler = on_signal };

		sigemptyset(&sa.sa_mask);
		sa.sa_flags = sig_mode == SIG_RESTART ? SA_RESTART : 0;
		if (sigaction(SIGUSR1, &sa, NULL)) {
			perror("qdt: sigaction");
			return 1;
		}
	}
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (!strcmp(argv[i], "run"))
		return run_mode(argc - i, argv + i);
	return dispatch(argc - i, argv + i, false);
}
