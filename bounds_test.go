package modeldao

import (
	"math"
	"reflect"
	"testing"
)

func TestEvaluateBounds(t *testing.T) {
	bounds := []MetricBound{{Kind: DemographicParityDifference, Limit: 100000}, {Kind: DisparateImpactRatio, IsMinimum: true, Limit: 800000},
		{Kind: EqualizedOddsDifference, Limit: 50000}}
	a := Audit{ID: 7, Passed: true, Metrics: []Metric{
		{Kind: DemographicParityDifference, SensitiveFeature: "sex", Value: 40000},
		{Kind: DisparateImpactRatio, SensitiveFeature: "sex", Value: 800000},
		{Kind: DemographicParityDifference, SensitiveFeature: "race", Value: 130000},
		{Kind: DisparateImpactRatio, SensitiveFeature: "race", Value: 750000},
		{Kind: EqualOpportunityDifference, SensitiveFeature: "sex", Value: 900000}, // not bounded: no row
	}}
	want := []BoundCheck{
		{Bound: bounds[0], SensitiveFeature: "sex", Value: 40000, Margin: 60000, Passed: true},
		{Bound: bounds[0], SensitiveFeature: "race", Value: 130000, Margin: -30000},
		{Bound: bounds[1], SensitiveFeature: "sex", Value: 800000, Margin: 0, Passed: true},
		{Bound: bounds[1], SensitiveFeature: "race", Value: 750000, Margin: -50000},
		{Bound: bounds[2], Missing: true},
	}
	ev := EvaluateBounds(bounds, a)
	if !reflect.DeepEqual(ev.Rows, want) {
		t.Fatalf("rows\n got %+v\nwant %+v", ev.Rows, want)
	}
	if ev.Passed() || len(ev.Failing()) != 3 {
		t.Fatalf("passed %v, failing %+v", ev.Passed(), ev.Failing())
	}
	// Passing rows and a failed verdict still fail, as the registry refuses failed audits.
	ok := EvaluateBounds(bounds[:1], Audit{Metrics: a.Metrics[:1]})
	if ok.Passed() || len(ok.Failing()) != 0 {
		t.Fatalf("a failed audit passes: %+v", ok)
	}
	ok.AuditPassed = true
	if !ok.Passed() {
		t.Fatalf("passing audit fails: %+v", ok)
	}
}

func TestBoundMarginSaturates(t *testing.T) {
	for _, c := range []struct {
		b     MetricBound
		value Fixed6
		want  Fixed6
	}{
		{MetricBound{Limit: math.MaxInt64}, math.MinInt64, math.MaxInt64},
		{MetricBound{Limit: math.MinInt64}, math.MaxInt64, math.MinInt64},
		{MetricBound{Limit: math.MinInt64, IsMinimum: true}, math.MaxInt64, math.MaxInt64},
		{MetricBound{Limit: 1, IsMinimum: true}, math.MinInt64, math.MinInt64},
		{MetricBound{Limit: -5}, -7, 2},
	} {
		if got := c.b.Margin(c.value); got != c.want {
			t.Errorf("%+v.Margin(%d) = %d, want %d", c.b, c.value, got, c.want)
		}
		if (c.b.Margin(c.value) >= 0) != c.b.Allows(c.value) {
			t.Errorf("%+v: margin sign disagrees with Allows(%d)", c.b, c.value)
		}
	}
}

func TestCheckApproval(t *testing.T) {
	p := &Policy{ID: 2, Active: true, AuditRequired: true, Bounds: []MetricBound{{Kind: DemographicParityDifference, Limit: 100000}}}
	good := &Audit{ID: 5, VersionID: 9, PolicyID: 2, Passed: true, Metrics: []Metric{{Kind: DemographicParityDifference, SensitiveFeature: "sex", Value: 100000}}}
	open := &Policy{ID: 3, Active: true}
	retired := &Policy{ID: 2, Bounds: p.Bounds}
	bad := *good
	bad.Metrics = []Metric{{Kind: DemographicParityDifference, SensitiveFeature: "age", Value: 100001}}
	for _, c := range []struct {
		version, policy uint64
		p               *Policy
		audit           uint64
		a               *Audit
		want            string
	}{
		{9, 2, p, 5, good, ""},
		{9, 3, open, 0, nil, ""},
		{9, 7, nil, 0, nil, "policy 7 is unknown"},
		{9, 2, retired, 5, good, "policy 2 is retired"},
		{9, 2, p, 0, nil, "policy 2 requires an audit and the approval names none"},
		{9, 2, p, 6, nil, "audit 6 is unknown"},
		{8, 2, p, 5, good, "audit 5 is of version 9 under policy 2, not of version 8 under policy 2"},
		{9, 2, p, 5, &bad, `DEMOGRAPHIC_PARITY_DIFFERENCE on "age" is 0.100001; policy 2 allows at most 0.1`},
	} {
		ev, err := CheckApproval(c.version, c.policy, c.p, c.audit, c.a)
		got := ""
		if err != nil {
			got = ErrorMessage(err)
		}
		if got != c.want {
			t.Errorf("CheckApproval(%d, %d, …, %d): %q, want %q", c.version, c.policy, c.audit, got, c.want)
		}
		if c.a != nil && c.p != nil && len(ev.Rows) != len(c.p.Bounds) {
			t.Errorf("CheckApproval(%d, %d, …, %d): rows %+v", c.version, c.policy, c.audit, ev.Rows)
		}
	}
}

func TestValidateBoundsAndImpactOf(t *testing.T) {
	if err := ValidateBounds([]MetricBound{{Kind: DemographicParityDifference}, {Kind: DemographicParityDifference}}); err == nil || ErrorCode(err) != EINVALID {
		t.Errorf("duplicate kinds: %v", err)
	}
	if err := ValidateBounds([]MetricBound{{Kind: MaxMetricKind + 1}}); err == nil {
		t.Error("kind out of range accepted")
	}
	if err := ValidateBounds([]MetricBound{{Kind: DemographicParityDifference}, {Kind: MaxMetricKind}}); err != nil {
		t.Error(err)
	}
	if rows, why := ImpactOf(nil, true, nil); rows != nil || why == "" {
		t.Errorf("no audit under auditRequired: %v %q", rows, why)
	}
	if rows, why := ImpactOf([]MetricBound{{Kind: DemographicParityDifference}}, false, nil); rows != nil || why != "" {
		t.Errorf("no audit, no audit required: the registry checks no bounds: %v %q", rows, why)
	}
	a := &Audit{ID: 1, Passed: true, Metrics: []Metric{{Kind: DemographicParityDifference, SensitiveFeature: "sex", Value: 50000}}}
	if rows, why := ImpactOf([]MetricBound{{Kind: DemographicParityDifference, Limit: 40000}}, false, a); len(rows) != 1 || rows[0].Margin != -10000 || why == "" {
		t.Errorf("tighter bound: %+v %q", rows, why)
	}
	if rows, why := ImpactOf([]MetricBound{{Kind: DemographicParityDifference, Limit: 50000}}, true, a); rows != nil || why != "" {
		t.Errorf("bound met at the limit: %+v %q", rows, why)
	}
}
