/* SPDX-License-Identifier: MIT */
/*
 * Every call the library interposes, by the name a program compiled
 * against this libc's headers calls it. Built once per ABI setting a
 * program may use (MS_ABI, below): glibc's headers rename some calls under
 * some settings (fcntl to fcntl64 with _FILE_OFFSET_BITS=64; setsockopt to
 * __setsockopt64 with _TIME_BITS=64 on 32-bit ABIs), and the undefined
 * symbols of each build are those names (tests/abi/exports.sh checks that
 * the library exports every one). Nothing here is run.
 *
 * MS_ABI: 0 the defaults, 1 _FILE_OFFSET_BITS=64, 2 that and
 * _TIME_BITS=64, 3 that and _FORTIFY_SOURCE=2 (Debian's build flags on
 * armhf), where the build optimises.
 */
#undef _FILE_OFFSET_BITS
#undef _TIME_BITS
#undef _FORTIFY_SOURCE
#if MS_ABI >= 1
#define _FILE_OFFSET_BITS 64
#endif
#if MS_ABI >= 2
#define _TIME_BITS 64
#endif
#if MS_ABI >= 3 && defined(__OPTIMIZE__)
#define _FORTIFY_SOURCE 2
#endif

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* The order of lib/libmptcpshim.map. */
void (*const ms_abi_calls[])(void) = {
	(void (*)(void))bind,	      (void (*)(void))close,
	(void (*)(void))close_range,  (void (*)(void))closefrom,
	(void (*)(void))connect,      (void (*)(void))dup,
	(void (*)(void))dup2,	      (void (*)(void))dup3,
	(void (*)(void))epoll_ctl,    (void (*)(void))execl,
	(void (*)(void))execle,	      (void (*)(void))execlp,
	(void (*)(void))execv,	      (void (*)(void))execve,
	(void (*)(void))execvp,	      (void (*)(void))execvpe,
	(void (*)(void))fcntl,	      (void (*)(void))fcntl64,
	(void (*)(void))fexecve,      (void (*)(void))getsockopt,
	(void (*)(void))popen,	      (void (*)(void))posix_spawn,
	(void (*)(void))posix_spawnp, (void (*)(void))sendmmsg,
	(void (*)(void))sendmsg,      (void (*)(void))setsockopt,
	(void (*)(void))socket,	      (void (*)(void))system,
};
