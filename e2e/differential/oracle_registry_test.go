package differential

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao/contracts/bindings"
)

// oVersion is registry.getVersion at the block, with the tags and history of its events.
type oVersion struct {
	id        uint64
	v         bindings.ModelRegistryVersion
	tags      []string
	submitted prov
	history   []oStatusChange
	audits    []uint64 // ids of its audits
	proposals []*oProposal
	lineage   bindings.ModelRegistryLineage // registry.getLineage
	derived   []uint64                      // versions whose lineage names this one, by id
}

type oStatusChange struct {
	status        string
	reason        string
	policy, audit uint64
	proposal      *oProposal // the proposal whose execution made the change
	prov          prov
}

type oModel struct {
	id       common.Hash
	name     string
	owner    common.Address // registry.modelOwner
	prov     prov
	versions []uint64
}

type oAudit struct {
	id   uint64
	a    bindings.ModelRegistryAudit
	prov prov
}

type oPolicy struct {
	id      uint64
	p       bindings.ModelRegistryPolicy
	adopted prov
	retired *prov
	audits  []uint64
	// versions approved under it: versions whose getVersion names it
	approved []uint64
}

type oAuditor struct {
	addr    common.Address
	name    string
	active  bool // registry.isAuditor
	added   prov // the first registration
	removed *prov
	audits  []uint64
}

var versionStatusNames = []string{"NONE", "SUBMITTED", "APPROVED", "REJECTED", "REVOKED"}

