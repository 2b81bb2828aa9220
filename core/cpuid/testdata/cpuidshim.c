/*
 * cpuidshim: an LD_PRELOAD library that makes `cpuid -k` (read CPUID through
 * the kernel's /dev/cpuid device) read a made-up CPU instead. The tests use
 * it to run the real cpuid tool's leaf walk over fake Intel, AMD and
 * hypervisor CPUs and compare it with Enumerate.
 *
 * The device protocol: seek to (subleaf << 32) | leaf, read 16 bytes of
 * eax, ebx, ecx, edx. The answers come from the `cpuid -r` style dump named
 * by $CPUID_SHIM_TABLE; keys it lacks read as zeros.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

struct entry {
	unsigned int leaf, sub, regs[4];
};

static struct entry *table;
static size_t table_len;
static int fake_fd = -1;
static off64_t fake_pos;

static void load_table(void)
{
	const char *path = getenv("CPUID_SHIM_TABLE");
	if (path == NULL) {
		fprintf(stderr, "cpuidshim: CPUID_SHIM_TABLE is not set\n");
		exit(2);
	}
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		perror(path);
		exit(2);
	}
	char line[256];
	size_t cap = 0;
	while (fgets(line, sizeof line, f) != NULL) {
		struct entry e;
		if (sscanf(line, " 0x%x 0x%x: eax=0x%x ebx=0x%x ecx=0x%x edx=0x%x",
			   &e.leaf, &e.sub, &e.regs[0], &e.regs[1], &e.regs[2],
			   &e.regs[3]) != 6)
			continue;
		if (table_len == cap) {
			cap = cap ? 2 * cap : 256;
			table = realloc(table, cap * sizeof *table);
			if (table == NULL)
				exit(2);
		}
		table[table_len++] = e;
	}
	fclose(f);
}

int open64(const char *path, int flags, ...)
{
	static int (*real_open64)(const char *, int, ...);
	if (real_open64 == NULL)
		real_open64 = dlsym(RTLD_NEXT, "open64");
	mode_t mode = 0;
	if (flags & O_CREAT) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, int);
		va_end(ap);
	}
	if (strcmp(path, "/dev/cpuid") == 0) {
		load_table();
		fake_fd = real_open64("/dev/null", O_RDONLY);
		return fake_fd;
	}
	return real_open64(path, flags, mode);
}

off64_t lseek64(int fd, off64_t offset, int whence)
{
	static off64_t (*real_lseek64)(int, off64_t, int);
	if (fd >= 0 && fd == fake_fd && whence == SEEK_SET) {
		fake_pos = offset;
		return offset;
	}
	if (real_lseek64 == NULL)
		real_lseek64 = dlsym(RTLD_NEXT, "lseek64");
	return real_lseek64(fd, offset, whence);
}

ssize_t read(int fd, void *buf, size_t n)
{
	static ssize_t (*real_read)(int, void *, size_t);
	if (fd >= 0 && fd == fake_fd && n == 16) {
		unsigned int leaf = (unsigned int)(fake_pos & 0xffffffff);
		unsigned int sub = (unsigned int)((unsigned long long)fake_pos >> 32);
		unsigned int regs[4] = {0, 0, 0, 0};
		for (size_t i = 0; i < table_len; i++) {
			if (table[i].leaf == leaf && table[i].sub == sub) {
				memcpy(regs, table[i].regs, sizeof regs);
				break;
			}
		}
		memcpy(buf, regs, sizeof regs);
		return 16;
	}
	if (real_read == NULL)
		real_read = dlsym(RTLD_NEXT, "read");
	return real_read(fd, buf, n);
}
