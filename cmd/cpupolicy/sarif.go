package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cpupolicy/cpupolicy/starlib"
)

// SARIF 2.1.0 (OASIS, errata 01), the subset a policy check needs: one
// run whose tool's rules are the policies, a result per violation (waived
// ones carry an accepted external suppression), a result per expired
// waiver, and an invocation that fails when a policy could not run.
// testdata/sarif-schema-2.1.0.json is the schema the tests hold it to.

const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	// expiredWaiverRule is the rule of expired-waiver results; a policy
	// name cannot contain "/".
	expiredWaiverRule = "cpupolicy/expired-waiver"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	Results     []sarifResult     `json:"results"`
	Properties  map[string]any    `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name  string      `json:"name"`
	Rules []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string           `json:"id"`
	Name                 string           `json:"name,omitempty"`
	ShortDescription     *sarifMessage    `json:"shortDescription,omitempty"`
	FullDescription      *sarifMessage    `json:"fullDescription,omitempty"`
	DefaultConfiguration *sarifRuleConfig `json:"defaultConfiguration,omitempty"`
	Properties           map[string]any   `json:"properties,omitempty"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Level               string             `json:"level"`
	Message             sarifMessage       `json:"message"`
	Locations           []sarifLocation    `json:"locations,omitempty"`
	PartialFingerprints map[string]string  `json:"partialFingerprints,omitempty"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	Properties          map[string]any     `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysicalLocation `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogicalLocation `json:"logicalLocations,omitempty"`
}

type sarifPhysicalLocation struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	Region           *sarifRegion          `json:"region,omitempty"`
}

type sarifArtifactLocation struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

type sarifLogicalLocation struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName,omitempty"`
	Kind               string `json:"kind"`
}

type sarifSuppression struct {
	Kind          string         `json:"kind"`
	Status        string         `json:"status"`
	Justification string         `json:"justification"`
	Location      *sarifLocation `json:"location,omitempty"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	ExitCode                   int                 `json:"exitCode"`
	StartTimeUTC               string              `json:"startTimeUtc"`
	EndTimeUTC                 string              `json:"endTimeUtc"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level          string        `json:"level"`
	Message        sarifMessage  `json:"message"`
	AssociatedRule *sarifRuleRef `json:"associatedRule,omitempty"`
}

type sarifRuleRef struct {
	ID    string `json:"id"`
	Index int    `json:"index"`
}

// writeSARIF writes the report as a SARIF 2.1.0 log.
func writeSARIF(w io.Writer, r *checkReport) error {
	run := sarifRun{
		Tool:       sarifTool{Driver: sarifDriver{Name: "cpupolicy"}},
		Results:    []sarifResult{},
		Properties: map[string]any{"catalog": r.catalog},
	}
	ruleIndex := map[string]int{}
	for _, res := range r.results {
		p := res.policy
		short, _, _ := strings.Cut(p.doc, "\n")
		ruleIndex[p.name] = len(run.Tool.Driver.Rules)
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
			ID: p.name, Name: p.name,
			ShortDescription:     &sarifMessage{Text: short},
			FullDescription:      &sarifMessage{Text: p.doc},
			DefaultConfiguration: &sarifRuleConfig{Level: "error"},
			Properties:           map[string]any{"file": p.file, "builtin": p.builtin},
		})
	}
	if len(r.expired) > 0 {
		ruleIndex[expiredWaiverRule] = len(run.Tool.Driver.Rules)
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
			ID: expiredWaiverRule, Name: "expired-waiver",
			ShortDescription:     &sarifMessage{Text: "A waiver is past its expiry date."},
			FullDescription:      &sarifMessage{Text: "A waiver past its expiry date waives nothing and fails the run, so that accepted violations are reviewed: renew it with a new date or remove it."},
			DefaultConfiguration: &sarifRuleConfig{Level: "error"},
		})
	}
	inv := sarifInvocation{ExitCode: r.exitCode(), StartTimeUTC: sarifTime(r.start), EndTimeUTC: sarifTime(r.end)}
	inv.ExecutionSuccessful = inv.ExitCode != exitUsage
	for _, res := range r.results {
		p := res.policy
		if res.err != nil {
			inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{
				Level: "error", Message: sarifMessage{Text: res.err.Error()},
				AssociatedRule: &sarifRuleRef{ID: p.name, Index: ruleIndex[p.name]},
			})
		}
		for _, v := range res.violations {
			run.Results = append(run.Results, sarifViolation(r, v, ruleIndex[p.name]))
		}
		for _, wv := range res.waived {
			sr := sarifViolation(r, wv.Violation, ruleIndex[p.name])
			sr.Suppressions = []sarifSuppression{{Kind: "external", Status: "accepted",
				Justification: wv.Waiver.Reason, Location: sarifSource(wv.Waiver.Source)}}
			run.Results = append(run.Results, sr)
		}
	}
	for _, x := range r.expired {
		msg := "waiver of " + x.Policy + " for " + x.Model + " on " + x.Machine + " expired on " + x.Expires + ": " + x.Reason
		sr := sarifResult{RuleID: expiredWaiverRule, RuleIndex: ruleIndex[expiredWaiverRule], Level: "error",
			Message: sarifMessage{Text: msg},
			Properties: map[string]any{"policy": x.Policy, "model": x.Model, "machine": x.Machine,
				"features": nonNil(x.Features), "expires": x.Expires}}
		if loc := sarifSource(x.Source); loc != nil {
			sr.Locations = []sarifLocation{*loc}
		}
		run.Results = append(run.Results, sr)
	}
	run.Invocations = []sarifInvocation{inv}
	data, err := json.MarshalIndent(sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}}, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// sarifViolation is the result of a violation: located at the site file