func (o *oracle) readRegistry(t *testing.T) {
	reg := o.dao.Registry
	n := must[*big.Int](t)(reg.VersionCount(o.call)).Uint64()
	for id := uint64(1); id <= n; id++ {
		o.versions = append(o.versions, &oVersion{id: id, v: must[bindings.ModelRegistryVersion](t)(reg.GetVersion(o.call, new(big.Int).SetUint64(id))),
			lineage: must[bindings.ModelRegistryLineage](t)(reg.GetLineage(o.call, new(big.Int).SetUint64(id)))})
	}
	for _, v := range o.versions {
		for _, b := range v.lineage.Bases {
			if !b.IsUint64() || b.Uint64() == 0 || b.Uint64() >= v.id {
				t.Fatalf("chain: version %d names base %s", v.id, b)
			}
			base := o.versions[b.Uint64()-1]
			base.derived = append(base.derived, v.id)
		}
	}
	version := func(id *big.Int) *oVersion {
		if !id.IsUint64() || id.Uint64() == 0 || id.Uint64() > n {
			t.Fatalf("chain: an event names version %s of %d", id, n)
		}
		return o.versions[id.Uint64()-1]
	}
	// The proposal whose execution made a change: the one executed in the same transaction.
	execIn := map[common.Hash]*oProposal{}
	for _, p := range o.proposals {
		for _, e := range p.timeline {
			if e.kind == "EXECUTED" {
				execIn[e.tx] = p
			}
		}
	}
	vs := must[*bindings.RegistryVersionSubmittedIterator](t)(reg.FilterVersionSubmitted(o.filt, nil, nil, nil))
	for vs.Next() {
		v := version(vs.Event.VersionId)
		v.tags, v.submitted = vs.Event.Tags, o.prov(t, vs.Event.Raw)
		v.history = append(v.history, oStatusChange{status: "SUBMITTED", prov: v.submitted})
	}
	iterDone(t, vs.Error())
	change := func(id *big.Int, c oStatusChange) {
		c.proposal = execIn[c.prov.tx]
		v := version(id)
		v.history = append(v.history, c)
	}
	va := must[*bindings.RegistryVersionApprovedIterator](t)(reg.FilterVersionApproved(o.filt, nil, nil, nil))
	for va.Next() {
		e := va.Event
		change(e.VersionId, oStatusChange{status: "APPROVED", policy: e.PolicyId.Uint64(), audit: e.AuditId.Uint64(), prov: o.prov(t, e.Raw)})
	}
	iterDone(t, va.Error())
	vj := must[*bindings.RegistryVersionRejectedIterator](t)(reg.FilterVersionRejected(o.filt, nil))
	for vj.Next() {
		change(vj.Event.VersionId, oStatusChange{status: "REJECTED", reason: vj.Event.Reason, prov: o.prov(t, vj.Event.Raw)})
	}
	iterDone(t, vj.Error())
	vr := must[*bindings.RegistryVersionRevokedIterator](t)(reg.FilterVersionRevoked(o.filt, nil))
	for vr.Next() {
		change(vr.Event.VersionId, oStatusChange{status: "REVOKED", reason: vr.Event.Reason, prov: o.prov(t, vr.Event.Raw)})
	}
	iterDone(t, vr.Error())
	for _, v := range o.versions {
		sortBy(v.history, func(c oStatusChange) []*big.Int { return c.prov.key() })
	}
	for _, p := range o.proposals {
		for _, id := range p.versions {
			if id >= 1 && id <= n {
				o.versions[id-1].proposals = append(o.versions[id-1].proposals, p)
			}
		}
	}

	mr := must[*bindings.RegistryModelRegisteredIterator](t)(reg.FilterModelRegistered(o.filt, nil, nil))
	for mr.Next() {
		e := mr.Event
		m := &oModel{id: e.ModelId, name: e.Name, prov: o.prov(t, e.Raw)}
		m.owner = must[common.Address](t)(reg.ModelOwner(o.call, e.ModelId))
		if m.owner != e.Owner {
			t.Fatalf("chain: model %s: modelOwner %s, event %s", e.Name, m.owner, e.Owner)
		}
		for _, v := range o.versions {
			if v.v.ModelId == e.ModelId {
				m.versions = append(m.versions, v.id)
			}
		}
		o.models = append(o.models, m)
	}
	iterDone(t, mr.Error())

	na := must[*big.Int](t)(reg.AuditCount(o.call)).Uint64()
	for id := uint64(1); id <= na; id++ {
		o.audits = append(o.audits, &oAudit{id: id, a: must[bindings.ModelRegistryAudit](t)(reg.GetAudit(o.call, new(big.Int).SetUint64(id)))})
	}
	as := must[*bindings.RegistryAuditSubmittedIterator](t)(reg.FilterAuditSubmitted(o.filt, nil, nil, nil))
	for as.Next() {
		id := as.Event.AuditId.Uint64()
		if id == 0 || id > na {
			t.Fatalf("chain: event of audit %d of %d", id, na)
		}
		o.audits[id-1].prov = o.prov(t, as.Event.Raw)
	}
	iterDone(t, as.Error())
	for _, a := range o.audits {
		if v := a.a.VersionId; v >= 1 && v <= n {
			o.versions[v-1].audits = append(o.versions[v-1].audits, a.id)
		}
	}

	np := must[*big.Int](t)(reg.PolicyCount(o.call)).Uint64()
	for id := uint64(1); id <= np; id++ {
		o.policies = append(o.policies, &oPolicy{id: id, p: must[bindings.ModelRegistryPolicy](t)(reg.GetPolicy(o.call, new(big.Int).SetUint64(id)))})
	}
	pa := must[*bindings.RegistryPolicyAdoptedIterator](t)(reg.FilterPolicyAdopted(o.filt, nil))
	for pa.Next() {
		o.policies[pa.Event.PolicyId.Uint64()-1].adopted = o.prov(t, pa.Event.Raw)
	}
	iterDone(t, pa.Error())
	pr := must[*bindings.RegistryPolicyRetiredIterator](t)(reg.FilterPolicyRetired(o.filt, nil))
	for pr.Next() {
		p := o.prov(t, pr.Event.Raw)
		o.policies[pr.Event.PolicyId.Uint64()-1].retired = &p
	}
	iterDone(t, pr.Error())
	for _, a := range o.audits {
		if p := a.a.PolicyId; p >= 1 && p <= np {
			o.policies[p-1].audits = append(o.policies[p-1].audits, a.id)
		}
	}
	for _, v := range o.versions {
		if p := v.v.PolicyId; p >= 1 && p <= np {
			o.policies[p-1].approved = append(o.policies[p-1].approved, v.id)
		}
	}

	byAddr := map[common.Address]*oAuditor{}
	aa := must[*bindings.RegistryAuditorAddedIterator](t)(reg.FilterAuditorAdded(o.filt, nil))
	for aa.Next() {
		e := aa.Event
		if a := byAddr[e.Auditor]; a != nil {
			a.name = e.Name // re-registered after a removal: the latest name
			continue
		}
		a := &oAuditor{addr: e.Auditor, name: e.Name, added: o.prov(t, e.Raw)}
		byAddr[e.Auditor] = a
		o.auditors = append(o.auditors, a)
	}
	iterDone(t, aa.Error())
	ar := must[*bindings.RegistryAuditorRemovedIterator](t)(reg.FilterAuditorRemoved(o.filt, nil))
	for ar.Next() {
		p := o.prov(t, ar.Event.Raw)
		byAddr[ar.Event.Auditor].removed = &p
	}
	iterDone(t, ar.Error())
	for _, a := range o.auditors {
		a.active = must[bool](t)(reg.IsAuditor(o.call, a.addr))
		if a.active {
			a.removed = nil // removed once, registered again
		}
	}
	for _, au := range o.audits {
		if a := byAddr[au.a.Auditor]; a != nil {
			a.audits = append(a.audits, au.id)
		}
	}
}

// sortBy sorts s by a uint256 key, stably.
func sortBy[T any](s []T, key func(T) []*big.Int) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && cmpKeys(key(s[j-1]), key(s[j])) > 0; j-- {
			s[j-1], s[j] = s[j], s[j-1]
		}
	}
}

var relationNames = []string{"NONE", "FINE_TUNE", "ADAPTER", "QUANTIZATION", "MERGE", "DISTILLATION"}

// tainting returns the REVOKED or REJECTED ancestors of version id, nearest first: a
// breadth-first walk of getLineage's bases (in their order), each version once at its
// smallest depth, up to depth levels.
func (o *oracle) tainting(id uint64, depth int) []uint64 {
	seen := map[uint64]bool{id: true}
	var frontier []uint64
	for _, b := range o.versions[id-1].lineage.Bases {
		frontier = append(frontier, b.Uint64())
	}
	var out []uint64
	for d := 1; d <= depth && len(frontier) > 0; d++ {
		var next []uint64
		for _, a := range frontier {
			if seen[a] {
				continue
			}
			seen[a] = true
			v := o.versions[a-1]
			if st := versionStatusNames[v.v.Status]; st == "REVOKED" || st == "REJECTED" {
				out = append(out, a)
			}
			for _, b := range v.lineage.Bases {
				next = append(next, b.Uint64())
			}
		}
		frontier = next
	}
	return out
}
