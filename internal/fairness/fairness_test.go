package fairness

import (
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

const cid = "bafkreihz76luwx3glrv6b2ool75343ziyjbmg7hn65z7amye2qvxnfhbyi"

func TestAudit(t *testing.T) {
	r, err := Parse([]byte(`{
	  "format": "modeldao-fairness-report/v1", "modelVersion": 3, "policy": 2,
	  "bySensitiveFeature": {
	    "sex":  {"disparate_impact_ratio": {"value": 0.8, "threshold": 0.8},
	             "demographic_parity_difference": {"value": 0.0412345678, "threshold": 0.1, "byGroup": {"f": 0.3, "m": 0.34}}},
	    "race": {"EQUALIZED_ODDS_DIFFERENCE": {"value": "0.2", "threshold": 0.1}}
	  }}`))
	if err != nil {
		t.Fatal(err)
	}
	a, err := r.Audit(0, 0, cid, common.Hash{1})
	if err != nil {
		t.Fatal(err)
	}
	if a.VersionID != 3 || a.PolicyID != 2 || a.Passed || len(a.Metrics) != 3 {
		t.Fatalf("audit %+v", a)
	}
	// Canonical order: by feature, then kind; long decimals are rounded to 6.
	want := []struct {
		kind    modeldao.MetricKind
		feature string
		value   string
		passed  bool
	}{
		{modeldao.EqualizedOddsDifference, "race", "0.2", false},
		{modeldao.DemographicParityDifference, "sex", "0.041235", true},
		{modeldao.DisparateImpactRatio, "sex", "0.8", true},
	}
	for i, w := range want {
		m := a.Metrics[i]
		if m.Kind != w.kind || string(m.SensitiveFeature) != w.feature || m.Value.String() != w.value || m.Passed != w.passed {
			t.Errorf("metric %d = %+v, want %+v", i, m, w)
		}
	}
	// Flags may name the version and policy when the report does not, but not contradict it.
	if _, err := r.Audit(4, 0, cid, common.Hash{1}); err == nil || !strings.Contains(err.Error(), "version 3, not 4") {
		t.Errorf("contradicting version: %v", err)
	}
}

func TestInvalid(t *testing.T) {
	for _, c := range []struct{ report, want string }{
		{`{`, "not valid JSON"},
		{`{"format": "other"}`, `want "modeldao-fairness-report/v1"`},
		{`{"format": "modeldao-fairness-report/v1"}`, "no metrics"},
		{`{"format": "modeldao-fairness-report/v1", "bySensitiveFeature": {"sex": {"accuracy": {"value": 1, "threshold": 1}}}}`, "unknown metric kind"},
		{`{"format": "modeldao-fairness-report/v1", "bySensitiveFeature": {"sex": {"demographic_parity_difference": {"value": 0.3, "threshold": 0.1, "passed": true}}}}`, "says passed=true"},
		{`{"format": "modeldao-fairness-report/v1", "passed": true, "bySensitiveFeature": {"sex": {"demographic_parity_difference": {"value": 0.3, "threshold": 0.1}}}}`, "the report says passed=true"},
		{`{"format": "modeldao-fairness-report/v1", "bySensitiveFeature": {"sex": {"demographic_parity_difference": {"value": 0.3}}}}`, "threshold"},
		{`{"format": "modeldao-fairness-report/v1", "bySensitiveFeature": {"sex": {"demographic_parity_difference": {"value": 0.01, "threshold": 0.1}, "DEMOGRAPHIC_PARITY_DIFFERENCE": {"value": 0.01, "threshold": 0.1}}}}`, "appears twice"},
		{`{"format": "modeldao-fairness-report/v1", "bySensitiveFeature": {"sex": {"demographic_parity_difference": {"value": 0.01, "threshold": 0.1}}}}`, "names no model version"},
	} {
		r, err := Parse([]byte(c.report))
		if err == nil {
			_, err = r.Audit(0, 1, cid, common.Hash{1})
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || modeldao.ErrorCode(err) != modeldao.EINVALID {
			t.Errorf("%s: got %v, want %q", c.report, err, c.want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	r := &Report{Format: Format, ModelVersion: 1, Policy: 1, BySensitiveFeature: map[string]map[string]Metric{
		"age": {"demographic_parity_ratio": {Value: Num(0.91), Threshold: Num(0.8)}},
	}}
	back, err := Parse(r.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	a, err := back.Audit(0, 0, cid, common.Hash{1})
	if err != nil || !a.Passed || a.Metrics[0].Value != 910_000 {
		t.Fatalf("%+v, %v", a, err)
	}
}
