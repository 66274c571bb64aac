/* SPDX-License-Identifier: MIT */
/* Can LD_PRELOAD reach a program? See progcheck.h. */
#include "progcheck.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static bool read_at(int fd, void *buf, size_t len, uint64_t off)
{
	return pread(fd, buf, len, (off_t)off) == (ssize_t)len;
}

/* "\xff Go buildinf:", then pointer size, flags; with flag 2 the version
 * string follows at offset 32 as a varint length and the bytes. */
static void go_version(int fd, const Elf64_Shdr *sh, char *out, size_t len)
{
	unsigned char b[64];
	size_t n;

	if (sh->sh_size < 33 ||
	    !read_at(fd, b, sizeof(b) < sh->sh_size ? sizeof(b) : sh->sh_size,
		     sh->sh_offset))
		return;
	if (memcmp(b, "\xff Go buildinf:", 14) != 0 || !(b[15] & 2))
		return;
	n = b[32];
	if (n == 0 || n >= len || n > sizeof(b) - 33 || n >= 0x80)
		return;
	memcpy(out, b + 33, n);
	out[n] = '\0';
}

static int inspect_elf64(int fd, struct prog_info *p)
{
	Elf64_Ehdr eh;
	Elf64_Shdr *sh = NULL, shstr;
	char *names = NULL;

	if (!read_at(fd, &eh, sizeof(eh), 0))
		return EIO;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		if (!read_at(fd, &ph, sizeof(ph),
			     eh.e_phoff + (uint64_t)i * eh.e_phentsize))
			return EIO;
		if (ph.p_type == PT_INTERP)
			p->is_static = false;
	}
	if (eh.e_shnum == 0 || eh.e_shstrndx >= eh.e_shnum ||
	    eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum > 4096)
		return 0; /* stripped of section headers: no Go check */
	sh = calloc(eh.e_shnum, sizeof(*sh));
	if (!sh)
		return ENOMEM;
	if (!read_at(fd, sh, eh.e_shnum * sizeof(*sh), eh.e_shoff))
		goto out;
	shstr = sh[eh.e_shstrndx];
	if (shstr.sh_size == 0 || shstr.sh_size > (1u << 20))
		goto out;
	names = malloc(shstr.sh_size + 1);
	if (!names || !read_at(fd, names, shstr.sh_size, shstr.sh_offset))
		goto out;
	names[shstr.sh_size] = '\0';
	for (unsigned i = 0; i < eh.e_shnum; i++) {
		const char *nm;

		if (sh[i].sh_name >= shstr.sh_size)
			continue;
		nm = names + sh[i].sh_name;
		if (strcmp(nm, ".go.buildinfo") == 0) {
			p->go = true;
			go_version(fd, &sh[i], p->go_version,
				   sizeof(p->go_version));
		} else if (strcmp(nm, ".note.go.buildid") == 0 ||
			   strcmp(nm, ".gopclntab") == 0) {
			p->go = true;
		}
	}
out:
	free(names);
	free(sh);
	return 0;
}

int prog_inspect(const char *path, struct prog_info *p)
{
	unsigned char id[EI_NIDENT];
	struct stat st;
	int fd, e = 0;

	memset(p, 0, sizeof(*p));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (fstat(fd, &st) != 0) {
		e = errno;
		goto out;
	}
	p->setuid = (st.st_mode & S_ISUID) != 0;
	p->setgid = (st.st_mode & S_ISGID) && (st.st_mode & S_IXGRP);
	p->filecaps = fgetxattr(fd, "security.capability", NULL, 0) > 0;
	if (!read_at(fd, id, 2, 0))
		goto out;
	if (id[0] == '#' && id[1] == '!') {
		p->script = true;
		goto out;
	}
	if (!read_at(fd, id, sizeof(id), 0) ||
	    memcmp(id, ELFMAG, SELFMAG) != 0 || id[EI_CLASS] != ELFCLASS64)
		goto out;
	p->elf = true;
	p->is_static = true; /* until a PT_INTERP says otherwise */
	e = inspect_elf64(fd, p);
out:
	close(fd);
	return e;
}

bool prog_unreachable(const struct prog_info *p)
{
	return p->setuid || p->setgid || p->filecaps || p->go ||
	       (p->elf && p->is_static);
}
