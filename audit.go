package modeldao

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
)

// Fixed6 is a signed fixed-point number with 6 decimals, as the registry stores metric
// values and bounds: 0.1 is Fixed6(100000).
type Fixed6 int64

// Fixed6Scale is the value of 1.0.
const Fixed6Scale = 1_000_000

// String formats x with up to 6 decimals and no trailing zeros ("0.1", "-2", "0.000001").
func (x Fixed6) String() string { return string(x.Append(nil)) }

// Append appends x as String formats it (for writers that build a buffer, without a string
// per value).
func (x Fixed6) Append(b []byte) []byte {
	u := uint64(x)
	if x < 0 {
		b = append(b, '-')
		u = uint64(-x) // also right for math.MinInt64: its two's complement is its magnitude
	}
	b = strconv.AppendUint(b, u/Fixed6Scale, 10)
	if frac := u % Fixed6Scale; frac != 0 {
		var d [7]byte
		d[0] = '.'
		for i := 6; i >= 1; i-- {
			d[i] = byte('0' + frac%10)
			frac /= 10
		}
		n := 7
		for d[n-1] == '0' {
			n--
		}
		b = append(b, d[:n]...)
	}
	return b
}

// Float64 returns x as a float (for display and filters; comparisons use the integer).
func (x Fixed6) Float64() float64 { return float64(x) / Fixed6Scale }

// ParseFixed6 parses a decimal with at most 6 fractional digits ("0.1", "-0.05", "1"),
// with at most one sign, refusing values outside the int64 range instead of wrapping.
func ParseFixed6(s string) (Fixed6, error) {
	bad := Errorf(EINVALID, "%q is not a decimal with at most 6 fractional digits", s)
	t := strings.TrimSpace(s)
	neg := false
	if t != "" && (t[0] == '-' || t[0] == '+') {
		neg, t = t[0] == '-', t[1:]
	}
	ip, fp, _ := strings.Cut(t, ".")
	if ip == "" && fp == "" || len(fp) > 6 || strings.ContainsAny(ip+fp, "+-") {
		return 0, bad
	}
	if ip == "" {
		ip = "0"
	}
	i, err := strconv.ParseUint(ip, 10, 64)
	if err != nil {
		return 0, Errorf(EINVALID, "%q is not a decimal in range", s)
	}
	var f uint64
	if fp != "" {
		if f, err = strconv.ParseUint(fp+strings.Repeat("0", 6-len(fp)), 10, 64); err != nil {
			return 0, bad
		}
	}
	// The magnitude may reach 2^63 only for a negative number (math.MinInt64).
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	if i > limit/Fixed6Scale || i*Fixed6Scale > limit-f {
		return 0, Errorf(EINVALID, "%q is out of range (at most ±9223372036854.775807)", s)
	}
	u := i*Fixed6Scale + f
	if neg {
		return Fixed6(-int64(u-1) - 1), nil
	}
	return Fixed6(u), nil
}

// Fixed6FromFloat rounds f to 6 decimals.
func Fixed6FromFloat(f float64) (Fixed6, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > float64(math.MaxInt64)/Fixed6Scale {
		return 0, Errorf(EINVALID, "metric value %v is not a finite number in range", f)
	}
	return Fixed6(math.Round(f * Fixed6Scale)), nil
}

// MetricKind names a fairness metric. The numbers are those of the registry contract;
// kinds up to MaxMetricKind are accepted on chain so that new ones need no new contract.
type MetricKind uint8

const (
	DemographicParityDifference MetricKind = 0
	DemographicParityRatio      MetricKind = 1
	EqualizedOddsDifference     MetricKind = 2
	EqualOpportunityDifference  MetricKind = 3
	DisparateImpactRatio        MetricKind = 4
)

var metricKindNames = [...]string{
	"DEMOGRAPHIC_PARITY_DIFFERENCE",
	"DEMOGRAPHIC_PARITY_RATIO",
	"EQUALIZED_ODDS_DIFFERENCE",
	"EQUAL_OPPORTUNITY_DIFFERENCE",
	"DISPARATE_IMPACT_RATIO",
}

func (k MetricKind) String() string {
	if int(k) < len(metricKindNames) {
		return metricKindNames[k]
	}
	return fmt.Sprintf("METRIC_%d", uint8(k))
}

// IsRatio reports whether the metric is a ratio, for which a policy sets a minimum
// (fairness is 1.0) rather than a maximum (fairness is 0.0 for differences).
func (k MetricKind) IsRatio() bool {
	return k == DemographicParityRatio || k == DisparateImpactRatio
}

// ParseMetricKind accepts the upper-case name, its snake_case form as Fairlearn spells it
// (demographic_parity_difference), or METRIC_<n>.
func ParseMetricKind(s string) (MetricKind, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	for i, n := range metricKindNames {
		if n == u {
			return MetricKind(i), nil
		}
	}
	if rest, ok := strings.CutPrefix(u, "METRIC_"); ok {
		if n, err := strconv.Atoi(rest); err == nil && n >= 0 && n <= MaxMetricKind {
			return MetricKind(n), nil
		}
	}
	return 0, Errorf(EINVALID, "unknown metric kind %q: use one of %s", s, strings.Join(metricKindNames[:], ", "))
}

