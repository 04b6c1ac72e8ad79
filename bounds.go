package modeldao

import (
	"fmt"
	"math"
)

// BoundCheck is one row of the evaluation of an audit against a policy: a bound of the
// policy and one metric of its kind in the audit (one row per sensitive feature the audit
// measured), or the bound alone when the audit has no metric of its kind.
type BoundCheck struct {
	Bound            MetricBound `json:"bound"`
	SensitiveFeature Text        `json:"sensitiveFeature"` // empty when Missing
	Value            Fixed6      `json:"value"`            // the audited value; zero when Missing
	// Margin is how far inside the bound the value lies: Limit−Value for a maximum,
	// Value−Limit for a minimum, so zero or more passes and a negative margin fails by that
	// much. Saturated at the int64 range (values and limits are int64 on chain).
	Margin Fixed6 `json:"margin"`
	Passed bool   `json:"passed"`
	// Missing is true when the audit has no metric of the bound's kind, which fails the
	// bound (the registry reverts MetricMissing).
	Missing bool `json:"missing,omitempty"`
}

// Evaluation is an audit checked against a policy's bounds, row by row.
type Evaluation struct {
	// AuditPassed is the auditor's own verdict; the registry approves only passing audits.
	AuditPassed bool         `json:"auditPassed"`
	Rows        []BoundCheck `json:"rows"`
}

// Passed reports whether the registry's approveVersion accepts the audit under the policy:
// the audit passed and every row passed.
func (e Evaluation) Passed() bool {
	if !e.AuditPassed {
		return false
	}
	for _, r := range e.Rows {
		if !r.Passed {
			return false
		}
	}
	return true
}

// Failing returns the rows that fail, in order.
func (e Evaluation) Failing() []BoundCheck {
	var out []BoundCheck
	for _, r := range e.Rows {
		if !r.Passed {
			out = append(out, r)
		}
	}
	return out
}

// Evaluate checks the audit against the policy's bounds as the registry's approveVersion
// does (maxima for differences, minima for ratios, every metric of a bounded kind must meet
// its bound and at least one must exist), keeping every row instead of stopping at the first
// failure, so a voter sees by how much each metric meets or misses its bound. Metrics of
// kinds the policy does not bound are not rows: they do not decide the approval.
func (p Policy) Evaluate(a Audit) Evaluation {
	return EvaluateBounds(p.Bounds, a)
}

// EvaluateBounds is Policy.Evaluate for bounds that no policy has yet (a proposed policy).
func EvaluateBounds(bounds []MetricBound, a Audit) Evaluation {
	e := Evaluation{AuditPassed: a.Passed}
	for _, b := range bounds {
		found := false
		for _, m := range a.Metrics {
			if m.Kind != b.Kind {
				continue
			}
			found = true
			e.Rows = append(e.Rows, BoundCheck{Bound: b, SensitiveFeature: m.SensitiveFeature, Value: m.Value,
				Margin: b.Margin(m.Value), Passed: b.Allows(m.Value)})
		}
		if !found {
			e.Rows = append(e.Rows, BoundCheck{Bound: b, Missing: true})
		}
	}
	return e
}

// Margin returns how far inside the bound value lies (negative when outside), saturated at
// the int64 range.
func (b MetricBound) Margin(value Fixed6) Fixed6 {
	if b.IsMinimum {
		return subSat(value, b.Limit)
	}
	return subSat(b.Limit, value)
}

// subSat returns x−y, clamped to the int64 range instead of wrapping.
func subSat(x, y Fixed6) Fixed6 {
	d := x - y
	// Overflow happened when the operands' signs differ and the result's sign is not x's.
	if (x >= 0) != (y >= 0) && (d >= 0) != (x >= 0) {
		if x >= 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return d
}

// CheckApproval applies the registry's approveVersion(versionID, policyID, auditID) rules
// for the policy and the audit (the version's status aside): p and a are what the index
// holds for policyID and auditID, nil when it knows none. It returns the audit's rows (none
// without an audit) and nil when the registry would accept, or an error saying why not.
func CheckApproval(versionID, policyID uint64, p *Policy, auditID uint64, a *Audit) (Evaluation, error) {
	var ev Evaluation
	if p == nil {
		return ev, Errorf(EINVALID, "policy %d is unknown", policyID)
	}
	if a != nil {
		ev = p.Evaluate(*a)
	}
	switch {
	case !p.Active:
		return ev, Errorf(EINVALID, "policy %d is retired", policyID)
	case auditID == 0 && p.AuditRequired:
		return ev, Errorf(EINVALID, "policy %d requires an audit and the approval names none", policyID)
	case auditID == 0:
		return ev, nil
	case a == nil:
		return ev, Errorf(EINVALID, "audit %d is unknown", auditID)
	case a.VersionID != versionID || a.PolicyID != policyID:
		return ev, Errorf(EINVALID, "audit %d is of version %d under policy %d, not of version %d under policy %d", auditID, a.VersionID, a.PolicyID, versionID, policyID)
	case !a.Passed:
		return ev, Errorf(EINVALID, "audit %d did not pass", auditID)
	}
	for _, r := range ev.Rows {
		switch {
		case r.Missing:
			return ev, Errorf(EINVALID, "audit %d has no %s metric, which policy %d bounds", auditID, r.Bound.Kind, policyID)
		case !r.Passed:
			op := "at most"
			if r.Bound.IsMinimum {
				op = "at least"
			}
			return ev, Errorf(EINVALID, "%s on %q is %s; policy %d allows %s %s", r.Bound.Kind, r.SensitiveFeature, r.Value, policyID, op, r.Bound.Limit)
		}
	}
	return ev, nil
}

// ValidateBounds applies the registry's rules for a policy's bounds (adoptPolicy reverts
// otherwise): at most MaxBounds, kinds in range, each kind bounded once.
func ValidateBounds(bounds []MetricBound) error {
	if len(bounds) > MaxBounds {
		return Errorf(EINVALID, "%d bounds; a policy has at most %d", len(bounds), MaxBounds)
	}
	var seen uint64
	for _, b := range bounds {
		if b.Kind > MaxMetricKind {
			return Errorf(EINVALID, "metric kind %d is out of range 0..%d", b.Kind, MaxMetricKind)
		}
		if seen&(1<<b.Kind) != 0 {
			return Errorf(EINVALID, "%s is bounded twice: give one bound per metric kind", b.Kind)
		}
		seen |= 1 << b.Kind
	}
	return nil
}

// ImpactOf returns why a version approved on the strength of audit a (nil when approved
// without one) would fail a policy with these bounds, as the registry's approveVersion
// would decide it with the same audit's metrics: the failing rows and a reason, or no rows
// and "" when it would pass. Without an audit the registry checks no bounds, so only
// auditRequired fails it.
func ImpactOf(bounds []MetricBound, auditRequired bool, a *Audit) ([]BoundCheck, string) {
	if a == nil {
		if auditRequired {
			return nil, "approved without an audit; the policy requires one"
		}
		return nil, ""
	}
	ev := EvaluateBounds(bounds, *a)
	failing := ev.Failing()
	switch {
	case !a.Passed:
		return failing, fmt.Sprintf("audit %d did not pass", a.ID)
	case len(failing) > 0:
		return failing, fmt.Sprintf("%d of %d bound checks of audit %d fail", len(failing), len(ev.Rows), a.ID)
	}
	return nil, ""
}
