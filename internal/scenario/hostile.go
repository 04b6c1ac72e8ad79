package scenario

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/contracts/bindings"
	"github.com/modeldao/modeldao/devchain"
)

// Hostile strings: the contracts take any bytes in their string arguments (only model
// names are restricted to ASCII), so an index must keep them exactly. HostileStrings makes
// such strings; (*Scenario).Hostile drives a DAO whose every free string holds them.

// Pieces that every hostile string mixes.
var (
	// invalidUTF8 are byte sequences that are not UTF-8: a lone continuation byte, bytes
	// never used, a truncated 2-, 3- and 4-byte sequence, an overlong '/', an encoded
	// surrogate and a code point above U+10FFFF.
	invalidUTF8 = []string{"\x80", "\xff", "\xfe", "\xc3", "\xe2\x82", "\xf0\x9f\x98", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"}
	// validUTF8 are multi-byte characters, U+FFFD itself (which looks like a replaced byte),
	// a line separator that JavaScript once refused in strings, and NUL.
	validUTF8 = []string{"é", "日本", "🙂", "\uFFFD", "\u2028", "\x00"}
	// asciiPieces need escaping in JSON or HTML.
	asciiPieces = []string{"a", "Z9", `"`, `\`, "<b>&", "\n", " "}
)

// Strings makes hostile strings from a seed: the same seed gives the same strings.
type Strings struct {
	rng *rand.Rand
	n   int
}

// HostileStrings returns the string source of the given seed.
func HostileStrings(seed uint64) *Strings {
	return &Strings{rng: rand.New(rand.NewPCG(seed, seed^0x5f0e1d2c3b4a6978))}
}

// Next returns a fresh string of 1 to max bytes (max ≥ 16) that holds at least one invalid
// UTF-8 sequence and, when it fits, valid multi-byte UTF-8 and ASCII, and ends with a counter
// so that no two strings of a source are equal. Cutting to max bytes may split a multi-byte
// character, which only adds invalid bytes.
func (h *Strings) Next(max int) string {
	h.n++
	var b strings.Builder
	b.WriteString(invalidUTF8[h.rng.IntN(len(invalidUTF8))])
	for range 1 + h.rng.IntN(3) {
		switch h.rng.IntN(3) {
		case 0:
			b.WriteString(invalidUTF8[h.rng.IntN(len(invalidUTF8))])
		case 1:
			b.WriteString(validUTF8[h.rng.IntN(len(validUTF8))])
		default:
			b.WriteString(asciiPieces[h.rng.IntN(len(asciiPieces))])
		}
	}
	tail := fmt.Sprintf("#%d", h.n)
	s := b.String()
	if len(s)+len(tail) > max {
		s = s[:max-len(tail)]
	}
	if utf8.ValidString(s) {
		// Pieces can join into a valid sequence ("\xe2\x82" then "\x80" is "₀"): 0xFF never
		// occurs in UTF-8.
		s = "\xff" + s[1:]
	}
	return s + tail
}

// Twins returns two strings that differ in their bytes but look the same once invalid
// bytes are shown as U+FFFD: one with the invalid byte 0xFF, one with the character U+FFFD
// itself. An index that keys or filters by the shown text mixes them up.
func (h *Strings) Twins(prefix string) (invalid, valid string) {
	return prefix + "\xff", prefix + "\uFFFD"
}

// CID returns a hostile string where a CID goes: a plausible CIDv1 prefix, then hostile
// bytes (the registry checks only the length).
func (h *Strings) CID() string { return "bafk" + h.Next(modeldao.MaxCIDLength-4) }

// Description returns a hostile proposal description: a Markdown title line (sometimes
// longer than the 200 bytes of a title, so that the cut lands inside hostile bytes) and a
// body.
func (h *Strings) Description() string {
	title := h.Next(40)
	if h.rng.IntN(3) == 0 {
		title = strings.Repeat(h.Next(40), 6)
	}
	return "# " + title + "\n\n" + h.Next(120)
}

// Hostile performs n random actions like Random, but every string argument the contracts
// take freely (labels, CIDs, licences, tags, reasons, descriptions, auditor and policy names
// and versions, sensitive features, vote reasons) comes from HostileStrings(seed). Model
// names stay ASCII: the registry refuses anything else. Tags are drawn from a small pool that
// includes a pair of Twins, so that tag indexes hold several versions and names that look
// alike.
func (s *Scenario) Hostile(ctx context.Context, seed uint64, n int) error {
	h := HostileStrings(seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x243f6a8885a308d3))
	invalid, valid := h.Twins("tag")
	tags := []string{invalid, valid, h.Next(modeldao.MaxTagLength), h.Next(modeldao.MaxTagLength)}
	licInvalid, licValid := h.Twins("Apache-2.0")
	licenses := []string{licInvalid, licValid, h.Next(modeldao.MaxLicenseLength)}
	d := s.DAO
	propose := func(calls ...contracts.RegistryCall) {
		p, err := d.RegistryProposal(h.Description(), calls...)
		if err != nil {
			return
		}
		if _, err := d.Mined(ctx)(d.DAO.Propose(s.opts(rng.IntN(Holders)), p)); err == nil {
			s.Proposals = append(s.Proposals, p)
		}
	}
	for range n {
		switch r := rng.IntN(100); {
		case r < 14: // submit a version with hostile strings everywhere but the model name
			pub := Publisher1 + rng.IntN(2)
			var vt []string
			for range 1 + rng.IntN(3) {
				vt = append(vt, tags[rng.IntN(len(tags))])
			}
			s.n++
			_, err := d.Mined(ctx)(d.Registry.SubmitVersion(s.opts(pub), fmt.Sprintf("org%d/hostile-%d", pub, rng.IntN(2)),
				h.Next(modeldao.MaxLabelLength), h.CID(), sha256.Sum256([]byte(fmt.Sprint("hostile", s.n))), h.CID(),
				licenses[rng.IntN(len(licenses))], vt, hostileLineage(rng, h, s.Versions)))
			if err == nil {
				s.Versions++
			}
		case r < 22: // audit with a hostile report CID and sensitive features
			if s.Versions == 0 {
				continue
			}
			v := 1 + uint64(rng.IntN(int(s.Versions)))
			metrics := []bindings.ModelRegistryMetric{
				{Kind: uint8(modeldao.DemographicParityDifference), SensitiveFeature: h.Next(modeldao.MaxFeatureLength), Value: 50000, Threshold: 100000, Passed: true},
				{Kind: uint8(modeldao.DisparateImpactRatio), SensitiveFeature: h.Next(modeldao.MaxFeatureLength), Value: 900000, Threshold: 800000, Passed: true},
			}
			if _, err := d.Mined(ctx)(d.Registry.SubmitAudit(s.opts(Auditor), u256(v), u256(s.Policy), h.CID(), sha256.Sum256([]byte(h.Next(16))), metrics, true)); err == nil {
				if n, err := d.Registry.AuditCount(nil); err == nil {
					s.Audits[v] = n.Uint64()
				}
			}
		case r < 36: // propose registry calls with hostile arguments that the registry accepts now
			var calls []contracts.RegistryCall
			if s.Versions > 0 {
				v := 1 + uint64(rng.IntN(int(s.Versions)))
				st, err := d.Registry.VersionStatus(nil, u256(v))
				if err != nil {
					continue
				}
				switch modeldao.VersionStatus(st) {
				case modeldao.VersionSubmitted:
					if a, ok := s.Audits[v]; ok && rng.IntN(2) == 0 {
						calls = append(calls, contracts.ApproveVersion(v, s.Policy, a))
					} else {
						calls = append(calls, contracts.RejectVersion(v, h.Next(modeldao.MaxReasonLength)))
					}
				case modeldao.VersionApproved:
					calls = append(calls, contracts.RevokeVersion(v, h.Next(modeldao.MaxReasonLength)))
				}
			}
			if len(calls) == 0 || rng.IntN(2) == 0 {
				s.n++
				calls = append(calls, contracts.AdoptPolicy(modeldao.Policy{Name: modeldao.Text(h.Next(modeldao.MaxLabelLength)),
					Version: modeldao.Text(h.Next(modeldao.MaxLabelLength)), DocumentCID: modeldao.Text(h.CID())}))
				if extra := s.addrs[Extra1+s.n%2]; rng.IntN(2) == 0 {
					if active, err := d.Registry.IsAuditor(nil, extra); err == nil && !active {
						calls = append(calls, contracts.AddAuditor(extra, h.Next(modeldao.MaxLabelLength)))
					}
				}
			}
			propose(calls...)
			// Voting opens after the voting delay; most proposals get a vote at once.
			if err := s.Node.MineBlocks(ctx, int(d.Config.VotingDelay)); err != nil {
				return err
			}
			if len(s.Proposals) > 0 && rng.IntN(4) != 0 {
				for _, voter := range rng.Perm(Holders)[:3] {
					_, _ = d.Mined(ctx)(d.Governor.CastVoteWithReason(s.opts(voter), s.Proposals[len(s.Proposals)-1].ID(), 1, h.Next(200)))
				}
			}
		case r < 62: // vote with a hostile reason, mostly for
			if len(s.Proposals) == 0 {
				continue
			}
			p := s.Proposals[len(s.Proposals)-1-rng.IntN(min(len(s.Proposals), 3))]
			support := uint8(1)
			if rng.IntN(4) == 0 {
				support = uint8(rng.IntN(3))
			}
			_, _ = d.Mined(ctx)(d.Governor.CastVoteWithReason(s.opts(rng.IntN(Holders)), p.ID(), support, h.Next(200)))
		case r < 70: // delegate or transfer, so that votes have history around them
			if rng.IntN(2) == 0 {
				_, _ = d.Mined(ctx)(d.Token.Delegate(s.opts(rng.IntN(Holders)), s.addrs[rng.IntN(Holders)]))
			} else {
				_, _ = d.Mined(ctx)(d.Token.Transfer(s.opts(rng.IntN(Holders)), s.addrs[rng.IntN(Accounts)], devchain.Tokens(int64(1+rng.IntN(20)))))
			}
		case r < 84: // queue or execute what passed
			for _, p := range s.Proposals {
				st, err := d.Governor.State(nil, p.ID())
				if err != nil {
					continue
				}
				switch modeldao.ProposalState(st) {
				case modeldao.ProposalSucceeded:
					_, _ = d.Mined(ctx)(d.Queue(s.opts(0), p))
				case modeldao.ProposalQueued:
					if err := s.Node.IncreaseTime(ctx, time.Duration(d.Config.TimelockDelay+1)*time.Second); err != nil {
						return err
					}
					_, _ = d.Mined(ctx)(d.Execute(s.opts(0), p))
				}
			}
		default: // let voting periods pass
			if err := s.Node.MineBlocks(ctx, 1+rng.IntN(int(d.Config.VotingPeriod))); err != nil {
				return err
			}
		}
	}
	return nil
}

// hostileLineage is a lineage with hostile dataset names and CIDs, over the versions
// submitted so far (bases may have any status: the registry records ancestry as given).
func hostileLineage(rng *rand.Rand, h *Strings, versions uint64) bindings.ModelRegistryLineage {
	l := modeldao.Lineage{}
	if versions > 0 && rng.IntN(2) == 0 {
		l.Relation, l.Bases = modeldao.RelationFineTune, []uint64{1 + uint64(rng.IntN(int(versions)))}
	}
	for range rng.IntN(3) {
		l.Datasets = append(l.Datasets, modeldao.Dataset{Role: modeldao.DatasetRole(rng.IntN(2)), Name: modeldao.Text(h.Next(modeldao.MaxLabelLength)),
			CID: modeldao.Text(h.CID()), SHA256: sha256.Sum256([]byte(h.Next(16)))})
	}
	return contracts.LineageArg(l)
}
