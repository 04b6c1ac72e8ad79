package scenario

import (
	"crypto/sha256"
)

// Kind says what a string put on chain is, for str.
type Kind int

const (
	Label       Kind = iota // a version's label
	Tag                     // a version's tag
	CID                     // weights, model card, audit report, policy document
	Reason                  // a vote's, a rejection's or a revocation's reason
	Description             // a proposal's description
	Name                    // model, auditor, policy and policy version names, licences, sensitive features
)

// str is the one place every string the scenario puts on chain passes through: v is the
// plain value chosen for kind. Today it is v itself; an option can make it something a node
// stores byte for byte but a careless indexer does not (invalid UTF-8, say). Proposal ids
// hash their descriptions, so a description is chosen once and kept with its proposal.
func (s *Scenario) str(kind Kind, v string) string {
	_ = kind
	return v
}

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