// Metric is one fairness measurement of an audit.
type Metric struct {
	Kind             MetricKind `json:"kind"`
	SensitiveFeature Text       `json:"sensitiveFeature"` // e.g. "sex", "race"
	Value            Fixed6     `json:"value"`
	Threshold        Fixed6     `json:"threshold"` // the auditor's own threshold
	Passed           bool       `json:"passed"`
}

// Audit is a bias audit posted by a registered auditor on a version, under a policy.
type Audit struct {
	ID           uint64         `json:"id"`
	VersionID    uint64         `json:"versionId"`
	PolicyID     uint64         `json:"policyId"`
	Auditor      common.Address `json:"auditor"`
	ReportCID    Text           `json:"reportCid"`
	ReportSHA256 common.Hash    `json:"reportSha256"`
	Metrics      []Metric       `json:"metrics"`
	Passed       bool           `json:"passed"`
	Provenance   Provenance     `json:"provenance"`
}

// Validate applies the registry's rules for an audit submission.
func (a Audit) Validate() error {
	if a.VersionID == 0 {
		return Errorf(EINVALID, "audit names no model version")
	}
	if a.PolicyID == 0 {
		return Errorf(EINVALID, "audit names no policy")
	}
	if err := ValidateCID("report CID", string(a.ReportCID)); err != nil {
		return err
	}
	if a.ReportSHA256 == (common.Hash{}) {
		return Errorf(EINVALID, "report sha256 is zero: compute the digest of the report file")
	}
	if len(a.Metrics) == 0 {
		return Errorf(EINVALID, "audit has no metrics")
	}
	if len(a.Metrics) > MaxMetrics {
		return Errorf(EINVALID, "audit has %d metrics; at most %d", len(a.Metrics), MaxMetrics)
	}
	for _, m := range a.Metrics {
		if m.Kind > MaxMetricKind {
			return Errorf(EINVALID, "metric kind %d is out of range 0..%d", m.Kind, MaxMetricKind)
		}
		if err := checkString("sensitive feature", string(m.SensitiveFeature), MaxFeatureLength); err != nil {
			return err
		}
		if a.Passed && !m.Passed {
			return Errorf(EINVALID, "verdict is passed but metric %s on %q failed: a passing audit needs every metric to pass", m.Kind, m.SensitiveFeature)
		}
	}
	return nil
}

// MetricBound is what a policy allows for one metric kind: at most Limit, or at least Limit
// when IsMinimum (for ratios).
type MetricBound struct {
	Kind      MetricKind `json:"kind"`
	IsMinimum bool       `json:"isMinimum"`
	Limit     Fixed6     `json:"limit"`
}

// Allows reports whether value meets the bound.
func (b MetricBound) Allows(value Fixed6) bool {
	if b.IsMinimum {
		return value >= b.Limit
	}
	return value <= b.Limit
}

// Policy is an alignment policy adopted by the DAO.
type Policy struct {
	ID            uint64        `json:"id"`
	Name          Text          `json:"name"`
	Version       Text          `json:"version"`
	DocumentCID   Text          `json:"documentCid"`
	AuditRequired bool          `json:"auditRequired"`
	Bounds        []MetricBound `json:"bounds"`
	Active        bool          `json:"active"`
	Adopted       Provenance    `json:"adopted"`
	Retired       *Provenance   `json:"retired,omitempty"`
}

// Check returns nil when audit satisfies the policy's bounds as the registry's approval
// requires: the audit passed, and for each bound at least one metric of its kind exists and
// every metric of its kind meets it.
func (p Policy) Check(a Audit) error {
	if !a.Passed {
		return Errorf(EINVALID, "audit %d did not pass", a.ID)
	}
	for _, b := range p.Bounds {
		found := false
		for _, m := range a.Metrics {
			if m.Kind != b.Kind {
				continue
			}
			found = true
			if !b.Allows(m.Value) {
				op := "at most"
				if b.IsMinimum {
					op = "at least"
				}
				return Errorf(EINVALID, "audit %d: %s on %q is %s; policy %d allows %s %s", a.ID, m.Kind, m.SensitiveFeature, m.Value, p.ID, op, b.Limit)
			}
		}
		if !found {
			return Errorf(EINVALID, "audit %d has no %s metric, which policy %d bounds", a.ID, b.Kind, p.ID)
		}
	}
	return nil
}

// Auditor is an address the DAO registered to post audits.
type Auditor struct {
	Address    common.Address `json:"address"`
	Name       Text           `json:"name"`
	Active     bool           `json:"active"`
	Added      Provenance     `json:"added"`
	Removed    *Provenance    `json:"removed,omitempty"`
	AuditCount int            `json:"auditCount"`
}
