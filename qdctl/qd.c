// SPDX-License-Identifier: GPL-2.0
/*
 * qdctl: what the subcommands share - the --device/--type argp children,
 * --nonblock/--timeout, opening the device, error messages with hints,
 * sysfs access, the named counters, parsers and signal handling.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "qd.h"

struct qd_common qd_opt;
const struct qd_cmd *qd_cur;
volatile sig_atomic_t qd_signal;

void qd_common_init(void)
{
	const char *env = getenv("QD_DEVICE");

	qd_opt.device = (env && *env) ? env : QD_DEFAULT_DEVICE;
	qd_opt.type = 0;
	qd_opt.type_set = false;
}

uint32_t qd_type_or(uint32_t dflt)
{
	return qd_opt.type_set ? qd_opt.type : dflt;
}

/* --device */

static const struct argp_option device_options[] = {
	{ "device", 'd', "PATH", 0,
	  "The queue device (default: $QD_DEVICE, else " QD_DEFAULT_DEVICE ")", 0 },
	{ 0 }
};

static error_t device_parse(int key, char *arg, struct argp_state *state)
{
	(void)state;
	switch (key) {
	case 'd':
		qd_opt.device = arg;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

const struct argp qd_device_argp = {
	.options = device_options,
	.parser = device_parse,
};

/* --type */

static const struct argp_option type_options[] = {
	{ "type", 't', "TYPE", 0,
	  "Message type: log (100), job (200), a number > 0, or, where "
	  "messages are taken or listed, any", 0 },
	{ 0 }
};

static error_t type_parse(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 't':
		if (qd_parse_type(arg, &qd_opt.type))
			argp_error(state, "invalid type '%s': use log, job, a number > 0 or any",
				   arg);
		qd_opt.type_set = true;
		return 0;
	case ARGP_KEY_END:
		/* Checked once the subcommand is known (the second parse). */
		if (!qd_cur || !qd_opt.type_set)
			return 0;
		if (!(qd_cur->flags & QD_CMD_TYPE))
			argp_error(state, "--type does not apply to %s", qd_cur->name);
		if (qd_opt.type == QD_TYPE_ANY && !(qd_cur->flags & QD_CMD_TYPE_ANY))
			argp_error(state, "--type any does not apply to %s: give log, job or a number > 0",
				   qd_cur->name);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

const struct argp qd_type_argp = {
	.options = type_options,
	.parser = type_parse,
};

/* The subcommands' children (qd.h) */

const struct argp_child qd_device_children[] = {
	{ &qd_device_argp, 0, "Common options:", 0 },
	{ 0 }
};

const struct argp_child qd_device_type_children[] = {
	{ &qd_device_argp, 0, "Common options:", 0 },
	{ &qd_type_argp, 0, NULL, 0 },	/* no header: merged with the command's */
	{ 0 }
};

/* --nonblock, --timeout (qd.h) */

error_t qd_wait_parse(struct qd_wait *w, int key, const char *arg,
		      struct argp_state *state)
{
	switch (key) {
	case QD_OPT_NONBLOCK:
		w->nonblock = true;
		return 0;
	case QD_OPT_TIMEOUT:
		if (qd_parse_seconds(arg, &w->timeout_ns))
			argp_error(state, "invalid timeout '%s': give seconds, e.g. 2 or 0.5", arg);
		w->timeout_set = true;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

void qd_wait_check(const struct qd_wait *w, struct argp_state *state)
{
	if (w->nonblock && w->timeout_set)
		argp_error(state, "--nonblock and --timeout exclude each other");
}

uint32_t qd_wait_flags(const struct qd_wait *w)
{
	if (w->nonblock)
		return QD_F_NONBLOCK;
	return w->timeout_set ? QD_F_TIMEOUT : 0;
}

int64_t qd_wait_timeout(const struct qd_wait *w)
{
	return qd_wait_flags(w) == QD_F_TIMEOUT ? w->timeout_ns : 0;
}

/* Errors */

static void qd_vmsg(const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs("qdctl: ", stderr);
	if (qd_cur)
		fprintf(stderr, "%s: ", qd_cur->name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void qd_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	qd_vmsg(fmt, ap);
	va_end(ap);
}

static const char *qd_hint(int err)
{
	switch (err) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return " (is the module loaded? try: sudo modprobe queue_driver)";
	case EACCES:
		return " (access is set by the module parameter mode= (default 0600) and the udev "
		       "rule scripts/99-queue_driver.rules, which opens it to group 'queue': "
		       "join that group, or use sudo)";
	case EPERM:
		return " (resizing needs CAP_SYS_ADMIN: try sudo)";
	case ENOTTY:
		return " (not a queue_driver device?)";
	default:
		return "";
	}
}

void qd_err_dev(const char *what, int err)
{
	qd_err("%s: %s%s", what, strerror(err), qd_hint(err));
}

/* Device */

int qd_open(int extra_flags)
{
	int fd = open(qd_opt.device, O_RDWR | O_CLOEXEC | extra_flags);

	if (fd < 0)
		qd_err_dev(qd_opt.device, errno);
	return fd;
}

/* Output that cannot be written (a full disk, a closed pipe) is an error. */
int qd_flush_stdout(void)
{
	if (fflush(stdout) == 0)
		return 0;
	qd_err("stdout: %s", strerror(errno));
	return -1;
}

int qd_get_stats(int fd, struct qd_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (ioctl(fd, QD_IOC_STATS, st) < 0) {
		qd_err_dev(qd_opt.device, errno);
		return -1;
	}
	return 0;
}

const char *qd_sysfs_dir(void)
{
	static char dir[64];
	struct stat st;

	if (stat(qd_opt.device, &st) < 0 || !S_ISCHR(st.st_mode))
		return NULL;
	snprintf(dir, sizeof(dir), "/sys/dev/char/%u:%u",
		 major(st.st_rdev), minor(st.st_rdev));
	return dir;
}

int qd_sysfs_read(const char *name, uint64_t *val)
{
	const char *dir = qd_sysfs_dir();
	char path[128], buf[32], *end;
	ssize_t n;
	int fd, err;

	if (!dir)
		return -ENODEV;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	err = errno;
	close(fd);
	if (n < 0)
		return -err;
	buf[n] = '\0';
	errno = 0;
	*val = strtoull(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n'))
		return -EINVAL;
	return 0;
}

uint64_t qd_max_msg_size(int fd)
{
	struct qd_stats st;
	uint64_t v;

	if (fd >= 0) {
		memset(&st, 0, sizeof(st));
		if (ioctl(fd, QD_IOC_STATS, &st) == 0)
			return st.max_msg_size;
	}
	if (qd_sysfs_read("max_msg_size", &v) == 0)
		return v;
	return 0;
}

/* Counters (qd.h) */

#define COUNTER(name) { #name, offsetof(struct qd_stats, name) }
const struct qd_counter qd_counters[] = {
	COUNTER(size), COUNTER(used), COUNTER(free), COUNTER(messages),
	COUNTER(max_msg_size), COUNTER(pushes), COUNTER(pops),
	COUNTER(blocked_readers), COUNTER(blocked_writers), COUNTER(reserved),
	COUNTER(requeued), COUNTER(timeouts),
};
const size_t qd_ncounters = sizeof(qd_counters) / sizeof(qd_counters[0]);

void qd_print_counters(const struct qd_stats *st, size_t n, bool json)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t v = *(const uint64_t *)((const char *)st + qd_counters[i].off);

		if (json)
			printf("%s\"%s\": %" PRIu64, i ? ", " : "{", qd_counters[i].name, v);
		else
			printf("%s: %" PRIu64 "\n", qd_counters[i].name, v);
	}
	if (json)
		puts("}");
}

/* Parsers */

int qd_parse_type(const char *s, uint32_t *type)
{
	unsigned long v;
	char *end;

	if (!strcmp(s, "log")) {
		*type = QD_TYPE_LOG;
		return 0;
	}
	if (!strcmp(s, "job")) {
		*type = QD_TYPE_JOB;
		return 0;
	}
	if (!strcmp(s, "any")) {
		*type = QD_TYPE_ANY;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || v == 0 || v > UINT32_MAX)
		return -1;
	*type = (uint32_t)v;
	return 0;
}

const char *qd_type_name(uint32_t type, char *buf, size_t len)
{
	if (type == QD_TYPE_LOG)
		return "log";
	if (type == QD_TYPE_JOB)
		return "job";
	snprintf(buf, len, "%" PRIu32, type);
	return buf;
}

int qd_parse_seconds(const char *s, int64_t *ns)
{
	double d;
	char *end;

	if ((*s < '0' || *s > '9') && *s != '.')
		return -1;
	errno = 0;
	d = strtod(s, &end);
	if (errno || *end || !(d >= 0.0) || d > 1e9)
		return -1;
	*ns = (int64_t)(d * 1e9 + 0.5);
	return 0;
}

int qd_parse_size(const char *s, uint64_t *bytes)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case '\0':
		break;
	default:
		return -1;
	}
	if (shift) {
		end++;
		if (!strcmp(end, "iB") || !strcmp(end, "B"))
			end += strlen(end);
	}
	if (*end || v > (UINT64_MAX >> shift))
		return -1;
	*bytes = (uint64_t)v << shift;
	return 0;
}

int qd_parse_count(const char *s, uint64_t *n)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v == 0)
		return -1;
	*n = v;
	return 0;
}

/* Signals */

static void qd_on_signal(int sig)
{
	qd_signal = sig;
}

void qd_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = qd_on_signal;	/* no SA_RESTART: waits return EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int qd_signal_exit(void)
{
	return 128 + (qd_signal ? qd_signal : SIGINT);
}

int qd_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
