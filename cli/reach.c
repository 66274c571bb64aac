/* SPDX-License-Identifier: MIT */
/*
 * Can LD_PRELOAD reach a program (see reach.h)? Read from the file
 * itself: its ELF headers (a program interpreter, the class and machine),
 * Go's build information (the ".go.buildinfo" section, or its magic in the
 * data segment), and what the kernel looks at on execve (setuid, setgid,
 * the security.capability attribute, a nosuid mount, no_new_privs).
 */
#include "reach.h"

#include "cli.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_PHDR    128
#define MAX_SHDR    4096
#define MAX_SCRIPTS 4 /* nested #! interpreters, as the kernel allows */
/* Go's build information starts with this, 16-byte aligned. */
static const char go_magic[14] = "\xff Go buildinf:";
#define GO_FLAG_BIGENDIAN 0x1
#define GO_FLAG_INLINE	  0x2 /* Go 1.18+: the strings follow the header */
#define GO_SCAN_MAX	  (512u << 20)

struct phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, filesz;
};

struct elf {
	bool is64, swap;
	unsigned char data;
	uint16_t type, machine;
	bool interp;
	size_t nph;
	struct phdr ph[MAX_PHDR];
	uint64_t shoff;
	uint16_t shnum, shentsize, shstrndx;
};

void reach_runner_self(struct reach_runner *as)
{
	as->uid = getuid();
	as->gid = getgid();
	as->known = true;
	as->no_new_privs = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1;
}

