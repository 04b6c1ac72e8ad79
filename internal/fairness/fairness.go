// Package fairness reads and writes the bias-audit reports that `modeldao audit submit`
// posts on chain: a Fairlearn-style JSON document of fairness metrics grouped by sensitive
// feature, as an auditor produces it with fairlearn.metrics (demographic_parity_difference,
// equalized_odds_difference, …) over a MetricFrame.
//
//	{
//	  "format": "modeldao-fairness-report/v1",
//	  "modelVersion": 3,
//	  "policy": 2,
//	  "generator": "fairlearn 0.12.0",
//	  "dataset": "adult census income, test split (16281 rows)",
//	  "bySensitiveFeature": {
//	    "sex": {
//	      "demographic_parity_difference": {"value": 0.041, "threshold": 0.1,
//	                                        "byGroup": {"Female": 0.192, "Male": 0.233}},
//	      "disparate_impact_ratio":        {"value": 0.82, "threshold": 0.8}
//	    }
//	  }
//	}
//
// Metric names are those of ParseMetricKind (Fairlearn's snake_case, the upper-case names,
// or METRIC_<n>). A metric passes when a difference is at most its threshold, or a ratio at
// least its threshold; "passed" may be given per metric and for the whole report, and must
// agree with the values (a report may fail although every metric passes, never the
// reverse). Values have at most 6 decimals on chain: longer ones are rounded.
package fairness

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

// Format is the value of the "format" field this package reads and writes.
const Format = "modeldao-fairness-report/v1"

// Report is a fairness report.
type Report struct {
	Format       string `json:"format"`
	ModelVersion uint64 `json:"modelVersion,omitempty"` // may be given on the command line instead
	Policy       uint64 `json:"policy,omitempty"`       // idem
	Generator    string `json:"generator,omitempty"`    // e.g. "fairlearn 0.12.0"
	Dataset      string `json:"dataset,omitempty"`
	Notes        string `json:"notes,omitempty"`
	// BySensitiveFeature maps a sensitive feature ("sex", "race") to its metrics by name.
	BySensitiveFeature map[string]map[string]Metric `json:"bySensitiveFeature"`
	// Passed is the auditor's verdict; absent means "every metric passed".
	Passed *bool `json:"passed,omitempty"`
}

// Metric is one metric of one sensitive feature.
type Metric struct {
	Value     json.Number            `json:"value"`
	Threshold json.Number            `json:"threshold"`
	Passed    *bool                  `json:"passed,omitempty"`
	ByGroup   map[string]json.Number `json:"byGroup,omitempty"` // the metric's per-group base values, for readers
}

// Parse reads a report and checks its shape (not yet its metrics: see Audit).
func Parse(b []byte) (*Report, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var r Report
	if err := dec.Decode(&r); err != nil {
		return nil, modeldao.WrapError(modeldao.EINVALID, err, "the report is not valid JSON in the %s format", Format)
	}
	if r.Format != Format {
		return nil, modeldao.Errorf(modeldao.EINVALID, "the report's \"format\" is %q; want %q", r.Format, Format)
	}
	if len(r.BySensitiveFeature) == 0 {
		return nil, modeldao.Errorf(modeldao.EINVALID, "the report has no metrics: \"bySensitiveFeature\" must map a feature to its metrics, e.g. {\"sex\": {\"demographic_parity_difference\": {\"value\": 0.04, \"threshold\": 0.1}}}")
	}
	return &r, nil
}

// Number parses a JSON number as a Fixed6, rounding past 6 decimals.
func Number(n json.Number) (modeldao.Fixed6, error) {
	if n == "" {
		return 0, modeldao.Errorf(modeldao.EINVALID, "missing number")
	}
	if x, err := modeldao.ParseFixed6(string(n)); err == nil {
		return x, nil
	}
	f, err := n.Float64()
	if err != nil {
		return 0, modeldao.Errorf(modeldao.EINVALID, "%q is not a number", string(n))
	}
	return modeldao.Fixed6FromFloat(f)
}

