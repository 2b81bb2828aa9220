// Package labels makes the node labels of a host for Kubernetes' Node
// Feature Discovery (NFD): which CPU models of a catalog run there, the
// best of them (the baseline), the x86-64 level, and which offers of a
// site run there, each judged with site.Judge, the verdict every command
// gives. [For]
// computes a [Node]'s labels; [WriteFeatureFile] writes NFD's local
// feature file (features.d), and a Node marshals as `cpupolicy labels
// --format json`.
package labels

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cpupolicy/cpupolicy/core"
	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/fleet"
	"github.com/cpupolicy/cpupolicy/core/host"
	"github.com/cpupolicy/cpupolicy/core/psabi"
	"github.com/cpupolicy/cpupolicy/site"
)

// Prefix is the namespace of every label.
const Prefix = "cpupolicy.io/"

// Node is the labels of one host. Its JSON keys are a contract.
type Node struct {
	Host       string            `json:"host"`
	Catalog    string            `json:"catalog"`
	Machine    string            `json:"machine"`
	Accel      string            `json:"accel"`
	ExpiryTime string            `json:"expiry_time,omitempty"`
	Labels     map[string]string `json:"labels"`
	// Shortened maps each label name or value that had to be shortened
	// (or had characters a label cannot hold) to what it stands for.
	Shortened map[string]string `json:"shortened"`
}

// Input is the host to label and what to judge on it.
type Input struct {
	// Host names the host in the file's header.
	Host    string
	Catalog *catalog.Catalog
	// Machine is the machine type the models are judged on, and the
	// offers that name none; Accel the accelerator likewise.
	Machine, Accel string
	// Snapshot is the host's (nil under tcg without one); Avail what
	// Accel gives a guest there.
	Snapshot *host.HostSnapshot
	Avail    *check.Availability
	// Expiry, when not zero, is when NFD drops the labels.
	Expiry time.Time
	// Site's offers are labelled where they run; nil is none. SiteFile
	// names it in messages.
	Site     *site.Site
	SiteFile string
}

// For returns the labels of in.Host: catalog, machine, model.NAME=true
// for each model (aliases too) that runs there, baseline (the best
// runnable model under its versioned name, by the rule `baseline` and
// `fleet` use for a pool: fleet.Baseline), x86-64-level (the psABI level
// of what a guest gets there, 0 … 4) and offer.NAME=true for each offer
// of the site that runs there.
func For(in Input) (*Node, error) {
	n := &Node{Host: in.Host, Catalog: in.Catalog.Name(), Machine: in.Machine, Accel: in.Accel,
		Labels: map[string]string{}, Shortened: map[string]string{}}
	if !in.Expiry.IsZero() {
		n.ExpiryTime = in.Expiry.UTC().Format(time.RFC3339)
	}
	n.put("catalog", in.Catalog.Name())
	n.put("machine", in.Machine)
	catModels := in.Catalog.Models()
	for i := range catModels {
		m := &catModels[i]
		// Features do not depend on the vendor (catalog.Features): the
		// hot path of judging every model allocates nothing.
		features, err := in.Catalog.Features(m.Name, in.Machine, core.Accel(in.Accel))
		if err != nil {
			return nil, err
		}
		if features.SubsetOf(in.Avail.Set) {
			n.put("model."+m.Name, "true")
		}
	}
	// The baseline is the best-model rule's choice for a pool of this
	// one host, as `baseline` and `fleet` make it.
	cands, err := fleet.Candidates(in.Catalog, in.Machine, core.Accel(in.Accel))
	if err != nil {
		return nil, err
	}
	if best, _ := fleet.Baseline(cands, []feature.FeatureSet{in.Avail.Set}); best >= 0 {
		n.put("baseline", cands[best].Name)
	}
	levels, err := psabi.NewSets(in.Catalog.Registry())
	if err != nil {
		return nil, err
	}
	n.put("x86-64-level", strconv.Itoa(int(levels.Of(in.Avail.Set))))
	if in.Site == nil {
		return n, nil
	}
	for _, o := range in.Site.Offers {
		ok, err := offerRuns(in, o)
		if err != nil {
			return nil, fmt.Errorf("%s: offer %s: %v", in.SiteFile, o.Name, err)
		}
		if ok {
			n.put("offer."+o.Name, "true")
		}
	}
	return n, nil
}

// offerRuns judges offer o on the host with site.Judge: its -cpu spec on
// its machine type (default in.Machine) under its accelerator (default
// in.Accel).
func offerRuns(in Input, o site.Offer) (bool, error) {
	if o.Accel == "" {
		o.Accel = in.Accel
	}
	avail := in.Avail
	if o.Accel != in.Accel {
		a, err := check.Compute(in.Catalog.Registry(), in.Snapshot, in.Avail.Release, core.Accel(o.Accel))
		if err != nil {
			return false, err
		}
		avail = a
	}
	cfg, err := site.Resolve(in.Catalog, o, in.Machine)
	if err != nil {
		return false, err
	}
	a := site.Availability{Host: in.Host, Set: avail.Set, Layers: avail}
	if in.Snapshot != nil {
		a.Vendor = in.Snapshot.Vendor
	}
	v, err := site.Judge(cfg, []site.Availability{a})
	if err != nil {
		return false, err
	}
	return v.Runnable(), nil
}

// put sets the label Prefix+name to value, shortening either as Part
// does and noting what it stands for.
func (n *Node) put(name, value string) {
	pn, pv := Part(name), Part(value)
	if pn != name {
		n.Shortened[Prefix+pn] = name
	}
	if pv != value {
		n.Shortened[pv] = value
	}
	n.Labels[Prefix+pn] = pv
}

// WriteFeatureFile writes NFD's local feature file: an optional
// "# +expiry-time=" directive first, then one "name=value" line per label,
// sorted; shortened names are explained in comments, which NFD ignores.
func WriteFeatureFile(b *bytes.Buffer, r *Node) {
	fmt.Fprintf(b, "# cpupolicy labels: host %s, catalog %s, machine %s, %s\n", r.Host, r.Catalog, r.Machine, r.Accel)
	if r.ExpiryTime != "" {
		fmt.Fprintf(b, "# +expiry-time=%s\n", r.ExpiryTime)
	}
	for _, k := range sortedKeys(r.Labels) {
		fmt.Fprintf(b, "%s=%s\n", k, r.Labels[k])
	}
	for _, k := range sortedKeys(r.Shortened) {
		fmt.Fprintf(b, "# %s stands for %q\n", k, r.Shortened[k])
	}
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// maxLabel is the longest label name (after the prefix) or value
// Kubernetes accepts.
const maxLabel = 63

// Part returns s if it is a valid label name (after the prefix) or
// non-empty value: at most 63 characters, alphanumerics with '-', '_' or
// '.' inside. Otherwise it returns s with every other character made
// '_', cut to fit, and ended by '-' and 8 hex digits of s's SHA-256, so
// that two names never share a label.
func Part(s string) string {
	if Valid(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	sum := sha256.Sum256([]byte(s))
	suffix := "-" + hex.EncodeToString(sum[:4])
	kept := b.String()
	kept = kept[:min(len(kept), maxLabel-len(suffix))]
	kept = strings.TrimRight(kept, "-_.")
	if kept == "" || !isAlnum(kept[0]) {
		kept = "x" + kept
		kept = kept[:min(len(kept), maxLabel-len(suffix))]
	}
	return kept + suffix
}

// Valid reports whether s is a valid label name (after the prefix) or
// value.
func Valid(s string) bool {
	if s == "" || len(s) > maxLabel || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
