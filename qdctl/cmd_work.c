// SPDX-License-Identifier: GPL-2.0
/*
 * qdctl work: run queued jobs, up to -j at a time.
 *
 * Delivery: a job is popped with QD_F_RESERVE, so it stays in the queue,
 * invisible to other workers, until we QD_IOC_ACK it after it ended. If
 * this worker dies, the kernel requeues whatever it still held (the
 * device fd is O_CLOEXEC, so a job never keeps it open).
 *
 * Two threads, no polling:
 * - main: waits for a free slot, pops the next job (a blocking ioctl that
 *   SIGINT/SIGTERM interrupt), forks /bin/sh -c CMD in its own process
 *   group with stdin from /dev/null, as the submitter's uid when root;
 * - reaper: SIGCHLD is blocked everywhere and taken with sigtimedwait(),
 *   so no exit is missed; it reaps, reports, acks and frees the slot, and
 *   its timeout is the next --job-timeout deadline.
 * SIGINT/SIGTERM: take no new job, let the running ones finish and ack
 * them, exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qd.h"

#define WORK_GRACE_NS	2000000000LL	/* SIGTERM to SIGKILL after a timeout */

extern char **environ;

enum { OPT_ONCE = 0x100, OPT_DRAIN, OPT_JOB_TIMEOUT, OPT_AS_SELF };

struct work_args {
	uint64_t jobs, count;
	int64_t job_timeout_ns;
	bool once, drain, count_set, job_timeout_set, as_self;
};

struct job {
	pid_t pid;		/* 0: free slot */
	uint64_t id;
	int64_t deadline;	/* CLOCK_MONOTONIC ns, 0 = none */
	int term_sent;		/* timed out: signal sent to the group */
};

struct worker {
	const struct work_args *a;
	int fd, devnull;
	pid_t self;
	pthread_t reaper;
	pthread_mutex_t lock;	/* protects everything below */
	pthread_cond_t cond;	/* a slot freed, a job started, or done */
	struct job *jobs;	/* a->jobs slots */
	uint64_t active, started, finished;
	bool done;		/* main takes no more jobs, reaper may exit */
	int status;
};

static const struct argp_option work_options[] = {
	{ "jobs", 'j', "N", 0, "Run up to N jobs at the same time (default 1)", 0 },
	{ "once", OPT_ONCE, NULL, 0, "Run one job, then exit", 0 },
	{ "count", 'n', "COUNT", 0, "Run COUNT jobs, then exit", 0 },
	{ "drain", OPT_DRAIN, NULL, 0,
	  "Exit when no job is queued (and none is running)", 0 },
	{ "job-timeout", OPT_JOB_TIMEOUT, "SEC", 0,
	  "Kill a job's process group (SIGTERM, SIGKILL 2 s later) after SEC "
	  "seconds (fractions allowed)", 0 },
	{ "as-self", OPT_AS_SELF, NULL, 0,
	  "When root, run jobs as root too instead of as their submitter", 0 },
	{ 0 }
};

