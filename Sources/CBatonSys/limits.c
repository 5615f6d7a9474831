#define _GNU_SOURCE
#include "CBatonSys.h"

#include <errno.h>
#include <sys/resource.h>

/* The soft descriptor limit workers get back (0: leave theirs as inherited). Written once at start-up,
   before any worker is spawned; read in the child between fork and exec. */
static rlim_t child_nofile_soft = 0;

int baton_raise_nofile_limit(uint64_t *before, uint64_t *after)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return -1;
    *before = limit.rlim_cur;
    if (limit.rlim_cur < limit.rlim_max) {
        rlim_t original = limit.rlim_cur;
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
            *after = original;
            return -1;
        }
        child_nofile_soft = original;
    }
    *after = limit.rlim_cur;
    return 0;
}

uint64_t baton_nofile_limit(void)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return 0;
    return limit.rlim_cur;
}

void baton_restore_child_limits(void)
{
    if (child_nofile_soft == 0)
        return;
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        limit.rlim_cur = child_nofile_soft;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}
