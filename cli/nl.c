/* SPDX-License-Identifier: MIT */
/*
 * The kernel's state through netlink, with libmnl: the MPTCP path manager
 * (generic netlink family "mptcp_pm"), sock_diag, routes and rules
 * (rtnetlink), nftables tables (nfnetlink). No text output of another
 * program is parsed.
 */
#include "diag.h"

#include <endian.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/genetlink.h>
#include <linux/mptcp.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Large reads: a sock_diag dump of 100,000 sockets in few system calls. */
#define NL_BUF (64 * 1024)

struct nl_conn {
	struct mnl_socket *nl;
	unsigned portid, seq;
	char *buf;
};

static int nl_open(struct nl_conn *c, int bus)
{
	int e;

	c->buf = malloc(NL_BUF);
	if (!c->buf)
		return ENOMEM;
	c->nl = mnl_socket_open2(bus, SOCK_CLOEXEC);
	if (!c->nl || mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID)) {
		e = errno ? errno : EIO;
		if (c->nl)
			mnl_socket_close(c->nl);
		free(c->buf);
		return e;
	}
	c->portid = mnl_socket_get_portid(c->nl);
	c->seq = (unsigned)time(NULL);
	return 0;
}

static void nl_close(struct nl_conn *c)
{
	mnl_socket_close(c->nl);
	free(c->buf);
}

/* Sends nlh and runs cb on every answer until the end of the answer.
 * Returns 0 or an errno (the kernel's, for an NLMSG_ERROR). */
static int nl_talk(struct nl_conn *c, struct nlmsghdr *nlh, mnl_cb_t cb,
		   void *arg)
{
	int r;

	nlh->nlmsg_seq = ++c->seq;
	if (mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) < 0)
		return errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(c->nl, c->buf, NL_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		r = mnl_cb_run(c->buf, (size_t)n, c->seq, c->portid, cb, arg);
		if (r == MNL_CB_STOP)
			return 0;
		if (r < 0)
			return errno ? errno : EIO;
	}
}

/* A growing array of elements of one size; err is set on ENOMEM. */
struct vec {
	void *v;
	size_t n, cap, size;
	int err;
};

static void *vec_push(struct vec *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		void *nv = realloc(v->v, cap * v->size);

		if (!nv) {
			v->err = ENOMEM;
			return NULL;
		}
		v->v = nv;
		v->cap = cap;
	}
	return (char *)v->v + v->size * v->n++;
}

/* Hands the array to the caller, or frees it (and, for arrays of
 * strings, each string) on error. Returns the error. */
static int vec_finish(struct vec *v, int e, bool strings, void *out, size_t *n)
{
	if (!e)
		e = v->err;
	if (e) {
		for (size_t i = 0; strings && i < v->n; i++)
			free(((char **)v->v)[i]);
		free(v->v);
		v->v = NULL;
		v->n = 0;
	}
	memcpy(out, &v->v, sizeof(void *));
	*n = v->n;
	return e;
}

/* A dump request: type, a fixed header, no attributes. */
static int dump(int bus, uint16_t type, const void *hdr, size_t hdrlen,
		mnl_cb_t cb, void *arg)
{
	struct nl_conn c;
	char req[256];
	struct nlmsghdr *nlh;
	int e;

	if ((e = nl_open(&c, bus)))
		return e;
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	memcpy(mnl_nlmsg_put_extra_header(nlh, hdrlen), hdr, hdrlen);
	e = nl_talk(&c, nlh, cb, arg);
	nl_close(&c);
	return e;
}

/* ---- generic netlink: the MPTCP path manager ---- */

static int family_attr_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID &&
	    mnl_attr_validate(a, MNL_TYPE_U16) >= 0)
		*(int *)data = mnl_attr_get_u16(a);
	return MNL_CB_OK;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), family_attr_cb, data);
	return MNL_CB_OK;
}

