// Package scenario drives a DAO on a simulated chain through random but reproducible
// histories: proposals in every state, votes of all kinds with reasons, delegations and
// transfers between votes, mints, and every registry action. Tests of the indexer, the API
// and the pinner build their index from it, and compare it with the chain (the oracle).
package scenario

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/big"
	"math/rand/v2"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/contracts/bindings"
	"github.com/modeldao/modeldao/devchain"
)

// Roles of the dev accounts in a scenario.
const (
	Holders    = 5 // accounts 0..4 hold tokens and vote
	Publisher1 = 5
	Publisher2 = 6
	Auditor    = 7
	Extra1     = 8
	Extra2     = 9
	Accounts   = 10
)

// Scenario is a DAO under test with what happened to it so far.
type Scenario struct {
	Chain *devchain.Chain
	DAO   *devchain.DAO
	rng   *rand.Rand

	Proposals []contracts.Proposal
	Versions  uint64            // versions submitted so far (ids 1..Versions)
	Audits    map[uint64]uint64 // version → passing audit id under policy 1
	Policy    uint64
	n         int // counter for unique names and descriptions
}

// New deploys a DAO on a fresh chain (with JSON-RPC on loopback when rpc is true) and
// registers an auditor and an audit-requiring policy through governance.
func New(ctx context.Context, seed uint64, rpc bool) (*Scenario, error) {
	opts := devchain.Options{Accounts: Accounts}
	if rpc {
		opts.HTTPAddr = "127.0.0.1:0"
	}
	c, err := devchain.New(opts)
	if err != nil {
		return nil, err
	}
	d, err := c.Deploy(ctx, contracts.DefaultConfig(), Holders)
	if err != nil {
		c.Close()
		return nil, err
	}
	s := &Scenario{Chain: c, DAO: d, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), Audits: map[uint64]uint64{}}
	policy := modeldao.Policy{Name: "fairness-baseline", Version: "1.0", DocumentCID: modeldao.Text(FakeCID("policy")), AuditRequired: true,
		Bounds: []modeldao.MetricBound{{Kind: modeldao.DemographicParityDifference, Limit: 100000}, {Kind: modeldao.DisparateImpactRatio, IsMinimum: true, Limit: 800000}}}
	if _, err := d.Pass(ctx, "# Set up auditing\nRegister the first auditor and the baseline policy.", []int{0, 1, 2},
		contracts.AddAuditor(c.Accounts[Auditor].Address, "Fair Audits Ltd"), contracts.AdoptPolicy(policy)); err != nil {
		c.Close()
		return nil, fmt.Errorf("set up auditing: %w", err)
	}
	s.Policy = 1
	return s, nil
}

// Close stops the chain.
func (s *Scenario) Close() { s.Chain.Close() }

// FakeCID returns a syntactically valid CIDv1 (base32) derived from seed. Only for content
// that no test fetches from IPFS.
func FakeCID(seed string) string {
	h := sha256.Sum256([]byte(seed))
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	out := []byte("bafkrei")
	for _, b := range h[:] {
		out = append(out, alphabet[int(b)%32])
	}
	return string(out[:59])
}

// SubmitVersion submits a version from publisher with the given weights digest.
func (s *Scenario) SubmitVersion(ctx context.Context, publisher int, model string, weightsCID string, digest common.Hash) (uint64, error) {
	s.n++
	label := fmt.Sprintf("v%d", s.n)
	tags := []string{"llm", []string{"vision", "text", "audio"}[s.n%3]}
	_, err := s.DAO.Mined(ctx)(s.DAO.Registry.SubmitVersion(s.Chain.Opts(publisher), model, label, weightsCID, digest, FakeCID("card"+label), "Apache-2.0", tags))
	if err != nil {
		return 0, err
	}
	s.Versions++
	return s.Versions, nil
}

// Audit posts a passing audit of a version under the scenario's policy.
func (s *Scenario) Audit(ctx context.Context, version uint64, passing bool) (uint64, error) {
	dpd := int64(50000)
	if !passing {
		dpd = 300000
	}
	metrics := []bindings.ModelRegistryMetric{
		{Kind: uint8(modeldao.DemographicParityDifference), SensitiveFeature: "sex", Value: dpd, Threshold: 100000, Passed: passing},
		{Kind: uint8(modeldao.DisparateImpactRatio), SensitiveFeature: "race", Value: 900000, Threshold: 800000, Passed: true},
	}
	_, err := s.DAO.Mined(ctx)(s.DAO.Registry.SubmitAudit(s.Chain.Opts(Auditor), u256(version), u256(s.Policy), FakeCID(fmt.Sprintf("report%d", version)), sha256.Sum256([]byte{byte(version)}), metrics, passing))
	if err != nil {
		return 0, err
	}
	n, err := s.DAO.Registry.AuditCount(nil)
	if err != nil {
		return 0, err
	}
	if passing {
		s.Audits[version] = n.Uint64()
	}
	return n.Uint64(), nil
}

func u256(x uint64) *big.Int { return new(big.Int).SetUint64(x) }

