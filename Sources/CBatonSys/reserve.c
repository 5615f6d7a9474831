#define _GNU_SOURCE
#include "CBatonSys.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * Running out of file descriptors must never abort the supervisor or spin a core.
 *
 * libzmq 4.3 accepts connections with accept4() (or accept()) on its I/O threads. When the process has no
 * descriptor left, accept fails with EMFILE: libzmq's ipc listener treats that as a fatal error
 * (errno_assert, "Too many open files (src/ipc_listener.cpp:…)") and aborts the process; its tcp listener
 * returns, but the listening socket stays readable, so the I/O thread retries at once, forever (a spinning
 * core). Baton's bound on clients (--max-clients, enforced by its ZAP handler) keeps descriptors free, but
 * a burst of connections is accepted before the ZAP handler can refuse the excess.
 *
 * So baton_accept_or_drop() accepts like accept4(), but on EMFILE, when a reserve descriptor was set up with
 * baton_reserve_descriptor(), it closes the reserve, accepts the pending connection, closes it at once (the
 * peer sees the connection closed and retries later), reopens the reserve, and reports EAGAIN, which every
 * libzmq listener takes as "nothing to accept". This is the reserve-descriptor technique of libuv and nginx.
 *
 * Only the `baton` executable routes libzmq's accept calls here: its target links CBatonAccept, which defines
 * accept4() and accept() (Sources/CBatonAccept/accept.c). This library defines no libc symbol, so a worker
 * linking BatonWorker or Broker keeps libc's accept.
 */

static int reserve_fd = -1;
static pthread_mutex_t reserve_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_ulong dropped_connections = 0;

int baton_reserve_descriptor(void)
{
    pthread_mutex_lock(&reserve_lock);
    if (reserve_fd < 0)
        reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int ok = reserve_fd >= 0 ? 0 : -1;
    pthread_mutex_unlock(&reserve_lock);
    return ok;
}

unsigned long baton_dropped_connections(void) { return atomic_load(&dropped_connections); }

int baton_accept_or_drop(int fd, struct sockaddr *address, socklen_t *length, int flags)
{
    int conn = (int)syscall(SYS_accept4, fd, address, length, flags);
    if (conn >= 0 || errno != EMFILE)
        return conn;
    pthread_mutex_lock(&reserve_lock);
    if (reserve_fd >= 0) {
        close(reserve_fd);
        int doomed = (int)syscall(SYS_accept4, fd, NULL, NULL, SOCK_CLOEXEC);
        if (doomed >= 0) {
            close(doomed);
            atomic_fetch_add(&dropped_connections, 1);
        }
        reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    pthread_mutex_unlock(&reserve_lock);
    errno = EAGAIN;
    return -1;
}
