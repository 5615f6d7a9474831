#ifndef BATON_CBATONSYS_H
#define BATON_CBATONSYS_H

#include <stdint.h>

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
/// Sets the calling thread's name (at most 15 bytes are kept).
void baton_set_thread_name(const char *name);
/// Line-buffers stdout so that logs reach a pipe promptly.
void baton_line_buffer_stdout(void);
/// Writes a string to stderr unbuffered.
void baton_write_stderr(const char *text);

#endif
