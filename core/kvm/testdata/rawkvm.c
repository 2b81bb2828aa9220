/*
 * rawkvm: read the KVM system fd with plain ioctls and <linux/kvm.h>, as an
 * independent witness for the Go probe in core/kvm.
 *
 * Usage: rawkvm DEVICE MAXCAP CPU
 *
 * It pins itself to CPU first: KVM_GET_SUPPORTED_CPUID copies the APIC ID
 * of the CPU it runs on into leaf 1 EBX[31:24] and leaf 0xb EDX, so only
 * runs on the same CPU give identical answers.
 *
 * Output, one record a line, numbers in hex without 0x unless noted:
 *   ioctl NAME REQUEST          request numbers as the header defines them
 *   api VERSION                 decimal
 *   cap N VALUE                 decimal; non-zero KVM_CHECK_EXTENSION results, N in 0..MAXCAP
 *   supported FUNCTION INDEX FLAGS EAX EBX ECX EDX
 *   emulated  FUNCTION INDEX FLAGS EAX EBX ECX EDX
 *   msrlist INDEX               KVM_GET_MSR_FEATURE_INDEX_LIST, in order
 *   msr INDEX DATA              KVM_GET_MSRS on the system fd read it
 *   msrrefused INDEX            KVM_GET_MSRS read 0 MSRs
 *
 * It deliberately sizes buffers differently from the Go code (one large
 * CPUID buffer; an MSR list sized from a first nmsrs = 0 call) so that the
 * two do not share a retry bug.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

static void die(const char *what)
{
	fprintf(stderr, "rawkvm: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void cpuid(int fd, unsigned long req, const char *name)
{
	int max = 4096; /* the kernel clamps nent to KVM_MAX_CPUID_ENTRIES */
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + max * sizeof(c->entries[0]));
	if (!c)
		die("calloc");
	c->nent = max;
	if (ioctl(fd, req, c) < 0)
		die(name);
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		printf("%s %x %x %x %x %x %x %x\n", name, e->function, e->index,
		       e->flags, e->eax, e->ebx, e->ecx, e->edx);
	}
	free(c);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: rawkvm DEVICE MAXCAP CPU\n");
		return 2;
	}
	int maxcap = atoi(argv[2]);
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(atoi(argv[3]), &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		die("sched_setaffinity");
	int fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die(argv[1]);

	printf("ioctl KVM_GET_API_VERSION %lx\n", (unsigned long)KVM_GET_API_VERSION);
	printf("ioctl KVM_CHECK_EXTENSION %lx\n", (unsigned long)KVM_CHECK_EXTENSION);
	printf("ioctl KVM_GET_SUPPORTED_CPUID %lx\n", (unsigned long)KVM_GET_SUPPORTED_CPUID);
	printf("ioctl KVM_GET_EMULATED_CPUID %lx\n", (unsigned long)KVM_GET_EMULATED_CPUID);
	printf("ioctl KVM_GET_SUPPORTED_HV_CPUID %lx\n", (unsigned long)KVM_GET_SUPPORTED_HV_CPUID);
	printf("ioctl KVM_GET_MSR_FEATURE_INDEX_LIST %lx\n", (unsigned long)KVM_GET_MSR_FEATURE_INDEX_LIST);
	printf("ioctl KVM_GET_MSRS %lx\n", (unsigned long)KVM_GET_MSRS);

	int api = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (api < 0)
		die("KVM_GET_API_VERSION");
	printf("api %d\n", api);

	int ext_emul = 0, msr_features = 0, sys_hv = 0;
	for (int n = 0; n <= maxcap; n++) {
		int r = ioctl(fd, KVM_CHECK_EXTENSION, n);
		if (r < 0)
			die("KVM_CHECK_EXTENSION");
		if (r != 0)
			printf("cap %d %d\n", n, r);
		if (n == KVM_CAP_EXT_EMUL_CPUID)
			ext_emul = r;
		if (n == KVM_CAP_GET_MSR_FEATURES)
			msr_features = r;
		if (n == KVM_CAP_SYS_HYPERV_CPUID)
			sys_hv = r;
	}

	cpuid(fd, KVM_GET_SUPPORTED_CPUID, "supported");
	if (ext_emul)
		cpuid(fd, KVM_GET_EMULATED_CPUID, "emulated");
	if (sys_hv)
		cpuid(fd, KVM_GET_SUPPORTED_HV_CPUID, "hyperv");

	if (msr_features) {
		struct kvm_msr_list probe = { .nmsrs = 0 };
		if (ioctl(fd, KVM_GET_MSR_FEATURE_INDEX_LIST, &probe) == 0) {
			/* nothing to list */
		} else if (errno != E2BIG) {
			die("KVM_GET_MSR_FEATURE_INDEX_LIST");
		}
		struct kvm_msr_list *l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(l->indices[0]));
		if (!l)
			die("calloc");
		l->nmsrs = probe.nmsrs;
		if (ioctl(fd, KVM_GET_MSR_FEATURE_INDEX_LIST, l) < 0)
			die("KVM_GET_MSR_FEATURE_INDEX_LIST");
		for (unsigned i = 0; i < l->nmsrs; i++)
			printf("msrlist %x\n", l->indices[i]);
		for (unsigned i = 0; i < l->nmsrs; i++) {
			struct {
				struct kvm_msrs h;
				struct kvm_msr_entry e;
			} m;
			memset(&m, 0, sizeof(m));
			m.h.nmsrs = 1;
			m.e.index = l->indices[i];
			int r = ioctl(fd, KVM_GET_MSRS, &m);
			if (r < 0)
				die("KVM_GET_MSRS");
			if (r == 1)
				printf("msr %x %llx\n", m.e.index, (unsigned long long)m.e.data);
			else
				printf("msrrefused %x\n", m.e.index);
		}
		free(l);
	}
	close(fd);
	return 0;
}
