// SPDX-License-Identifier: GPL-2.0
/*
 * qdctl config: show the queue's size and fill level, or resize it
 * (QD_IOC_SET_SIZE keeps every queued message).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "qd.h"

struct config_args {
	uint64_t size;
	bool resize;
};

static const struct argp_option config_options[] = {
	{ "size", 's', "SIZE", 0,
	  "Resize the queue to SIZE bytes (suffix K, M or G for KiB, MiB, GiB); "
	  "queued messages are kept. Needs root (CAP_SYS_ADMIN)", 0 },
	{ 0 }
};

static error_t config_parse(int key, char *arg, struct argp_state *state)
{
	struct config_args *a = state->input;

	switch (key) {
	case 's':
		if (qd_parse_size(arg, &a->size))
			argp_error(state, "invalid size '%s': give bytes, optionally with K, M or G",
				   arg);
		a->resize = true;
		return 0;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp config_argp = {
	.options = config_options,
	.parser = config_parse,
	.doc = "Show the queue's size, bytes used and free, the number of queued "
	       "messages and the largest message that fits; with --size, resize it."
	       "\vA message takes 8 bytes of header plus its payload, so the largest "
	       "message is size - 8 bytes. Shrinking below what the queue holds fails "
	       "and changes nothing.\n\nExamples:\n"
	       "  qdctl config\n  sudo qdctl config --size 1M",
	.children = qd_device_children,
};

/* The largest size a resize may ask for, from the module parameter. */
static uint64_t config_max_size(void)
{
	FILE *f = fopen("/sys/module/queue_driver/parameters/max_size", "re");
	unsigned long long v = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

static int config_resize(int fd, uint64_t size)
{
	struct qd_stats st;
	uint64_t max;
	int err;

	if (ioctl(fd, QD_IOC_SET_SIZE, &size) == 0)
		return 0;
	err = errno;
	switch (err) {
	case EBUSY:
		if (qd_get_stats(fd, &st) == 0)
			qd_err("cannot resize to %" PRIu64 " bytes: the queue holds %" PRIu64
			       " bytes (%" PRIu64 " messages), more than that; nothing changed",
			       size, (uint64_t)st.used, (uint64_t)st.messages);
		break;
	case EINVAL:
		max = config_max_size();
		if (max)
			qd_err("cannot resize to %" PRIu64 " bytes: the size must be %d to %"
			       PRIu64 " bytes (module parameter max_size)", size,
			       QD_MIN_SIZE, max);
		else
			qd_err("cannot resize to %" PRIu64 " bytes: the size must be at least %d "
			       "and at most the module parameter max_size", size, QD_MIN_SIZE);
		break;
	default:
		qd_err_dev(qd_opt.device, err);
	}
	return -1;
}

int cmd_config(int argc, char **argv)
{
	struct config_args a = { 0 };
	struct qd_stats st;
	int fd, ret = QD_EXIT_FAIL;

	argp_parse(&config_argp, argc, argv, 0, NULL, &a);
	fd = qd_open(0);
	if (fd < 0)
		return QD_EXIT_FAIL;
	if (a.resize) {
		if (config_resize(fd, a.size) == 0)
			ret = QD_EXIT_OK;
	} else if (qd_get_stats(fd, &st) == 0) {
		qd_print_counters(&st, QD_LEVEL_COUNTERS, false);
		if (qd_flush_stdout() == 0)
			ret = QD_EXIT_OK;
	}
	close(fd);
	return ret;
}
