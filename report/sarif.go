package report

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cpupolicy/cpupolicy/site"
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

// WriteSARIF writes r as a SARIF 2.1.0 log.
func WriteSARIF(w io.Writer, r *Report) error {
	rules, ruleIndex := sarifRules(r)
	run := sarifRun{
		Tool:       sarifTool{Driver: sarifDriver{Name: "cpupolicy", Rules: rules}},
		Results:    []sarifResult{},
		Properties: map[string]any{"catalog": r.Catalog},
	}
	inv := sarifInvocation{ExitCode: r.ExitCode(), StartTimeUTC: sarifTime(r.Start), EndTimeUTC: sarifTime(r.End)}
	inv.ExecutionSuccessful = inv.ExitCode != 2
	for _, res := range r.Results {
		p := res.Policy
		if res.Err != nil {
			inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{
				Level: "error", Message: sarifMessage{Text: res.Err.Error()},
				AssociatedRule: &sarifRuleRef{ID: p.Name, Index: ruleIndex[p.Name]},
			})
		}
		for _, v := range res.Violations {
			run.Results = append(run.Results, sarifViolation(r, v, ruleIndex[p.Name]))
		}
		for _, wv := range res.Waived {
			sr := sarifViolation(r, wv.Violation, ruleIndex[p.Name])
			sr.Suppressions = []sarifSuppression{{Kind: "external", Status: "accepted",
				Justification: wv.Waiver.Reason, Location: sarifSource(wv.Waiver.Source)}}
			run.Results = append(run.Results, sr)
		}
	}
	for _, x := range r.Expired {
		run.Results = append(run.Results, sarifExpired(x, ruleIndex[expiredWaiverRule]))
	}
	run.Invocations = []sarifInvocation{inv}
	return writeIndented(w, sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}})
}

// sarifRules are the tool's rules: the policies, and the expired-waiver
// rule when a waiver expired; ruleIndex maps a rule's id to its index.
func sarifRules(r *Report) (rules []sarifRule, ruleIndex map[string]int) {
	ruleIndex = map[string]int{}
	for _, res := range r.Results {
		p := res.Policy
		short, _, _ := strings.Cut(p.Doc, "\n")
		ruleIndex[p.Name] = len(rules)
		rules = append(rules, sarifRule{
			ID: p.Name, Name: p.Name,
			ShortDescription:     &sarifMessage{Text: short},
			FullDescription:      &sarifMessage{Text: p.Doc},
			DefaultConfiguration: &sarifRuleConfig{Level: "error"},
			Properties:           map[string]any{"file": p.File, "builtin": p.Builtin},
		})
	}
	if len(r.Expired) > 0 {
		ruleIndex[expiredWaiverRule] = len(rules)
		rules = append(rules, sarifRule{
			ID: expiredWaiverRule, Name: "expired-waiver",
			ShortDescription:     &sarifMessage{Text: "A waiver is past its expiry date."},
			FullDescription:      &sarifMessage{Text: "A waiver past its expiry date waives nothing and fails the run, so that accepted violations are reviewed: renew it with a new date or remove it."},
			DefaultConfiguration: &sarifRuleConfig{Level: "error"},
		})
	}
	return rules, ruleIndex
}

// sarifExpired is the result of an expired waiver, located at the waiver.
func sarifExpired(x *site.Waiver, rule int) sarifResult {
	msg := "waiver of " + x.Policy + " for " + x.Model + " on " + x.Machine + " expired on " + x.Expires + ": " + x.Reason
	sr := sarifResult{RuleID: expiredWaiverRule, RuleIndex: rule, Level: "error",
		Message: sarifMessage{Text: msg},
		Properties: map[string]any{"policy": x.Policy, "model": x.Model, "machine": x.Machine,
			"features": nonNil(x.Features), "expires": x.Expires}}
	if loc := sarifSource(x.Source); loc != nil {
		sr.Locations = []sarifLocation{*loc}
	}
	return sr
}

// sarifViolation is the result of a violation: located at the site file
// (when there is one) and logically at the model on the machine type.
func sarifViolation(r *Report, v starlib.Violation, rule int) sarifResult {
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
	if r.SiteFile != "" {
		loc.PhysicalLocation = &sarifPhysicalLocation{ArtifactLocation: sarifArtifactLocation{URI: sarifURI(r.SiteFile)}}
		if o, ok := violationOffer(r.Offers, v); ok {
			// The line of the offer() call: a region of only a start
			// line is the whole line (SARIF 2.1.0, 3.30.2).
			if src := sarifSource(o.Source); src != nil && src.PhysicalLocation.Region != nil {
				loc.PhysicalLocation.Region = &sarifRegion{StartLine: src.PhysicalLocation.Region.StartLine}
			}
		}
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

// violationOffer is the offer v is about: the one its "offer" value
// names (the built-in policies and well-behaved site policies pass
// offer = offer.name), else the only offer whose -cpu spec is v's model.
func violationOffer(offers []site.Offer, v starlib.Violation) (site.Offer, bool) {
	if name, ok := v.Extra["offer"].(string); ok {
		for _, o := range offers {
			if o.Name == name {
				return o, true
			}
		}
		return site.Offer{}, false
	}
	var found []site.Offer
	for _, o := range offers {
		if v.Model != "" && o.CPU == v.Model {
			found = append(found, o)
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return site.Offer{}, false
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

// displayPath is a path as reports name it: relative to the working
// directory when it is under it, with forward slashes.
func displayPath(p string) string {
	if filepath.IsAbs(p) {
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
				p = rel
			}
		}
	}
	return filepath.ToSlash(p)
}
