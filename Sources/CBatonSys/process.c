#define _GNU_SOURCE
#include "CBatonSys.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* Closes every descriptor from `first` up, except `keep`; async-signal-safe. */
static void close_all_from(int first, int keep)
{
    if (keep > first && syscall(SYS_close_range, first, keep - 1, 0) == 0
        && syscall(SYS_close_range, keep + 1, ~0U, 0) == 0)
        return;
    for (int fd = first; fd < 65536; fd++)
        if (fd != keep)
            close(fd);
}

int baton_spawn(const char *path, char *const argv[], char *const envp[], int out_fd, int err_fd, int cgroup_procs_fd,
                int *pid, int *pidfd)
{
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0)
        return -errno;
    pid_t parent = getpid();
    pid_t child = fork();
    if (child < 0) {
        int err = errno;
        close(report[0]);
        close(report[1]);
        return -err;
    }
    if (child == 0) {
        /* Only async-signal-safe calls from here to execve. */
        close(report[0]);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(127);
        setpgid(0, 0);
        if (cgroup_procs_fd >= 0) {
            ssize_t ignored = write(cgroup_procs_fd, "0", 1);
            (void)ignored;
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; sig++)
            if (sig != SIGKILL && sig != SIGSTOP)
                sigaction(sig, &dfl, NULL);
        int null_fd = open("/dev/null", O_RDONLY);
        if (null_fd >= 0) {
            dup2(null_fd, 0);
            if (null_fd > 2)
                close(null_fd);
        }
        if (out_fd >= 0)
            dup2(out_fd, 1);
        if (err_fd >= 0)
            dup2(err_fd, 2);
        baton_restore_child_limits();
        /* Nothing but stdin, stdout, stderr and the exec-error pipe (close-on-exec) reaches the worker: no
           listening socket of the supervisor's (metrics), no descriptor it inherited from its own parent. */
        close_all_from(3, report[1]);
        execve(path, argv, envp);
        int err = errno;
        ssize_t ignored = write(report[1], &err, sizeof err);
        (void)ignored;
        _exit(127);
    }
    close(report[1]);
    int exec_errno = 0;
    ssize_t n;
    do {
        n = read(report[0], &exec_errno, sizeof exec_errno);
    } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof exec_errno) {
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR)
            ;
        return exec_errno > 0 ? exec_errno : EINVAL;
    }
    *pid = child;
    *pidfd = (int)syscall(SYS_pidfd_open, child, 0);
    if (*pidfd >= 0)
        fcntl(*pidfd, F_SETFD, FD_CLOEXEC);
    return 0;
}

int baton_reap(int pid, int *exit_code, int *signal)
{
    int status;
    pid_t r;
    do {
        r = waitpid(pid, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return -1;
    if (r == 0)
        return 0;
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    *signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    return 1;
}

int baton_kill(int pid, int signal) { return kill(pid, signal); }

int baton_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int baton_epoll_add(int epfd, int fd, uint64_t tag)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int baton_epoll_remove(int epfd, int fd) { return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL); }

static volatile sig_atomic_t termination_signal;
static int termination_eventfd = -1;

static void on_termination(int sig)
{
    int saved = errno;
    termination_signal = sig;
    if (termination_eventfd >= 0) {
        uint64_t one = 1;
        ssize_t ignored = write(termination_eventfd, &one, sizeof one);
        (void)ignored;
    }
    errno = saved;
}

int baton_install_termination_handler(int eventfd, int ignore_sigterm)
{
    if (baton_install_stop_handlers(eventfd, !ignore_sigterm, 1) != 0)
        return -1;
    return ignore_sigterm && signal(SIGTERM, SIG_IGN) == SIG_ERR ? -1 : 0;
}

int baton_termination_signal(void) { return termination_signal; }

static struct sigaction replaced_sigterm, replaced_sigint;
static int installed_sigterm, installed_sigint;

int baton_install_stop_handlers(int eventfd, int sigterm, int sigint)
{
    termination_signal = 0;
    termination_eventfd = eventfd;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_termination;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigset_t wanted;
    sigemptyset(&wanted);
    if (sigterm) {
        if (sigaction(SIGTERM, &sa, &replaced_sigterm) != 0)
            goto failed;
        installed_sigterm = 1;
        sigaddset(&wanted, SIGTERM);
    }
    if (sigint) {
        if (sigaction(SIGINT, &sa, &replaced_sigint) != 0)
            goto failed;
        installed_sigint = 1;
        sigaddset(&wanted, SIGINT);
    }
    /* A parent that blocks these signals (a test runner, some init scripts) passes the block on through exec:
       without this, they would never arrive and the process could not be stopped gracefully. */
    if (pthread_sigmask(SIG_UNBLOCK, &wanted, NULL) == 0)
        return 0;
failed:;
    int saved = errno;
    baton_restore_stop_handlers();
    errno = saved;
    return -1;
}

void baton_restore_stop_handlers(void)
{
    if (installed_sigterm)
        sigaction(SIGTERM, &replaced_sigterm, NULL);
    if (installed_sigint)
        sigaction(SIGINT, &replaced_sigint, NULL);
    installed_sigterm = installed_sigint = 0;
    termination_eventfd = -1;
}

static volatile sig_atomic_t hangup_pending;
static int hangup_eventfd = -1;

static void on_hangup(int sig)
{
    (void)sig;
    int saved = errno;
    hangup_pending = 1;
    if (hangup_eventfd >= 0) {
        uint64_t one = 1;
        ssize_t ignored = write(hangup_eventfd, &one, sizeof one);
        (void)ignored;
    }
    errno = saved;
}

int baton_install_hangup_handler(int eventfd)
{
    hangup_eventfd = eventfd;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_hangup;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGHUP, &sa, NULL);
}

int baton_take_hangup(void)
{
    int pending = hangup_pending;
    hangup_pending = 0;
    return pending;
}

int baton_sd_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return 0;
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if (len >= sizeof addr.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(addr.sun_path, path, len);
    if (addr.sun_path[0] == '@')
        addr.sun_path[0] = 0;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    ssize_t sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr,
                          (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
    int err = errno;
    close(fd);
    errno = err;
    return sent < 0 ? -1 : 1;
}
