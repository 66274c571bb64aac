/* SPDX-License-Identifier: MIT */
/*
 * A socket with a reference in another process before bind(): a child of
 * fork() or posix_spawn(), or the receiver of an SCM_RIGHTS message. A
 * swap would give the two processes two different sockets; the library
 * keeps it TCP, says why, and both see the one socket - as without the
 * library. Was issue 12 case 3 (after fork() the child bound, and the
 * parent got EADDRINUSE where it should get EINVAL).
 */
#include "swap.h"

#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

static int wait_status(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_fork_then_bind_in_child(void **state)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
	struct sockaddr_storage ss;
	int pipefd[2];
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		port = bind_free(fd, AF_INET, LISTED_LO);
		if (write(pipefd[1], &port, sizeof(port)) != sizeof(port))
			_exit(2);
		_exit(port > 0 && kproto(fd) == IPPROTO_TCP ? 0 : 1);
	}
	assert_int_equal(read(pipefd[0], &port, sizeof(port)), sizeof(port));
	assert_int_equal(wait_status(pid), 0);
	assert_true(port > 0);
	/* the child bound the socket the parent holds */
	assert_int_equal(local_port(fd), port);
	assert_int_equal(kproto(fd), IPPROTO_TCP);
	assert_int_equal(
		bind(fd, (struct sockaddr *)&ss, loop_addr(AF_INET, port, &ss)),
		-1);
	assert_int_equal(errno, EINVAL);
	close(fd);
	close(pipefd[0]);
	close(pipefd[1]);
}

static void test_fork_then_bind_in_parent(void **state)
{
	int fd = socket(AF_INET6, SOCK_STREAM, 0), port;
	pid_t pid = fork();

	(void)state;
	assert_true(pid >= 0);
	if (pid == 0) {
		/* the child keeps its copy a moment, then checks that it is
		 * the socket the parent bound */
		usleep(200000);
		_exit(local_port(fd) > 0 && kproto(fd) == IPPROTO_TCP ? 0 : 1);
	}
	port = bind_free(fd, AF_INET6, LISTED_LO);
	assert_true(port > 0);
	assert_int_equal(kproto(fd), IPPROTO_TCP);
	assert_int_equal(wait_status(pid), 0);
	close(fd);
}

/* Sockets made after the fork() are the process's own: they convert, in
 * the child and in the parent; and a listener converted before fork() is
 * MPTCP in both. */
static void test_fork_does_not_touch_other_sockets(void **state)
{
	int before = socket(AF_INET, SOCK_STREAM, 0), after, port;
	pid_t pid;

	(void)state;
	assert_true(bind_free(before, AF_INET, LISTED_LO) > 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int s = socket(AF_INET, SOCK_STREAM, 0);

		_exit(kproto(before) == IPPROTO_MPTCP &&
				      bind_free(s, AF_INET, LISTED_LO) > 0 &&
				      kproto(s) == IPPROTO_MPTCP
			      ? 0
			      : 1);
	}
	assert_int_equal(wait_status(pid), 0);
	after = socket(AF_INET, SOCK_STREAM, 0);
	port = bind_free(after, AF_INET, LISTED_LO);
	assert_true(port > 0);
	assert_int_equal(kproto(after), IPPROTO_MPTCP);
	assert_int_equal(kproto(before), IPPROTO_MPTCP);
	close(after);
	close(before);
}

static int spawn_true(void)
{
	char name[] = "true", *argv[] = {name, NULL};
	pid_t pid;

	assert_int_equal(
		posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ), 0);
	return wait_status(pid);
}

/* posix_spawn(): the child gets the fds without FD_CLOEXEC only. */
static void test_posix_spawn(void **state)
{
	int inherited = socket(AF_INET, SOCK_STREAM, 0);
	int closed = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	(void)state;
	assert_int_equal(spawn_true(), 0);
	assert_true(bind_free(inherited, AF_INET, LISTED_LO) > 0);
	assert_int_equal(kproto(inherited), IPPROTO_TCP);
	assert_true(bind_free(closed, AF_INET, LISTED_LO) > 0);
	assert_int_equal(kproto(closed), IPPROTO_MPTCP);
	close(inherited);
	close(closed);
}

static void send_fd(int via, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {0}, byte = 'x';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	if (!c)
		fail();
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	assert_int_equal(sendmsg(via, &msg, 0), 1);
}

static int recv_fd(int via)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {0}, byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c;
	int fd = -1;

	assert_int_equal(recvmsg(via, &msg, 0), 1);
	c = CMSG_FIRSTHDR(&msg);
	if (c)
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* SCM_RIGHTS, with sendmsg() and with sendmmsg(). */
static void test_scm_rights(void **state)
{
	(void)state;
	for (int mm = 0; mm < 2; mm++) {
		int sv[2], fd = socket(AF_INET, SOCK_STREAM, 0), got, port;

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		if (!mm) {
			send_fd(sv[0], fd);
		} else {
			char cbuf[CMSG_SPACE(sizeof(int))] = {0}, byte = 'x';
			struct iovec iov = {.iov_base = &byte, .iov_len = 1};
			struct mmsghdr v = {
				.msg_hdr = {.msg_iov = &iov,
					    .msg_iovlen = 1,
					    .msg_control = cbuf,
					    .msg_controllen = sizeof(cbuf)}};
			struct cmsghdr *c = CMSG_FIRSTHDR(&v.msg_hdr);

			if (!c)
				fail();
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &fd, sizeof(int));
			assert_int_equal(sendmmsg(sv[0], &v, 1, 0), 1);
		}
		got = recv_fd(sv[1]);
		assert_true(got >= 0 && got != fd);
		port = bind_free(fd, AF_INET, LISTED_LO);
		assert_true(port > 0);
		assert_int_equal(kproto(fd), IPPROTO_TCP);
		assert_int_equal(local_port(got), port);
		close(got);
		close(fd);
		close(sv[0]);
		close(sv[1]);
	}
}

/* The warning names the reason, once per address, on stderr. */
static void test_warning_says_why(void **state)
{
	char path[] = "/tmp/mptcpshim-share-XXXXXX", buf[4096] = "";
	int log = mkstemp(path), saved = dup(2), fd, port;
	pid_t pid;

	(void)state;
	assert_true(log >= 0 && saved >= 0);
	close(log);
	/* a log file the program opened for appending is written to */
	log = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_int_equal(dup2(log, 2), 2);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	pid = fork();
	if (pid == 0)
		_exit(0);
	assert_int_equal(wait_status(pid), 0);
	port = bind_free(fd, AF_INET, LISTED_LO);
	assert_true(port > 0);
	dup2(saved, 2);
	close(saved);
	close(log);
	log = open(path, O_RDONLY);
	assert_true(read(log, buf, sizeof(buf) - 1) > 0);
	close(log);
	unlink(path);
	print_message("%s", buf);
	assert_non_null(strstr(buf, "staying TCP: a child process (fork, "
				    "posix_spawn) shares the socket"));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fork_then_bind_in_child),
		cmocka_unit_test(test_fork_then_bind_in_parent),
		cmocka_unit_test(test_fork_does_not_touch_other_sockets),
		cmocka_unit_test(test_posix_spawn),
		cmocka_unit_test(test_scm_rights),
		cmocka_unit_test(test_warning_says_why),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
