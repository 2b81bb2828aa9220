package main

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cpupolicy/cpupolicy/internal/testenv"
)

// testdata/JUnit.xsd is the Apache Ant JUnit schema as published by
// Windy Road (github.com/windyroad/JUnit-Schema, JUnit.xsd), the strictest
// of the common JUnit schemas: it requires <properties>, <system-out> and
// <system-err>, the package and id of each aggregated suite, and a
// timestamp without a time zone. xmllint (Debian's libxml2-utils) checks
// the output against it.

// TestJUnitValid runs check in each scenario and validates the XML.
func TestJUnitValid(t *testing.T) {
	xmllint, lintErr := exec.LookPath("xmllint")
	xsd, err := filepath.Abs(filepath.Join("testdata", "JUnit.xsd"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i, c := range checkScenarios(t) {
		t.Run(c.name, func(t *testing.T) {
			out, code := runCheckForTest(t, append(c.args, "--format", "junit"))
			if code != c.code {
				t.Errorf("exit %d, want %d", code, c.code)
			}
			// What holds without xmllint: the document parses, and the
			// suite's counts agree with its test cases.
			var doc struct {
				Suites []struct {
					Tests    int `xml:"tests,attr"`
					Failures int `xml:"failures,attr"`
					Errors   int `xml:"errors,attr"`
					Cases    []struct {
						Failure *struct{} `xml:"failure"`
						Error   *struct{} `xml:"error"`
					} `xml:"testcase"`
					SystemOut struct {
						Text string `xml:",chardata"`
					} `xml:"system-out"`
				} `xml:"testsuite"`
			}
			if err := xml.Unmarshal(out, &doc); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if len(doc.Suites) != 1 {
				t.Fatalf("%d test suites, want 1", len(doc.Suites))
			}
			s := doc.Suites[0]
			failures, errs := 0, 0
			for _, tc := range s.Cases {
				if tc.Failure != nil {
					failures++
				}
				if tc.Error != nil {
					errs++
				}
			}
			if s.Tests != len(s.Cases) || s.Failures != failures || s.Errors != errs {
				t.Errorf("tests=%d failures=%d errors=%d, but the cases say %d, %d, %d", s.Tests, s.Failures, s.Errors, len(s.Cases), failures, errs)
			}
			if (failures+errs > 0) != (code != exitOK) {
				t.Errorf("%d failures and %d errors with exit %d", failures, errs, code)
			}
			if c.waived > 0 && strings.Count(s.SystemOut.Text, "waived ") != c.waived {
				t.Errorf("system-out lists %d waived, want %d:\n%s", strings.Count(s.SystemOut.Text, "waived "), c.waived, s.SystemOut.Text)
			}
			if lintErr != nil {
				testenv.Missing(t, testenv.Xmllint, "the schema is not checked: %v", lintErr)
			}
			file := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".xml")
			if err := os.WriteFile(file, out, 0o644); err != nil {
				t.Fatal(err)
			}
			if msg, err := exec.Command(xmllint, "--noout", "--schema", xsd, file).CombinedOutput(); err != nil {
				t.Errorf("scenario %d does not validate: %v\n%s", i, err, msg)
			}
		})
	}
}

// TestJUnitSchemaRejects: xmllint with the schema does reject what the
// schema forbids, so that a passing TestJUnitValid means something.
func TestJUnitSchemaRejects(t *testing.T) {
	xmllint := testenv.Need(t, testenv.Xmllint, "check that the schema rejects what it forbids")
	good := `<?xml version="1.0" encoding="UTF-8"?>
<testsuites><testsuite name="s" package="p" id="0" timestamp="2026-01-02T03:04:05" hostname="h" tests="1" failures="0" errors="0" time="0.1">
<properties></properties><testcase name="c" classname="k" time="0.1"></testcase><system-out></system-out><system-err></system-err>
</testsuite></testsuites>
`
	dir := t.TempDir()
	for _, tt := range []struct{ name, from, to string }{
		{"valid", "", ""},
		{"no system-err", "<system-err></system-err>", ""},
		{"timestamp with zone", `timestamp="2026-01-02T03:04:05"`, `timestamp="2026-01-02T03:04:05Z"`},
		{"failure without type", `time="0.1"></testcase>`, `time="0.1"><failure message="m"/></testcase>`},
		{"attribute on testsuites", "<testsuites>", `<testsuites name="x">`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".xml")
			doc := good
			if tt.from != "" {
				doc = strings.Replace(good, tt.from, tt.to, 1)
			}
			if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			msg, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "JUnit.xsd"), file).CombinedOutput()
			if (err == nil) != (tt.name == "valid") {
				t.Errorf("xmllint: %v\n%s", err, msg)
			}
		})
	}
}