static struct nlmsghdr *genl_msg(char *buf, int type, uint16_t flags,
				 uint8_t cmd, uint8_t version)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = (uint16_t)type;
	nlh->nlmsg_flags = flags;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = version;
	return nlh;
}

/* Opens a generic netlink socket and finds the "mptcp_pm" family. */
static int pm_open(struct nl_conn *c, int *family)
{
	char req[256];
	struct nlmsghdr *nlh;
	int e;

	if ((e = nl_open(c, NETLINK_GENERIC)))
		return e;
	nlh = genl_msg(req, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK,
		       CTRL_CMD_GETFAMILY, 1);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, MPTCP_PM_NAME);
	*family = -1;
	e = nl_talk(c, nlh, family_cb, family);
	if (!e && *family < 0)
		e = ENOENT;
	if (e)
		nl_close(c);
	return e;
}

static int ep_addr_cb(const struct nlattr *a, void *data)
{
	struct nl_endpoint *ep = data;
	size_t len = mnl_attr_get_payload_len(a);

	switch (mnl_attr_get_type(a)) {
	case MPTCP_PM_ADDR_ATTR_FAMILY:
		if (len >= 2)
			ep->family = (uint8_t)mnl_attr_get_u16(a);
		break;
	case MPTCP_PM_ADDR_ATTR_ID:
		if (len >= 1)
			ep->id = mnl_attr_get_u8(a);
		break;
	case MPTCP_PM_ADDR_ATTR_ADDR4:
		if (len >= 4)
			memcpy(ep->addr, mnl_attr_get_payload(a), 4);
		break;
	case MPTCP_PM_ADDR_ATTR_ADDR6:
		if (len >= 16)
			memcpy(ep->addr, mnl_attr_get_payload(a), 16);
		break;
	case MPTCP_PM_ADDR_ATTR_PORT:
		if (len >= 2)
			ep->port = mnl_attr_get_u16(a);
		break;
	case MPTCP_PM_ADDR_ATTR_FLAGS:
		if (len >= 4)
			ep->flags = mnl_attr_get_u32(a);
		break;
	case MPTCP_PM_ADDR_ATTR_IF_IDX:
		if (len >= 4)
			ep->ifindex = (int)mnl_attr_get_u32(a);
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

static int ep_attr_cb(const struct nlattr *a, void *data)
{
	struct nl_endpoint ep = {0}, *slot;

	if (mnl_attr_get_type(a) != MPTCP_PM_ATTR_ADDR)
		return MNL_CB_OK;
	mnl_attr_parse_nested(a, ep_addr_cb, &ep);
	if ((slot = vec_push(data)))
		*slot = ep;
	return MNL_CB_OK;
}

static int ep_cb(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), ep_attr_cb, data);
	return MNL_CB_OK;
}

int nl_pm_endpoints(struct nl_endpoint **out, size_t *n)
{
	struct nl_conn c;
	struct vec v = {.size = sizeof(**out)};
	char req[256];
	int family, e;

	if (!(e = pm_open(&c, &family))) {
		e = nl_talk(&c,
			    genl_msg(req, family, NLM_F_REQUEST | NLM_F_DUMP,
				     MPTCP_PM_CMD_GET_ADDR, MPTCP_PM_VER),
			    ep_cb, &v);
		nl_close(&c);
	}
	return vec_finish(&v, e, false, out, n);
}

struct limits {
	uint32_t subflows, accepted;
};

static int limits_attr_cb(const struct nlattr *a, void *data)
{
	struct limits *l = data;

	if (mnl_attr_get_payload_len(a) < 4)
		return MNL_CB_OK;
	if (mnl_attr_get_type(a) == MPTCP_PM_ATTR_SUBFLOWS)
		l->subflows = mnl_attr_get_u32(a);
	else if (mnl_attr_get_type(a) == MPTCP_PM_ATTR_RCV_ADD_ADDRS)
		l->accepted = mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

static int limits_cb(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), limits_attr_cb, data);
	return MNL_CB_OK;
}

