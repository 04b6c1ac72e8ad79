package modeldao

import (
	"math"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

func TestFixed6String(t *testing.T) {
	tests := []struct {
		x    Fixed6
		want string
	}{
		{0, "0"},
		{1, "0.000001"},
		{-1, "-0.000001"},
		{100000, "0.1"},
		{-100000, "-0.1"},
		{50000, "0.05"},
		{1_000_000, "1"},
		{-2_000_000, "-2"},
		{1_500_000, "1.5"},
		{123_456_789, "123.456789"},
		{10_000_010, "10.00001"},
		{math.MaxInt64, "9223372036854.775807"},
		{math.MinInt64, "-9223372036854.775808"},
	}
	for _, tt := range tests {
		if got := tt.x.String(); got != tt.want {
			t.Errorf("Fixed6(%d).String() = %q, want %q", int64(tt.x), got, tt.want)
		}
	}
}

func TestParseFixed6(t *testing.T) {
	tests := []struct {
		in   string
		want Fixed6
	}{
		{"0", 0},
		{"-0", 0},
		{"0.1", 100000},
		{"-0.05", -50000},
		{"1", 1_000_000},
		{"+1.5", 1_500_000},
		{".5", 500000},
		{"-.5", -500000},
		{"5.", 5_000_000},
		{" 0.25 ", 250000},
		{"0.000001", 1},
		{"-0.000001", -1},
		{"007.010", 7_010_000},
		{"9223372036854.775807", math.MaxInt64},
		{"-9223372036854.775807", -math.MaxInt64},
		{"-9223372036854.775808", math.MinInt64},
	}
	for _, tt := range tests {
		got, err := ParseFixed6(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseFixed6(%q) = %d, %v; want %d", tt.in, int64(got), err, int64(tt.want))
		}
	}
}

func TestParseFixed6Errors(t *testing.T) {
	for _, in := range []string{
		"", " ", "-", "+", ".", "-.", "abc", "1e3", "0x10", "1,5", "1.1234567", "--1", "+-1", "-+1", "1.-5", "1.+5",
		"1. 5", "1 .5", "1_000", "−1", // U+2212 minus sign
		"9223372036855",        // integer part alone out of range
		"9223372036854.775808", // one past MaxInt64: must not wrap around to a negative number
		"9223372036854.999999",
		"-9223372036854.775809", // one past MinInt64: must not wrap around to a positive number
	} {
		got, err := ParseFixed6(in)
		if err == nil {
			t.Errorf("ParseFixed6(%q) = %d (%s), want an error", in, int64(got), got)
			continue
		}
		if ErrorCode(err) != EINVALID {
			t.Errorf("ParseFixed6(%q) error code = %q, want %q", in, ErrorCode(err), EINVALID)
		}
	}
}

func TestFixed6RoundTrip(t *testing.T) {
	values := []Fixed6{math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1, 999_999, 1_000_001, -999_999}
	for x := Fixed6(-3_000_000); x <= 3_000_000; x += 12_347 {
		values = append(values, x)
	}
	for _, x := range values {
		s := x.String()
		got, err := ParseFixed6(s)
		if err != nil || got != x {
			t.Errorf("ParseFixed6(%q) = %d, %v; want %d", s, int64(got), err, int64(x))
		}
	}
}

func TestFixed6FromFloat(t *testing.T) {
	tests := []struct {
		f    float64
		want Fixed6
	}{
		{0, 0},
		{0.1, 100000},
		{-0.05, -50000},
		{1.5, 1_500_000},
		{0.0000004, 0},
		{0.0000006, 1},
		{-0.0000006, -1},
		{0.123456789, 123457},
	}
	for _, tt := range tests {
		got, err := Fixed6FromFloat(tt.f)
		if err != nil || got != tt.want {
			t.Errorf("Fixed6FromFloat(%v) = %d, %v; want %d", tt.f, int64(got), err, int64(tt.want))
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 1e13, -1e13} {
		if _, err := Fixed6FromFloat(f); ErrorCode(err) != EINVALID {
			t.Errorf("Fixed6FromFloat(%v) error = %v, want code %s", f, err, EINVALID)
		}
	}
	if got := Fixed6(1_500_000).Float64(); got != 1.5 {
		t.Errorf("Float64 = %v, want 1.5", got)
	}
	if got := Fixed6(-50000).Float64(); got != -0.05 {
		t.Errorf("Float64 = %v, want -0.05", got)
	}
}

func TestParseMetricKind(t *testing.T) {
	tests := []struct {
		in   string
		want MetricKind
	}{
		{"DEMOGRAPHIC_PARITY_DIFFERENCE", DemographicParityDifference},
		{"DEMOGRAPHIC_PARITY_RATIO", DemographicParityRatio},
		{"EQUALIZED_ODDS_DIFFERENCE", EqualizedOddsDifference},
		{"EQUAL_OPPORTUNITY_DIFFERENCE", EqualOpportunityDifference},
		{"DISPARATE_IMPACT_RATIO", DisparateImpactRatio},
		// Fairlearn's function names.
		{"demographic_parity_difference", DemographicParityDifference},
		{"demographic_parity_ratio", DemographicParityRatio},
		{"equalized_odds_difference", EqualizedOddsDifference},
		{"equal_opportunity_difference", EqualOpportunityDifference},
		{"disparate_impact_ratio", DisparateImpactRatio},
		{" Equalized_Odds_Difference ", EqualizedOddsDifference},
		{"METRIC_0", DemographicParityDifference},
		{"METRIC_5", 5},
		{"metric_17", 17},
		{"METRIC_31", 31},
	}
	for _, tt := range tests {
		got, err := ParseMetricKind(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseMetricKind(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "METRIC_", "METRIC_32", "METRIC_-1", "METRIC_x", "METRIC_256", "demographic parity difference",
		"DemographicParityDifference", "accuracy", "DISPARATE_IMPACT"} {
		if got, err := ParseMetricKind(in); ErrorCode(err) != EINVALID {
			t.Errorf("ParseMetricKind(%q) = %v, %v; want an %s error", in, got, err, EINVALID)
		}
	}
}

func TestMetricKindStringAndRatio(t *testing.T) {
	for k := MetricKind(0); k <= MaxMetricKind; k++ {
		got, err := ParseMetricKind(k.String())
		if err != nil || got != k {
			t.Errorf("ParseMetricKind(%q) = %v, %v; want %d", k.String(), got, err, k)
		}
		wantRatio := k == DemographicParityRatio || k == DisparateImpactRatio
		if k.IsRatio() != wantRatio {
			t.Errorf("%v.IsRatio() = %v, want %v", k, k.IsRatio(), wantRatio)
		}
	}
	if got := MetricKind(5).String(); got != "METRIC_5" {
		t.Errorf("MetricKind(5).String() = %q", got)
	}
	if got := DisparateImpactRatio.String(); got != "DISPARATE_IMPACT_RATIO" {
		t.Errorf("DisparateImpactRatio.String() = %q", got)
	}
}

func TestMetricBoundAllows(t *testing.T) {
	maxBound := MetricBound{Kind: DemographicParityDifference, Limit: 100000}
	minBound := MetricBound{Kind: DisparateImpactRatio, IsMinimum: true, Limit: 800000}
	negMax := MetricBound{Kind: 7, Limit: -100000}
	tests := []struct {
		b     MetricBound
		value Fixed6
		want  bool
	}{
		{maxBound, 0, true},
		{maxBound, 99999, true},
		{maxBound, 100000, true},
		{maxBound, 100001, false},
		{maxBound, -500000, true},
		{minBound, 900000, true},
		{minBound, 800000, true},
		{minBound, 799999, false},
		{minBound, -800000, false},
		{negMax, -100000, true},
		{negMax, -99999, false},
	}
	for _, tt := range tests {
		if got := tt.b.Allows(tt.value); got != tt.want {
			t.Errorf("%+v.Allows(%s) = %v, want %v", tt.b, tt.value, got, tt.want)
		}
	}
}

// testPolicy bounds demographic parity difference to at most 0.1 and disparate impact
// ratio to at least 0.8.
func testPolicy() Policy {
	return Policy{ID: 1, Name: "fair-lending", Version: "1", DocumentCID: testCID, AuditRequired: true, Bounds: []MetricBound{
		{Kind: DemographicParityDifference, Limit: 100000},
		{Kind: DisparateImpactRatio, IsMinimum: true, Limit: 800000},
	}}
}

func metric(k MetricKind, feature string, value Fixed6) Metric {
	return Metric{Kind: k, SensitiveFeature: Text(feature), Value: value, Threshold: 250000, Passed: true}
}

func TestPolicyCheck(t *testing.T) {
	dpd, dir := DemographicParityDifference, DisparateImpactRatio
	tests := []struct {
		name    string
		policy  Policy
		passed  bool
		metrics []Metric
		wantErr string // substring of the error; "" for none
	}{
		{"within bounds", testPolicy(), true, []Metric{metric(dpd, "sex", 50000), metric(dir, "sex", 900000)}, ""},
		{"exactly at the bounds", testPolicy(), true, []Metric{metric(dpd, "sex", 100000), metric(dir, "sex", 800000)}, ""},
		{"unbounded kinds are ignored", testPolicy(), true,
			[]Metric{metric(dpd, "sex", 0), metric(dir, "sex", 1_000_000), metric(EqualizedOddsDifference, "sex", 900000)}, ""},
		{"audit not passed", testPolicy(), false, []Metric{metric(dpd, "sex", 0), metric(dir, "sex", 1_000_000)}, "did not pass"},
		{"missing ratio metric", testPolicy(), true, []Metric{metric(dpd, "sex", 0)}, "has no DISPARATE_IMPACT_RATIO metric"},
		{"missing difference metric", testPolicy(), true, []Metric{metric(dir, "sex", 1_000_000)}, "has no DEMOGRAPHIC_PARITY_DIFFERENCE metric"},
		{"over the maximum", testPolicy(), true, []Metric{metric(dpd, "sex", 100001), metric(dir, "sex", 900000)}, "allows at most 0.1"},
		{"under the minimum", testPolicy(), true, []Metric{metric(dpd, "sex", 0), metric(dir, "race", 799999)}, `"race" is 0.799999; policy 1 allows at least 0.8`},
		{"every metric of a kind must meet its bound", testPolicy(), true,
			[]Metric{metric(dpd, "sex", 50000), metric(dpd, "race", 150000), metric(dir, "sex", 900000)}, `"race" is 0.15`},
		{"no bounds, passed", Policy{ID: 2}, true, []Metric{metric(dpd, "sex", 900000)}, ""},
		{"no bounds, not passed", Policy{ID: 2}, false, []Metric{metric(dpd, "sex", 900000)}, "did not pass"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantInvalid(t, tt.policy.Check(Audit{ID: 3, Passed: tt.passed, Metrics: tt.metrics}), tt.wantErr)
		})
	}
}

func validAudit() Audit {
	return Audit{
		VersionID:    1,
		PolicyID:     1,
		ReportCID:    testCID,
		ReportSHA256: common.HexToHash("0x01"),
		Metrics:      []Metric{metric(DemographicParityDifference, "sex", 50000), metric(DisparateImpactRatio, "sex", 900000)},
		Passed:       true,
	}
}

func TestAuditValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Audit)
		wantErr string
	}{
		{"valid", func(*Audit) {}, ""},
		{"failing verdict with a failed metric", func(a *Audit) { a.Passed = false; a.Metrics[0].Passed = false }, ""},
		{"64 metrics", func(a *Audit) { a.Metrics = repeatMetric(MaxMetrics) }, ""},
		{"metric kind 31", func(a *Audit) { a.Metrics[0].Kind = MaxMetricKind }, ""},
		{"no version", func(a *Audit) { a.VersionID = 0 }, "no model version"},
		{"no policy", func(a *Audit) { a.PolicyID = 0 }, "no policy"},
		{"empty report CID", func(a *Audit) { a.ReportCID = "" }, "report CID is empty"},
		{"report CID not a CID", func(a *Audit) { a.ReportCID = "https://example.org/report.pdf" }, "is not an IPFS CID"},
		{"report CID too long", func(a *Audit) { a.ReportCID = Text("b" + strings.Repeat("a", MaxCIDLength)) }, "at most 128"},
		{"zero report digest", func(a *Audit) { a.ReportSHA256 = common.Hash{} }, "report sha256 is zero"},
		{"no metrics", func(a *Audit) { a.Metrics = nil }, "no metrics"},
		{"65 metrics", func(a *Audit) { a.Metrics = repeatMetric(MaxMetrics + 1) }, "65 metrics; at most 64"},
		{"metric kind 32", func(a *Audit) { a.Metrics[1].Kind = MaxMetricKind + 1 }, "metric kind 32 is out of range"},
		{"empty sensitive feature", func(a *Audit) { a.Metrics[0].SensitiveFeature = "" }, "sensitive feature is empty"},
		{"sensitive feature too long", func(a *Audit) { a.Metrics[0].SensitiveFeature = Text(strings.Repeat("f", MaxFeatureLength+1)) }, "at most 64"},
		{"passing verdict with a failed metric", func(a *Audit) { a.Metrics[1].Passed = false }, "a passing audit needs every metric to pass"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validAudit()
			tt.mutate(&a)
			wantInvalid(t, a.Validate(), tt.wantErr)
		})
	}
}

func repeatMetric(n int) []Metric {
	ms := make([]Metric, n)
	for i := range ms {
		ms[i] = metric(DemographicParityDifference, "f", 0)
	}
	return ms
}

// wantInvalid fails unless err is nil (wantErr "") or an EINVALID error whose text holds
// wantErr.
func wantInvalid(t *testing.T, err error, wantErr string) {
	t.Helper()
	switch {
	case wantErr == "" && err != nil:
		t.Fatalf("error = %v, want nil", err)
	case wantErr != "" && err == nil:
		t.Fatalf("error = nil, want one with %q", wantErr)
	case wantErr != "" && (!strings.Contains(err.Error(), wantErr) || ErrorCode(err) != EINVALID):
		t.Fatalf("error = %v, want an %s error with %q", err, EINVALID, wantErr)
	}
}