static bool read_at(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got,
				  (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

static uint16_t get16(const struct elf *e, uint16_t v)
{
	return e->swap ? __builtin_bswap16(v) : v;
}

static uint32_t get32(const struct elf *e, uint32_t v)
{
	return e->swap ? __builtin_bswap32(v) : v;
}

static uint64_t get64(const struct elf *e, uint64_t v)
{
	return e->swap ? __builtin_bswap64(v) : v;
}

static bool host_is_big_endian(void)
{
	const uint16_t one = 1;

	return *(const unsigned char *)&one == 0;
}

/* The ELF header and program headers; false if fd is no ELF file. */
static bool elf_read(int fd, struct elf *e)
{
	unsigned char ident[EI_NIDENT];
	uint64_t phoff;
	uint16_t phnum, phentsize;

	memset(e, 0, sizeof(*e));
	if (!read_at(fd, ident, sizeof(ident), 0) ||
	    memcmp(ident, ELFMAG, SELFMAG) != 0)
		return false;
	if (ident[EI_CLASS] != ELFCLASS32 && ident[EI_CLASS] != ELFCLASS64)
		return false;
	if (ident[EI_DATA] != ELFDATA2LSB && ident[EI_DATA] != ELFDATA2MSB)
		return false;
	e->is64 = ident[EI_CLASS] == ELFCLASS64;
	e->data = ident[EI_DATA];
	e->swap = (e->data == ELFDATA2MSB) != host_is_big_endian();
	if (e->is64) {
		Elf64_Ehdr h;

		if (!read_at(fd, &h, sizeof(h), 0))
			return false;
		e->type = get16(e, h.e_type);
		e->machine = get16(e, h.e_machine);
		phoff = get64(e, h.e_phoff);
		phnum = get16(e, h.e_phnum);
		phentsize = get16(e, h.e_phentsize);
		e->shoff = get64(e, h.e_shoff);
		e->shnum = get16(e, h.e_shnum);
		e->shentsize = get16(e, h.e_shentsize);
		e->shstrndx = get16(e, h.e_shstrndx);
		if (phnum && phentsize < sizeof(Elf64_Phdr))
			return false;
	} else {
		Elf32_Ehdr h;

		if (!read_at(fd, &h, sizeof(h), 0))
			return false;
		e->type = get16(e, h.e_type);
		e->machine = get16(e, h.e_machine);
		phoff = get32(e, h.e_phoff);
		phnum = get16(e, h.e_phnum);
		phentsize = get16(e, h.e_phentsize);
		e->shoff = get32(e, h.e_shoff);
		e->shnum = get16(e, h.e_shnum);
		e->shentsize = get16(e, h.e_shentsize);
		e->shstrndx = get16(e, h.e_shstrndx);
		if (phnum && phentsize < sizeof(Elf32_Phdr))
			return false;
	}
	for (uint16_t i = 0; i < phnum && e->nph < MAX_PHDR; i++) {
		struct phdr *p = &e->ph[e->nph];
		uint64_t at = phoff + (uint64_t)i * phentsize;

		if (e->is64) {
			Elf64_Phdr ph;

			if (!read_at(fd, &ph, sizeof(ph), at))
				return false;
			p->type = get32(e, ph.p_type);
			p->flags = get32(e, ph.p_flags);
			p->offset = get64(e, ph.p_offset);
			p->vaddr = get64(e, ph.p_vaddr);
			p->filesz = get64(e, ph.p_filesz);
		} else {
			Elf32_Phdr ph;

			if (!read_at(fd, &ph, sizeof(ph), at))
				return false;
			p->type = get32(e, ph.p_type);
			p->flags = get32(e, ph.p_flags);
			p->offset = get32(e, ph.p_offset);
			p->vaddr = get32(e, ph.p_vaddr);
			p->filesz = get32(e, ph.p_filesz);
		}
		if (p->type == PT_INTERP)
			e->interp = true;
		e->nph++;
	}
	return true;
}

/* The file offset of a section by name; false if there is none (or the
 * section headers were stripped). */
static bool elf_section(int fd, const struct elf *e, const char *name,
			uint64_t *off, uint64_t *size)
{
	uint64_t stroff = 0, strsize = 0;
	char want[64];
	size_t n = strlen(name) + 1;

	if (!e->shoff || !e->shnum || e->shnum > MAX_SHDR ||
	    e->shstrndx >= e->shnum || n > sizeof(want))
		return false;
	for (int pass = 0; pass < 2; pass++) {
		/* pass 0: the section names' table; pass 1: the sections */
		for (uint16_t i = pass ? 0 : e->shstrndx;
		     i < (pass ? e->shnum : e->shstrndx + 1); i++) {
			uint64_t at = e->shoff + (uint64_t)i * e->shentsize;
			uint64_t soff, ssize;
			uint32_t sname, stype;

			if (e->is64) {
				Elf64_Shdr sh;

				if (e->shentsize < sizeof(sh) ||
				    !read_at(fd, &sh, sizeof(sh), at))
					return false;
				sname = get32(e, sh.sh_name);
				stype = get32(e, sh.sh_type);
				soff = get64(e, sh.sh_offset);
				ssize = get64(e, sh.sh_size);
			} else {
				Elf32_Shdr sh;

				if (e->shentsize < sizeof(sh) ||
				    !read_at(fd, &sh, sizeof(sh), at))
					return false;
				sname = get32(e, sh.sh_name);
				stype = get32(e, sh.sh_type);
				soff = get32(e, sh.sh_offset);
				ssize = get32(e, sh.sh_size);
			}
			if (!pass) {
				stroff = soff;
				strsize = ssize;
				continue;
			}
			if (stype == SHT_NOBITS || sname + n > strsize ||
			    !read_at(fd, want, n, stroff + sname))
				continue;
			if (memcmp(want, name, n) == 0) {
				*off = soff;
				*size = ssize;
				return true;
			}
		}
	}
	return false;
}

/* Without section headers: the magic, 16-byte aligned, in a writable
 * loaded segment (where the Go linker puts it). */
static bool go_scan(int fd, const struct elf *e, uint64_t *at)
{
	static char buf[1 << 16];
	uint64_t scanned = 0;

	for (size_t i = 0; i < e->nph; i++) {
		const struct phdr *p = &e->ph[i];
		uint64_t start = (p->offset + 15) & ~(uint64_t)15;

		if (p->type != PT_LOAD || !(p->flags & PF_W))
			continue;
		for (uint64_t off = start; off < p->offset + p->filesz;
		     off += sizeof(buf) - 16) {
			size_t want = sizeof(buf);
			ssize_t got;

			if (scanned > GO_SCAN_MAX)
				return false;
			got = pread(fd, buf, want, (off_t)off);
			if (got < (ssize_t)sizeof(go_magic))
				break;
			scanned += (uint64_t)got;
			for (ssize_t k = 0;
			     k + (ssize_t)sizeof(go_magic) <= got; k += 16) {
				if (memcmp(buf + k, go_magic,
					   sizeof(go_magic)) == 0) {
					*at = off + (uint64_t)k;
					return true;
				}
			}
		}
	}
	return false;
}

/* A Go varint (LEB128) at p, within end; 0 bytes used on error. */
static size_t uvarint(const unsigned char *p, const unsigned char *end,
		      uint64_t *v)
{
	uint64_t x = 0;

	for (size_t i = 0; p + i < end && i < 10; i++) {
		x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*v = x;
			return i + 1;
		}
	}
	return 0;
}

/* A virtual address of the program as a file offset. */
static bool vaddr_offset(const struct elf *e, uint64_t va, uint64_t *off)
{
	for (size_t i = 0; i < e->nph; i++) {
		const struct phdr *p = &e->ph[i];

		if (p->type == PT_LOAD && va >= p->vaddr &&
		    va < p->vaddr + p->filesz) {
			*off = p->offset + (va - p->vaddr);
			return true;
		}
	}
	return false;
}

static uint64_t go_ptr(const unsigned char *p, unsigned size, bool big)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)p[big ? size - 1 - i : i] << (8 * i);
	return v;
}

