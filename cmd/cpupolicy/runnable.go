package main

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/cpupolicy/cpupolicy/core/catalog"
	"github.com/cpupolicy/cpupolicy/core/check"
	"github.com/cpupolicy/cpupolicy/core/feature"
	"github.com/cpupolicy/cpupolicy/core/host"
)

// layerWords explains a layer in a sentence.
var layerWords = map[string]string{
	check.LayerHW:   "the CPU lacks it",
	check.LayerOS:   "the CPU has it, the host kernel disabled it",
	check.LayerKVM:  "KVM will not give it to guests on this host",
	check.LayerTCG:  "TCG does not emulate it",
	check.LayerQEMU: "this QEMU release does not know it",
}

// qemuRules is the QEMU release whose availability rules judge hosts for
// cat: the one policies use (check.RulesFor), with a note on stderr
// when it is not the catalog's own release.
func qemuRules(e *env, cat *catalog.Catalog) string {
	rules := check.RulesFor(cat.QEMUVersion())
	if v := cat.QEMUVersion(); v == rules || strings.HasPrefix(v, rules+".") {
		return rules
	}
	if cat.QEMUVersion() == "" {
		// Definitions of no QEMU release (libvirt's CPU map) run on
		// whichever QEMU the site has: judge them with the oldest rules
		// known (Debian 12 pairs its libvirt 9.0 with QEMU 7.2).
		fmt.Fprintf(e.stderr, "cpupolicy: note: catalog %s names no QEMU release; judging availability with QEMU %s's rules\n", cat.Name(), rules)
		return rules
	}
	fmt.Fprintf(e.stderr, "cpupolicy: note: catalog %s is QEMU %s; judging availability with QEMU %s's rules\n", cat.Name(), cat.QEMUVersion(), rules)
	return rules
}

// qemuText names a catalog's QEMU release in text output.
func qemuText(version string) string {
	if version == "" {
		return "no QEMU release"
	}
	return "QEMU " + version
}

// judge is what the runnability commands share: a catalog, a machine
// type, an accelerator, and what that accelerator offers on the host.
type judge struct {
	reg    *feature.Registry
	cat    *catalog.Catalog
	mt     *catalog.MachineType
	accel  string
	snap   *host.HostSnapshot // nil under tcg without --host
	avail  *check.Availability
	vendor string
}

type judgeFlags struct {
	catName, machine, accel, hostFile *string
}

func addJudgeFlags(fs interface {
	String(name, value, usage string) *string
}) judgeFlags {
	return judgeFlags{
		catName:  fs.String("catalog", "", "catalog `NAME|FILE` (default: the newest embedded)"),
		machine:  fs.String("machine", "", "machine `type` (default: the catalog's newest pc-q35)"),
		accel:    fs.String("accel", "", "accelerator: kvm or tcg (default: kvm when /dev/kvm works, else tcg)"),
		hostFile: fs.String("host", "", "judge the recorded snapshot `FILE` instead of this host"),
	}
}

// newJudge loads what the flags name; errors are printed and returned
// as an exit code (or -1 on success).
func newJudge(e *env, cmd string, f judgeFlags) (*judge, int) {
	j := &judge{}
	var err error
	if j.cat, err = e.loadCatalog(*f.catName); err != nil {
		return nil, inputError(e, err)
	}
	j.reg = j.cat.Registry()
	if j.mt, err = pickMachine(j.cat, *f.machine); err != nil {
		return nil, inputError(e, err)
	}
	if *f.accel == "" && *f.hostFile != "" && j.cat.HasAccel(catalog.KVM) {
		*f.accel = catalog.KVM // a recorded host is judged as a KVM host
	}
	if j.accel, err = pickAccel(j.cat, *f.accel); err != nil {
		return nil, usageError(e, cmd, "%v", err)
	}
	switch {
	case *f.hostFile != "":
		if j.snap, err = e.loadSnapshot(*f.hostFile); err != nil {
			return nil, inputError(e, err)
		}
	case j.accel == catalog.KVM:
		if j.snap, err = e.probeLive(); err != nil {
			fmt.Fprintf(e.stderr, "cpupolicy %s: %v\n", cmd, err)
			return nil, exitViolation
		}
	}
	if j.avail, err = check.Compute(j.reg, j.snap, qemuRules(e, j.cat), j.accel); err != nil {
		name := "this host"
		if *f.hostFile != "" {
			name = *f.hostFile
		}
		fmt.Fprintf(e.stderr, "cpupolicy %s: %s: %v\n", cmd, name, err)
		return nil, exitViolation
	}
	if j.snap != nil {
		j.vendor = j.snap.Vendor
	}
	return j, -1
}

