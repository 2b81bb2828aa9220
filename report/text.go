package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/cpupolicy/cpupolicy/internal/ansi"
	"github.com/cpupolicy/cpupolicy/internal/english"
	"github.com/cpupolicy/cpupolicy/site"
	"github.com/cpupolicy/cpupolicy/starlib"
)

// TextOptions are how WriteText and WriteTestText write.
type TextOptions struct {
	// Color paints verdicts with ANSI colours (for a terminal).
	Color bool
	// Verbose lists every test, not only the failed ones (WriteTestText).
	Verbose bool
}

func (o TextOptions) paint(c ansi.Color, s string) string { return ansi.Paint(o.Color, c, s) }

// plural is "1 thing" or "n things".
func plural(n int, one string) string { return english.Count(n, one) }

// WriteText writes r for people: each policy's verdict with its
// violations under it, then what was waived, the expired waivers and a
// summary line.
func WriteText(w io.Writer, r *Report, o TextOptions) error {
	ew := &errWriter{w: w}
	for _, res := range r.Results {
		writeResultText(ew, res, o)
	}
	writeWaivedText(ew, r, o)
	if len(r.Expired) > 0 {
		fmt.Fprintf(ew, "\n%s\n", o.paint(ansi.Red, "expired waivers:"))
		for _, x := range r.Expired {
			fmt.Fprintf(ew, "  %s\n", expiredLine(x))
		}
	}
	violations, nWaived, errs := r.Counts()
	verdict := map[string]string{"pass": o.paint(ansi.Green, "PASS"), "fail": o.paint(ansi.Red, "FAIL"), "error": o.paint(ansi.Red, "ERROR")}[r.Status()]
	parts := []string{plural(len(r.Results), "policy"), plural(violations, "violation")}
	if nWaived > 0 {
		parts = append(parts, fmt.Sprintf("%d waived", nWaived))
	}
	if len(r.Expired) > 0 {
		parts = append(parts, plural(len(r.Expired), "expired waiver"))
	}
	if errs > 0 {
		parts = append(parts, plural(errs, "error"))
	}
	fmt.Fprintf(ew, "\n%s: %s\n", verdict, strings.Join(parts, ", "))
	if len(r.Offers) == 0 && violations+nWaived == 0 && judgesOffers(r) {
		fmt.Fprintln(ew, "no offers to judge: the policies about offers judged nothing (give --cpu SPEC or a --site file)")
	}
	return ew.err
}

// judgesOffers reports whether a policy of r may judge offers: a site
// policy may; of the built-in ones, no-new-host-deps judges the catalog
// alone.
func judgesOffers(r *Report) bool {
	for _, res := range r.Results {
		if !res.Policy.Builtin || res.Policy.Name != "no-new-host-deps" {
			return true
		}
	}
	return false
}

// writeResultText writes one policy's verdict line and its violations.
func writeResultText(w io.Writer, res *Result, o TextOptions) {
	name := o.paint(ansi.Bold, res.Policy.Name)
	switch res.Status() {
	case "error":
		msg, _, _ := strings.Cut(res.Err.Error(), "\n")
		fmt.Fprintf(w, "%s %s: %s\n", o.paint(ansi.Red, "ERROR"), name, msg)
		return
	case "fail":
		fmt.Fprintf(w, "%s  %s: %s", o.paint(ansi.Red, "FAIL"), name, plural(len(res.Violations), "violation"))
	default:
		fmt.Fprintf(w, "%s    %s", o.paint(ansi.Green, "ok"), name)
	}
	if len(res.Waived) > 0 {
		fmt.Fprintf(w, " (%d waived)", len(res.Waived))
	}
	fmt.Fprintln(w)
	for _, v := range res.Violations {
		fmt.Fprintf(w, "      %s\n", violationLine(v))
	}
}

// writeWaivedText lists the waived violations by waiver: a waiver of "*"
// may accept dozens of violations, which JSON, SARIF and JUnit list one
// by one.
func writeWaivedText(w io.Writer, r *Report, o TextOptions) {
	var order []*site.Waiver
	n := map[*site.Waiver]int{}
	for _, res := range r.Results {
		for _, wv := range res.Waived {
			if n[wv.Waiver] == 0 {
				order = append(order, wv.Waiver)
			}
			n[wv.Waiver]++
		}
	}
	if len(order) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s\n", o.paint(ansi.Yellow, "waived:"))
	for _, x := range order {
		fmt.Fprintf(w, "  %s: %s of %s (%s on %s)\n", x.Source, plural(n[x], "violation"), x.Policy, x.Model, x.Machine)
	}
}

// expiredLine is an expired waiver in one line, as the text and JUnit
// reports list them.
func expiredLine(x *site.Waiver) string {
	return fmt.Sprintf("%s: %s %s on %s [%s] expired on %s: %s", x.Source, x.Policy, x.Model, x.Machine,
		strings.Join(x.Features, " "), x.Expires, x.Reason)
}

// violationLine is a violation in one line: its message, and the model,
// machine and features when the message does not already say them.
func violationLine(v starlib.Violation) string {
	var extra []string
	if v.Model != "" && !strings.Contains(v.Message, v.Model) {
		extra = append(extra, "model "+v.Model)
	}
	if v.Machine != "" && !strings.Contains(v.Message, v.Machine) {
		extra = append(extra, "machine "+v.Machine)
	}
	var missing []string
	for _, f := range v.Features {
		if !strings.Contains(v.Message, f) {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		extra = append(extra, "features "+strings.Join(v.Features, " "))
	}
	if len(extra) == 0 {
		return v.Message
	}
	return v.Message + " (" + strings.Join(extra, "; ") + ")"
}

// errWriter keeps the first write error, so that a writer of many
// Fprintf calls reports it once at the end.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
