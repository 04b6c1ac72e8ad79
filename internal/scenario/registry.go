package scenario

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/contracts/bindings"
)

// SubmitVersion submits a version from publisher with the given weights digest.
func (s *Scenario) SubmitVersion(ctx context.Context, publisher int, model string, weightsCID string, digest common.Hash) (uint64, error) {
	return s.SubmitDerived(ctx, publisher, model, weightsCID, digest, modeldao.Lineage{})
}

// SubmitDerived submits a version with a lineage (bases, relation, datasets).
func (s *Scenario) SubmitDerived(ctx context.Context, publisher int, model string, weightsCID string, digest common.Hash, l modeldao.Lineage) (uint64, error) {
	s.n++
	label := fmt.Sprintf("v%d", s.n)
	tags := []string{s.str(Tag, "llm"), s.str(Tag, []string{"vision", "text", "audio"}[s.n%3])}
	_, err := s.DAO.Mined(ctx)(s.DAO.Registry.SubmitVersion(s.opts(publisher), model, s.str(Label, label), weightsCID, digest,
		s.str(CID, FakeCID("card"+label)), s.str(Name, "Apache-2.0"), tags, contracts.LineageArg(l)))
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
	_, _ = s.SubmitDerived(ctx, pub, model, s.str(CID, FakeCID(fmt.Sprint("w", s.n))), sha256.Sum256([]byte(fmt.Sprint(s.n))), s.randomLineage())
}

// randomLineage draws a lineage over the versions submitted so far: often none, else one
// of the relations with bases among existing versions (a merge of two or three), and up to
// two datasets from a small pool, so that derivative and dataset indexes hold several
// versions. Now and then it names a base that does not exist yet, which the registry
// refuses: the history then holds a failed submission, as real ones do.
func (s *Scenario) randomLineage() modeldao.Lineage {
	var l modeldao.Lineage
	if s.Versions > 0 && s.pick(3) != 0 {
		l.Relation = modeldao.Relation(1 + s.pick(5))
		n := 1
		if l.Relation == modeldao.RelationMerge {
			n = 2 + s.pick(2)
		}
		for range n {
			b := 1 + uint64(s.pick(int(s.Versions)))
			if s.pick(20) == 0 {
				b = s.Versions + 1
			}
			if !slices.Contains(l.Bases, b) {
				l.Bases = append(l.Bases, b)
			}
		}
		if !l.Relation.BaseCountOK(len(l.Bases)) {
			l.Relation = modeldao.RelationFineTune
			l.Bases = l.Bases[:1]
		}
	}
	for range s.pick(3) {
		d := s.pick(4)
		l.Datasets = append(l.Datasets, modeldao.Dataset{Role: modeldao.DatasetRole(s.pick(2)),
			Name: modeldao.Text(s.str(Name, fmt.Sprintf("org/dataset-%d", d))), CID: modeldao.Text(s.str(CID, FakeCID(fmt.Sprint("dataset", d)))),
			SHA256: sha256.Sum256([]byte(fmt.Sprint("dataset", d)))})
	}
	return l
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