// verdict is one model's runnability.
type verdict struct {
	res     *catalog.Resolution
	missing feature.FeatureSet
}

func (j *judge) judgeModel(name string) (*verdict, error) {
	r, err := j.cat.Resolve(name, j.mt.Name, j.accel, j.vendor)
	if err != nil {
		return nil, err
	}
	return &verdict{res: r, missing: r.Features.Difference(j.avail.Set)}, nil
}

// missing is model's features on the judge's machine type and accelerator,
// and those the accelerator cannot offer, without allocating: the hot
// path of the commands that judge every model (features do not depend on
// the vendor, so catalog.Features serves).
func (j *judge) missing(model string) (features, missing feature.FeatureSet, err error) {
	if features, err = j.cat.Features(model, j.mt.Name, j.accel); err != nil {
		return
	}
	return features, features.Difference(j.avail.Set), nil
}

func (j *judge) judgeSpec(spec string) (*verdict, error) {
	s, err := catalog.ParseCPUSpec(spec, j.reg)
	if err != nil {
		return nil, err
	}
	r, err := j.cat.ResolveSpec(s, j.mt.Name, j.accel, j.vendor)
	if err != nil {
		return nil, err
	}
	r.Model = spec
	return &verdict{res: r, missing: r.Features.Difference(j.avail.Set)}, nil
}

// modelJSON is one element of `models --format json`: QMP's
// query-cpu-definitions entry plus "why". Its keys are a contract;
// writeModelsJSON writes it by hand from a modelRow.
type modelJSON struct {
	Name                string            `json:"name"`
	UnavailableFeatures []string          `json:"unavailable-features"`
	AliasOf             string            `json:"alias-of,omitempty"`
	Static              bool              `json:"static"`
	MigrationSafe       bool              `json:"migration-safe"`
	Deprecated          bool              `json:"deprecated"`
	Why                 map[string]string `json:"why"`
	// Source names the plugin that added the model ("plugin amd"); the
	// catalog's own models have none.
	Source string `json:"source,omitempty"`
}