// (when there is one) and logically at the model on the machine type.
func sarifViolation(r *checkReport, v starlib.Violation, rule int) sarifResult {
	props := map[string]any{"policy": v.Policy, "features": nonNil(v.Features)}
	if v.Model != "" {
		props["model"] = v.Model
	}
	if v.Machine != "" {
		props["machine"] = v.Machine
	}
	if len(v.Extra) > 0 {
		props["extra"] = v.Extra // nested: an extra key may not be a SARIF property bag's "tags"
	}
	sr := sarifResult{RuleID: v.Policy, RuleIndex: rule, Level: "error", Message: sarifMessage{Text: v.Message}, Properties: props}
	var loc sarifLocation
	if r.siteFile != "" {
		loc.PhysicalLocation = &sarifPhysicalLocation{ArtifactLocation: sarifArtifactLocation{URI: sarifURI(r.siteFile)}}
	}
	switch {
	case v.Model != "" && v.Machine != "":
		loc.LogicalLocations = []sarifLogicalLocation{{Name: v.Model, FullyQualifiedName: v.Machine + "/" + v.Model, Kind: "resource"}}
	case v.Model != "":
		loc.LogicalLocations = []sarifLogicalLocation{{Name: v.Model, Kind: "resource"}}
	case v.Machine != "":
		loc.LogicalLocations = []sarifLogicalLocation{{Name: v.Machine, Kind: "resource"}}
	}
	if loc.PhysicalLocation != nil || loc.LogicalLocations != nil {
		sr.Locations = []sarifLocation{loc}
	}
	// The fingerprint identifies a violation across runs: the same
	// policy, model, machine and features, whatever the message says.
	sum := sha256.Sum256([]byte(strings.Join([]string{v.Policy, v.Model, v.Machine, strings.Join(v.Features, ",")}, "\x00")))
	sr.PartialFingerprints = map[string]string{"cpupolicyViolation/v1": hex.EncodeToString(sum[:16])}
	return sr
}

// sarifSource locates a waiver's "file:line[:col]".
func sarifSource(src string) *sarifLocation {
	parts := strings.Split(src, ":")
	var nums []int
	for len(parts) > 1 {
		n, err := strconv.Atoi(parts[len(parts)-1])
		if err != nil || n < 1 || len(nums) == 2 {
			break
		}
		nums = append([]int{n}, nums...)
		parts = parts[:len(parts)-1]
	}
	file := strings.Join(parts, ":")
	if file == "" {
		return nil
	}
	pl := &sarifPhysicalLocation{ArtifactLocation: sarifArtifactLocation{URI: sarifURI(file)}}
	if len(nums) > 0 {
		pl.Region = &sarifRegion{StartLine: nums[0]}
		if len(nums) > 1 {
			pl.Region.StartColumn = nums[1]
		}
	}
	return &sarifLocation{PhysicalLocation: pl}
}

// sarifURI is a file path as a URI reference: relative ones stay
// relative (to the working directory), absolute ones are file: URIs.
func sarifURI(p string) string {
	p = displayPath(p)
	if strings.HasPrefix(p, "/") {
		return (&url.URL{Scheme: "file", Path: p}).String()
	}
	return (&url.URL{Path: p}).String()
}

func sarifTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