static error_t work_parse(int key, char *arg, struct argp_state *state)
{
	struct work_args *a = state->input;

	switch (key) {
	case 'j':
		if (qd_parse_count(arg, &a->jobs) || a->jobs > 4096)
			argp_error(state, "invalid job count '%s': give 1 to 4096", arg);
		return 0;
	case OPT_ONCE:
		a->once = true;
		return 0;
	case 'n':
		if (qd_parse_count(arg, &a->count))
			argp_error(state, "invalid count '%s': give a number > 0", arg);
		a->count_set = true;
		return 0;
	case OPT_DRAIN:
		a->drain = true;
		return 0;
	case OPT_JOB_TIMEOUT:
		if (qd_parse_seconds(arg, &a->job_timeout_ns) || a->job_timeout_ns == 0)
			argp_error(state, "invalid job timeout '%s': give seconds > 0", arg);
		a->job_timeout_set = true;
		return 0;
	case OPT_AS_SELF:
		a->as_self = true;
		return 0;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s' (jobs come from the queue: "
			   "qdctl submit CMD)", arg);
		return 0;
	case ARGP_KEY_END:
		if (a->once && a->count_set)
			argp_error(state, "--once and -n exclude each other");
		if (a->once) {
			a->count = 1;
			a->count_set = true;
		}
		if (!a->jobs)
			a->jobs = 1;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp work_argp = {
	.options = work_options,
	.parser = work_parse,
	.doc = "Run queued jobs (type job unless --type says otherwise), each with "
	       "/bin/sh -c in its own process group, standard input from /dev/null."
	       "\vPrints '[worker PID] job ID: CMD' when a job starts and '[worker PID] "
	       "job ID exited STATUS' (or 'killed by SIGNAME') when it ends, and only "
	       "then removes it from the queue: if the worker dies, its jobs go back to "
	       "the queue for another worker. Run as root, a job runs as the user who "
	       "submitted it, with that user's groups (--as-self: as root). SIGINT or "
	       "SIGTERM: no new jobs, the running ones finish, exit 0. Without --once, "
	       "-n or --drain it runs forever, like the seed's worker.\n\nExamples:\n"
	       "  qdctl work -j 4\n  qdctl work --drain --job-timeout 60",
	.children = qd_device_type_children,
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* What the child needs, prepared before fork(): no allocation after it. */
struct spawn {
	char *argv[4];
	char **envp;
	bool as_user;
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	int ngroups;
	char *own[4];		/* HOME=, USER=, LOGNAME=, SHELL= we built */
	char fail[160];		/* message if switching user fails */
};

static void work_child(const struct spawn *s, int devnull)
{
	sigset_t none;

	setpgid(0, 0);
	if (dup2(devnull, STDIN_FILENO) < 0)
		_exit(126);
	/* Raw syscalls: only this thread exists in the child. */
	if (s->as_user &&
	    (syscall(SYS_setgroups, (long)s->ngroups, s->groups) ||
	     syscall(SYS_setresgid, (long)s->gid, (long)s->gid, (long)s->gid) ||
	     syscall(SYS_setresuid, (long)s->uid, (long)s->uid, (long)s->uid))) {
		if (write(STDERR_FILENO, s->fail, strlen(s->fail)) < 0)
			_exit(126);
		_exit(126);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve("/bin/sh", s->argv, s->envp);
	_exit(127);
}

/* environ with HOME, USER, LOGNAME and SHELL of @pw; s->own[] are ours. */
static char **work_env(struct spawn *s, const struct passwd *pw)
{
	static const char *const vars[] = { "HOME=", "USER=", "LOGNAME=", "SHELL=" };
	const char *vals[] = { pw->pw_dir, pw->pw_name, pw->pw_name,
			       pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh" };
	size_t n = 0, i, j, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 5, sizeof(*env));
	if (!env)
		return NULL;
	for (i = 0; i < n; i++) {
		for (j = 0; j < 4; j++)
			if (!strncmp(environ[i], vars[j], strlen(vars[j])))
				break;
		if (j == 4)
			env[k++] = environ[i];
	}
	for (j = 0; j < 4; j++) {
		if (asprintf(&s->own[j], "%s%s", vars[j], vals[j]) < 0) {
			s->own[j] = NULL;
			free(env);
			return NULL;
		}
		env[k++] = s->own[j];
	}
	return env;
}

static void work_spawn_free(struct spawn *s)
{
	size_t j;

	if (s->envp != environ)
		free(s->envp);
	for (j = 0; j < 4; j++)
		free(s->own[j]);
	free(s->groups);
}

/* Resolve the submitter; NULL reason on success. */
static const char *work_as_user(struct spawn *s, uint32_t uid, uint64_t id)
{
	struct passwd pwbuf, *pw = NULL;
	char buf[4096];
	int n = 16;

	if (getpwuid_r(uid, &pwbuf, buf, sizeof(buf), &pw) || !pw)
		return "has no passwd entry";
	s->groups = malloc((size_t)n * sizeof(gid_t));
	if (!s->groups)
		return "cannot be resolved (out of memory)";
	while (getgrouplist(pw->pw_name, pw->pw_gid, s->groups, &n) < 0) {
		gid_t *g = realloc(s->groups, (size_t)n * sizeof(gid_t));

		if (!g)
			return "cannot be resolved (out of memory)";
		s->groups = g;
	}
	s->ngroups = n;
	s->uid = uid;
	s->gid = pw->pw_gid;
	s->envp = work_env(s, pw);
	if (!s->envp) {
		s->envp = environ;
		return "cannot be resolved (out of memory)";
	}
	s->as_user = true;
	snprintf(s->fail, sizeof(s->fail),
		 "qdctl: work: job %" PRIu64 ": cannot switch to uid %u\n", id, uid);
	return NULL;
}

static void work_ack(struct worker *w, uint64_t id)
{
	if (ioctl(w->fd, QD_IOC_ACK, &id) < 0) {
		qd_err("job %" PRIu64 ": ack: %s", id, strerror(errno));
		w->status = QD_EXIT_FAIL;
	}
}

/* Start the job popped into @m; the payload is NUL-terminated by the caller. */
static void work_start(struct worker *w, const struct qd_msg *m, const char *cmd)
{
	struct spawn s = { .argv = { "sh", "-c", (char *)cmd, NULL }, .envp = environ };
	const char *why = NULL;
	struct job *j = NULL;
	uint64_t i;
	pid_t pid;

	printf("[worker %d] job %" PRIu64 ": %s\n", (int)w->self, (uint64_t)m->id, cmd);
	fflush(stdout);
	if (memchr(cmd, '\0', m->len)) {
		why = "the command contains a NUL byte";
	} else if (geteuid() == 0 && !w->a->as_self) {
		why = work_as_user(&s, m->sender_uid, m->id);
		if (why) {
			snprintf(s.fail, sizeof(s.fail), "its submitter, uid %u, %s",
				 m->sender_uid, why);
			why = s.fail;
		}
	}
	if (why) {
		/* Running it again would fail again: report and remove it. */
		printf("[worker %d] job %" PRIu64 " not run: %s\n", (int)w->self,
		       (uint64_t)m->id, why);
		fflush(stdout);
		work_ack(w, m->id);
		goto out;
	}

	pthread_mutex_lock(&w->lock);
	for (i = 0; i < w->a->jobs && !j; i++)
		if (!w->jobs[i].pid)
			j = &w->jobs[i];
	if (!j) {	/* cannot happen: work_loop waits for a free slot */
		pthread_mutex_unlock(&w->lock);
		goto out;
	}
	pid = fork();
	if (pid == 0)
		work_child(&s, w->devnull);
	if (pid < 0) {
		pthread_mutex_unlock(&w->lock);
		qd_err("job %" PRIu64 ": fork: %s (left in the queue)", (uint64_t)m->id,
		       strerror(errno));
		if (ioctl(w->fd, QD_IOC_NACK, &m->id) < 0)
			qd_err("job %" PRIu64 ": nack: %s", (uint64_t)m->id, strerror(errno));
		w->status = QD_EXIT_FAIL;
		goto out;
	}
	setpgid(pid, pid);	/* also here: no kill(-pid) before the child's */
	j->pid = pid;
	j->id = m->id;
	j->term_sent = 0;
	j->deadline = w->a->job_timeout_set ? now_ns() + w->a->job_timeout_ns : 0;
	w->active++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	if (w->a->job_timeout_set)
		pthread_kill(w->reaper, SIGCHLD);	/* recompute its timeout */
out:
	work_spawn_free(&s);
}

static void work_finish(struct worker *w, pid_t pid, int wstatus)
{
	struct job j = { 0 };
	char how[96];
	uint64_t i;

	pthread_mutex_lock(&w->lock);
	for (i = 0; i < w->a->jobs; i++)
		if (w->jobs[i].pid == pid) {
			j = w->jobs[i];
			break;
		}
	pthread_mutex_unlock(&w->lock);
	if (!j.pid)
		return;		/* not a job of ours */

	if (WIFEXITED(wstatus))
		snprintf(how, sizeof(how), "exited %d", WEXITSTATUS(wstatus));
	else if (WIFSIGNALED(wstatus))
		snprintf(how, sizeof(how), "killed by SIG%s",
			 sigabbrev_np(WTERMSIG(wstatus)) ?: "?");
	else
		snprintf(how, sizeof(how), "ended (status 0x%x)", (unsigned int)wstatus);
	if (j.term_sent)
		printf("[worker %d] job %" PRIu64 " %s (timed out after %.9g s)\n",
		       (int)w->self, j.id, how, (double)w->a->job_timeout_ns / 1e9);
	else
		printf("[worker %d] job %" PRIu64 " %s\n", (int)w->self, j.id, how);
	fflush(stdout);
	work_ack(w, j.id);

	pthread_mutex_lock(&w->lock);
	w->jobs[i].pid = 0;
	w->active--;
	w->finished++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* Signal jobs past their deadline; returns the next deadline, 0 if none. */
static int64_t work_deadlines(struct worker *w)
{
	int64_t now = now_ns(), next = 0;
	uint64_t i;

	pthread_mutex_lock(&w->lock);
	for (i = 0; i < w->a->jobs; i++) {
		struct job *j = &w->jobs[i];

		if (!j->pid || !j->deadline)
			continue;
		if (j->deadline <= now) {
			j->term_sent = j->term_sent ? SIGKILL : SIGTERM;
			kill(-j->pid, j->term_sent);
			j->deadline = j->term_sent == SIGTERM ? now + WORK_GRACE_NS : 0;
		}
		if (j->deadline && (!next || j->deadline < next))
			next = j->deadline;
	}
	pthread_mutex_unlock(&w->lock);
	return next;
}

static void *work_reaper(void *arg)
{
	struct worker *w = arg;
	sigset_t chld;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		struct timespec ts;
		int64_t next;
		int wstatus;
		pid_t pid;

		pthread_mutex_lock(&w->lock);
		while (!w->active && !w->done)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!w->active && w->done) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		pthread_mutex_unlock(&w->lock);

		next = work_deadlines(w);
		if (next) {
			int64_t wait_ns = next - now_ns();

			if (wait_ns < 0)
				wait_ns = 0;
			ts.tv_sec = wait_ns / 1000000000LL;
			ts.tv_nsec = wait_ns % 1000000000LL;
		}
		sigtimedwait(&chld, NULL, next ? &ts : NULL);
		while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0)
			work_finish(w, pid, wstatus);
	}
	return NULL;
}

/*
 * Pop the next job, reserved; 0 with the NUL-terminated payload in *buf,
 * or an errno.
 */
static int work_pop(struct worker *w, struct qd_msg *m, char **buf, size_t *cap)
{
	for (;;) {
		memset(m, 0, sizeof(*m));
		m->data = qd_ptr(*buf);
		m->len = (uint32_t)(*cap - 1);
		m->type = qd_type_or(QD_TYPE_JOB);
		m->flags = QD_F_RESERVE | (w->a->drain ? QD_F_NONBLOCK : 0);
		if (ioctl(w->fd, QD_IOC_POP, m) == 0) {
			(*buf)[m->len] = '\0';
			return 0;
		}
		if (errno != EMSGSIZE)
			return errno;
		{
			size_t ncap = (size_t)m->len + 1 > *cap ? (size_t)m->len + 1 : *cap * 2;
			char *nb = realloc(*buf, ncap);

			if (!nb)
				return ENOMEM;
			*buf = nb;
			*cap = ncap;
		}
	}
}

/* Wait until a job ends; false if none is running. */
static bool work_wait_one(struct worker *w)
{
	bool any;

	pthread_mutex_lock(&w->lock);
	any = w->active > 0;
	if (any) {
		uint64_t finished = w->finished;

		while (w->finished == finished)
			pthread_cond_wait(&w->cond, &w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return any;
}

static void work_loop(struct worker *w)
{
	size_t cap = 4096;
	char *buf = malloc(cap);
	struct qd_msg m;

	if (!buf) {
		qd_err("%s", strerror(ENOMEM));
		w->status = QD_EXIT_FAIL;
		return;
	}
	for (;;) {
		int err;

		pthread_mutex_lock(&w->lock);
		while (w->active >= w->a->jobs)
			pthread_cond_wait(&w->cond, &w->lock);
		pthread_mutex_unlock(&w->lock);
		if (qd_signal || (w->a->count_set && w->started >= w->a->count))
			break;
		err = work_pop(w, &m, &buf, &cap);
		if (err == EINTR)
			continue;
		if (err == EAGAIN && w->a->drain) {
			if (work_wait_one(w))
				continue;	/* a job may have queued more */
			break;
		}
		if (err) {
			qd_err_dev(qd_opt.device, err);
			w->status = QD_EXIT_FAIL;
			break;
		}
		if (qd_signal) {
			/* Signalled just before the pop slept: give it back. */
			if (ioctl(w->fd, QD_IOC_NACK, &m.id) < 0)
				qd_err("job %" PRIu64 ": nack: %s", (uint64_t)m.id, strerror(errno));
			break;
		}
		w->started++;
		work_start(w, &m, buf);
	}
	free(buf);
}

/* Said at once, from the handler: the main thread may be waiting for a slot. */
static void work_on_signal(int sig)
{
	static const char term[] = "qdctl: work: SIGTERM: taking no new jobs, "
				   "letting the running ones finish\n";
	static const char intr[] = "qdctl: work: SIGINT: taking no new jobs, "
				   "letting the running ones finish\n";
	int saved = errno;

	if (!qd_signal) {
		ssize_t n;

		qd_signal = sig;
		if (sig == SIGTERM)
			n = write(STDERR_FILENO, term, sizeof(term) - 1);
		else
			n = write(STDERR_FILENO, intr, sizeof(intr) - 1);
		(void)n;
	}
	errno = saved;
}

int cmd_work(int argc, char **argv)
{
	struct work_args a = { 0 };
	struct worker w = { .a = &a, .status = QD_EXIT_OK };
	struct sigaction sa;
	sigset_t block;
	int err;

	argp_parse(&work_argp, argc, argv, 0, NULL, &a);
	w.fd = qd_open(0);
	if (w.fd < 0)
		return QD_EXIT_FAIL;
	w.devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (w.devnull < 0) {
		qd_err("/dev/null: %s", strerror(errno));
		return QD_EXIT_FAIL;
	}
	w.jobs = calloc(a.jobs, sizeof(*w.jobs));
	if (!w.jobs) {
		qd_err("%s", strerror(ENOMEM));
		return QD_EXIT_FAIL;
	}
	w.self = getpid();
	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);

	/* Children must be reapable: undo an inherited SIG_IGN. */
	signal(SIGCHLD, SIG_DFL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = work_on_signal;	/* no SA_RESTART: the pop returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	err = pthread_create(&w.reaper, NULL, work_reaper, &w);
	sigdelset(&block, SIGCHLD);
	pthread_sigmask(SIG_UNBLOCK, &block, NULL);	/* main takes INT/TERM */
	if (err) {
		qd_err("cannot start: %s", strerror(err));
		return QD_EXIT_FAIL;
	}

	work_loop(&w);

	pthread_mutex_lock(&w.lock);
	while (w.active)
		pthread_cond_wait(&w.cond, &w.lock);
	w.done = true;
	pthread_cond_broadcast(&w.cond);
	pthread_mutex_unlock(&w.lock);
	pthread_join(w.reaper, NULL);
	close(w.fd);
	close(w.devnull);
	free(w.jobs);
	return w.status;
}
