// SPDX-License-Identifier: GPL-2.0
/*
 * qdctl dump: list the queued messages (or the stats) from debugfs,
 * without taking anything off the queue.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "qd.h"

#define QD_DEBUGFS	"/sys/kernel/debug/" QD_DEVICE_NAME

struct dump_args {
	bool stats;
};

static const struct argp_option dump_options[] = {
	{ "stats", 's', NULL, 0,
	  "Print debugfs 'stats' (the seed's /proc/queue_driver_stats lines first)", 0 },
	{ 0 }
};

static error_t dump_parse(int key, char *arg, struct argp_state *state)
{
	struct dump_args *a = state->input;

	switch (key) {
	case 's':
		a->stats = true;
		return 0;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		return 0;
	case ARGP_KEY_END:
		if (a->stats && qd_opt.type_set)
			argp_error(state, "--type filters messages, not --stats");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp dump_argp = {
	.options = dump_options,
	.parser = dump_parse,
	.doc = "List every queued message, oldest first, without taking any off the "
	       "queue: id, type, length, whether a worker holds it (reserved), the "
	       "sender's pid and the first 32 bytes, escaped. --type shows one type only."
	       "\vReads " QD_DEBUGFS "/messages, so it needs root and debugfs "
	       "mounted.\n\nExamples:\n  sudo qdctl dump\n  sudo qdctl dump --type job",
	.children = qd_device_type_children,
};

static void dump_open_error(const char *path, int err)
{
	struct stat st;

	if (err == ENOENT && stat("/sys/kernel/debug/", &st) == 0 &&
	    stat(QD_DEBUGFS, &st) < 0 && stat("/sys/class/misc/" QD_DEVICE_NAME, &st) == 0)
		qd_err("%s: %s (is debugfs mounted? try: sudo mount -t debugfs none "
		       "/sys/kernel/debug)", path, strerror(err));
	else if (err == EACCES || err == EPERM)
		qd_err("%s: %s (debugfs is for root: try sudo)", path, strerror(err));
	else
		qd_err_dev(path, err);
}

/* Does a "id=.. type=T ..." line show a message of @type? */
static bool dump_match(const char *line, uint32_t type)
{
	const char *t = strstr(line, " type=");

	if (type == QD_TYPE_ANY)
		return true;
	return t && strtoul(t + 6, NULL, 10) == type;
}

int cmd_dump(int argc, char **argv)
{
	struct dump_args a = { 0 };
	const char *path;
	char *line = NULL;
	size_t cap = 0;
	uint32_t type;
	FILE *f;
	int ret = QD_EXIT_OK;

	argp_parse(&dump_argp, argc, argv, 0, NULL, &a);
	type = qd_type_or(QD_TYPE_ANY);
	path = a.stats ? QD_DEBUGFS "/stats" : QD_DEBUGFS "/messages";
	f = fopen(path, "re");
	if (!f) {
		dump_open_error(path, errno);
		return QD_EXIT_FAIL;
	}
	while (getline(&line, &cap, f) >= 0)
		if (dump_match(line, type))
			fputs(line, stdout);
	if (ferror(f)) {
		qd_err("%s: %s", path, strerror(errno));
		ret = QD_EXIT_FAIL;
	}
	if (qd_flush_stdout())
		ret = QD_EXIT_FAIL;
	fclose(f);
	free(line);
	return ret;
}