func runModels(e *env, args []string) int {
	fs := newFlags("models")
	format := &formatFlag{value: "text", allowed: []string{"text", "json"}}
	fs.Var(format, "format", "output `format`: text or json")
	jf := addJudgeFlags(fs)
	if rc := parseFlags(e, fs, args); rc >= 0 {
		return rc
	}
	if fs.NArg() > 0 {
		return usageError(e, "models", "unexpected argument %q", fs.Arg(0))
	}
	j, rc := newJudge(e, "models", jf)
	if rc >= 0 {
		return rc
	}
	catModels := j.cat.Models()
	rows := make([]modelRow, len(catModels))
	for i := range catModels {
		m := &catModels[i]
		_, missing, err := j.missing(m.Name)
		if err != nil {
			return inputError(e, err)
		}
		rows[i] = modelRow{m, missing}
	}
	var buf bytes.Buffer
	if format.value == "json" {
		j.writeModelsJSON(&buf, rows)
	} else {
		color := colorOK(e.stdout)
		runnable := 0
		tw := tabwriter.NewWriter(&buf, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "MODEL\tRUNNABLE\tMISSING")
		for _, r := range rows {
			ok := "yes"
			if !r.missing.IsEmpty() {
				ok = "no"
			} else {
				runnable++
			}
			name := r.m.Name
			if r.m.Source != "" {
				name += " [" + r.m.Source + "]"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", name, paint(color, ok), j.summarizeWhy(r.missing, 6))
		}
		tw.Flush()
		fmt.Fprintf(&buf, "\n%d of %d models runnable on %s with %s (%s, %s)\n", runnable, len(rows), hostName(j), j.mt.Name, j.accel, qemuText(j.cat.QEMUVersion()))
	}
	e.stdout.Write(buf.Bytes())
	return exitOK
}

func paint(color bool, yesno string) string {
	if !color {
		return yesno
	}
	if yesno == "yes" {
		return "\x1b[32myes\x1b[0m"
	}
	return "\x1b[31mno\x1b[0m"
}

func hostName(j *judge) string {
	if j.snap == nil {
		return "any host"
	}
	if j.snap.Hostname != "" {
		return j.snap.Hostname
	}
	return "the host"
}

// summarizeWhy prints "avx512f (kvm), hle (hw), … +3 more".
func (j *judge) summarizeWhy(missing feature.FeatureSet, most int) string {
	var parts []string
	for id := range missing.All() {
		if len(parts) == most {
			parts = append(parts, fmt.Sprintf("… +%d more", missing.Count()-most))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", j.reg.Name(id), j.avail.Layer(id)))
	}
	return strings.Join(parts, ", ")
}

type whyJSON struct {
	Model    string        `json:"model"`
	Machine  string        `json:"machine"`
	Accel    string        `json:"accel"`
	QEMU     string        `json:"qemu"`
	Host     string        `json:"host"`
	Runnable bool          `json:"runnable"`
	Missing  []missingJSON `json:"missing"`
	// Nearest lists the runnable versions of the same model.
	Nearest []string `json:"runnable_versions"`
	// Forbidden (with --cpu-xml only) lists the features the domain's
	// <cpu> forbids and the host offers: libvirt will not start it.
	Forbidden []string `json:"forbidden_present,omitempty"`
}

type missingJSON struct {
	Feature  string `json:"feature"`
	Layer    string `json:"layer"`
	Location string `json:"location"`
	Reason   string `json:"reason"`
}

func runWhy(e *env, args []string) int {
	fs := newFlags("why")
	format := &formatFlag{value: "text", allowed: []string{"text", "json"}}
	fs.Var(format, "format", "output `format`: text or json")
	spec := fs.String("cpu", "", "explain a QEMU -cpu `SPEC` instead of a model")
	xmlFile := cpuXMLFlag(fs)
	jf := addJudgeFlags(fs)
	if rc := parseFlags(e, fs, args); rc >= 0 {
		return rc
	}
	if (*spec == "" && *xmlFile == "") == (fs.NArg() != 1) {
		return usageError(e, "why", "want one MODEL or --cpu SPEC (or --cpu-xml FILE)")
	}
	s, forbid, rc := specFlags(e, "why", *spec, *xmlFile)
	if rc >= 0 {
		return rc
	}
	*spec = s
	j, rc := newJudge(e, "why", jf)
	if rc >= 0 {
		return rc
	}
	var v *verdict
	var err error
	if *spec != "" {
		v, err = j.judgeSpec(*spec)
	} else {
		v, err = j.judgeModel(fs.Arg(0))
	}
	if err != nil {
		return inputError(e, err)
	}
	// libvirt refuses to start a domain whose <cpu> forbids a feature
	// the host has: here, one the accelerator offers.
	present := forbid.Intersect(j.avail.Set)
	out := whyJSON{Model: v.res.Model, Machine: j.mt.Name, Accel: j.accel, QEMU: j.cat.QEMUVersion(), Host: hostName(j),
		Runnable: v.missing.IsEmpty() && present.IsEmpty(), Missing: []missingJSON{}, Nearest: []string{}}
	if *xmlFile != "" {
		out.Forbidden = nonNil(j.reg.Names(present))
	}
	for id := range v.missing.All() {
		l := j.avail.Layer(id)
		out.Missing = append(out.Missing, missingJSON{Feature: j.reg.Name(id), Layer: l, Location: j.reg.Feature(id).Loc.String(), Reason: layerWords[l]})
	}
	rank := map[string]int{check.LayerHW: 0, check.LayerOS: 1, check.LayerKVM: 2, check.LayerTCG: 3, check.LayerQEMU: 4}
	sort.SliceStable(out.Missing, func(a, b int) bool { return rank[out.Missing[a].Layer] < rank[out.Missing[b].Layer] })
	if m, err := j.cat.Model(strings.SplitN(v.res.Model, ",", 2)[0]); err == nil {
		catModels := j.cat.Models()
		for i := range catModels {
			o := &catModels[i]
			if o.Base != m.Base || o.Name == m.Name || o.Version == 0 {
				continue
			}
			if _, missing, err := j.missing(o.Name); err == nil && missing.IsEmpty() {
				out.Nearest = append(out.Nearest, o.Name)
			}
		}
	}
	var buf bytes.Buffer
	if format.value == "json" {
		writeJSON(&buf, out)
	} else {
		writeWhyText(&buf, &out, colorOK(e.stdout))
	}
	e.stdout.Write(buf.Bytes())
	if !out.Runnable {
		return exitViolation
	}
	return exitOK
}

func writeWhyText(w io.Writer, o *whyJSON, color bool) {
	verdict := paint(color, "yes")
	if !o.Runnable {
		verdict = paint(color, "no")
	}
	fmt.Fprintf(w, "%s on %s (%s, %s), host %s: runnable: %s\n", o.Model, o.Machine, o.Accel, qemuText(o.QEMU), o.Host, verdict)
	if len(o.Missing) > 0 {
		byLayer := map[string]int{}
		for _, m := range o.Missing {
			byLayer[m.Layer]++
		}
		var counts []string
		for _, l := range []string{check.LayerHW, check.LayerOS, check.LayerKVM, check.LayerTCG, check.LayerQEMU} {
			if byLayer[l] > 0 {
				counts = append(counts, fmt.Sprintf("%d %s", byLayer[l], l))
			}
		}
		fmt.Fprintf(w, "%d features missing (%s):\n", len(o.Missing), strings.Join(counts, ", "))
		tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  FEATURE\tLAYER\tLOCATION\tWHY")
		for _, m := range o.Missing {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", m.Feature, m.Layer, m.Location, m.Reason)
		}
		tw.Flush()
	}
	if len(o.Forbidden) > 0 {
		fmt.Fprintf(w, "forbidden by the libvirt <cpu> but offered by the host (libvirt will not start the domain): %s\n", strings.Join(o.Forbidden, " "))
	}
	if len(o.Nearest) > 0 {
		fmt.Fprintf(w, "runnable versions of the same model: %s\n", strings.Join(o.Nearest, ", "))
	} else if !o.Runnable {
		fmt.Fprintln(w, "no version of the same model is runnable here")
	}
}

// modelRow is one model's verdict in `models`.
type modelRow struct {
	m       *catalog.Model
	missing feature.FeatureSet
}

// writeModelsJSON writes the rows as the []modelJSON that
// json.MarshalIndent(models, "", "  ") would, by hand and straight from
// the sets: encoding/json's reflection, and the names and "why" maps it
// needs, were most of the command's run time, and this listing is the
// one tools call in loops. "why" lists the features in canonical order,
// as "unavailable-features" does: encoding/json would sort the keys,
// which differs only for features a plugin added.
func (j *judge) writeModelsJSON(b *bytes.Buffer, rows []modelRow) {
	// About 200 bytes a model and 40 a missing feature: one allocation.
	size := 8
	for _, r := range rows {
		size += 200 + 40*r.missing.Count()
	}
	b.Grow(size)
	b.WriteString("[")
	for i, r := range rows {
		m := r.m
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n  {\n    \"name\": ")
		appendJSONString(b, m.Name)
		b.WriteString(",\n    \"unavailable-features\": [")
		sep := "\n      "
		for id := range r.missing.All() {
			b.WriteString(sep)
			appendJSONString(b, j.reg.Name(id))
			sep = ",\n      "
		}
		if !r.missing.IsEmpty() {
			b.WriteString("\n    ")
		}
		b.WriteString("],\n")
		if m.AliasOf != "" {
			b.WriteString("    \"alias-of\": ")
			appendJSONString(b, m.AliasOf)
			b.WriteString(",\n")
		}
		b.WriteString("    \"static\": ")
		b.WriteString(strconv.FormatBool(m.Static))
		b.WriteString(",\n    \"migration-safe\": ")
		b.WriteString(strconv.FormatBool(m.MigrationSafe))
		b.WriteString(",\n    \"deprecated\": ")
		b.WriteString(strconv.FormatBool(m.Deprecated))
		b.WriteString(",\n    \"why\": {")
		sep = "\n      "
		for id := range r.missing.All() {
			b.WriteString(sep)
			appendJSONString(b, j.reg.Name(id))
			b.WriteString(": ")
			appendJSONString(b, j.avail.Layer(id))
			sep = ",\n      "
		}
		if !r.missing.IsEmpty() {
			b.WriteString("\n    ")
		}
		b.WriteString("}")
		if m.Source != "" {
			b.WriteString(",\n    \"source\": ")
			appendJSONString(b, m.Source)
		}
		b.WriteString("\n  }")
	}
	if len(rows) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("]\n")
}

// appendJSONString writes s as encoding/json would (HTML-escaped): the
// runs that need no escape, which are all of a feature or model name, in
// one write each.
func appendJSONString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			// encoding/json replaces invalid UTF-8 and escapes the
			// line and paragraph separators JavaScript cannot hold.
			r, size := utf8.DecodeRuneInString(s[i:])
			if (r != utf8.RuneError || size != 1) && r != '\u2028' && r != '\u2029' {
				i += size - 1
				continue
			}
			b.WriteString(s[start:i])
			if r == utf8.RuneError {
				b.WriteString(`\ufffd`)
			} else {
				fmt.Fprintf(b, `\u%04x`, r)
			}
			i += size - 1
			start = i + 1
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
			continue
		}
		b.WriteString(s[start:i])
		start = i + 1
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			fmt.Fprintf(b, `\u%04x`, c)
		}
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}
