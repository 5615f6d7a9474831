#define _GNU_SOURCE
#include "CBatonSys.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int baton_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

int baton_reap_tree(int pid, int group_signal, int *exit_code, int *signal)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int r;
    do {
        r = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return -1;
    if (info.si_pid == 0)
        return 0;
    /* The leader is a zombie, so its process group id cannot be reused yet: signal whatever it left behind
       (a wrapper script's server in the background) before reaping it. */
    kill(-pid, group_signal);
    return baton_reap(pid, exit_code, signal);
}

int baton_reap_group(int pgid)
{
    for (;;) {
        int status;
        pid_t r = waitpid(-pgid, &status, WNOHANG);
        if (r > 0)
            continue;
        if (r < 0 && errno == EINTR)
            continue;
        return r == 0 ? 1 : 0;
    }
}

#define WATCHDOG_MAX_GROUPS 8192

static void watchdog_main(int fd, int cgroup_kill_fd) __attribute__((noreturn));

static void watchdog_main(int fd, int cgroup_kill_fd)
{
    static int groups[WATCHDOG_MAX_GROUPS];
    int count = 0;
    char buffer[4096];
    int used = 0;
    for (;;) {
        ssize_t n = read(fd, buffer + used, sizeof buffer - (size_t)used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (int)n;
        int start = 0;
        for (int i = 0; i < used; i++) {
            if (buffer[i] != '\n')
                continue;
            char op = buffer[start];
            long value = 0;
            for (int j = start + 1; j < i; j++)
                value = value * 10 + (buffer[j] - '0');
            if (op == '+' && value > 1 && count < WATCHDOG_MAX_GROUPS) {
                groups[count++] = (int)value;
            } else if (op == '-') {
                for (int k = 0; k < count; k++) {
                    if (groups[k] == value) {
                        groups[k] = groups[--count];
                        break;
                    }
                }
            }
            start = i + 1;
        }
        memmove(buffer, buffer + start, (size_t)(used - start));
        used -= start;
        if (used == (int)sizeof buffer)
            used = 0;
    }
    /* The supervisor is gone (or closed the channel when it stopped): end every worker tree it had. */
    for (int k = 0; k < count; k++)
        kill(-groups[k], SIGKILL);
    if (cgroup_kill_fd >= 0) {
        ssize_t ignored = write(cgroup_kill_fd, "1", 1);
        (void)ignored;
    }
    _exit(0);
}

int baton_start_watchdog(int cgroup_kill_fd, int *channel)
{
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        return -1;
    pid_t child = fork();
    if (child < 0) {
        int err = errno;
        close(fds[0]);
        close(fds[1]);
        errno = err;
        return -1;
    }
    if (child == 0) {
        /* Only async-signal-safe calls: the supervisor has other threads. */
        setsid();
        struct sigaction ignore;
        memset(&ignore, 0, sizeof ignore);
        ignore.sa_handler = SIG_IGN;
        sigaction(SIGINT, &ignore, NULL);
        sigaction(SIGTERM, &ignore, NULL);
        sigaction(SIGHUP, &ignore, NULL);
        sigaction(SIGPIPE, &ignore, NULL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int fd = 0; fd < 1024; fd++)
            if (fd != fds[1] && fd != cgroup_kill_fd)
                close(fd);
        watchdog_main(fds[1], cgroup_kill_fd);
    }
    close(fds[1]);
    *channel = fds[0];
    return child;
}

int baton_watchdog_note(int channel, int added, int pgid)
{
    char line[24];
    int length = 0;
    char digits[16];
    int d = 0;
    unsigned value = (unsigned)pgid;
    do {
        digits[d++] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0 && d < 16);
    line[length++] = added ? '+' : '-';
    while (d > 0)
        line[length++] = digits[--d];
    line[length++] = '\n';
    ssize_t n;
    do {
        n = send(channel, line, (size_t)length, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n == length ? 0 : -1;
}

int baton_write_fd(int fd, const char *text)
{
    size_t length = strlen(text);
    ssize_t n;
    do {
        n = write(fd, text, length);
    } while (n < 0 && errno == EINTR);
    return n == (ssize_t)length ? 0 : -1;
}

int baton_output_pipe(int *read_fd, int *write_fd)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    *read_fd = fds[0];
    *write_fd = fds[1];
    return 0;
}

int baton_reap_orphans(const int *tracked, int count, int max)
{
    int reaped = 0;
    while (reaped < max) {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0)
            break;
        for (int i = 0; i < count; i++)
            if (tracked[i] == info.si_pid)
                return reaped; /* a launched worker: reaped with its status by its owner */
        int status;
        if (waitpid(info.si_pid, &status, WNOHANG) <= 0)
            break;
        reaped++;
    }
    return reaped;
}
