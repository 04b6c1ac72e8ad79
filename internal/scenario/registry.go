package scenario

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/contracts/bindings"
)

// SubmitVersion submits a version from publisher with the given weights digest.
func (s *Scenario) SubmitVersion(ctx context.Context, publisher int, model string, weightsCID string, digest common.Hash) (uint64, error) {
	s.n++
	label := fmt.Sprintf("v%d", s.n)
	tags := []string{s.str(Tag, "llm"), s.str(Tag, []string{"vision", "text", "audio"}[s.n%3])}
	_, err := s.DAO.Mined(ctx)(s.DAO.Registry.SubmitVersion(s.opts(publisher), model, s.str(Label, label), weightsCID, digest,
		s.str(CID, FakeCID("card"+label)), s.str(Name, "Apache-2.0"), tags))
	if err != nil {
		return 0, err
	}
	s.Versions++
	return s.Versions, nil
}

// randomVersion submits a version of one of a few models of a random publisher.
func (s *Scenario) randomVersion(ctx context.Context) {
	pub := Publisher1 + s.pick(2)
	model := s.str(ModelName, fmt.Sprintf("org%d/model-%d", pub, s.pick(3)))
	s.n++
	_, _ = s.SubmitVersion(ctx, pub, model, s.str(CID, FakeCID(fmt.Sprint("w", s.n))), sha256.Sum256([]byte(fmt.Sprint(s.n))))
}

// Audit posts an audit of a version under the scenario's policy, passing or not.
func (s *Scenario) Audit(ctx context.Context, version uint64, passing bool) (uint64, error) {
	dpd := int64(50000)
	if !passing {
		dpd = 300000
	}
	metrics := []bindings.ModelRegistryMetric{
		{Kind: uint8(modeldao.DemographicParityDifference), SensitiveFeature: s.str(Name, "sex"), Value: dpd, Threshold: 100000, Passed: passing},
		{Kind: uint8(modeldao.DisparateImpactRatio), SensitiveFeature: s.str(Name, "race"), Value: 900000, Threshold: 800000, Passed: true},
	}
	_, err := s.DAO.Mined(ctx)(s.DAO.Registry.SubmitAudit(s.opts(Auditor), u256(version), u256(s.Policy),
		s.str(CID, FakeCID(fmt.Sprintf("report%d", version))), sha256.Sum256([]byte{byte(version)}), metrics, passing))
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

// randomCalls picks registry calls that may succeed.
func (s *Scenario) randomCalls() []contracts.RegistryCall {
	if s.Versions == 0 {
		return []contracts.RegistryCall{contracts.AddAuditor(s.addrs[Extra1+s.pick(2)], s.str(Name, "Second Auditor"))}
	}
	v := 1 + uint64(s.pick(int(s.Versions)))
	switch s.pick(6) {
	case 0, 1:
		return []contracts.RegistryCall{contracts.ApproveVersion(v, s.Policy, s.Audits[v])}
	case 2:
		return []contracts.RegistryCall{contracts.RejectVersion(v, s.str(Reason, "does not meet the bar"))}
	case 3:
		return []contracts.RegistryCall{contracts.RevokeVersion(v, s.str(Reason, "bias found after approval"))}
	case 4:
		return []contracts.RegistryCall{contracts.AddAuditor(s.addrs[Extra1+s.pick(2)], s.str(Name, "Second Auditor"))}
	default:
		s.n++
		return []contracts.RegistryCall{contracts.AdoptPolicy(modeldao.Policy{Name: modeldao.Text(s.str(Name, fmt.Sprintf("policy-%d", s.n))), Version: modeldao.Text(s.str(Name, "1")),
			DocumentCID: modeldao.Text(s.str(CID, FakeCID("p"))), AuditRequired: false})}
	}
}
