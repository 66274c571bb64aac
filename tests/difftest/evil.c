/* SPDX-License-Identifier: MIT */
/*
 * A stand-in library that changes what programs see (every socket gets
 * SOCK_CLOEXEC): the difftest-selftest test runs the tester with it and
 * expects a failure, so a tester that stopped seeing differences fails.
 */
#include <dlfcn.h>
#include <sys/socket.h>

int socket(int family, int type, int protocol)
{
	static int (*real)(int, int, int);

	if (!real)
		real = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
	return real(family, type | SOCK_CLOEXEC, protocol);
}
