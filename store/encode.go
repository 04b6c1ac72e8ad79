package store

import (
	"math/big"
	"strconv"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

// The records written for almost every event of a backfill (accounts, voting power changes,
// delegations, votes) are encoded by hand, byte for byte as encoding/json encodes them (which
// TestRecordEncodersMatchEncodingJSON checks): its reflection over every field was a
// sizeable part of the indexer's CPU per event. The stored form, and every reader of it,
// stay the same.

// appendAccount appends json.Marshal(a).
func appendAccount(b []byte, a *modeldao.Account) []byte {
	b = append(b, `{"address":`...)
	b = appendAddress(b, a.Address)
	b = append(b, `,"balance":`...)
	b = appendBig(b, a.Balance)
	b = append(b, `,"delegate":`...)
	b = appendAddress(b, a.Delegate)
	b = append(b, `,"votingPower":`...)
	b = appendBig(b, a.VotingPower)
	b = append(b, `,"delegatorCount":`...)
	b = strconv.AppendInt(b, int64(a.DelegatorCount), 10)
	b = append(b, `,"voteCount":`...)
	b = strconv.AppendInt(b, int64(a.VoteCount), 10)
	b = append(b, `,"firstSeen":`...)
	b = appendProvenance(b, a.FirstSeen)
	return append(b, '}')
}

// appendPowerChange appends json.Marshal(c); false when the cause needs escaping (never
// for the causes the package defines), which is left to encoding/json.
func appendPowerChange(b []byte, c *modeldao.PowerChange) ([]byte, bool) {
	if !plainString(string(c.Cause)) {
		return b, false
	}
	b = append(b, `{"delegate":`...)
	b = appendAddress(b, c.Delegate)
	b = append(b, `,"previous":`...)
	b = appendBig(b, c.Previous)
	b = append(b, `,"new":`...)
	b = appendBig(b, c.New)
	b = append(b, `,"cause":"`...)
	b = append(b, c.Cause...)
	b = append(b, `","provenance":`...)
	b = appendProvenance(b, c.Provenance)
	return append(b, '}'), true
}

// appendVote appends json.Marshal(v); false for a vote with params (VoteCastWithParams) or
// a proposal id that would need escaping, which are left to encoding/json.
func appendVote(b []byte, v *modeldao.Vote) ([]byte, bool) {
	if len(v.Params) > 0 || !plainString(v.ProposalID) {
		return b, false
	}
	b = append(b, `{"proposalId":"`...)
	b = append(b, v.ProposalID...)
	b = append(b, `","voter":`...)
	b = appendAddress(b, v.Voter)
	b = append(b, `,"support":`...)
	b = strconv.AppendUint(b, uint64(v.Support), 10)
	b = append(b, `,"weight":`...)
	b = appendBig(b, v.Weight)
	if v.Reason != "" {
		b = append(b, `,"reason":`...)
		b = appendText(b, string(v.Reason)) // modeldao.Text's encoding
	}
	b = append(b, `,"provenance":`...)
	b = appendProvenance(b, v.Provenance)
	return append(b, '}'), true
}

// appendDelegation appends json.Marshal(d).
func appendDelegation(b []byte, d *modeldao.Delegation) []byte {
	b = append(b, `{"delegator":`...)
	b = appendAddress(b, d.Delegator)
	b = append(b, `,"from":`...)
	b = appendAddress(b, d.From)
	b = append(b, `,"to":`...)
	b = appendAddress(b, d.To)
	b = append(b, `,"provenance":`...)
	b = appendProvenance(b, d.Provenance)
	return append(b, '}')
}

func appendProvenance(b []byte, p modeldao.Provenance) []byte {
	b = append(b, `{"blockNumber":`...)
	b = strconv.AppendUint(b, p.BlockNumber, 10)
	b = append(b, `,"blockHash":`...)
	b = appendHexString(b, p.BlockHash[:])
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendUint(b, p.Timestamp, 10)
	b = append(b, `,"txHash":`...)
	b = appendHexString(b, p.TxHash[:])
	b = append(b, `,"logIndex":`...)
	b = strconv.AppendUint(b, uint64(p.LogIndex), 10)
	return append(b, '}')
}

// appendAddress appends an address as go-ethereum marshals it: lower-case hex.
func appendAddress(b []byte, a common.Address) []byte { return appendHexString(b, a[:]) }

func appendHexString(b, v []byte) []byte {
	const digits = "0123456789abcdef"
	b = append(b, `"0x`...)
	for _, c := range v {
		b = append(b, digits[c>>4], digits[c&15])
	}
	return append(b, '"')
}

// appendBig appends x as big.Int marshals it: a decimal number, or null.
func appendBig(b []byte, x *big.Int) []byte {
	if x == nil {
		return append(b, "null"...)
	}
	return x.Append(b, 10)
}

// plainString reports whether encoding/json writes s between quotes unchanged.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
