#define _GNU_SOURCE
#include "CBatonSys.h"

#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

int baton_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int baton_eventfd_signal(int fd)
{
    uint64_t one = 1;
    for (;;) {
        if (write(fd, &one, sizeof one) == sizeof one)
            return 0;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN ? 0 : -1; /* counter saturated: a wake-up is pending anyway */
    }
}

int baton_eventfd_drain(int fd)
{
    uint64_t value;
    for (;;) {
        if (read(fd, &value, sizeof value) == sizeof value)
            return 0;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN ? 0 : -1;
    }
}

uint64_t baton_monotonic_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int64_t baton_realtime_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000000 + (int64_t)t.tv_nsec;
}

void baton_set_thread_name(const char *name)
{
    char buf[16];
    strncpy(buf, name, sizeof buf - 1);
    buf[sizeof buf - 1] = 0;
    pthread_setname_np(pthread_self(), buf);
}

void baton_line_buffer_stdout(void) { setvbuf(stdout, NULL, _IOLBF, 0); }

void baton_write_stderr(const char *text)
{
    fputs(text, stderr);
    fflush(stderr);
}

void baton_format_utc(int64_t ns, char *out)
{
    int64_t seconds = ns / 1000000000;
    int64_t micros = (ns % 1000000000) / 1000;
    if (micros < 0) {
        micros += 1000000;
        seconds -= 1;
    }
    time_t t = (time_t)seconds;
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%06lldZ", (long long)micros);
}

int baton_set_thread_nice(int nice)
{
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
}

void baton_flush_stdout(void) { fflush(stdout); }
