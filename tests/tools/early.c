/* SPDX-License-Identifier: MIT */
/*
 * A library whose constructor opens a listener, as some libraries do, to
 * show that the shim is correct when socket() and bind() reach it before
 * its own constructor has run. Preloaded before libmptcpshim; the port
 * comes from EARLY_PORT; prints "early proto=P" on stdout.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

__attribute__((constructor)) static void early_listener(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	const char *port = getenv("EARLY_PORT");
	int fd, proto = -1;
	socklen_t l = sizeof(proto);

	if (!port)
		return;
	sin.sin_port = htons((uint16_t)atoi(port));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		perror("early: bind");
		return;
	}
	/* the kernel's answer (the library says IPPROTO_TCP to programs) */
	syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l);
	printf("early proto=%d\n", proto);
	fflush(stdout);
	close(fd);
}
