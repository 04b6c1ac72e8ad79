package scenario

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"

	"github.com/modeldao/modeldao"
)

// Kind says what a string put on chain is, for str.
type Kind int

const (
	Label       Kind = iota // a version's label
	Tag                     // a version's tag
	CID                     // weights, model card, audit report, policy document
	Reason                  // a vote's, a rejection's or a revocation's reason
	Description             // a proposal's description
	Name                    // auditor, policy and policy version names, licences, sensitive features
	ModelName               // a model name: the registry takes only ASCII letters, digits and - _ . /
)

// str is the one place every string the scenario puts on chain passes through: v is the
// plain value chosen for kind. It is v itself unless Options.HostileStrings is set; then
// every free string (all kinds but model names; an empty reason stays empty) is a hostile
// string of HostileStrings(seed): the same plain value always gives the same hostile one, so
// that tags and licences are shared as in the plain history, and the first two tags are
// Twins. Proposal ids hash their descriptions, so a description is chosen once and kept with
// its proposal.
func (s *Scenario) str(kind Kind, v string) string {
	if s.hostile == nil || kind == ModelName || v == "" {
		return v
	}
	key := [2]string{fmt.Sprint(kind), v}
	if h, ok := s.hostileOf[key]; ok {
		return h
	}
	var h string
	switch kind {
	case CID:
		h = s.hostile.CID()
	case Description:
		h = s.hostile.Description()
	case Tag:
		switch s.tags++; s.tags {
		case 1:
			h, _ = s.hostile.Twins("tag")
		case 2:
			_, h = s.hostile.Twins("tag")
		default:
			h = s.hostile.Next(modeldao.MaxTagLength)
		}
	case Reason:
		h = s.hostile.Next(200)
	default: // labels and names: at most 64 bytes on chain
		h = s.hostile.Next(modeldao.MaxLabelLength)
	}
	if s.hostileOf == nil {
		s.hostileOf = map[[2]string]string{}
	}
	s.hostileOf[key] = h
	return h
}

// FakeCID returns a well-formed CIDv1 (raw codec, sha256, base32: "bafkrei…", 59
// characters) whose digest is the sha256 of seed. Only for content that no test fetches
// from IPFS.
func FakeCID(seed string) string {
	h := sha256.Sum256([]byte(seed))
	// version 1, raw (0x55), multihash sha2-256 (0x12) of 32 bytes (0x20), then the digest
	raw := append([]byte{0x01, 0x55, 0x12, 0x20}, h[:]...)
	return "b" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw))
}
