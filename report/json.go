package report

import (
	"encoding/json"
	"io"

	"github.com/cpupolicy/cpupolicy/site"
	"github.com/cpupolicy/cpupolicy/starlib"
)

// The JSON report. Its keys are a contract.
type checkJSON struct {
	Violations     []starlib.Violation `json:"violations"`
	Waived         []waivedJSON        `json:"waived"`
	ExpiredWaivers []waiverJSON        `json:"expired_waivers"`
	Errors         []errorJSON         `json:"errors"`
	Summary        summaryJSON         `json:"summary"`
}

type waivedJSON struct {
	Violation starlib.Violation `json:"violation"`
	Waiver    waiverJSON        `json:"waiver"`
}

type waiverJSON struct {
	Policy   string   `json:"policy"`
	Model    string   `json:"model"`
	Machine  string   `json:"machine"`
	Features []string `json:"features"`
	Reason   string   `json:"reason"`
	Expires  string   `json:"expires,omitempty"`
	Source   string   `json:"source"`
}

type errorJSON struct {
	Policy  string `json:"policy"`
	File    string `json:"file"`
	Message string `json:"message"`
	// Stop is "time limit", "step budget", "size limit" or "memory
	// limit" for a run that was stopped.
	Stop string `json:"stop,omitempty"`
}

type summaryJSON struct {
	Policies       []policyJSON `json:"policies"`
	Violations     int          `json:"violations"`
	Waived         int          `json:"waived"`
	ExpiredWaivers int          `json:"expired_waivers"`
	UnusedWaivers  int          `json:"unused_waivers"`
	Errors         int          `json:"errors"`
	Catalog        string       `json:"catalog"`
	// Status is "pass", "fail" or "error", as the exit status 0, 1, 2.
	Status string `json:"status"`
}

type policyJSON struct {
	Name       string `json:"name"`
	File       string `json:"file"`
	Builtin    bool   `json:"builtin"`
	Status     string `json:"status"`
	Violations int    `json:"violations"`
	Waived     int    `json:"waived"`
}

func toWaiverJSON(w *site.Waiver) waiverJSON {
	return waiverJSON{Policy: w.Policy, Model: w.Model, Machine: w.Machine, Features: nonNil(w.Features), Reason: w.Reason, Expires: w.Expires, Source: w.Source}
}

// WriteJSON writes r as one JSON object: the violations, the waived ones
// with their waivers, the expired waivers, the policies that failed to
// run, and a summary.
func WriteJSON(w io.Writer, r *Report) error {
	out := checkJSON{Violations: []starlib.Violation{}, Waived: []waivedJSON{}, ExpiredWaivers: []waiverJSON{}, Errors: []errorJSON{}}
	for _, res := range r.Results {
		p := res.Policy
		out.Violations = append(out.Violations, res.Violations...)
		for _, wv := range res.Waived {
			out.Waived = append(out.Waived, waivedJSON{Violation: wv.Violation, Waiver: toWaiverJSON(wv.Waiver)})
		}
		if res.Err != nil {
			out.Errors = append(out.Errors, errorJSON{Policy: p.Name, File: p.File, Message: res.Err.Error(), Stop: stopOf(res.Err)})
		}
		out.Summary.Policies = append(out.Summary.Policies, policyJSON{Name: p.Name, File: p.File, Builtin: p.Builtin,
			Status: res.Status(), Violations: len(res.Violations), Waived: len(res.Waived)})
	}
	for _, wv := range r.Expired {
		out.ExpiredWaivers = append(out.ExpiredWaivers, toWaiverJSON(wv))
	}
	out.Summary.Violations, out.Summary.Waived, out.Summary.Errors = r.Counts()
	out.Summary.ExpiredWaivers, out.Summary.UnusedWaivers = len(r.Expired), len(r.Unused)
	out.Summary.Catalog, out.Summary.Status = r.Catalog, r.Status()
	return writeIndented(w, out)
}

// writeIndented writes v as every JSON report is written: indented by
// two spaces, with a final newline.
func writeIndented(w io.Writer, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// nonNil is s, or an empty list for nil: JSON lists are never null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