int nl_pm_limits(uint32_t *subflows, uint32_t *add_addr_accepted)
{
	struct nl_conn c;
	struct limits l = {0};
	char req[256];
	int family, e;

	if ((e = pm_open(&c, &family)))
		return e;
	e = nl_talk(&c,
		    genl_msg(req, family, NLM_F_REQUEST | NLM_F_ACK,
			     MPTCP_PM_CMD_GET_LIMITS, MPTCP_PM_VER),
		    limits_cb, &l);
	nl_close(&c);
	*subflows = l.subflows;
	*add_addr_accepted = l.accepted;
	return e;
}

/* ---- sock_diag ---- */

struct diag_arg {
	nl_diag_cb cb;
	void *arg;
};

static int ulp_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == INET_ULP_INFO_NAME &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
		*(const char **)data = mnl_attr_get_str(a);
	return MNL_CB_OK;
}

static int diag_cb(const struct nlmsghdr *nlh, void *data)
{
	struct diag_arg *d = data;
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	const void *info = NULL;
	const char *ulp = NULL;
	size_t info_len = 0;

	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*m))
	{
		if (mnl_attr_get_type(a) == INET_DIAG_INFO) {
			info = mnl_attr_get_payload(a);
			info_len = mnl_attr_get_payload_len(a);
		} else if (mnl_attr_get_type(a) == INET_DIAG_ULP_INFO) {
			mnl_attr_parse_nested(a, ulp_cb, &ulp);
		}
	}
	d->cb(m, info, info_len, ulp, d->arg);
	return MNL_CB_OK;
}

int nl_diag_dump(int protocol, int family, uint32_t states, bool want_info,
		 nl_diag_cb cb, void *arg)
{
	struct nl_conn c;
	struct diag_arg d = {cb, arg};
	char req[256];
	struct nlmsghdr *nlh;
	struct inet_diag_req_v2 *r;
	int e, rcvbuf = 4 * 1024 * 1024;

	if ((e = nl_open(&c, NETLINK_SOCK_DIAG)))
		return e;
	setsockopt(mnl_socket_get_fd(c.nl), SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		   sizeof(rcvbuf));
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	r = mnl_nlmsg_put_extra_header(nlh, sizeof(*r));
	r->sdiag_family = (uint8_t)family;
	/* 262 does not fit in the u8: INET_DIAG_REQ_PROTOCOL carries it */
	r->sdiag_protocol = (uint8_t)protocol;
	r->idiag_states = states;
	if (want_info)
		r->idiag_ext = 1 << (INET_DIAG_INFO - 1);
	mnl_attr_put_u32(nlh, INET_DIAG_REQ_PROTOCOL, (uint32_t)protocol);
	e = nl_talk(&c, nlh, diag_cb, &d);
	nl_close(&c);
	return e;
}

/* ---- rtnetlink: routes and rules ---- */

static size_t addr_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

static int route_get_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_route *r = data;
	const struct rtmsg *rm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	r->table = rm->rtm_table;
	mnl_attr_for_each(a, nlh, sizeof(*rm))
	{
		size_t len = mnl_attr_get_payload_len(a);

		switch (mnl_attr_get_type(a)) {
		case RTA_OIF:
			if (len >= 4)
				r->oif = (int)mnl_attr_get_u32(a);
			break;
		case RTA_TABLE:
			if (len >= 4)
				r->table = mnl_attr_get_u32(a);
			break;
		case RTA_GATEWAY:
			if (len <= 16) {
				memcpy(r->gateway, mnl_attr_get_payload(a),
				       len);
				r->has_gateway = true;
			}
			break;
		default:
			break;
		}
	}
	return MNL_CB_OK;
}