/* Before Go 1.18 the header holds pointers to Go string headers. */
static bool go_string_at(int fd, const struct elf *e, uint64_t va,
			 unsigned psize, bool big, char *out, size_t len)
{
	unsigned char hdr[16];
	uint64_t off, data, n;

	if (!vaddr_offset(e, va, &off) || !read_at(fd, hdr, 2 * psize, off))
		return false;
	data = go_ptr(hdr, psize, big);
	n = go_ptr(hdr + psize, psize, big);
	if (n >= len || !vaddr_offset(e, data, &off) ||
	    !read_at(fd, out, (size_t)n, off))
		return false;
	out[n] = '\0';
	return true;
}

/* multipathtcp's value in the module's DefaultGODEBUG line, if any. */
static void go_default_godebug(const char *modinfo, size_t len,
			       struct reach_result *r)
{
	static const char key[] = "DefaultGODEBUG=";
	const char *p = memmem(modinfo, len, key, sizeof(key) - 1);
	const char *end;

	if (!p)
		return;
	p += sizeof(key) - 1;
	end = memchr(p, '\n', len - (size_t)(p - modinfo));
	if (!end)
		end = modinfo + len;
	while (p < end) {
		size_t n = (size_t)(end - p), item = strcspn(p, ",\n");

		if (item > n)
			item = n;
		if (item > 13 && strncmp(p, "multipathtcp=", 13) == 0)
			snprintf(r->go_default_godebug,
				 sizeof(r->go_default_godebug), "%.*s",
				 (int)(item - 13), p + 13);
		p += item + 1;
	}
}

/* Go's build information at file offset at: its version and defaults. */
static void go_parse(int fd, const struct elf *e, uint64_t at,
		     struct reach_result *r)
{
	unsigned char hdr[32], *buf;
	const unsigned char *p, *end;
	unsigned psize;
	bool big;
	ssize_t got;
	uint64_t n;
	size_t used;

