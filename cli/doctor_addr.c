/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim doctor: this machine's usable addresses (up, not loopback, not
 * link-local), and which MPTCP endpoint each one is.
 */
#include "doctor.h"

#include <ifaddrs.h>

size_t alen(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

static unsigned prefix_of(const struct sockaddr *mask)
{
	const uint8_t *p;
	unsigned bits = 0;
	size_t n;

	if (!mask)
		return 0;
	if (mask->sa_family == AF_INET) {
		p = (const uint8_t *)&(
			    (const struct sockaddr_in *)(const void *)mask)
			    ->sin_addr;
		n = 4;
	} else {
		p = ((const struct sockaddr_in6 *)(const void *)mask)
			    ->sin6_addr.s6_addr;
		n = 16;
	}
	for (size_t i = 0; i < n; i++)
		bits += (unsigned)__builtin_popcount(p[i]);
	return bits;
}

/* Addresses an endpoint can use: up, not loopback, not link-local. */
size_t usable_addresses(struct addr *out, size_t max)
{
	struct ifaddrs *ifa, *i;
	size_t n = 0;

	if (getifaddrs(&ifa) != 0)
		return 0;
	for (i = ifa; i && n < max; i = i->ifa_next) {
		struct addr *a = &out[n];

		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) ||
		    (i->ifa_flags & IFF_LOOPBACK))
			continue;
		memset(a, 0, sizeof(*a));
		if (i->ifa_addr->sa_family == AF_INET) {
			memcpy(a->a,
			       &((struct sockaddr_in *)(void *)i->ifa_addr)
					->sin_addr,
			       4);
			if (a->a[0] == 127 ||
			    (a->a[0] == 169 && a->a[1] == 254))
				continue;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			const struct in6_addr *a6 =
				&((struct sockaddr_in6 *)(void *)i->ifa_addr)
					 ->sin6_addr;

			if (IN6_IS_ADDR_LINKLOCAL(a6) ||
			    IN6_IS_ADDR_LOOPBACK(a6))
				continue;
			memcpy(a->a, a6, 16);
		} else {
			continue;
		}
		a->family = i->ifa_addr->sa_family;
		inet_ntop(a->family, a->a, a->text, sizeof(a->text));
		snprintf(a->ifname, sizeof(a->ifname), "%s", i->ifa_name);
		a->ifindex = (int)if_nametoindex(i->ifa_name);
		a->prefix = prefix_of(i->ifa_netmask);
		n++;
	}
	freeifaddrs(ifa);
	return n;
}

const struct nl_endpoint *endpoint_of(const struct addr *a)
{
	for (size_t i = 0; i < dr.nep; i++)
		if (dr.ep[i].family == a->family &&
		    memcmp(dr.ep[i].addr, a->a, alen(a->family)) == 0)
			return &dr.ep[i];
	return NULL;
}

const char *ifname_of(int ifindex, char *buf)
{
	if (ifindex <= 0 || !if_indextoname((unsigned)ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "?");
	return buf;
}
