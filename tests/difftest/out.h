/* SPDX-License-Identifier: MIT */
/*
 * Where a run's results go: a shared memory file the driver created
 * (memfd), mapped by the executor and by every child and probe it starts,
 * so that a sequence that closes every descriptor (closefrom(0)) still
 * reports. Lines are appended whole, in the order the calls return.
 */
#ifndef DIFFTEST_OUT_H
#define DIFFTEST_OUT_H

#include <stddef.h>

#define OUT_SIZE (1 << 20)
#define OUT_ENV	 "DIFFTEST_OUT"

/* Maps the file named by $DIFFTEST_OUT (a /proc/PID/fd/N path) and
 * closes it again; 0, or -1 if it cannot. */
int out_attach(void);
/* Appends one line (a newline is added); async-signal-safe. */
void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The driver's side: a new buffer; its fd, and the text. */
int out_create(void);
/* Text so far of the buffer of fd (NUL-terminated copy; free it). */
char *out_read(int fd);

#endif
