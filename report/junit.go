package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cpupolicy/cpupolicy/site"
)

// JUnit XML in the shape of the Apache Ant JUnit schema (the common
// JUnit.xsd that Jenkins, GitLab and others read): <testsuites> holding
// one <testsuite> whose test cases are the policies. A policy with
// violations has a <failure> listing them, one that could not run an
// <error>; waived violations are listed in <system-out>, and expired
// waivers are the failure of a test case "waivers". The tests validate
// the output against testdata/JUnit.xsd.

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Package    string          `xml:"package,attr"`
	ID         int             `xml:"id,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Hostname   string          `xml:"hostname,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Properties junitProperties `xml:"properties"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  junitText       `xml:"system-out"`
	SystemErr  junitText       `xml:"system-err"`
}

// junitText is text kept as written (CDATA), newlines and all.
type junitText struct {
	Text string `xml:",cdata"`
}

type junitProperties struct {
	Property []junitProperty `xml:"property"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

// WriteJUnit writes r as JUnit XML.
func WriteJUnit(w io.Writer, r *Report) error {
	host, err := os.Hostname()
	if err != nil || strings.TrimSpace(host) == "" {
		host = "localhost"
	}
	s := junitSuite{
		Name: "cpupolicy check", Package: "cpupolicy", ID: 0,
		Timestamp: r.Start.UTC().Format("2006-01-02T15:04:05"), Hostname: host,
		Time: junitSeconds(r.End.Sub(r.Start)),
	}
	s.Properties.Property = []junitProperty{{Name: "catalog", Value: r.Catalog}}
	if r.SiteFile != "" {
		s.Properties.Property = append(s.Properties.Property, junitProperty{Name: "site", Value: r.SiteFile})
	}
	if r.WaiversFile != "" {
		s.Properties.Property = append(s.Properties.Property, junitProperty{Name: "waivers", Value: r.WaiversFile})
	}
	var out strings.Builder
	for _, res := range r.Results {
		c := junitPolicyCase(res)
		if c.Error != nil {
			s.Errors++
		}
		if c.Failure != nil {
			s.Failures++
		}
		for _, wv := range res.Waived {
			fmt.Fprintf(&out, "waived %s: %s (%s: %s)\n", res.Policy.Name, violationLine(wv.Violation), wv.Waiver.Source, wv.Waiver.Reason)
		}
		s.Cases = append(s.Cases, c)
	}
	if r.WaiversFile != "" {
		c := junitWaiversCase(r.Expired)
		if c.Failure != nil {
			s.Failures++
		}
		s.Cases = append(s.Cases, c)
	}
	s.Tests = len(s.Cases)
	s.SystemOut.Text = xmlText(out.String())
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{s}}); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

// junitPolicyCase is the test case of one policy: an <error> when it
// could not run, a <failure> listing its violations.
func junitPolicyCase(res *Result) junitCase {
	p := res.Policy
	c := junitCase{Name: p.Name, Classname: "cpupolicy.site", Time: junitSeconds(res.Elapsed)}
	if p.Builtin {
		c.Classname = "cpupolicy.builtin"
	}
	switch {
	case res.Err != nil:
		msg, _, _ := strings.Cut(res.Err.Error(), "\n")
		typ := "error"
		if stop := stopOf(res.Err); stop != "" {
			typ = strings.ReplaceAll(stop, " ", "-")
		}
		c.Error = &junitProblem{Message: msg, Type: typ, Text: xmlText(res.Err.Error())}
	case len(res.Violations) > 0:
		var b strings.Builder
		for _, v := range res.Violations {
			fmt.Fprintln(&b, violationLine(v))
		}
		n := fmt.Sprintf("%d violations", len(res.Violations))
		if len(res.Violations) == 1 {
			n = res.Violations[0].Message
		}
		c.Failure = &junitProblem{Message: n, Type: "violation", Text: xmlText(b.String())}
	}
	return c
}

// junitWaiversCase is the test case "waivers", failed by expired ones.
func junitWaiversCase(expired []*site.Waiver) junitCase {
	c := junitCase{Name: "waivers", Classname: "cpupolicy.waivers", Time: junitSeconds(0)}
	if len(expired) > 0 {
		var b strings.Builder
		for _, x := range expired {
			fmt.Fprintln(&b, expiredLine(x))
		}
		msg := fmt.Sprintf("%d waivers expired", len(expired))
		if len(expired) == 1 {
			msg = "a waiver expired"
		}
		c.Failure = &junitProblem{Message: msg, Type: "expired-waiver", Text: xmlText(b.String())}
	}
	return c
}

// xmlText returns s with the characters XML 1.0 does not allow (most
// control characters) replaced by U+FFFD: CDATA escapes nothing.
func xmlText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r',
			r >= 0x20 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
			return r
		}
		return '\uFFFD'
	}, s)
}

// junitSeconds formats a duration as the schema's decimal seconds.
func junitSeconds(d time.Duration) string {
	return fmt.Sprintf("%.3f", d.Seconds())
}
