package contracts_test

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/contracts/bindings"
	"github.com/modeldao/modeldao/devchain"
	"github.com/modeldao/modeldao/internal/txutil"
)

// The Go rule that the API's evidence and policy impact rest on (modeldao.EvaluateBounds)
// decides as the registry's approveVersion does, on random policies and audits: the
// registry approves exactly when the evaluation passes, and when it reverts, it names the
// first failing row. The registry is deployed alone with an account as its governance, so
// that each approval is one transaction rather than a whole proposal.
func TestEvaluateBoundsAgreesWithRegistry(t *testing.T) {
	ctx := t.Context()
	chain, err := devchain.New(devchain.Options{Accounts: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { chain.Close() })
	const gov, pub, aud = 0, 1, 2
	_, tx, reg, err := bindings.DeployRegistry(chain.Opts(gov), chain.Client, crypto.PubkeyToAddress(chain.Accounts[gov].Key.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chain.Receipt(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if _, err := chain.Receipt(ctx, must(t)(reg.AddAuditor(chain.Opts(gov), chain.Accounts[aud].Address, "Fair Audits Ltd"))); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(15, 1))
	features := []string{"sex", "race", "age"}
	limits := []modeldao.Fixed6{-100000, 0, 100000, 800000, 1000000}
	var approved, rejected int
	for trial := 1; trial <= 100; trial++ {
		// A policy bounding a random subset of a few kinds (few, so audits often hit and miss them).
		var bounds []modeldao.MetricBound
		for k := range modeldao.MetricKind(5) {
			if rng.IntN(2) == 0 {
				bounds = append(bounds, modeldao.MetricBound{Kind: k, IsMinimum: rng.IntN(3) == 0 != k.IsRatio(), Limit: limits[rng.IntN(len(limits))]})
			}
		}
		// Metrics at, just inside or just outside a limit, so margins of 0 and ±1 come up.
		metrics := make([]modeldao.Metric, 1+rng.IntN(5))
		passed := rng.IntN(6) != 0
		for i := range metrics {
			m := modeldao.Metric{Kind: modeldao.MetricKind(rng.IntN(5)), SensitiveFeature: modeldao.Text(features[rng.IntN(len(features))]),
				Value: limits[rng.IntN(len(limits))] + modeldao.Fixed6(rng.IntN(3)-1), Threshold: 100000, Passed: passed || rng.IntN(2) == 0}
			// Most metrics of a bounded kind meet the bound by 0 or 1, or else few audits pass.
			for _, b := range bounds {
				if b.Kind == m.Kind && rng.IntN(5) != 0 {
					d := modeldao.Fixed6(rng.IntN(2))
					if m.Value = b.Limit - d; b.IsMinimum {
						m.Value = b.Limit + d
					}
				}
			}
			metrics[i] = m
		}
		// Most audits measure every bounded kind.
		for _, b := range bounds {
			if rng.IntN(4) != 0 {
				metrics = append(metrics, modeldao.Metric{Kind: b.Kind, SensitiveFeature: "sex", Value: b.Limit, Threshold: b.Limit, Passed: true})
			}
		}
		version := uint64(trial)
		if _, err := chain.Receipt(ctx, must(t)(reg.AdoptPolicy(chain.Opts(gov), fmt.Sprint("p", trial), "1", cidDoc, true, chainBounds(bounds)))); err != nil {
			t.Fatal(err)
		}
		s := submission(modelName, fmt.Sprint("v", trial))
		if _, err := chain.Receipt(ctx, must(t)(reg.SubmitVersion(chain.Opts(pub), s.ModelName, s.Label, s.WeightsCID, s.WeightsSHA256, s.ModelCardCID, s.License, s.Tags, contracts.LineageArg(s.Lineage)))); err != nil {
			t.Fatal(err)
		}
		if _, err := chain.Receipt(ctx, must(t)(reg.SubmitAudit(chain.Opts(aud), u(version), u(version), cidReport, sha256.Sum256([]byte(s.Label)), chainMetrics(metrics), passed))); err != nil {
			t.Fatal(err)
		}
		audit := modeldao.Audit{ID: version, VersionID: version, PolicyID: version, Metrics: metrics, Passed: passed}
		ev := modeldao.EvaluateBounds(bounds, audit)
		if p := (modeldao.Policy{Bounds: bounds}); ev.Passed() != (p.Check(audit) == nil) {
			t.Fatalf("trial %d: Evaluate passed=%v but Check says %v", trial, ev.Passed(), p.Check(audit))
		}
		tx, err := reg.ApproveVersion(chain.Opts(gov), u(version), u(version), u(version))
		if err == nil {
			_, err = chain.Receipt(ctx, tx)
		}
		if ev.Passed() {
			if err != nil {
				t.Fatalf("trial %d: bounds %+v, audit %+v: Go passes, the registry reverts: %v", trial, bounds, audit, err)
			}
			approved++
			continue
		}
		if err == nil {
			t.Fatalf("trial %d: bounds %+v, audit %+v: Go fails %+v, the registry approved", trial, bounds, audit, ev.Failing())
		}
		data, ok := txutil.RevertData(err)
		rv, ok2 := txutil.DecodeRevert(data)
		if !ok || !ok2 {
			t.Fatalf("trial %d: approval failed without a registry error: %v", trial, err)
		}
		rejected++
		first := ev.Failing()
		var want string
		switch {
		case !passed:
			want = fmt.Sprintf("AuditNotPassed(%d)", version)
		case first[0].Missing:
			want = fmt.Sprintf("MetricMissing(%d, %d)", version, first[0].Bound.Kind)
		default:
			r := first[0]
			want = fmt.Sprintf("BoundNotMet(%d, %d, %q, %d, %d)", version, r.Bound.Kind, r.SensitiveFeature, r.Value, r.Bound.Limit)
		}
		if rv.Text != want {
			t.Fatalf("trial %d: the registry reverts %s, the first failing row is %s (rows %+v)", trial, rv.Text, want, ev.Rows)
		}
	}
	if approved < 5 || rejected < 5 {
		t.Fatalf("%d approved and %d rejected: the random cases do not exercise both outcomes", approved, rejected)
	}
	t.Logf("%d approved, %d rejected", approved, rejected)
}

func must(t *testing.T) func(tx *types.Transaction, err error) *types.Transaction {
	return func(tx *types.Transaction, err error) *types.Transaction {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return tx
	}
}