int nl_route_get(int family, const void *src, const void *dst,
		 struct nl_route *out)
{
	struct nl_conn c;
	char req[256];
	struct nlmsghdr *nlh;
	struct rtmsg *rm;
	int e;

	memset(out, 0, sizeof(*out));
	if ((e = nl_open(&c, NETLINK_ROUTE)))
		return e;
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_GETROUTE;
	/* one answer, then the acknowledgement that ends it */
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	rm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rm));
	rm->rtm_family = (uint8_t)family;
	rm->rtm_dst_len = (uint8_t)(addr_len(family) * 8);
	rm->rtm_src_len = (uint8_t)(addr_len(family) * 8);
	mnl_attr_put(nlh, RTA_DST, addr_len(family), dst);
	mnl_attr_put(nlh, RTA_SRC, addr_len(family), src);
	e = nl_talk(&c, nlh, route_get_cb, out);
	nl_close(&c);
	return e;
}

static int routes_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	struct nl_route_entry r = {0}, *slot;

	if (rm->rtm_type != RTN_UNICAST)
		return MNL_CB_OK;
	r.family = rm->rtm_family;
	r.dst_len = rm->rtm_dst_len;
	r.table = rm->rtm_table;
	mnl_attr_for_each(a, nlh, sizeof(*rm))
	{
		size_t len = mnl_attr_get_payload_len(a);

		if (mnl_attr_get_type(a) == RTA_TABLE && len >= 4)
			r.table = mnl_attr_get_u32(a);
		else if (mnl_attr_get_type(a) == RTA_OIF && len >= 4)
			r.oif = (int)mnl_attr_get_u32(a);
		else if (mnl_attr_get_type(a) == RTA_GATEWAY && len <= 16) {
			memcpy(r.gateway, mnl_attr_get_payload(a), len);
			r.has_gateway = true;
		}
	}
	if ((slot = vec_push(data)))
		*slot = r;
	return MNL_CB_OK;
}

int nl_routes(int family, struct nl_route_entry **out, size_t *n)
{
	struct vec v = {.size = sizeof(**out)};
	struct rtmsg rm = {.rtm_family = (uint8_t)family};

	return vec_finish(&v,
			  dump(NETLINK_ROUTE, RTM_GETROUTE, &rm, sizeof(rm),
			       routes_cb, &v),
			  false, out, n);
}

static int rules_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct fib_rule_hdr *h = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	struct nl_rule r = {0}, *slot;

	r.family = h->family;
	r.src_len = h->src_len;
	r.table = h->table;
	mnl_attr_for_each(a, nlh, sizeof(*h))
	{
		size_t len = mnl_attr_get_payload_len(a);

		if (mnl_attr_get_type(a) == FRA_TABLE && len >= 4)
			r.table = mnl_attr_get_u32(a);
		else if (mnl_attr_get_type(a) == FRA_SRC && len <= 16)
			memcpy(r.src, mnl_attr_get_payload(a), len);
	}
	if ((slot = vec_push(data)))
		*slot = r;
	return MNL_CB_OK;
}

int nl_rules(int family, struct nl_rule **out, size_t *n)
{
	struct vec v = {.size = sizeof(**out)};
	struct fib_rule_hdr h = {.family = (uint8_t)family};

	return vec_finish(
		&v,
		dump(NETLINK_ROUTE, RTM_GETRULE, &h, sizeof(h), rules_cb, &v),
		false, out, n);
}

/* ---- nfnetlink: nftables tables ---- */

static const char *nfproto_name(int f)
{
	switch (f) {
	case NFPROTO_INET:
		return "inet";
	case NFPROTO_IPV4:
		return "ip";
	case NFPROTO_IPV6:
		return "ip6";
	case NFPROTO_ARP:
		return "arp";
	case NFPROTO_BRIDGE:
		return "bridge";
	case NFPROTO_NETDEV:
		return "netdev";
	default:
		return "?";
	}
}

