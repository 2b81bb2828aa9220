package check

import (
	"testing"

	"github.com/cpupolicy/cpupolicy/core/host"
)

func TestReleaseWarning(t *testing.T) {
	snap := func(rel, vendor string) *host.HostSnapshot {
		return &host.HostSnapshot{Source: host.SourceQEMUExpansion, QEMURelease: rel, Vendor: vendor, Hostname: "h1"}
	}
	for _, tc := range []struct {
		name    string
		s       *host.HostSnapshot
		catalog string
		want    string
	}{
		{"no host", nil, "10.0.2", ""},
		{"live probe", &host.HostSnapshot{Source: host.SourceLive, Vendor: "AuthenticAMD"}, "10.0.2", ""},
		{"same release", snap("10.0", "AuthenticAMD"), "10.0.2", ""},
		{"libvirt's catalog names none", snap("11.1", "AuthenticAMD"), "", ""},
		{"11.1 capture, 10.0 catalog, AMD", snap("11.1", "AuthenticAMD"), "10.0.2",
			"h1 was captured by QEMU 11.1 (its property names) and is judged with catalog QEMU 10.0: verdicts may differ: " +
				"features the capturing QEMU knows and 10.0 does not are not in the snapshot; " +
				"QEMU 10.1 stopped exposing ARCH_CAPABILITIES on AMD hosts unless x-arch-cap-always-on"},
		{"11.1 capture, 10.0 catalog, Intel", snap("11.1", "GenuineIntel"), "10.0.2",
			"h1 was captured by QEMU 11.1 (its property names) and is judged with catalog QEMU 10.0: verdicts may differ: " +
				"features the capturing QEMU knows and 10.0 does not are not in the snapshot"},
		{"older capture", snap("pre-5.2", "GenuineIntel"), "7.2.22",
			"h1 was captured by a QEMU older than 5.2 (its property names) and is judged with catalog QEMU 7.2: verdicts may differ: " +
				"features added after 5.2 read as absent from the host, although the capturing QEMU never offered them"},
		{"newer than the catalog's own", snap("post-10.0", "GenuineIntel"), "10.0.2",
			"h1 was captured by a QEMU newer than 10.0 (its property names) and is judged with catalog QEMU 10.0: verdicts may differ: " +
				"features the capturing QEMU knows and 10.0 does not are not in the snapshot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReleaseWarning(tc.s, "", tc.catalog); got != tc.want {
				t.Errorf("ReleaseWarning =\n %q\nwant\n %q", got, tc.want)
			}
		})
	}
}
