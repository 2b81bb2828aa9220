package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/starlib"
)

// labelPrefix is the namespace of every label `labels` writes.
const labelPrefix = "cpupolicy.io/"

// labelsJSON is `labels --format json`. Its keys are a contract.
type labelsJSON struct {
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

func runLabels(e *env, args []string) int {
	fs := newFlags("labels")
	format := &formatFlag{value: "text", allowed: []string{"text", "json"}}
	fs.Var(format, "format", "output `format`: text (NFD's feature file) or json")
	jf := addJudgeFlags(fs)
	siteFile := fs.String("site", "", "label the runnable offers of the site `FILE` too")
	out := fs.String("o", "", "write the labels to `FILE` atomically (an NFD features.d file; default: standard output)")
	expiry := fs.Duration("expiry", 0, "add NFD's expiry-time `DURATION` from now, after which NFD drops the labels (0: none)")
	if rc := parseFlags(e, fs, args); rc >= 0 {
		return rc
	}
	if fs.NArg() > 0 {
		return usageError(e, "labels", "unexpected argument %q", fs.Arg(0))
	}
	if *expiry < 0 {
		return usageError(e, "labels", "--expiry: got %v, want a positive duration", *expiry)
	}
	if *jf.accel == "" {
		*jf.accel = catalog.KVM // a node's labels say what its KVM guests can run
	}
	j, rc := newJudge(e, "labels", jf)
	if rc >= 0 {
		return rc
	}
	host := hostName(j)
	if j.snap != nil && j.snap.Hostname == "" && *jf.hostFile != "" {
		host = filepath.Base(*jf.hostFile)
	}
	res := labelsJSON{Host: host, Catalog: j.cat.Name, Machine: j.mt.Name, Accel: j.accel,
		Labels: map[string]string{}, Shortened: map[string]string{}}
	if *expiry > 0 {
		res.ExpiryTime = e.now().Add(*expiry).UTC().Format(time.RFC3339)
	}
	put := func(name, value string) {
		n, v := labelPart(name), labelPart(value)
		if n != name {
			res.Shortened[labelPrefix+n] = name
		}
		if v != value {
			res.Shortened[v] = value
		}
		res.Labels[labelPrefix+n] = v
	}
	put("catalog", j.cat.Name)
	put("machine", j.mt.Name)
	var best feature.FeatureSet
	bestName := ""
	for i := range j.cat.Models {
		m := &j.cat.Models[i]
		features, missing, err := j.missing(m.Name)
		if err != nil {
			return inputError(e, err)
		}
		if !missing.IsEmpty() {
			continue
		}
		put("model."+m.Name, "true")
		// The baseline is the richest runnable model under its own
		// (versioned) name, as `baseline` picks it for a pool.
		if m.AliasOf == "" && features.Count() > best.Count() {
			best, bestName = features, m.Name
		}
	}
	if bestName != "" {
		put("baseline", bestName)
	}
	if *siteFile != "" {
		site, err := starlib.LoadSiteFile(*siteFile, starlib.NewCatalog(j.cat), e.starlibOptions())
		if err != nil {
			return scriptError(e, "labels", err)
		}
		for _, o := range site.Offers {
			ok, err := j.offerRunnable(o)
			if err != nil {
				return inputError(e, fmt.Errorf("%s: offer %s: %v", *siteFile, o.Name, err))
			}
			if ok {
				put("offer."+o.Name, "true")
			}
		}
	}
	var buf bytes.Buffer
	if format.value == "json" {
		writeJSON(&buf, res)
	} else {
		writeFeatureFile(&buf, &res)
	}
	return writeOutput(e, "labels", *out, buf.Bytes())
}

// offerRunnable judges a site offer on the judge's host: its -cpu spec on
// its machine type (default the judge's) under its accelerator (default
// the judge's).
func (j *judge) offerRunnable(o starlib.Offer) (bool, error) {
	machine := j.mt.Name
	if o.Machine != "" {
		machine = o.Machine
	}
	accel, avail := j.accel, j.avail
	if o.Accel != "" && o.Accel != j.accel {
		accel = o.Accel
		a, err := check.Compute(j.reg, j.snap, j.avail.QEMU, accel)
		if err != nil {
			return false, err
		}
		avail = a
	}
	s, err := catalog.ParseCPUSpec(o.CPU, j.reg)
	if err != nil {
		return false, err
	}
	r, err := j.cat.ResolveSpec(s, machine, accel, j.vendor)
	if err != nil {
		return false, err
	}
	return r.Features.Difference(avail.Set).IsEmpty(), nil
}

// writeFeatureFile writes NFD's local feature file: an optional
// "# +expiry-time=" directive first, then one "name=value" line per label,
// sorted; shortened names are explained in comments, which NFD ignores.
func writeFeatureFile(b *bytes.Buffer, r *labelsJSON) {
	fmt.Fprintf(b, "# cpupolicy labels: host %s, catalog %s, machine %s, %s\n", r.Host, r.Catalog, r.Machine, r.Accel)
	if r.ExpiryTime != "" {
		fmt.Fprintf(b, "# +expiry-time=%s\n", r.ExpiryTime)
	}
	for _, k := range sortedLabelKeys(r.Labels) {
		fmt.Fprintf(b, "%s=%s\n", k, r.Labels[k])
	}
	for _, k := range sortedLabelKeys(r.Shortened) {
		fmt.Fprintf(b, "# %s stands for %q\n", k, r.Shortened[k])
	}
}

func sortedLabelKeys(m map[string]string) []string {
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

// labelPart returns s if it is a valid label name (after the prefix) or
// non-empty value: at most 63 characters, alphanumerics with '-', '_' or
// '.' inside. Otherwise it returns s with every other character made
// '_', cut to fit, and ended by '-' and 8 hex digits of s's SHA-256, so
// that two names never share a label.
func labelPart(s string) string {
	if validLabel(s) {
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

func validLabel(s string) bool {
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