// Metrics returns the report's metrics in a canonical order (by feature, then kind) and the
// verdict.
func (r *Report) Metrics() ([]modeldao.Metric, bool, error) {
	features := make([]string, 0, len(r.BySensitiveFeature))
	for f := range r.BySensitiveFeature {
		features = append(features, f)
	}
	sort.Strings(features)
	var out []modeldao.Metric
	all := true
	for _, f := range features {
		if strings.TrimSpace(f) == "" {
			return nil, false, modeldao.Errorf(modeldao.EINVALID, "a sensitive feature has an empty name")
		}
		ms := r.BySensitiveFeature[f]
		if len(ms) == 0 {
			return nil, false, modeldao.Errorf(modeldao.EINVALID, "sensitive feature %q has no metrics", f)
		}
		var group []modeldao.Metric
		for name, m := range ms {
			kind, err := modeldao.ParseMetricKind(name)
			if err != nil {
				return nil, false, modeldao.WrapError(modeldao.EINVALID, err, "sensitive feature %q", f)
			}
			v, err := Number(m.Value)
			if err != nil {
				return nil, false, modeldao.WrapError(modeldao.EINVALID, err, "%s on %q: value", name, f)
			}
			t, err := Number(m.Threshold)
			if err != nil {
				return nil, false, modeldao.WrapError(modeldao.EINVALID, err, "%s on %q: threshold", name, f)
			}
			passed := v <= t
			if kind.IsRatio() {
				passed = v >= t
			}
			if m.Passed != nil && *m.Passed != passed {
				rule := "a difference passes when it is at most its threshold"
				if kind.IsRatio() {
					rule = "a ratio passes when it is at least its threshold"
				}
				return nil, false, modeldao.Errorf(modeldao.EINVALID, "%s on %q says passed=%v, but its value %s against the threshold %s gives passed=%v (%s)",
					name, f, *m.Passed, v, t, passed, rule)
			}
			for _, g := range group {
				if g.Kind == kind {
					return nil, false, modeldao.Errorf(modeldao.EINVALID, "metric %s appears twice for sensitive feature %q", kind, f)
				}
			}
			group = append(group, modeldao.Metric{Kind: kind, SensitiveFeature: modeldao.Text(f), Value: v, Threshold: t, Passed: passed})
			all = all && passed
		}
		sort.Slice(group, func(i, j int) bool { return group[i].Kind < group[j].Kind })
		out = append(out, group...)
	}
	if r.Passed != nil && *r.Passed && !all {
		for _, m := range out {
			if !m.Passed {
				return nil, false, modeldao.Errorf(modeldao.EINVALID, "the report says passed=true, but %s on %q (%s, threshold %s) failed", m.Kind, m.SensitiveFeature, m.Value, m.Threshold)
			}
		}
	}
	verdict := all
	if r.Passed != nil {
		verdict = *r.Passed
	}
	return out, verdict, nil
}

// Audit turns the report into the audit submission for version and policy (0: take them
// from the report), with the report's CID and digest, validated by modeldao.Audit.Validate.
func (r *Report) Audit(version, policy uint64, reportCID string, reportSHA256 common.Hash) (modeldao.Audit, error) {
	if version == 0 {
		version = r.ModelVersion
	}
	if policy == 0 {
		policy = r.Policy
	}
	if r.ModelVersion != 0 && version != r.ModelVersion {
		return modeldao.Audit{}, modeldao.Errorf(modeldao.EINVALID, "the report is about model version %d, not %d", r.ModelVersion, version)
	}
	if r.Policy != 0 && policy != r.Policy {
		return modeldao.Audit{}, modeldao.Errorf(modeldao.EINVALID, "the report is under policy %d, not %d", r.Policy, policy)
	}
	metrics, passed, err := r.Metrics()
	if err != nil {
		return modeldao.Audit{}, err
	}
	a := modeldao.Audit{VersionID: version, PolicyID: policy, ReportCID: modeldao.Text(reportCID), ReportSHA256: reportSHA256, Metrics: metrics, Passed: passed}
	if version == 0 {
		return a, modeldao.Errorf(modeldao.EINVALID, "the report names no model version: add \"modelVersion\" to it or pass --version")
	}
	if policy == 0 {
		return a, modeldao.Errorf(modeldao.EINVALID, "the report names no policy: add \"policy\" to it or pass --policy")
	}
	return a, a.Validate()
}

// Marshal writes the report as indented JSON (for generated reports).
func (r *Report) Marshal() []byte {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("fairness: marshal report: %v", err)) // only json.Number values that are not numbers fail
	}
	return append(b, '\n')
}

// Num formats a float as a JSON number with up to 6 decimals (for generated reports).
func Num(f float64) json.Number {
	x, err := modeldao.Fixed6FromFloat(f)
	if err != nil {
		panic(err)
	}
	return json.Number(x.String())
}
