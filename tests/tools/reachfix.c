/* SPDX-License-Identifier: MIT */
/*
 * A program for cli.bats's tests of `mptcpshim run/enable` on programs
 * that LD_PRELOAD cannot reach (cli/reach.c). The test builds it with cc:
 *
 *   cc -static reachfix.c            statically linked
 *   cc -DGO_VERSION='"go1.22.5"' [-DGO_MODINFO='"..."'] [-DGO_IN_DATA]
 *                                    carrying Go's build information, in
 *                                    a ".go.buildinfo" section (as Go's
 *                                    linker writes it) or, with
 *                                    GO_IN_DATA, only in the data segment
 *                                    (stripped section headers)
 *   cc -no-pie -DGO_POINTERS -DGO_VERSION='"go1.16.3"'
 *                                    the same as Go before 1.18 wrote it
 *
 * `reachfix listen PORT` listens on 127.0.0.1:PORT and prints the
 * listener's protocol as the kernel reports it through the raw system
 * call ("proto=262" is MPTCP), so a test sees whether the library was
 * there; without arguments it exits 0.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(GO_VERSION) && defined(GO_POINTERS)
/* Before Go 1.18: the header holds pointers to Go string headers (built
 * with -no-pie, as Go's linker writes executables: the file holds the
 * addresses themselves). */
static const struct {
	const char *data;
	size_t len;
} go_version_string = {GO_VERSION, sizeof(GO_VERSION) - 1};
__attribute__((used, aligned(16), section(".go.buildinfo"))) struct {
	char magic[14];
	unsigned char ptrsize, flags;
	const void *version, *modinfo;
} go_buildinfo = {
	.magic = "\xff Go buildinf:",
	.ptrsize = sizeof(void *),
	.version = &go_version_string,
};
#elif defined(GO_VERSION)
#ifndef GO_MODINFO
#define GO_MODINFO "path\texample.com/server\n"
#endif
/* Go 1.18+'s layout: a 32-byte header (magic, pointer size, flags with
 * "strings inline"), then the version and the module information, each
 * after its length as a varint (one byte here: both are short). */
#ifdef GO_IN_DATA
#define GO_PLACE __attribute__((used, aligned(16)))
#else
#define GO_PLACE __attribute__((used, aligned(16), section(".go.buildinfo")))
#endif
GO_PLACE struct {
	char magic[14];
	unsigned char ptrsize, flags;
	char pad[16];
	unsigned char vlen;
	char version[sizeof(GO_VERSION) - 1];
	unsigned char mlen;
	char modinfo[sizeof(GO_MODINFO) - 1];
} go_buildinfo = {
	.magic = "\xff Go buildinf:",
	.ptrsize = 8,
	.flags = 2,
	.vlen = sizeof(GO_VERSION) - 1,
	.version = GO_VERSION,
	.mlen = sizeof(GO_MODINFO) - 1,
	.modinfo = GO_MODINFO,
};
#endif

int main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int fd, proto = -1;
	socklen_t len = sizeof(proto);

	if (argc < 3 || strcmp(argv[1], "listen") != 0)
		return 0;
	a.sin_port = htons((unsigned short)atoi(argv[2]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(fd, 8) != 0) {
		perror("reachfix");
		return 1;
	}
	/* the kernel's answer, whatever an interposed getsockopt says */
	if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_PROTOCOL, &proto,
		    &len) != 0) {
		perror("reachfix: getsockopt");
		return 1;
	}
	printf("proto=%d\n", proto);
	return 0;
}
