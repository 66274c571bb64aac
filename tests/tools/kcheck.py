# SPDX-License-Identifier: MIT
"""What the kernel says about a connection, on every supported kernel.

The Python twin of kcheck.h, for ngxpeer.py, clipeer.py and srvpeer.py.

is_mptcp(sock) -> 1 (MPTCP), 0 (plain TCP, or an MPTCP socket that fell
back to TCP), or raises KernelDisagrees. getsockopt(SOL_MPTCP,
MPTCP_INFO) exists on every kernel the project supports (5.16+): it
succeeds on a live MPTCP connection (whose flags then have no fallback
bit) and fails with ENOPROTOOPT/EOPNOTSUPP on TCP or after a fallback.
TCP_IS_MPTCP (6.10+; EOPNOTSUPP on Debian 12's 6.1) is read too where the
kernel has it, and must give the same answer.
"""
import errno
import socket
import struct

SOL_MPTCP = 284
MPTCP_INFO = 1
MPTCP_INFO_FLAG_FALLBACK = 1
TCP_IS_MPTCP = 43
_UNSUPPORTED = (errno.ENOPROTOOPT, errno.EOPNOTSUPP)


class KernelDisagrees(OSError):
    pass


def is_mptcp(s):
    try:
        info = s.getsockopt(SOL_MPTCP, MPTCP_INFO, 64)
    except OSError as e:
        if e.errno not in _UNSUPPORTED:
            raise
        by_info = 0
    else:
        if len(info) < 12:
            raise KernelDisagrees("MPTCP_INFO answered %d bytes" % len(info))
        flags = struct.unpack_from("=I", info, 8)[0]
        by_info = 0 if flags & MPTCP_INFO_FLAG_FALLBACK else 1
    try:
        flag = s.getsockopt(socket.IPPROTO_TCP, TCP_IS_MPTCP)
    except OSError as e:
        if e.errno not in _UNSUPPORTED:
            raise
    else:
        if flag != by_info:
            raise KernelDisagrees("TCP_IS_MPTCP=%d but MPTCP_INFO says %d"
                                  % (flag, by_info))
    return by_info
