/* SPDX-License-Identifier: MIT */
/*
 * mptcpshim configuration: the settings table, parsing and matching.
 *
 * Pure code: no interposition, no global state, no I/O besides what the
 * caller passes in. The library, the unit tests, the mptcpshim command
 * and the man pages' generator all use it, so there is exactly one parser
 * and one description of each setting. Not an installed API: the library
 * exports only the functions it interposes.
 */
#ifndef MPTCPSHIM_CONFIG_H
#define MPTCPSHIM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define MS_ERRLEN 256

enum ms_log_level {
	MS_LOG_OFF = 0,
	MS_LOG_ERROR,
	MS_LOG_WARN,
	MS_LOG_INFO,
	MS_LOG_DEBUG,
};

/* One allowlist entry: a port range, optionally tied to one address. */
struct ms_rule {
	uint16_t lo, hi;
	uint8_t family; /* 0: any address; AF_INET or AF_INET6 otherwise */
	uint8_t addr[16];
};

enum ms_list_mode {
	MS_LIST_UNSET = 0, /* not given anywhere */
	MS_LIST_NONE,
	MS_LIST_ALL,
	MS_LIST_RULES,
};

struct ms_portlist {
	enum ms_list_mode mode;
	size_t n;
	struct ms_rule *rules;
};

/* Socket options named in the `tolerate` setting. */
#define MS_TOLERATE_MAX 32
struct ms_optset {
	unsigned n;
	struct {
		int level, name;
	} o[MS_TOLERATE_MAX];
};

/* Where an effective setting came from, for messages and `check`. */
enum ms_source {
	MS_SRC_DEFAULT = 0,
	MS_SRC_FILE,
	MS_SRC_ENV,
};

/* The settings, in the order of the table below (and of `check`). Those
 * with a file key come first; MS_SET_CONFIG (the file's own path) is a
 * variable and an option only. */
enum ms_setting_id {
	MS_SET_PORTS,
	MS_SET_CONNECT,
	MS_SET_TOLERATE,
	MS_SET_LOG,
	MS_SET_STRICT,
	MS_SET_CONFIG,
	MS_NSETTINGS,
};
#define MS_NKEYS MS_SET_CONFIG /* settings that a file can hold */

struct ms_config {
	struct ms_portlist ports;   /* listeners: unset means all */
	struct ms_portlist connect; /* destinations: unset means none */
	struct ms_optset tolerate;
	enum ms_log_level log;
	bool strict;
	/* Where each setting came from: src[MS_SET_...], or by name. */
	union {
		enum ms_source src[MS_NSETTINGS];
		struct {
			enum ms_source ports_src, connect_src, tolerate_src,
				log_src, strict_src, config_src;
		};
	};
	/* The configuration was invalid: convert nothing. */
	bool broken;
};

/*
 * One row per setting: what the library reads (the file key, the
 * variable), how it is parsed and written back, and what the mptcpshim
 * command offers for it (`--KEY ARG`, or a flag) and documents (`check`,
 * --help, the man pages). A new setting is one row here and one member
 * of struct ms_config.
 */
struct ms_setting {
	const char *name; /* file key and option name: "ports" (--ports) */
	const char *var;  /* environment variable: "MPTCPSHIM_PORTS" */
	bool in_file;	  /* a key of the configuration file */
	const char *arg;  /* the option's argument ("LIST"); NULL: a flag */
	const char *flag; /* a flag's value in the variable ("1") */
	const char *def;  /* the default, as `check` shows it */
	const char *doc;  /* one line: what it does */
	/* Parses s into cfg (NULL: not a setting of struct ms_config). */
	bool (*parse)(const char *s, struct ms_config *cfg, char *err);
	/* Writes cfg's value as the setting's syntax; false if too long. */
	bool (*format)(const struct ms_config *cfg, char *buf, size_t len);
};
extern const struct ms_setting ms_settings[MS_NSETTINGS];

/* The row of a file key or option name; NULL if there is none. */
const struct ms_setting *ms_setting_find(const char *name);

/* "ports=443\nconnect=none\n...": every setting of the file with its
 * value, one "name=value" line each (what a running library publishes).
 * Returns false if it did not fit in len bytes. */