	if (!read_at(fd, hdr, sizeof(hdr), at) ||
	    memcmp(hdr, go_magic, sizeof(go_magic)) != 0)
		return;
	psize = hdr[14];
	big = hdr[15] & GO_FLAG_BIGENDIAN;
	if (!(hdr[15] & GO_FLAG_INLINE)) {
		if (psize == 4 || psize == 8)
			go_string_at(fd, e, go_ptr(hdr + 16, psize, big), psize,
				     big, r->go_version, sizeof(r->go_version));
		return;
	}
	buf = malloc(1 << 16);
	if (!buf)
		return;
	got = pread(fd, buf, 1 << 16, (off_t)(at + sizeof(hdr)));
	if (got <= 0) {
		free(buf);
		return;
	}
	p = buf;
	end = buf + got;
	used = uvarint(p, end, &n);
	if (used && n < (uint64_t)(end - p - (ptrdiff_t)used) &&
	    n < sizeof(r->go_version)) {
		memcpy(r->go_version, p + used, (size_t)n);
		r->go_version[n] = '\0';
		p += used + n;
		used = uvarint(p, end, &n);
		if (used && n <= (uint64_t)(end - p - (ptrdiff_t)used))
			go_default_godebug((const char *)p + used, (size_t)n,
					   r);
	}
	free(buf);
}

static const char *machine_name(uint16_t m)
{
	switch (m) {
	case EM_386:
		return "i386";
	case EM_X86_64:
		return "x86-64";
	case EM_ARM:
		return "arm";
	case EM_AARCH64:
		return "aarch64";
	case EM_RISCV:
		return "riscv";
	case EM_PPC64:
		return "ppc64";
	case EM_S390:
		return "s390";
	default:
		return "another machine";
	}
}

/* Would the loader take the library into this program? */
static bool abi_matches(const struct elf *prog, const char *library,
			struct reach_result *r)
{
	struct elf lib;
	bool ok;
	int fd;

	if (!library)
		return true;
	fd = open(library, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true; /* run and enable say so themselves */
	ok = elf_read(fd, &lib);
	close(fd);
	if (!ok || (lib.is64 == prog->is64 && lib.machine == prog->machine &&
		    lib.data == prog->data))
		return true;
	snprintf(r->why, sizeof(r->why),
		 "a %d-bit %s program, and the library is %d-bit %s",
		 prog->is64 ? 64 : 32, machine_name(prog->machine),
		 lib.is64 ? 64 : 32, machine_name(lib.machine));
	return false;
}

/* Does execve put this file in secure-execution mode for this runner? */
static bool secure_exec(int fd, const struct reach_runner *as,
			struct reach_result *r)
{
	struct statvfs vfs;
	struct stat st;
	char caps[64];

