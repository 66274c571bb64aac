/* SPDX-License-Identifier: MIT */
/*
 * Finding the functions the library interposes, as libc has them.
 *
 * dlsym(RTLD_NEXT) finds the next definition after this library, which
 * is what keeps other interposers (loaded after us) in the chain. It finds
 * nothing when libc itself comes first in LD_PRELOAD ("libc.so.6
 * libmptcpshim.so"); libc's own handle always has them. In that order the
 * program's calls go to libc directly and never reach the library: that
 * is reported once and the library stays inert, rather than taking the
 * program down.
 */
#undef _FILE_OFFSET_BITS /* fcntl and fcntl64 are two symbols */
#include "internal.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <unistd.h>

struct ms_real ms_real;

/* This library's address range and file name, from its program headers
 * (dladdr() would do, but it searches symbol tables: 50 calls of it were
 * most of a program's start-up). */
static uintptr_t self_lo, self_hi;
static const char *self_name;

static int find_self(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t me = (uintptr_t)ms_real_init, lo = UINTPTR_MAX, hi = 0;

	(void)size, (void)data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD)
			continue;
		if (a < lo)
			lo = a;
		if (a + ph->p_memsz > hi)
			hi = a + ph->p_memsz;
	}
	if (me < lo || me >= hi)
		return 0;
	self_lo = lo;
	self_hi = hi;
	self_name = info->dlpi_name;
	return 1;
}

const char *ms_self_path(void)
{
	return self_name && *self_name ? self_name : NULL;
}

/* Is p in this library? (Not "p == socket": where libc precedes the
 * library, the library's own `socket` resolves to libc's too.) */
static bool in_self(void *p)
{
	return (uintptr_t)p >= self_lo && (uintptr_t)p < self_hi;
}

static void *find(void *libc, const char *sym)
{
	void *p = dlsym(RTLD_NEXT, sym);

	if (!p || in_self(p))
		p = libc ? dlsym(libc, sym) : NULL;
	return p && !in_self(p) ? p : NULL;
}

static const char *missing;

/* close_range() and closefrom() are glibc 2.34+: optional. */
#define FIND(name) (ms_real.name = (__typeof__(ms_real.name))find(libc, #name))
/* Under another name, or else the one that does the same. */
#define FIND_AS(field, sym, fallback)                                          \
	do {                                                                   \
		ms_real.field = (__typeof__(ms_real.field))find(libc, sym);    \
		if (!ms_real.field)                                            \
			ms_real.field = ms_real.fallback;                      \
	} while (0)
#define NEED(name)                                                             \
	do {                                                                   \
		if (!FIND(name) && !missing)                                   \
			missing = #name;                                       \
	} while (0)

bool ms_real_init(char *err, size_t errlen)
{
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	bool bypassed;

	dl_iterate_phdr(find_self, NULL);
	NEED(socket);
	NEED(bind);
	NEED(connect);
	NEED(setsockopt);
	NEED(getsockopt);
	NEED(epoll_ctl);
	NEED(close);
	NEED(dup);
	NEED(dup2);
	NEED(dup3);
	NEED(fcntl);
	NEED(sendmsg);
	NEED(sendmmsg);
	NEED(execve);
	NEED(execvpe);
	NEED(fexecve);
	NEED(posix_spawn);
	NEED(posix_spawnp);
	NEED(system);
	NEED(popen);
	FIND(fcntl64);
	FIND(close_range);
	FIND(closefrom);
	if (!ms_real.fcntl64)
		ms_real.fcntl64 = ms_real.fcntl;
#if MS_TIME64_ABI
	/* glibc 2.34+; a program can call them only where libc has them */
	FIND_AS(setsockopt64, "__setsockopt64", setsockopt);
	FIND_AS(getsockopt64, "__getsockopt64", getsockopt);
	FIND_AS(sendmsg64, "__sendmsg64", sendmsg);
	FIND_AS(sendmmsg64, "__sendmmsg64", sendmmsg);
	FIND_AS(fcntl_time64, "__fcntl_time64", fcntl64);
#endif
	/* Do the program's calls reach us? Not if they resolve to libc's
	 * own definitions (another interposer first, such as a sanitizer
	 * runtime, still passes them on to us). */
	bypassed = libc &&
		   (dlsym(RTLD_DEFAULT, "socket") == dlsym(libc, "socket") ||
		    dlsym(RTLD_DEFAULT, "bind") == dlsym(libc, "bind"));
	if (libc)
		dlclose(libc); /* RTLD_NOLOAD: only drops the reference */
	if (missing) {
		/* glibc always has them; a libc that does not cannot be
		 * served, and the missing ones must never be called. */
		snprintf(err, errlen,
			 "libc's %s() cannot be found; converting nothing",
			 missing);
		return false;
	}
	if (bypassed) {
		snprintf(err, errlen,
			 "libmptcpshim is loaded after libc (LD_PRELOAD "
			 "order?): the program's socket() and bind() do not "
			 "reach it; converting nothing. Put libmptcpshim.so "
			 "before libc in LD_PRELOAD, or leave libc out");
		return false;
	}
	return true;
}
