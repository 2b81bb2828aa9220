package host

import (
	"path/filepath"
	"strings"
)

// LiveName names a live host that reports no hostname.
const LiveName = "this-host"

// Name is how every command and report names the host of snapshot s,
// read from file path ("" for a live probe): the hostname the snapshot
// records when it has one, else the file's name without ".json"
// ("testdata/hosts/xeon-gold-6130.json" → "xeon-gold-6130"), else
// LiveName. One rule, so that labels, fleet, check, baseline, why and
// the REPL call a host the same.
func Name(s *HostSnapshot, path string) string {
	switch {
	case s != nil && s.Hostname != "":
		return s.Hostname
	case path != "":
		return strings.TrimSuffix(filepath.Base(path), ".json")
	}
	return LiveName
}