	if (as->no_new_privs || fstat(fd, &st) != 0)
		return false;
	if (fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_NOSUID))
		return false; /* the kernel ignores the bits and the caps */
	if ((st.st_mode & S_ISUID) && (!as->known || st.st_uid != as->uid)) {
		snprintf(r->why, sizeof(r->why), "setuid (owner uid %u)",
			 (unsigned)st.st_uid);
		r->secure = REACH_SETUID;
		return true;
	}
	if ((st.st_mode & S_ISGID) && (st.st_mode & S_IXGRP) &&
	    (!as->known || st.st_gid != as->gid)) {
		snprintf(r->why, sizeof(r->why), "setgid (group gid %u)",
			 (unsigned)st.st_gid);
		r->secure = REACH_SETGID;
		return true;
	}
	/* File capabilities: a process whose real uid is 0 gains nothing,
	 * any other enters secure-execution mode. */
	if ((!as->known || as->uid != 0) &&
	    fgetxattr(fd, "security.capability", caps, sizeof(caps)) > 0) {
		snprintf(r->why, sizeof(r->why),
			 "a program with file capabilities (getcap shows "
			 "them)");
		r->secure = REACH_CAPS;
		return true;
	}
	return false;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* "#!/usr/bin/env python3" -> the interpreter's path, found inside
 * rootfd's PATH when it is env's argument. False if no script. */
static bool script_interpreter(int fd, int rootfd, char *out, size_t len)
{
	char line[256], *p, *word, *save = NULL;
	ssize_t n = pread(fd, line, sizeof(line) - 1, 0);
	const char *path;
	bool env;

	if (n < 3 || line[0] != '#' || line[1] != '!')
		return false;
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	p = line + 2;
	word = strtok_r(p, " \t", &save);
	if (!word)
		return false;
	env = strcmp(base_name(word), "env") == 0;
	if (!env) {
		snprintf(out, len, "%s", word);
		return true;
	}
	/* env [-S] [-u NAME] [NAME=VALUE]... PROGRAM */
	while ((word = strtok_r(NULL, " \t", &save))) {
		if (word[0] == '-' || strchr(word, '='))
			continue;
		break;
	}
	if (!word) {
		snprintf(out, len, "%s", line + 2);
		return true;
	}
	if (strchr(word, '/')) {
		snprintf(out, len, "%s", word);
		return true;
	}
	path = rootfd == AT_FDCWD ? getenv("PATH") : NULL;
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
		       "/sbin:/bin";
	while (*path) {
		size_t d = strcspn(path, ":");
		int probe;

		snprintf(out, len, "%.*s/%s", (int)d, path, word);
		probe = cli_open_in_root(rootfd, out, O_PATH);
		if (probe >= 0) {
			close(probe);
			return true;
		}
		path += d;
		path += *path == ':';
	}
	snprintf(out, len, "%s", word);
	return true;
}

bool reach_check(int rootfd, const char *path, const struct reach_runner *as,
		 const char *library, struct reach_result *r)
{
	struct elf e;
	uint64_t at, size;
	int fd;

	memset(r, 0, sizeof(*r));
	snprintf(r->file, sizeof(r->file), "%s", path);
	fd = cli_open_in_root(rootfd, path, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return false;
	for (int depth = 0; depth < MAX_SCRIPTS; depth++) {
		char interp[PATH_MAX];
		int next;

		if (!script_interpreter(fd, rootfd, interp, sizeof(interp)))
			break;
		/* the kernel ignores a script's own setuid bits: what
		 * counts is its interpreter */
		next = cli_open_in_root(rootfd, interp, O_RDONLY | O_NONBLOCK);
		if (next < 0) {
			close(fd);
			r->verdict = REACH_UNKNOWN;
			return true;
		}
		close(fd);
		fd = next;
		snprintf(r->file, sizeof(r->file), "%s", interp);
	}
	if (!elf_read(fd, &e)) {
		r->verdict = REACH_UNKNOWN;
	} else if ((elf_section(fd, &e, ".go.buildinfo", &at, &size) &&
		    size >= 32) ||
		   go_scan(fd, &e, &at)) {
		r->verdict = REACH_GO;
		go_parse(fd, &e, at, r);
	} else if (e.type != ET_EXEC && e.type != ET_DYN) {
		r->verdict = REACH_UNKNOWN;
	} else if (!e.interp && e.type == ET_DYN &&
		   strncmp(base_name(r->file), "ld-", 3) == 0) {
		r->verdict = REACH_UNKNOWN; /* the loader, running a program */
	} else if (!e.interp) {
		r->verdict = REACH_STATIC;
	} else if (!abi_matches(&e, library, r)) {
		r->verdict = REACH_ABI;
	} else if (secure_exec(fd, as, r)) {
		r->verdict = REACH_SECURE;
	} else {
		r->verdict = REACH_OK;
	}
	close(fd);
	return true;
}

/* "go1.22.5" -> 22; -1 if it cannot be read ("devel ..."). */
static int go_minor(const char *v)
{
	char *end;
	long m;

	if (strncmp(v, "go1.", 4) != 0)
		return -1;
	m = strtol(v + 4, &end, 10);
	return end == v + 4 ? -1 : (int)m;
}

/* The multipathtcp value in a GODEBUG list ("http2client=0,
 * multipathtcp=1"): the last one counts, as in Go. */
static const char *godebug_value(const char *godebug, char *buf, size_t len)
{
	const char *found = NULL;

	for (const char *p = godebug; p && *p;) {
		size_t item = strcspn(p, ",");

		if (item > 13 && strncmp(p, "multipathtcp=", 13) == 0) {
			snprintf(buf, len, "%.*s", (int)(item - 13), p + 13);
			found = buf;
		}
		p += item;
		p += *p == ',';
	}
	return found;
}

static void go_explain(const struct reach_result *r, const char *godebug,
		       char *what, size_t wlen, char *advice, size_t alen)
{
	int minor = go_minor(r->go_version);
	char gd[8];
	const char *env = godebug_value(godebug, gd, sizeof(gd));
	const char *value = env ? env : r->go_default_godebug;
	bool on;

	snprintf(what, wlen,
		 "%s is a Go program (%s): Go makes its socket calls without "
		 "libc, so LD_PRELOAD cannot convert them",
		 r->file, r->go_version[0] ? r->go_version : "version unknown");
	if (minor >= 0 && minor < 21) {
		snprintf(advice, alen,
			 "Go has MPTCP built in since 1.21: rebuild it with Go "
			 "1.24 or later, whose listeners use MPTCP by default");
		return;
	}
	if (minor >= 21 && minor < 24) {
		if (env && strcmp(env, "1") == 0)
			snprintf(advice, alen,
				 "its listeners use MPTCP already "
				 "(GODEBUG=multipathtcp=1)");
		else
			snprintf(advice, alen,
				 "Go 1.21 to 1.23 have MPTCP built in, off by "
				 "default: set GODEBUG=multipathtcp=1 (its "
				 "listeners and outbound connections)");
		return;
	}
	/* 1.24 and later, or unknown: listeners on unless 0 or 3 */
	on = !value || (strcmp(value, "0") != 0 && strcmp(value, "3") != 0);
	if (on && minor >= 24)
		snprintf(advice, alen,
			 "its listeners use MPTCP already: Go 1.24 and later "
			 "do by default (GODEBUG=multipathtcp=0 turns it off)");
	else if (on)
		snprintf(advice, alen,
			 "Go 1.24 and later use MPTCP for listeners by "
			 "default; Go 1.21-1.23 with GODEBUG=multipathtcp=1");
	else
		snprintf(advice, alen,
			 "its listeners stay TCP: multipathtcp=%s (%s); set "
			 "GODEBUG=multipathtcp=2 for MPTCP on its listeners "
			 "(1: on its outbound connections too)",
			 value,
			 env ? "from GODEBUG"
			     : "its go.mod is older than Go 1.24");
}

bool reach_explain(const struct reach_result *r, const char *godebug,
		   char *what, size_t wlen, char *advice, size_t alen)
{
	what[0] = advice[0] = '\0';
	switch (r->verdict) {
	case REACH_OK:
	case REACH_UNKNOWN:
		return false;
	case REACH_STATIC:
		snprintf(what, wlen,
			 "%s is statically linked: no loader runs for it, so "
			 "LD_PRELOAD does not apply and its sockets stay TCP",
			 r->file);
		snprintf(advice, alen,
			 "only dynamically linked programs that it starts get "
			 "the library");
		return true;
	case REACH_GO:
		go_explain(r, godebug, what, wlen, advice, alen);
		return true;
	case REACH_SECURE:
		snprintf(what, wlen,
			 "%s is %s: for this user the loader runs it in "
			 "secure-execution mode and ignores LD_PRELOAD, its "
			 "sockets stay TCP",
			 r->file, r->why);
		if (r->secure == REACH_CAPS)
			snprintf(advice, alen,
				 "give it its capabilities another way "
				 "(systemd's AmbientCapabilities=) and remove "
				 "the file's: setcap -r %s",
				 r->file);
		else
			snprintf(advice, alen,
				 "run it as the file's %s, or remove the %s "
				 "bit (chmod %s %s)",
				 r->secure == REACH_SETUID ? "owner" : "group",
				 r->secure == REACH_SETUID ? "setuid"
							   : "setgid",
				 r->secure == REACH_SETUID ? "u-s" : "g-s",
				 r->file);
		return true;
	case REACH_ABI:
		snprintf(what, wlen,
			 "%s is %s: the loader skips the library, its sockets "
			 "stay TCP",
			 r->file, r->why);
		snprintf(advice, alen,
			 "build libmptcpshim for that architecture and name it "
			 "with MPTCPSHIM_LIBRARY");
		return true;
	}
	return false;
}
