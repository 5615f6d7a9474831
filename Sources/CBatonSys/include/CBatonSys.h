#ifndef BATON_CBATONSYS_H
#define BATON_CBATONSYS_H

#include <stdint.h>
#include <sys/socket.h>

/// Creates a non-blocking, close-on-exec eventfd; returns -1 and sets errno on failure.
int baton_eventfd(void);
/// Adds one to an eventfd counter; returns 0 or -1 with errno.
int baton_eventfd_signal(int fd);
/// Reads (and so resets) an eventfd counter; returns 0 (also when nothing was pending) or -1 with errno.
int baton_eventfd_drain(int fd);
/// Monotonic clock in nanoseconds (CLOCK_MONOTONIC).
uint64_t baton_monotonic_ns(void);
/// Wall clock in nanoseconds since the Unix epoch (CLOCK_REALTIME).
int64_t baton_realtime_ns(void);
/// Formats nanoseconds since the Unix epoch as UTC ISO-8601 with microseconds, e.g.
/// "2026-11-24T22:00:00.123456Z", into `out` (at least 32 bytes).
void baton_format_utc(int64_t ns, char *out);
/// Sets the calling thread's name (at most 15 bytes are kept).
void baton_set_thread_name(const char *name);
/// Sets the calling thread's nice value (higher: less CPU under contention); 0 or -1 with errno.
int baton_set_thread_nice(int nice);
/// Line-buffers stdout so that logs reach a pipe promptly.
void baton_line_buffer_stdout(void);
/// Flushes stdout.
void baton_flush_stdout(void);
/// Writes a string to stderr unbuffered.
void baton_write_stderr(const char *text);


/// Forks and execs a worker: in the child, the parent-death signal is SIGKILL (tied to the calling thread,
/// which must outlive the child), the child leads a new process group, every signal disposition and the
/// signal mask are reset, stdin is /dev/null and stdout/stderr go to the given fds (-1: inherit).
/// On success returns 0 and sets *pid and *pidfd (a pidfd, close-on-exec, -1 if the kernel has none).
/// If the exec fails, the child is reaped and the exec's errno is returned (a positive number); a fork
/// failure returns -errno.
/// With `cgroup_procs_fd` >= 0 (an open `cgroup.procs` file), the child first moves itself into that cgroup.
int baton_spawn(const char *path, char *const argv[], char *const envp[], int out_fd, int err_fd, int cgroup_procs_fd,
                int *pid, int *pidfd);
/// Reaps `pid` if it has exited (never blocks, never touches other children). Returns 1 if reaped, with
/// *exit_code set (or -1) and *signal set (or 0); 0 if still running; -1 with errno on error.
int baton_reap(int pid, int *exit_code, int *signal);
/// Sends a signal to a process group (negative pid) or a process; returns 0 or -1 with errno.
int baton_kill(int pid, int signal);
/// Creates an epoll instance (close-on-exec); -1 with errno on failure.
int baton_epoll_create(void);
/// Watches `fd` for readability, reporting `tag` when it is readable; 0 or -1 with errno.
int baton_epoll_add(int epfd, int fd, uint64_t tag);
/// Stops watching `fd`; 0 or -1 with errno.
int baton_epoll_remove(int epfd, int fd);
/// Installs process-wide SIGTERM and SIGINT handlers that record the signal and signal `eventfd`
/// (with `ignore_sigterm`, SIGTERM is ignored instead). Returns 0 or -1 with errno.
int baton_install_termination_handler(int eventfd, int ignore_sigterm);
/// Installs a process-wide SIGHUP handler that sets a flag and signals `eventfd`. Returns 0 or -1 with errno.
int baton_install_hangup_handler(int eventfd);
/// Whether SIGHUP arrived since the last call (clears the flag).
int baton_take_hangup(void);
/// Sends a state line ("READY=1", "RELOADING=1", "STOPPING=1") to systemd's $NOTIFY_SOCKET, if set.
/// Returns 1 if sent, 0 if there is no notify socket, -1 with errno on error.
int baton_sd_notify(const char *state);
/// The last termination signal received (0 if none).
int baton_termination_signal(void);
/// Installs handlers for the chosen stop signals (SIGTERM when `sigterm`, SIGINT when `sigint`) that record
/// the signal and signal `eventfd`, keeping the handlers they replace for ``baton_restore_stop_handlers``, and
/// clears the recorded signal. Returns 0 or -1 with errno (then nothing stays installed).
int baton_install_stop_handlers(int eventfd, int sigterm, int sigint);
/// Puts back the handlers ``baton_install_stop_handlers`` replaced; after it, no signal writes to its eventfd.
void baton_restore_stop_handlers(void);

/// Raises the soft RLIMIT_NOFILE to the hard limit; *before and *after get the soft limit before and after.
/// Workers spawned afterwards get the original soft limit back (programs that use select() expect it).
/// Returns 0, or -1 with errno (then *after is the unchanged limit).
int baton_raise_nofile_limit(uint64_t *before, uint64_t *after);
/// The current soft RLIMIT_NOFILE (0 if it cannot be read).
uint64_t baton_nofile_limit(void);
/// In a spawned child before exec: restores the soft RLIMIT_NOFILE saved by baton_raise_nofile_limit.
void baton_restore_child_limits(void);
/// Opens the reserve descriptor with which baton_accept_or_drop() drops a connection instead of failing with
/// EMFILE when descriptors run out (see reserve.c). Returns 0, or -1 with errno.
int baton_reserve_descriptor(void);
/// Connections dropped at once because no descriptor was left (since the process started).
unsigned long baton_dropped_connections(void);
/// accept4(), except that on EMFILE with a reserve descriptor set up it accepts the pending connection, closes it
/// and fails with EAGAIN (see reserve.c). Only the `baton` executable routes libzmq's accepts here.
int baton_accept_or_drop(int fd, struct sockaddr *address, socklen_t *length, int flags);
/// Makes the calling process the reaper of its orphaned descendants (PR_SET_CHILD_SUBREAPER); 0 or -1 with errno.
int baton_set_child_subreaper(void);
/// Like baton_reap, but once `pid` has exited and before it is reaped (while its process group id cannot be
/// reused) sends `group_signal` to everything left in its process group.
int baton_reap_tree(int pid, int group_signal, int *exit_code, int *signal);
/// Reaps exited children in process group `pgid` without blocking; 1 if some are still running, 0 if none is left.
int baton_reap_group(int pgid);
/// Forks a watchdog process that outlives the supervisor: it learns worker process groups over `*channel`
/// (baton_watchdog_note), and when the channel closes (the supervisor exited or died) it SIGKILLs every group
/// still listed and writes "1" to `cgroup_kill_fd` (a `cgroup.kill` file, or -1). Returns its pid, or -1.
int baton_start_watchdog(int cgroup_kill_fd, int *channel);
/// Tells the watchdog that a process group was added (`added` 1) or has ended (0); 0 or -1 with errno.
int baton_watchdog_note(int channel, int added, int pgid);
/// Reaps up to `max` exited children that are not in `tracked` (orphans adopted as child subreaper), stopping at
/// the first exited child that is tracked (its owner reaps it with its status). Returns how many were reaped.
int baton_reap_orphans(const int *tracked, int count, int max);
/// Creates a close-on-exec pipe whose read end is non-blocking (a worker's output); 0 or -1 with errno.
int baton_output_pipe(int *read_fd, int *write_fd);
/// Writes a string to a file descriptor; 0 or -1 with errno.
int baton_write_fd(int fd, const char *text);

#endif
