#define _GNU_SOURCE
#include "CBatonAccept.h"

#include <CBatonSys.h>
#include <dlfcn.h>
#include <sys/socket.h>

/*
 * The `baton` executable's own accept4() and accept(): the dynamic linker resolves libzmq's calls to these
 * (the executable comes first in symbol lookup), so a listener that finds no descriptor left drops the
 * connection instead of aborting or spinning (baton_accept_or_drop, Sources/CBatonSys/reserve.c).
 *
 * Only the BatonCLI target links this library. It must stay out of the Broker and BatonWorker libraries:
 * defining a libc function there would replace it in every program that links them.
 */

int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags)
{
    return baton_accept_or_drop(fd, address, length, flags);
}

int accept(int fd, struct sockaddr *address, socklen_t *length)
{
    return baton_accept_or_drop(fd, address, length, 0);
}

int baton_accept_interposed(void)
{
    return dlsym(RTLD_DEFAULT, "accept4") == (void *)accept4 && dlsym(RTLD_DEFAULT, "accept") == (void *)accept;
}
