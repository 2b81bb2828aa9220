package catalog

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/cpupolicy/cpupolicy/core"
)

// Summary is what `cpupolicy catalog show` lists of a catalog: its
// release, machine types and models. Its JSON keys are a contract.
type Summary struct {
	Name        string   `json:"name"`
	QEMUVersion string   `json:"qemu_version"`
	QEMUPackage string   `json:"qemu_package"`
	Accels      []string `json:"accels"`
	// KVMData is "derived" when the kvm answers were derived from the
	// tcg ones (Catalog.KVMData); absent when QEMU gave them.
	KVMData  string           `json:"kvm_data,omitempty"`
	Machines []SummaryMachine `json:"machines"`
	Models   []SummaryModel   `json:"models"`
}

// SummaryMachine is a machine type in a Summary.
type SummaryMachine struct {
	Name       string `json:"name"`
	Family     string `json:"family"`
	Version    string `json:"version"`
	Alias      string `json:"alias,omitempty"`
	Deprecated bool   `json:"deprecated"`
}

// SummaryModel is a model in a Summary.
type SummaryModel struct {
	Name          string `json:"name"`
	AliasOf       string `json:"alias-of,omitempty"`
	Version       int    `json:"version,omitempty"`
	Static        bool   `json:"static"`
	MigrationSafe bool   `json:"migration-safe"`
	Deprecated    bool   `json:"deprecated"`
	Vendor        string `json:"vendor"`
	Features      int    `json:"features"`
	Source        string `json:"source,omitempty"`
}

// ImportSummary is the line `catalog import` ends with: the QEMU
// version, how many models and machine types, the accelerators, and
// whether the kvm answers were derived.
func (c *Catalog) ImportSummary() string {
	derived := ""
	if c.KVMData() != "" {
		derived = " (kvm " + c.KVMData() + ")"
	}
	return fmt.Sprintf("QEMU %s, %d models, %d machine types, accels %s%s", c.QEMUVersion(), c.NumModels(), len(c.Machines()), strings.Join(c.Accels(), ","), derived)
}

// Summarize returns the summary of c.
func (c *Catalog) Summarize() *Summary {
	s := &Summary{Name: c.Name(), QEMUVersion: c.QEMUVersion(), QEMUPackage: c.QEMUPackage(), Accels: c.Accels(), KVMData: c.KVMData()}
	for _, m := range c.Machines() {
		s.Machines = append(s.Machines, SummaryMachine{m.Name, m.Family, m.VersionString(), m.Alias, m.Deprecated})
	}
	for _, m := range c.Models() {
		s.Models = append(s.Models, SummaryModel{m.Name, m.AliasOf, m.Version, m.Static, m.MigrationSafe, m.Deprecated, m.Props.Vendor, m.Features.Count(), m.Source})
	}
	return s
}

// ReleaseText names a catalog's QEMU release (QEMUVersion) in text:
// "QEMU 10.0.2", or "no QEMU release".
func ReleaseText(version string) string {
	if version == "" {
		return "no QEMU release"
	}
	return "QEMU " + version
}

// WriteText writes the summary of cat for people.
func (sum *Summary) WriteText(buf io.Writer, cat *Catalog) {
	models := sum.Models
	pkg := ""
	if cat.QEMUPackage() != "" {
		pkg = " (" + cat.QEMUPackage() + ")"
	}
	derived := ""
	if cat.KVMData() != "" {
		derived = " (kvm answers " + cat.KVMData() + " from tcg's)"
	}
	fmt.Fprintf(buf, "catalog %s: %s%s, accels %s%s\n", cat.Name(), ReleaseText(cat.QEMUVersion()), pkg, strings.Join(cat.Accels(), ", "), derived)
	for _, fam := range []string{"pc-i440fx", "pc-q35"} {
		var names []string
		for _, m := range cat.MachineTypes(fam) {
			names = append(names, m.VersionString())
		}
		if len(names) > 0 {
			fmt.Fprintf(buf, "%s: %d machine types: %s\n", fam, len(names), strings.Join(names, " "))
		}
	}
	fmt.Fprintf(buf, "%d models:\n", cat.NumModels())
	tw := tabwriter.NewWriter(buf, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tALIAS-OF\tVENDOR\tFEATURES\tFLAGS")
	for _, m := range models {
		var flags []string
		for _, f := range []struct {
			on   bool
			name string
		}{{m.Static, "static"}, {m.MigrationSafe, "migration-safe"}, {m.Deprecated, "deprecated"}, {m.Source != "", "from " + m.Source}} {
			if f.on {
				flags = append(flags, f.name)
			}
		}
		aliasOf := m.AliasOf
		if aliasOf == "" {
			aliasOf = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\n", m.Name, aliasOf, m.Vendor, m.Features, strings.Join(flags, ","))
	}
	tw.Flush()
}

// ResolutionJSON is a Resolution as `cpupolicy resolve --format json`
// writes it, features by name. Its keys are a contract.
type ResolutionJSON struct {
	Name     string     `json:"name"`
	Machine  string     `json:"machine"`
	Accel    core.Accel `json:"accel"`
	Features []string   `json:"features"`
	Level    uint32     `json:"level"`
	XLevel   uint32     `json:"xlevel"`
	Family   int        `json:"family"`
	Model    int        `json:"model"`
	Stepping int        `json:"stepping"`
	ModelID  string     `json:"model-id"`
	Vendor   string     `json:"vendor"`
	// Options are a -cpu spec's non-feature properties (Resolution.Options).
	Options map[string]string `json:"options,omitempty"`
}

// ResolutionsJSON returns rs, resolved on c, as JSON values.
func (c *Catalog) ResolutionsJSON(rs []*Resolution) []ResolutionJSON {
	js := make([]ResolutionJSON, len(rs))
	for i, r := range rs {
		js[i] = ResolutionJSON{Name: r.Model, Machine: r.Machine, Accel: r.Accel, Features: append([]string{}, c.Registry().Names(r.Features)...),
			Level: r.Level, XLevel: r.XLevel, Family: r.Family, Model: r.Props.Model, Stepping: r.Stepping,
			ModelID: r.ModelID, Vendor: r.Vendor, Options: r.Options}
	}
	return js
}

// WriteResolutions writes rs, resolved on c, as a table for people, and
// the features of a single one.
func (c *Catalog) WriteResolutions(buf io.Writer, out []*Resolution) {
	tw := tabwriter.NewWriter(buf, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tMACHINE\tACCEL\tFEATURES\tLEVEL\tXLEVEL\tFAMILY\tMODEL\tSTEPPING\tVENDOR\tMODEL-ID")
	for _, r := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%#x\t%#x\t%d\t%d\t%d\t%s\t%s\n", r.Model, r.Machine, r.Accel, r.Features.Count(),
			r.Level, r.XLevel, r.Family, r.Props.Model, r.Stepping, r.Vendor, r.ModelID)
	}
	tw.Flush()
	if len(out) == 1 {
		fmt.Fprintf(buf, "\nfeatures: %v\n", c.Registry().Names(out[0].Features))
		if o := out[0].Options; len(o) > 0 {
			keys := slices.Sorted(maps.Keys(o))
			opts := make([]string, len(keys))
			for i, k := range keys {
				opts[i] = k + "=" + o[k]
			}
			fmt.Fprintf(buf, "options: %s\n", strings.Join(opts, " "))
		}
	}
}
