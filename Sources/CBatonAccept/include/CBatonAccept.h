#ifndef BATON_CBATONACCEPT_H
#define BATON_CBATONACCEPT_H

/// Whether libzmq's accept4() and accept() calls reach Baton's definitions (which drop a connection when no
/// descriptor is left, see accept.c) rather than libc's: 1 or 0.
int baton_accept_interposed(void);

#endif
