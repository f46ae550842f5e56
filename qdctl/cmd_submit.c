// SPDX-License-Identifier: GPL-2.0
/*
 * qdctl submit: queue shell commands as jobs (type job) for `qdctl work`.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "qd.h"

struct submit_args {
	char **words;
	int nwords;
	bool quiet;
	struct qd_wait wait;
};

static const struct argp_option submit_options[] = {
	{ "nonblock", QD_OPT_NONBLOCK, NULL, 0,
	  "Fail instead of waiting when the queue is full", 0 },
	{ "timeout", QD_OPT_TIMEOUT, "SEC", 0,
	  "Fail when the queue stays full for SEC seconds (fractions allowed)", 0 },
	{ "quiet", 'q', NULL, 0, "Do not print the submitted jobs", 0 },
	{ 0 }
};

static error_t submit_parse(int key, char *arg, struct argp_state *state)
{
	struct submit_args *a = state->input;

	switch (key) {
	case QD_OPT_NONBLOCK:
	case QD_OPT_TIMEOUT:
		return qd_wait_parse(&a->wait, key, arg, state);
	case 'q':
		a->quiet = true;
		return 0;
	case ARGP_KEY_ARG:
		/* The command starts here; its words are not our options. */
		a->words = state->argv + state->next - 1;
		a->nwords = state->argc - state->next + 1;
		state->next = state->argc;
		return 0;
	case ARGP_KEY_END:
		qd_wait_check(&a->wait, state);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp submit_argp = {
	.options = submit_options,
	.parser = submit_parse,
	.args_doc = "[CMD...]",
	.doc = "Queue a shell command as a job for 'qdctl work': the arguments joined "
	       "by spaces, or else one job per line of standard input (blank lines "
	       "are skipped; a 'job> ' prompt is shown when it is a terminal)."
	       "\vPrints 'job ID submitted: CMD' with the queue's message id. A worker "
	       "running as root runs the job as the user who submitted it. Options go "
	       "before CMD: everything from CMD on is the command.\n\nExamples:\n"
	       "  qdctl submit 'tar czf /tmp/home.tgz ~'\n"
	       "  qdctl submit ls -la\n  qdctl submit < jobs.txt",
	.children = qd_device_type_children,
};

/* Push one job; 0, or the errno after reporting it. */
static int submit_one(int fd, const struct submit_args *a, const char *where,
		      const char *cmd, size_t len)
{
	struct qd_msg m = {
		.data = qd_ptr(cmd),
		.len = (uint32_t)len,
		.type = qd_type_or(QD_TYPE_JOB),
		.flags = qd_wait_flags(&a->wait),
		.timeout_ns = qd_wait_timeout(&a->wait),
	};
	int err;

	if (len > UINT32_MAX)
		err = EMSGSIZE;
	else if (ioctl(fd, QD_IOC_PUSH, &m) == 0)
		err = 0;
	else
		err = errno;
	switch (err) {
	case 0:
		if (!a->quiet) {
			printf("job %" PRIu64 " submitted: %s\n", (uint64_t)m.id, cmd);
			fflush(stdout);
		}
		return 0;
	case EMSGSIZE:
		qd_err("%sjob is %zu bytes, more than the largest message (%" PRIu64
		       " bytes): not submitted", where, len, qd_max_msg_size(fd));
		break;
	case EAGAIN:
		qd_err("%sthe queue is full (--nonblock): not submitted", where);
		break;
	case ETIMEDOUT:
		qd_err("%sthe queue stayed full for %.9g s (--timeout): not submitted", where,
		       (double)a->wait.timeout_ns / 1e9);
		break;
	case EINTR:
		qd_err("%sinterrupted: not submitted", where);
		break;
	default:
		qd_err_dev(qd_opt.device, err);
	}
	return err;
}

static int submit_args_job(int fd, const struct submit_args *a)
{
	size_t len = 0;
	char *cmd, *p;
	int i, err;

	for (i = 0; i < a->nwords; i++)
		len += strlen(a->words[i]) + 1;
	cmd = malloc(len);
	if (!cmd) {
		qd_err("%s", strerror(ENOMEM));
		return QD_EXIT_FAIL;
	}
	for (p = cmd, i = 0; i < a->nwords; i++) {
		size_t n = strlen(a->words[i]);

		memcpy(p, a->words[i], n);
		p += n;
		*p++ = ' ';
	}
	p[-1] = '\0';
	err = submit_one(fd, a, "", cmd, len - 1);
	free(cmd);
	if (err == EINTR)
		return qd_signal_exit();
	return err ? QD_EXIT_FAIL : QD_EXIT_OK;
}

static int submit_stdin(int fd, const struct submit_args *a)
{
	bool tty = isatty(STDIN_FILENO);
	int ret = QD_EXIT_OK, err;
	char *line = NULL, where[64];
	size_t cap = 0, len;
	uint64_t lineno = 0;

	for (;;) {
		ssize_t n;

		if (tty) {
			fputs("job> ", stderr);
			fflush(stderr);
		}
		errno = 0;
		n = getline(&line, &cap, stdin);
		if (n < 0) {
			if (qd_signal) {
				ret = qd_signal_exit();
			} else if (errno == EINTR) {
				clearerr(stdin);
				continue;
			} else if (ferror(stdin)) {
				qd_err("<stdin>: %s", strerror(errno));
				ret = QD_EXIT_FAIL;
			}
			break;
		}
		lineno++;
		len = (size_t)n;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		if (strspn(line, " \t\r") == len)
			continue;	/* blank: not a job */
		snprintf(where, sizeof(where), "<stdin>:%" PRIu64 ": ", lineno);
		err = submit_one(fd, a, where, line, len);
		if (err == EINTR || (err && qd_signal)) {
			ret = qd_signal_exit();
			break;
		}
		if (err) {
			ret = QD_EXIT_FAIL;
			if (!tty) {
				qd_err("jobs after line %" PRIu64 " were not submitted", lineno);
				break;
			}
		}
	}
	if (tty)
		fputc('\n', stderr);
	free(line);
	return ret;
}

int cmd_submit(int argc, char **argv)
{
	struct submit_args a = { 0 };
	int fd, ret;

	argp_parse(&submit_argp, argc, argv, ARGP_IN_ORDER, NULL, &a);
	fd = qd_open(0);
	if (fd < 0)
		return QD_EXIT_FAIL;
	qd_catch_signals();
	ret = a.nwords ? submit_args_job(fd, &a) : submit_stdin(fd, &a);
	close(fd);
	return ret;
}
