// SPDX-License-Identifier: GPL-2.0
/*
 * qdctl: one binary for the queue_driver message queue.
 *
 * Busybox-style dispatch: the name qdctl was invoked by is looked up first
 * (so the seed's tool names work as symlinks: `echo hi | filler`), then
 * the first non-option argument (`qdctl fill`). Options before the
 * subcommand are the common ones (--device, --type); the subcommand's own
 * argp parses the rest and accepts the common ones too.
 *
 * Adding a subcommand: one cmd_NAME.c with its own struct argp, one row in
 * cmds[] (kept sorted by name), one prototype in qd.h.
 */
#include <argp.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qd.h"

static const struct qd_cmd cmds[] = {
	{ "config", "configurator", cmd_config,
	  "Show the queue's size and fill level, or resize it", 0 },
	{ "dump", NULL, cmd_dump,
	  "List every queued message (debugfs; needs root)",
	  QD_CMD_TYPE | QD_CMD_TYPE_ANY },
	{ "fill", "filler", cmd_fill,
	  "Push one message per line of files or standard input", QD_CMD_TYPE },
	{ "read", "reader", cmd_read,
	  "Take messages off the queue and print them", QD_CMD_TYPE | QD_CMD_TYPE_ANY },
	{ "stats", NULL, cmd_stats,
	  "Print every counter, once or every few seconds", 0 },
	{ "submit", "job_submitter", cmd_submit,
	  "Queue shell commands as jobs", QD_CMD_TYPE },
	{ "work", "worker", cmd_work,
	  "Run queued jobs, each exactly once even if a worker dies", QD_CMD_TYPE },
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

const char *argp_program_version = "qdctl " QD_VERSION;

static const struct qd_cmd *find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		if (!strcmp(cmds[i].name, name) ||
		    (cmds[i].alias && !strcmp(cmds[i].alias, name)))
			return &cmds[i];
	return NULL;
}

static void list_cmds(void)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		printf("%-8s %-14s %s\n", cmds[i].name,
		       cmds[i].alias ? cmds[i].alias : "-", cmds[i].summary);
}

#define OPT_LIST 0x100

static const struct argp_option top_options[] = {
	{ "list", OPT_LIST, NULL, 0,
	  "List the commands: name, the seed tool name it replaces, summary", 0 },
	{ 0 }
};

struct top_state {
	bool list;
	int cmd_index;		/* argv index of the subcommand, 0 if none */
};

static error_t top_parse(int key, char *arg, struct argp_state *state)
{
	struct top_state *top = state->input;

	switch (key) {
	case OPT_LIST:
		top->list = true;
		return 0;
	case ARGP_KEY_ARG:
		qd_cur = find_cmd(arg);
		if (!qd_cur)
			argp_error(state, "unknown command '%s' (qdctl --list shows them)", arg);
		top->cmd_index = state->next - 1;
		state->next = state->argc;	/* the rest is the subcommand's */
		return 0;
	case ARGP_KEY_NO_ARGS:
		if (!top->list)
			argp_error(state, "no command given (qdctl --list shows them)");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp_child common_children[] = {
	{ &qd_device_argp, 0, NULL, 0 },
	{ &qd_type_argp, 0, NULL, 0 },
	{ 0 }
};

/* --device and --type under one heading in qdctl --help */
static const struct argp common_argp = { .children = common_children };

static const struct argp_child top_children[] = {
	{ &common_argp, 0, "Options for every command (also accepted after it):", 0 },
	{ 0 }
};

static char top_doc[2048];

static void build_doc(void)
{
	size_t i, n;

	n = (size_t)snprintf(top_doc, sizeof(top_doc),
		"Control the queue_driver message queue (" QD_DEFAULT_DEVICE ").\v"
		"Commands:\n");
	for (i = 0; i < NCMDS && n < sizeof(top_doc); i++)
		n += (size_t)snprintf(top_doc + n, sizeof(top_doc) - n,
				      "  %-8s %s\n", cmds[i].name, cmds[i].summary);
	if (n < sizeof(top_doc))
		snprintf(top_doc + n, sizeof(top_doc) - n,
			 "\nRun 'qdctl COMMAND --help' for a command's options. Invoked "
			 "through a symlink named after the seed's tools (configurator, "
			 "filler, reader, job_submitter, worker), qdctl runs that command.\n\n"
			 "Exit status: 0 success, 1 failure, 64 usage error, 130 interrupted.");
}

int main(int argc, char **argv)
{
	struct argp top_argp = {
		.options = top_options,
		.parser = top_parse,
		.args_doc = "COMMAND [ARG...]",
		.children = top_children,
	};
	struct top_state top = { 0 };
	char *base, *self, name[64];
	char **sub_argv;
	int sub_argc, i;

	qd_common_init();

	/* The name we were invoked by: a symlink runs its subcommand. */
	self = strdup(argv[0] ? argv[0] : "qdctl");
	if (!self) {
		perror("qdctl");
		return QD_EXIT_FAIL;
	}
	base = basename(self);
	qd_cur = find_cmd(base);
	if (qd_cur) {
		argv[0] = base;	/* "reader: unrecognized option", not the path */
		return qd_cur->fn(argc, argv);
	}

	build_doc();
	top_argp.doc = top_doc;
	argp_parse(&top_argp, argc, argv, ARGP_IN_ORDER, NULL, &top);
	if (top.list) {
		list_cmds();
		return QD_EXIT_OK;
	}

	/* Hand "qdctl NAME ARGS..." to the subcommand as argv[0] ARGS... */
	snprintf(name, sizeof(name), "qdctl %s", qd_cur->name);
	sub_argc = argc - top.cmd_index;
	sub_argv = calloc((size_t)sub_argc + 1, sizeof(*sub_argv));
	if (!sub_argv) {
		perror("qdctl");
		return QD_EXIT_FAIL;
	}
	sub_argv[0] = name;
	for (i = 1; i < sub_argc; i++)
		sub_argv[i] = argv[top.cmd_index + i];
	return qd_cur->fn(sub_argc, sub_argv);
}