// Random performs n random actions. Actions that the chain refuses at that moment (a vote
// on a proposal that is not active, an execution whose call now reverts) are simply not
// sent: the scenario is whatever the chain accepted.
func (s *Scenario) Random(ctx context.Context, n int) error {
	for range n {
		if err := s.step(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (s *Scenario) pick(n int) int { return s.rng.IntN(n) }

func (s *Scenario) step(ctx context.Context) error {
	d, c := s.DAO, s.Chain
	holder := s.pick(Holders)
	switch r := s.pick(100); {
	case r < 10: // submit a version
		pub := Publisher1 + s.pick(2)
		model := fmt.Sprintf("org%d/model-%d", pub, s.pick(3))
		s.n++
		_, _ = s.SubmitVersion(ctx, pub, model, FakeCID(fmt.Sprint("w", s.n)), sha256.Sum256([]byte(fmt.Sprint(s.n))))
	case r < 16: // audit
		if s.Versions > 0 {
			_, _ = s.Audit(ctx, 1+uint64(s.pick(int(s.Versions))), s.pick(4) != 0)
		}
	case r < 30: // propose
		calls := s.randomCalls()
		if len(calls) == 0 {
			return nil
		}
		s.n++
		p, err := d.RegistryProposal(fmt.Sprintf("# Proposal %d\nRandom registry change number %d.", s.n, s.n), calls...)
		if err != nil {
			return err
		}
		if _, err := d.Mined(ctx)(d.DAO.Propose(c.Opts(holder), p)); err == nil {
			s.Proposals = append(s.Proposals, p)
		}
	case r < 58: // vote, mostly on recent proposals (those still open)
		if len(s.Proposals) > 0 {
			p := s.recent()
			support := uint8(s.pick(3))
			if s.pick(3) == 0 {
				support = 1
			}
			reasons := []string{"", "", "Looks good to me", "Audit is convincing", "Bias too high on one feature", "🙂 unicode reason"}
			_, _ = d.Mined(ctx)(d.Governor.CastVoteWithReason(c.Opts(holder), p.ID(), support, reasons[s.pick(len(reasons))]))
		}
	case r < 66: // delegate
		to := c.Accounts[s.pick(Holders+2)].Address
		_, _ = d.Mined(ctx)(d.Token.Delegate(c.Opts(holder), to))
	case r < 74: // transfer
		to := c.Accounts[s.pick(Accounts)].Address
		_, _ = d.Mined(ctx)(d.Token.Transfer(c.Opts(holder), to, devchain.Tokens(int64(1+s.pick(50)))))
	case r < 77: // mint
		_, _ = d.Mined(ctx)(d.Token.Mint(c.Opts(0), c.Accounts[s.pick(Accounts)].Address, devchain.Tokens(int64(100+s.pick(500)))))
	case r < 85: // queue or execute
		if len(s.Proposals) > 0 {
			p := s.recent()
			st, err := d.Governor.State(nil, p.ID())
			if err != nil {
				return nil
			}
			switch modeldao.ProposalState(st) {
			case modeldao.ProposalSucceeded:
				_, _ = d.Mined(ctx)(d.Queue(c.Opts(holder), p))
			case modeldao.ProposalQueued:
				_ = c.AdvanceTime(time.Duration(d.Config.TimelockDelay+1) * time.Second)
				_, _ = d.Mined(ctx)(d.Execute(c.Opts(holder), p))
			}
		}
	case r < 88: // cancel a pending proposal (its proposer only; try them all)
		if len(s.Proposals) > 0 {
			p := s.Proposals[len(s.Proposals)-1]
			for i := range Holders {
				if _, err := d.Mined(ctx)(d.Cancel(c.Opts(i), p)); err == nil {
					break
				}
			}
		}
	default: // let blocks pass
		c.Mine(1 + s.pick(8))
	}
	return nil
}

// recent picks one of the last few proposals.
func (s *Scenario) recent() contracts.Proposal {
	n := len(s.Proposals)
	return s.Proposals[n-1-s.pick(min(n, 4))]
}

// randomCalls picks registry calls that may succeed.
func (s *Scenario) randomCalls() []contracts.RegistryCall {
	if s.Versions == 0 {
		return []contracts.RegistryCall{contracts.AddAuditor(s.Chain.Accounts[Extra1+s.pick(2)].Address, "Second Auditor")}
	}
	v := 1 + uint64(s.pick(int(s.Versions)))
	switch s.pick(6) {
	case 0, 1:
		return []contracts.RegistryCall{contracts.ApproveVersion(v, s.Policy, s.Audits[v])}
	case 2:
		return []contracts.RegistryCall{contracts.RejectVersion(v, "does not meet the bar")}
	case 3:
		return []contracts.RegistryCall{contracts.RevokeVersion(v, "bias found after approval")}
	case 4:
		return []contracts.RegistryCall{contracts.AddAuditor(s.Chain.Accounts[Extra1+s.pick(2)].Address, "Second Auditor")}
	default:
		s.n++
		return []contracts.RegistryCall{contracts.AdoptPolicy(modeldao.Policy{Name: modeldao.Text(fmt.Sprintf("policy-%d", s.n)), Version: "1", DocumentCID: modeldao.Text(FakeCID("p")), AuditRequired: false})}
	}
}
