// SPDX-License-Identifier: GPL-2.0
/*
 * qdctl stats: print every counter, from sysfs (readable without access
 * to the device), else from QD_IOC_STATS.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qd.h"

struct stats_args {
	int64_t watch_ns;
	bool watch, json;
};

static const struct argp_option stats_options[] = {
	{ "watch", 'w', "SEC", 0, "Print again every SEC seconds until interrupted", 0 },
	{ "json", 'j', NULL, 0, "Print one JSON object per snapshot, on one line", 0 },
	{ 0 }
};

static error_t stats_parse(int key, char *arg, struct argp_state *state)
{
	struct stats_args *a = state->input;

	switch (key) {
	case 'w':
		if (qd_parse_seconds(arg, &a->watch_ns) || a->watch_ns == 0)
			argp_error(state, "invalid interval '%s': give seconds > 0, e.g. 1 or 0.5",
				   arg);
		a->watch = true;
		return 0;
	case 'j':
		a->json = true;
		return 0;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp stats_argp = {
	.options = stats_options,
	.parser = stats_parse,
	.doc = "Print every counter of the queue as 'name: value' lines: size, used, "
	       "free, messages, max_msg_size (current values), pushes, pops, "
	       "blocked_readers, blocked_writers, reserved, requeued, timeouts."
	       "\vThe values come from /sys/class/misc/queue_driver/, which anyone may "
	       "read; if sysfs is not there they come from the device (QD_IOC_STATS). "
	       "pushes, pops, blocked_*, requeued and timeouts count since the module "
	       "was loaded.\n\nExamples:\n  qdctl stats\n  qdctl stats --watch 1 --json",
	.children = qd_device_children,
};

static int stats_get(struct qd_stats *st)
{
	size_t i;
	int fd, ret;

	for (i = 0; i < qd_ncounters; i++) {
		uint64_t *v = (uint64_t *)((char *)st + qd_counters[i].off);

		if (qd_sysfs_read(qd_counters[i].name, v))
			break;
	}
	if (i == qd_ncounters)
		return 0;
	fd = qd_open(0);
	if (fd < 0)
		return -1;
	ret = qd_get_stats(fd, st);
	close(fd);
	return ret;
}

int cmd_stats(int argc, char **argv)
{
	struct stats_args a = { 0 };
	struct qd_stats st;
	bool first = true;

	argp_parse(&stats_argp, argc, argv, 0, NULL, &a);
	if (a.watch)
		qd_catch_signals();
	do {
		struct timespec ts = {
			.tv_sec = a.watch_ns / 1000000000,
			.tv_nsec = a.watch_ns % 1000000000,
		};

		if (!first) {
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !qd_signal)
				;
			if (qd_signal)
				break;
			if (!a.json)
				putchar('\n');
		}
		first = false;
		memset(&st, 0, sizeof(st));
		if (stats_get(&st))
			return QD_EXIT_FAIL;
		qd_print_counters(&st, qd_ncounters, a.json);
		if (qd_flush_stdout())
			return QD_EXIT_FAIL;
	} while (a.watch && !qd_signal);
	return qd_signal ? qd_signal_exit() : QD_EXIT_OK;
}