bool ms_config_describe(const struct ms_config *cfg, char *buf, size_t len);

/* Value parsers. On failure they return false and write a one-line
 * message naming the offending text into err (MS_ERRLEN bytes). */
bool ms_parse_ports(const char *s, struct ms_portlist *out, char *err);
bool ms_parse_log(const char *s, enum ms_log_level *out, char *err);
bool ms_parse_bool(const char *s, bool *out, char *err);
/* "TCP_NODELAY,TCP_CORK" or "none" */
bool ms_parse_optset(const char *s, struct ms_optset *out, char *err);

/* Applies "key = value" lines of a configuration file to cfg (marking the
 * keys as coming from the file). name is used in messages. */
bool ms_parse_file(const char *text, size_t len, const char *name,
		   struct ms_config *cfg, char *err);

/* Environment overrides, each may be NULL (not set): value[MS_SET_...],
 * or by name. ms_apply_env() ignores config (the caller reads the file). */
struct ms_env {
	union {
		const char *value[MS_NSETTINGS];
		struct {
			const char *ports, *connect, *tolerate, *log, *strict,
				*config;
		};
	};
};
bool ms_apply_env(const struct ms_env *env, struct ms_config *cfg, char *err);

/* cfgfile.c: reads the MPTCPSHIM_* variables of the table
 * (secure_getenv), MPTCPSHIM_CONFIG included. */
void ms_env_read(struct ms_env *env);
/* cfgfile.c: reads and applies a configuration file. A missing file is no
 * error unless explicit_path; /dev/null means none. A privileged process
 * (root, or setuid/setgid) refuses a file that is owned by another user
 * or writable by group or others. *present: the file exists. */
bool ms_load_file(const char *path, bool explicit_path, struct ms_config *cfg,
		  bool *present, char *err);

/* cfgfile.c: the same for a file already open (path: its name in
 * messages), for a caller that opened it itself (inside a root). */
bool ms_load_fd(int fd, const char *path, struct ms_config *cfg, char *err);

/* cfgfile.c: the file, then the variables (env may be NULL) over it, on
 * a cfg from ms_config_init(): what the library does at load. */
bool ms_config_read(struct ms_config *cfg, const char *path, bool explicit_path,
		    const struct ms_env *env, bool *present, char *err);

void ms_config_init(struct ms_config *cfg);
void ms_config_free(struct ms_config *cfg);
void ms_portlist_free(struct ms_portlist *pl);

/* Does a bind to this address belong to the allowlist? Port 0 never does.
 * An unset list means every port (the documented default). */
bool ms_portlist_match(const struct ms_portlist *pl, const struct sockaddr *sa,
		       socklen_t len);

/* Does a connect() to this destination belong to the `connect` list? An
 * unset list means none (outbound connections stay TCP unless named). */
bool ms_connect_match(const struct ms_portlist *pl, const struct sockaddr *sa,
		      socklen_t len);

/* Would a socket bound anywhere ever be converted? Used so that socket()
 * does no tracking at all with `none`. */
bool ms_portlist_may_match(const struct ms_portlist *pl);
/* The same for the `connect` list. */
bool ms_connect_may_match(const struct ms_portlist *pl);

/* Is (level, name) in the set? */
bool ms_optset_has(const struct ms_optset *set, int level, int name);
/* Writes the set as "TCP_NODELAY,TCP_CORK" (or "none"). */
bool ms_optset_format(const struct ms_optset *set, char *buf, size_t len);

/* Socket option names, for messages and the `tolerate` setting. */
const char *ms_opt_name(int level, int name);
bool ms_opt_lookup(const char *str, int *level, int *name);

const char *ms_log_level_name(enum ms_log_level l);
const char *ms_source_name(enum ms_source s);

/* Writes the list back in the configuration syntax ("all", "none",
 * "443,8000-8099,[2001:db8::1]:443"). Returns false if it did not fit. */
bool ms_portlist_format(const struct ms_portlist *pl, char *buf, size_t len);

/* The fallback decision: does this errno from socket(..., IPPROTO_MPTCP)
 * mean "no MPTCP here" (as opposed to a resource shortage)? Both lead to a
 * fallback; the distinction is for the message. */
bool ms_errno_means_no_mptcp(int e);

#endif
