/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qdctl: shared declarations - the subcommand table entry, the options
 * every subcommand shares (--device, --type) and those of the commands
 * that wait (--nonblock, --timeout), device and ioctl helpers, the named
 * counters, error reporting and small parsers.
 */
#ifndef QDCTL_QD_H
#define QDCTL_QD_H

#include <argp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/queue_driver.h>

/* -DQD_VERSION="..." from the Makefile: the top-level VERSION file */
#ifndef QD_VERSION
#error "QD_VERSION is not defined: build with qdctl/Makefile (it reads ../VERSION)"
#endif
#define QD_DEFAULT_DEVICE	"/dev/" QD_DEVICE_NAME

/* Exit status (sysexits.h EX_USAGE is argp's default for usage errors) */
#define QD_EXIT_OK		0
#define QD_EXIT_FAIL		1
#define QD_EXIT_USAGE		64
#define QD_EXIT_SIGINT		130

/* struct qd_cmd.flags */
#define QD_CMD_TYPE		(1U << 0) /* takes --type */
#define QD_CMD_TYPE_ANY		(1U << 1) /* --type any is allowed */

struct qd_cmd {
	const char *name;	/* subcommand: qdctl NAME */
	const char *alias;	/* the seed's tool name (a symlink), or NULL */
	int (*fn)(int argc, char **argv);
	const char *summary;
	unsigned int flags;
};

/*
 * Options shared by every subcommand. The argp children below fill this
 * one struct, so `qdctl --device D read` and `qdctl read --device D`
 * give the same result (the later one wins).
 */
struct qd_common {
	const char *device;	/* --device, $QD_DEVICE, default */
	uint32_t type;		/* --type, 0 = any */
	bool type_set;		/* --type was given */
};

extern struct qd_common qd_opt;
extern const struct qd_cmd *qd_cur;	/* the subcommand being run */

/* argp children: --device for all, --type for those with QD_CMD_TYPE */
extern const struct argp qd_device_argp;
extern const struct argp qd_type_argp;
/*
 * The .children of a subcommand's argp: --device under "Common options:",
 * and for the commands with QD_CMD_TYPE also --type, listed among the
 * command's own options.
 */
extern const struct argp_child qd_device_children[];
extern const struct argp_child qd_device_type_children[];

void qd_common_init(void);
/* Type the subcommand uses when --type was not given */
uint32_t qd_type_or(uint32_t dflt);

/*
 * --nonblock and --timeout SEC, for the commands whose push or pop may
 * wait: fill and submit while the queue is full, read while nothing
 * matches. Each command lists the two options in its own argp_option
 * table under these keys, with help text that says what it waits for;
 * its parser hands them to qd_wait_parse() and calls qd_wait_check() at
 * ARGP_KEY_END.
 */
#define QD_OPT_NONBLOCK		0x200
#define QD_OPT_TIMEOUT		0x201

struct qd_wait {
	bool nonblock;		/* --nonblock */
	bool timeout_set;	/* --timeout */
	int64_t timeout_ns;	/* --timeout SEC, in ns */
};

/* Parse QD_OPT_NONBLOCK or QD_OPT_TIMEOUT into @w; usage error if invalid */
error_t qd_wait_parse(struct qd_wait *w, int key, const char *arg,
		      struct argp_state *state);
/* At ARGP_KEY_END: usage error if both were given */
void qd_wait_check(const struct qd_wait *w, struct argp_state *state);
/*
 * .flags and .timeout_ns of a push or pop that waits as asked:
 * QD_F_NONBLOCK, QD_F_TIMEOUT with the --timeout, or 0 (wait for ever)
 * with a timeout of 0.
 */
uint32_t qd_wait_flags(const struct qd_wait *w);
int64_t qd_wait_timeout(const struct qd_wait *w);

/* Errors: "qdctl: CMD: message" on stderr */
void qd_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "qdctl: CMD: WHAT: strerror(err) (hint)" with a hint for device errors */
void qd_err_dev(const char *what, int err);
int qd_flush_stdout(void);	/* 0, or -1 after saying why */

/* Open the device O_RDWR | O_CLOEXEC | extra; on failure report, -1 */
int qd_open(int extra_flags);
int qd_get_stats(int fd, struct qd_stats *st);

/* Largest payload: sysfs max_msg_size, else QD_IOC_STATS; 0 if unknown */
uint64_t qd_max_msg_size(int fd);
/* sysfs directory of the device (/sys/dev/char/MAJ:MIN), NULL if none */
const char *qd_sysfs_dir(void);
/* Read one decimal sysfs attribute NAME; 0 on success, else -errno */
int qd_sysfs_read(const char *name, uint64_t *val);

/*
 * The counters of struct qd_stats by name, in the order qdctl prints
 * them; the names are also those of the sysfs attributes. The first
 * QD_LEVEL_COUNTERS say how full the queue is now (all that config
 * shows), the rest count events since the module was loaded.
 */
struct qd_counter {
	const char *name;
	size_t off;		/* of its __u64 in struct qd_stats */
};

extern const struct qd_counter qd_counters[];
extern const size_t qd_ncounters;	/* entries in qd_counters[] */
#define QD_LEVEL_COUNTERS	5	/* size, used, free, messages, max_msg_size */

/* Print the first @n counters of @st: "name: value" lines, or one JSON line */
void qd_print_counters(const struct qd_stats *st, size_t n, bool json);

/* Parsers: 0 on success, -1 if the text is not valid */
int qd_parse_type(const char *s, uint32_t *type);
int qd_parse_seconds(const char *s, int64_t *ns);
int qd_parse_size(const char *s, uint64_t *bytes);
int qd_parse_count(const char *s, uint64_t *n);
const char *qd_type_name(uint32_t type, char *buf, size_t len);

/* Signals: SIGINT/SIGTERM set qd_signal (no SA_RESTART, so waits return) */
extern volatile sig_atomic_t qd_signal;
void qd_catch_signals(void);
int qd_signal_exit(void);	/* exit status for the signal caught */

/* write(2) all of buf, retrying short writes and EINTR; 0 or -errno */
int qd_write_all(int fd, const void *buf, size_t len);

static inline uint64_t qd_ptr(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

int cmd_config(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_fill(int argc, char **argv);
int cmd_read(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_work(int argc, char **argv);

#endif /* QDCTL_QD_H */