static int nft_cb(const struct nlmsghdr *nlh, void *data)
{
	struct vec *v = data;
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	const char *name = NULL;
	char **slot;

	mnl_attr_for_each(a, nlh, sizeof(*g))
	{
		if (mnl_attr_get_type(a) == NFTA_TABLE_NAME &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
			name = mnl_attr_get_str(a);
	}
	if (!name || !(slot = vec_push(v)))
		return MNL_CB_OK;
	if (asprintf(slot, "%s %s", nfproto_name(g->nfgen_family), name) < 0) {
		v->n--;
		v->err = ENOMEM;
	}
	return MNL_CB_OK;
}

static const struct nfgenmsg nft_all = {.nfgen_family = NFPROTO_UNSPEC,
					.version = NFNETLINK_V0};

int nl_nft_tables(char ***out, size_t *n)
{
	struct vec v = {.size = sizeof(**out)};

	return vec_finish(&v,
			  dump(NETLINK_NETFILTER,
			       (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE,
			       &nft_all, sizeof(nft_all), nft_cb, &v),
			  true, out, n);
}

/* Rules that touch TCP option 30 (MPTCP): an exthdr expression on TCP
 * option 30 (nft 'tcp option mptcp exists', 'reset tcp option mptcp'),
 * an xtables 'tcp' match on option 30 or a TCPOPTSTRIP target
 * (iptables-nft); and what the rule does with it (its verdict). */
struct nft_rule_scan {
	struct vec v;
	struct nl_nft_rule cur;
	char last[200]; /* family table chain of the previous rule */
	unsigned pos;
	bool opt30, present_pending, present_known, present;
	bool strip30, set30, strip_other, drop, reject;
};

static int exthdr_cb(const struct nlattr *a, void *data)
{
	uint32_t *vals = data; /* [0] op, [1] type, [2] dreg, [3] sreg,
				* [4] flags */

	switch (mnl_attr_get_type(a)) {
	case NFTA_EXTHDR_OP:
	case NFTA_EXTHDR_DREG:
	case NFTA_EXTHDR_SREG:
	case NFTA_EXTHDR_FLAGS:
		if (mnl_attr_get_payload_len(a) < 4)
			break;
		vals[mnl_attr_get_type(a) == NFTA_EXTHDR_OP	? 0
		     : mnl_attr_get_type(a) == NFTA_EXTHDR_DREG ? 2
		     : mnl_attr_get_type(a) == NFTA_EXTHDR_SREG ? 3
								: 4] =
			ntohl(mnl_attr_get_u32(a));
		break;
	case NFTA_EXTHDR_TYPE:
		if (mnl_attr_get_payload_len(a) >= 1)
			vals[1] = mnl_attr_get_u8(a);
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

struct expr_parts {
	const char *name;
	const struct nlattr *data;
};

static int expr_cb(const struct nlattr *a, void *data)
{
	struct expr_parts *e = data;

	if (mnl_attr_get_type(a) == NFTA_EXPR_NAME &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
		e->name = mnl_attr_get_str(a);
	else if (mnl_attr_get_type(a) == NFTA_EXPR_DATA)
		e->data = a;
	return MNL_CB_OK;
}

/* An attribute of a nested expression, by type. */
struct attr_pick {
	uint16_t type;
	const struct nlattr *a;
};

static int pick_cb(const struct nlattr *a, void *data)
{
	struct attr_pick *p = data;

	if (mnl_attr_get_type(a) == p->type)
		p->a = a;
	return MNL_CB_OK;
}

static const struct nlattr *nested(const struct nlattr *a, uint16_t type)
{
	struct attr_pick p = {.type = type};

	if (a)
		mnl_attr_parse_nested(a, pick_cb, &p);
	return p.a;
}

/* An xtables target or match: its name and its info blob. */
static void xt_parts(const struct nlattr *data, uint16_t name_type,
		     uint16_t info_type, const char **name, const void **info,
		     size_t *len)
{
	const struct nlattr *n = nested(data, name_type);
	const struct nlattr *i = nested(data, info_type);

	*name = n && mnl_attr_validate(n, MNL_TYPE_NUL_STRING) >= 0
			? mnl_attr_get_str(n)
			: "";
	*info = i ? mnl_attr_get_payload(i) : NULL;
	*len = i ? mnl_attr_get_payload_len(i) : 0;
}

/* struct xt_tcp (linux/netfilter/xt_tcpudp.h), its option fields */
#define XT_TCP_OPTION_OFF   8
#define XT_TCP_INVFLAGS_OFF 11
#define XT_TCP_INV_OPT	    0x04

static void scan_expr(struct nft_rule_scan *s, const char *name,
		      const struct nlattr *data)
{
	const char *xn;
	const void *info;
	size_t len;

	if (strcmp(name, "exthdr") == 0) {
		uint32_t vals[5] = {~0u, ~0u, 0, 0, 0};

		mnl_attr_parse_nested(data, exthdr_cb, vals);
		if (vals[0] != NFT_EXTHDR_OP_TCPOPT || vals[1] != 30)
			return;
		s->opt30 = true;
		if (vals[3])
			s->set30 = true; /* 'tcp option mptcp ... set' */
		else if (!vals[2])
			s->strip30 = true; /* no register: 'reset' */
		else if (vals[4] & NFT_EXTHDR_F_PRESENT)
			s->present_pending = true;
	} else if (strcmp(name, "cmp") == 0 && s->present_pending) {
		const struct nlattr *op = nested(data, NFTA_CMP_OP);
		const struct nlattr *v =
			nested(nested(data, NFTA_CMP_DATA), NFTA_DATA_VALUE);
		bool eq = !op || mnl_attr_get_payload_len(op) < 4 ||
			  ntohl(mnl_attr_get_u32(op)) == NFT_CMP_EQ;
		bool one = v && mnl_attr_get_payload_len(v) >= 1 &&
			   *(const uint8_t *)mnl_attr_get_payload(v) != 0;

		s->present_pending = false;
		s->present_known = true;
		s->present = eq == one; /* 'exists', or 'missing' */
	} else if (strcmp(name, "immediate") == 0) {
		const struct nlattr *code =
			nested(nested(nested(data, NFTA_IMMEDIATE_DATA),
				      NFTA_DATA_VERDICT),
			       NFTA_VERDICT_CODE);

		if (code && mnl_attr_get_payload_len(code) >= 4 &&
		    ntohl(mnl_attr_get_u32(code)) == NF_DROP)
			s->drop = true;
	} else if (strcmp(name, "reject") == 0) {
		s->reject = true;
	} else if (strcmp(name, "target") == 0) {
		xt_parts(data, NFTA_TARGET_NAME, NFTA_TARGET_INFO, &xn, &info,
			 &len);
		s->cur.xt = true;
		if (strcmp(xn, "REJECT") == 0) {
			s->reject = true;
		} else if (strcmp(xn, "TCPOPTSTRIP") == 0) {
			uint32_t bmap0 = 0;

			if (len >= 4)
				memcpy(&bmap0, info, 4);
			if (bmap0 & (1u << 30))
				s->strip30 = true;
			else
				s->strip_other = true;
		}
	} else if (strcmp(name, "match") == 0) {
		xt_parts(data, NFTA_MATCH_NAME, NFTA_MATCH_INFO, &xn, &info,
			 &len);
		s->cur.xt = true;
		if (strcmp(xn, "tcp") == 0 && len > XT_TCP_INVFLAGS_OFF &&
		    ((const uint8_t *)info)[XT_TCP_OPTION_OFF] == 30) {
			s->opt30 = true;
			s->present_known = true;
			s->present =
				!(((const uint8_t *)info)[XT_TCP_INVFLAGS_OFF] &
				  XT_TCP_INV_OPT);
		}
	}
}

static int list_elem_cb(const struct nlattr *a, void *data)
{
	struct expr_parts e = {0};

	if (mnl_attr_get_type(a) != NFTA_LIST_ELEM)
		return MNL_CB_OK;
	mnl_attr_parse_nested(a, expr_cb, &e);
	if (e.name && e.data)
		scan_expr(data, e.name, e.data);
	return MNL_CB_OK;
}

struct rule_ids {
	const char *table, *chain;
	uint64_t handle;
	const struct nlattr *exprs;
};

static int rule_attr_cb(const struct nlattr *a, void *data)
{
	struct rule_ids *r = data;

	switch (mnl_attr_get_type(a)) {
	case NFTA_RULE_TABLE:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
			r->table = mnl_attr_get_str(a);
		break;
	case NFTA_RULE_CHAIN:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
			r->chain = mnl_attr_get_str(a);
		break;
	case NFTA_RULE_HANDLE:
		if (mnl_attr_get_payload_len(a) >= 8)
			r->handle = be64toh(mnl_attr_get_u64(a));
		break;
	case NFTA_RULE_EXPRESSIONS:
		r->exprs = a;
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

/* What the rule does to a connection that uses MPTCP. */
static enum nl_opt30 rule_action(const struct nft_rule_scan *s)
{
	if (s->strip30)
		return NL_OPT30_STRIP;
	if (s->set30)
		return NL_OPT30_SET;
	if (s->opt30 && s->present_known && !s->present)
		return NL_OPT30_MISSING;
	if (s->opt30 && s->drop)
		return NL_OPT30_DROP;
	if (s->opt30 && s->reject)
		return NL_OPT30_REJECT;
	if (s->opt30)
		return NL_OPT30_MATCH;
	return NL_OPT30_STRIP_OTHER;
}

static int nft_rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nft_rule_scan *s = data;
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	struct rule_ids r = {0};
	struct nl_nft_rule *slot;
	char key[200];

	mnl_attr_parse(nlh, sizeof(*g), rule_attr_cb, &r);
	if (!r.exprs || !r.table || !r.chain)
		return MNL_CB_OK;
	/* the rule's place in its chain: a dump gives each chain's rules
	 * in order, as 'iptables -D CHAIN N' counts them */
	snprintf(key, sizeof(key), "%d %s %s", g->nfgen_family, r.table,
		 r.chain);
	s->pos = strcmp(key, s->last) == 0 ? s->pos + 1 : 1;
	memcpy(s->last, key, sizeof(key));
	memset(&s->cur, 0, sizeof(s->cur));
	s->opt30 = s->present_pending = s->present_known = s->present = false;
	s->strip30 = s->set30 = s->strip_other = s->drop = s->reject = false;
	mnl_attr_parse_nested(r.exprs, list_elem_cb, s);
	if (!s->opt30 && !s->strip30 && !s->strip_other)
		return MNL_CB_OK;
	if (!(slot = vec_push(&s->v)))
		return MNL_CB_OK;
	*slot = s->cur;
	snprintf(slot->family, sizeof(slot->family), "%s",
		 nfproto_name(g->nfgen_family));
	snprintf(slot->table, sizeof(slot->table), "%s", r.table);
	snprintf(slot->chain, sizeof(slot->chain), "%s", r.chain);
	slot->handle = r.handle;
	slot->pos = s->pos;
	slot->act = rule_action(s);
	return MNL_CB_OK;
}

int nl_nft_mptcp_rules(struct nl_nft_rule **out, size_t *n)
{
	struct nft_rule_scan s = {.v = {.size = sizeof(**out)}};

	return vec_finish(&s.v,
			  dump(NETLINK_NETFILTER,
			       (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE,
			       &nft_all, sizeof(nft_all), nft_rule_cb, &s),
			  false, out, n);
}
