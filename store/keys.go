package store

import (
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

// Keys builds every Redis key of one DAO. All of them share the hash tag
// {<chainId>:<governor>} so that they live in one hash slot: every commit is a single
// MULTI/EXEC on one node, on Redis Cluster and ElastiCache in cluster mode alike.
//
// Layout (entity records are JSON of the root package's types; "ordinal" is the score
// block*1e5+logIndex, see Ordinal; "by amount" is an exact uint256 ordering: every member
// has score 0 and is AmountMember(value, id), so Redis orders the set by value, then id).
// Strings from the chain are any bytes: records hold them as modeldao.Text (a JSON string
// when valid UTF-8, {"hex":…} otherwise), and keys that carry one (versions:tag:<t>,
// versions:license:<l>) hold its exact bytes, as does the undo log:
//
//	cp                      string  "<block>:<hash>" of the last applied block (the checkpoint)
//	lease                   string  "<owner>:<fence>" of the indexer that may write, with a TTL
//	fence                   string  counter of fencing tokens
//	blocks                  hash    block number → hash, for the undo window (reorg detection)
//	undo:<n>                list    inverse operations of block n, in application order
//	undoblocks              zset    block numbers that have an undo list
//	status                  string  JSON modeldao.IndexerStatus (not part of the digest)
//	dao                     string  JSON modeldao.DAOParams
//	supply                  string  JSON [][2]string of (block, total supply) after each mint/burn
//	quorumnum               string  JSON [][2]uint64 of (block, quorum numerator)
//	proposal                hash    id → JSON modeldao.Proposal
//	proposals               zset    id by ordinal of creation
//	proposals:deadline      zset    id by deadline block
//	proposals:votes         zset    by amount: id by total votes cast (for+against+abstain, 66 digits)
//	proposals:state:<S>     zset    id by ordinal of creation, for each modeldao.ProposalState name
//	proposals:proposer:<a>  zset    id by ordinal, per proposer (lower-case hex address)
//	proposals:version:<v>   zset    id by ordinal, per model version the proposal concerns
//	proposals:open          zset    id by deadline, proposals whose state may still change with the head
//	timelockop              hash    timelock operation id (hex) → proposal id
//	vote                    hash    "<proposalId>:<voter>" → JSON modeldao.Vote
//	votes                   zset    "<proposalId>:<voter>" by ordinal
//	votes:p:<id>            zset    voter by ordinal
//	votes:p:<id>:weight     zset    by amount: voter by weight
//	votes:v:<voter>         zset    proposal id by ordinal
//	account                 hash    address → JSON modeldao.Account
//	accounts:power          zset    by amount: address by voting power, for every delegate (see IsDelegate)
//	accounts:delegators     zset    address by delegator count, for every delegate (see IsDelegate)
//	delegators:<a>          zset    delegator address by ordinal of its delegation
//	delegations:<a>         zset    JSON modeldao.Delegation by ordinal: history of a's delegate changes
//	power:<a>               zset    JSON modeldao.PowerChange by ordinal: every change of a's voting power
//	powered                 zset    address, score 0: every account that ever had voting power
//	powertotal              zset    "<block, 20 digits>:<log index, 6 digits>:<total>" by ordinal: the sum
//	                                of all voting power after each change
//	powernow                string  JSON number: the sum of all voting power now (the last of powertotal)
//	model                   hash    model id (hex) → JSON modeldao.Model
//	models                  zset    model id by ordinal
//	version                 hash    version id → JSON modeldao.ModelVersion
//	versions                zset    version id by id
//	versions:status:<S>     zset    version id by id, per VersionStatus name
//	versions:publisher:<a>  zset    version id by id
//	versions:model:<m>      zset    version id by id, per model id
//	versions:tag:<t>        zset    version id by id
//	versions:license:<l>    zset    version id by id
//	versions:policy:<p>     zset    version id by id, approved under policy p
//	versions:derived:<b>    zset    version id by id, the versions that name version b as a base
//	versions:dataset:<d>    zset    version id by id, per dataset name and per dataset CID (both: d is either)
//	audit                   hash    audit id → JSON modeldao.Audit
//	audits                  zset    audit id by id
//	audits:version:<v>      zset    audit id by id
//	audits:auditor:<a>      zset    audit id by id
//	audits:policy:<p>       zset    audit id by id
//	policy                  hash    policy id → JSON modeldao.Policy
//	policies                zset    policy id by id
//	auditor                 hash    address → JSON modeldao.Auditor
//	auditors                zset    address by ordinal of first registration
//	pin                     hash    version id → JSON modeldao.Pin, with its per-IPFS-node replicas (written by the pinner; not in the digest)
//	pinjobs                 stream  pin and unpin jobs (not in the digest)
//	pinjobs:retry           zset    jobs waiting for their next attempt, by due time (not in the digest)
//	release                 hash    version id → JSON modeldao.ReleaseSummary, the files and formats the pinner verified (not in the digest)
//	evidence                hash    "card:<version id>" | "report:<audit id>" | "policy:<policy id>" → JSON modeldao.EvidencePin, with its per-node replicas (written by the pinner; not in the digest)
//	outbox                  stream  notifications for webhooks, fields n (JSON) and at (block) (not in the digest; outbox.go)
//	outbox:high             string  highest block whose notifications are in the outbox
//	webhooks                hash    endpoint id → JSON modeldao.Webhook (kept by Drop; not in the digest)
//	notify:cursor           string  id of the last outbox entry the notifier fanned out
//	notify:q:<id>           list    JSON notifications waiting for delivery to endpoint id, oldest first
//	notify:try:<id>         hash    attempts and due (Unix ms) of the head of notify:q:<id>
//	notify:dead:<id>        list    JSON dead letters of endpoint id (gave up after the last attempt)
//	notify:lock:<id>        string  token of the notifier delivering to endpoint id, with a TTL
type Keys struct {
	prefix string
}

// NewKeys returns the key builder of the DAO whose governor is at governor on chainID.
func NewKeys(chainID uint64, governor common.Address) Keys {
	return Keys{prefix: fmt.Sprintf("modeldao:{%d:%s}:", chainID, strings.ToLower(governor.Hex()))}
}

// Prefix is the common prefix of all keys, hash tag included.
func (k Keys) Prefix() string { return k.prefix }

// Key returns the key of the given name under the DAO's prefix; parts are joined with ':'.
// The store itself names every key with one of the methods below (so that the layout is
// this file); Key is for tests and tools that look at a key by its layout name.
func (k Keys) Key(parts ...string) string { return k.prefix + strings.Join(parts, ":") }

// Fixed keys.
func (k Keys) Checkpoint() string { return k.prefix + "cp" }
func (k Keys) Lease() string      { return k.prefix + "lease" }
func (k Keys) Fence() string      { return k.prefix + "fence" }
func (k Keys) Blocks() string     { return k.prefix + "blocks" }
func (k Keys) UndoBlocks() string { return k.prefix + "undoblocks" }
func (k Keys) Status() string     { return k.prefix + "status" }
func (k Keys) DAO() string        { return k.prefix + "dao" }
func (k Keys) Supply() string     { return k.prefix + "supply" }
func (k Keys) QuorumNum() string  { return k.prefix + "quorumnum" }
func (k Keys) Pin() string        { return k.prefix + "pin" }
func (k Keys) PinJobs() string    { return k.prefix + "pinjobs" }

// PowerHistory is the history of a's voting power (see PowerChange).
func (k Keys) PowerHistory(a common.Address) string { return k.prefix + "power:" + Addr(a) }

// Powered lists the accounts that ever had voting power: the candidates of a snapshot's
// eligible voters.
func (k Keys) Powered() string { return k.prefix + "powered" }

// PowerTotal is the history of the sum of all voting power.
func (k Keys) PowerTotal() string { return k.prefix + "powertotal" }

// PowerNow is the sum of all voting power now: what the next change adds to, read in a
// batch's prefetch rather than from PowerTotal, which would cost a round trip of its own.
func (k Keys) PowerNow() string { return k.prefix + "powernow" }

// PinRetry is the sorted set of jobs waiting for their next attempt. Its name starts with
// "pinjobs" so that the digest leaves it out like the stream.
func (k Keys) PinRetry() string { return k.prefix + "pinjobs:retry" }

// Release summaries (the pinner's verified view of a version's files; see releases.go).
func (k Keys) Release() string { return k.prefix + "release" }

// Pin records of model cards, audit reports and policy documents (see evidence.go).
func (k Keys) Evidence() string { return k.prefix + "evidence" }

// Keys of the outbox, the webhook endpoints and the notifier's state (outbox.go, webhooks.go).
func (k Keys) Outbox() string               { return k.prefix + "outbox" }
func (k Keys) OutboxHigh() string           { return k.prefix + "outbox:high" }
func (k Keys) Webhooks() string             { return k.prefix + "webhooks" }
func (k Keys) NotifyCursor() string         { return k.prefix + "notify:cursor" }
func (k Keys) NotifyQueue(id string) string { return k.prefix + "notify:q:" + id }
func (k Keys) NotifyTry(id string) string   { return k.prefix + "notify:try:" + id }
func (k Keys) NotifyDead(id string) string  { return k.prefix + "notify:dead:" + id }
func (k Keys) NotifyLock(id string) string  { return k.prefix + "notify:lock:" + id }

// Undo is the undo list of block n.
func (k Keys) Undo(n uint64) string { return fmt.Sprintf("%sundo:%d", k.prefix, n) }

// Records: hashes of JSON records, one field per entity.
func (k Keys) ProposalRecords() string { return k.prefix + "proposal" }
func (k Keys) VoteRecords() string     { return k.prefix + "vote" }
func (k Keys) AccountRecords() string  { return k.prefix + "account" }
func (k Keys) ModelRecords() string    { return k.prefix + "model" }
func (k Keys) VersionRecords() string  { return k.prefix + "version" }
func (k Keys) AuditRecords() string    { return k.prefix + "audit" }
func (k Keys) PolicyRecords() string   { return k.prefix + "policy" }
func (k Keys) AuditorRecords() string  { return k.prefix + "auditor" }

// TimelockOps maps a timelock operation id to the proposal that queues it.
func (k Keys) TimelockOps() string { return k.prefix + "timelockop" }

// Proposal indexes.
func (k Keys) Proposals() string           { return k.prefix + "proposals" }
func (k Keys) ProposalsByDeadline() string { return k.prefix + "proposals:deadline" }
func (k Keys) ProposalsByVotes() string    { return k.prefix + "proposals:votes" }
func (k Keys) OpenProposals() string       { return k.prefix + "proposals:open" }
func (k Keys) ProposalsInState(s modeldao.ProposalState) string {
	return k.prefix + "proposals:state:" + s.String()
}
func (k Keys) ProposalsOfProposer(a common.Address) string {
	return k.prefix + "proposals:proposer:" + Addr(a)
}
func (k Keys) ProposalsOfVersion(versionID uint64) string {
	return k.prefix + "proposals:version:" + decimal(versionID)
}

// Vote indexes; proposalID is the decimal id.
func (k Keys) Votes() string                            { return k.prefix + "votes" }
func (k Keys) VotesOnProposal(proposalID string) string { return k.prefix + "votes:p:" + proposalID }
func (k Keys) VotesOnProposalByWeight(proposalID string) string {
	return k.prefix + "votes:p:" + proposalID + ":weight"
}
func (k Keys) VotesOfVoter(voter common.Address) string { return k.prefix + "votes:v:" + Addr(voter) }

// Delegate indexes.
func (k Keys) DelegatesByPower() string      { return k.prefix + "accounts:power" }
func (k Keys) DelegatesByDelegators() string { return k.prefix + "accounts:delegators" }
func (k Keys) Delegators(delegate common.Address) string {
	return k.prefix + "delegators:" + Addr(delegate)
}
func (k Keys) Delegations(delegator common.Address) string {
	return k.prefix + "delegations:" + Addr(delegator)
}

// Registry indexes. Tags and licences are a chain string's exact bytes.
func (k Keys) Models() string   { return k.prefix + "models" }
func (k Keys) Versions() string { return k.prefix + "versions" }
func (k Keys) VersionsInStatus(s modeldao.VersionStatus) string {
	return k.prefix + "versions:status:" + s.String()
}
func (k Keys) VersionsOfPublisher(a common.Address) string {
	return k.prefix + "versions:publisher:" + Addr(a)
}
func (k Keys) VersionsOfModel(modelID common.Hash) string {
	return k.prefix + "versions:model:" + HashID(modelID)
}
func (k Keys) VersionsWithTag(tag string) string { return k.prefix + "versions:tag:" + tag }
func (k Keys) VersionsWithLicense(license string) string {
	return k.prefix + "versions:license:" + license
}
func (k Keys) VersionsUnderPolicy(policyID uint64) string {
	return k.prefix + "versions:policy:" + decimal(policyID)
}

// VersionsDerivedFrom lists the direct derivatives of version base.
func (k Keys) VersionsDerivedFrom(base uint64) string {
	return k.prefix + "versions:derived:" + decimal(base)
}

// VersionsWithDataset lists the versions that name a dataset whose name or CID is d (a
// chain string's exact bytes).
func (k Keys) VersionsWithDataset(d string) string { return k.prefix + "versions:dataset:" + d }
func (k Keys) Audits() string                      { return k.prefix + "audits" }
func (k Keys) AuditsOfVersion(versionID uint64) string {
	return k.prefix + "audits:version:" + decimal(versionID)
}
func (k Keys) AuditsByAuditor(a common.Address) string { return k.prefix + "audits:auditor:" + Addr(a) }
func (k Keys) AuditsUnderPolicy(policyID uint64) string {
	return k.prefix + "audits:policy:" + decimal(policyID)
}
func (k Keys) Policies() string { return k.prefix + "policies" }
func (k Keys) Auditors() string { return k.prefix + "auditors" }

// HashID is the canonical form of a 32-byte id (a model id, a timelock operation id) inside
// keys and members: lower-case hex with 0x.
func HashID(h common.Hash) string { return h.Hex() }

func decimal(x uint64) string { return strconv.FormatUint(x, 10) }

// Addr is the canonical form of an address inside keys and members: lower-case hex.
// It skips Hex's EIP-55 checksum (a keccak per call), which showed in backfill profiles.
// One allocation (the string), not two (the hex and the concatenation).
func Addr(a common.Address) string {
	var b [2 + 2*common.AddressLength]byte
	b[0], b[1] = '0', 'x'
	hex.Encode(b[2:], a[:])
	return string(b[:])
}

// Addrs is Addr of each address, the strings sharing one allocation (a read of 100 voters
// made 200 allocations for their field names: 2 % of that page's CPU). Whoever keeps one of
// them past the read copies it (recordCache.put), so as not to keep all of them.
func Addrs(as []common.Address) []string {
	const n = 2 + 2*common.AddressLength
	b := make([]byte, n*len(as))
	for i, a := range as {
		b[i*n], b[i*n+1] = '0', 'x'
		hex.Encode(b[i*n+2:(i+1)*n], a[:])
	}
	all := string(b)
	out := make([]string, len(as))
	for i := range as {
		out[i] = all[i*n : (i+1)*n]
	}
	return out
}

// VoteID is the member that identifies a vote.
func VoteID(proposalID string, voter common.Address) string { return proposalID + ":" + Addr(voter) }

// Ordinal orders facts by their place in the chain: block*1e5 + log index. It is exact as a
// float64 score for blocks below 9e10.
func Ordinal(p modeldao.Provenance) float64 { return float64(p.BlockNumber)*1e5 + float64(p.LogIndex) }

// Widths, in hex digits, of the amounts in AmountMember: a uint256, and a sum of three of
// them (a proposal's votes for + against + abstain, which the governor adds as uint256 each).
const (
	AmountDigits = 64
	TotalDigits  = 66
)

// AmountMember is the member of an exact ordering by amount: the amount as fixed-width
// big-endian hex (digits wide), ':', then the id. With every score 0, Redis orders such a set
// by member bytewise, which is by amount exactly and then by id, for every uint256 (a float64
// score cannot tell 7 tokens + 1 wei from 7 tokens + 2 wei, nor 2^128 from 2^128 + 1). Paging
// and cursors work unchanged: a cursor holds the member, and ties on the score (all of them)
// are broken on the member. Values decoded from the chain as uint256 always fit; a negative
// amount counts as 0 and a wider one as the largest of the width, so the set stays ordered.
func AmountMember(x *big.Int, digits int, id string) string {
	var h string
	if x != nil && x.Sign() > 0 {
		h = x.Text(16)
	}
	if len(h) > digits {
		h = strings.Repeat("f", digits)
	}
	b := make([]byte, 0, digits+1+len(id))
	for i := len(h); i < digits; i++ {
		b = append(b, '0')
	}
	b = append(b, h...)
	b = append(b, ':')
	b = append(b, id...)
	return string(b)
}

// nonDigest tells the key names (after the prefix, up to the first ':') that are
// bookkeeping rather than projection, and so stay out of the digest: they depend on when
// and how the indexer ran, not on the chain. A switch, not a package map: the store keeps
// no mutable package state.
func nonDigest(name string) bool {
	switch name {
	case "cp", "lease", "fence", "blocks", "undo", "undoblocks", "status", "pin", "pinjobs",
		"release", "evidence", // the pinner's view of IPFS
		"relay",                        // who asked the relayer what, when
		"outbox", "webhooks", "notify": // news for webhooks: a log and its subscribers
		return true
	}
	return false
}

// keptByDrop tells the key names that Drop keeps: the endpoints users registered and what
// was already announced to them (outbox:high stops a reindex from announcing it again).
func keptByDrop(name string) bool {
	switch name {
	case "outbox", "webhooks", "notify":
		return true
	}
	return false
}

// Keys of the gasless relayer (package relay; see store/relay.go). They are bookkeeping,
// not projection: none is in the digest, and each expires on its own.
//
//	relay:req:<id>                   string  JSON modeldao.RelayRecord of a relayed request (id: its EIP-712 digest)
//	relay:claim:<kind>:<signer>:<n>  string  id of the request that holds nonce n of signer (never relayed twice)
//	relay:rate:signer:<a>            zset    requests admitted for signer a, by time (ms): a sliding window
//	relay:rate:ip:<ip>               zset    requests received from a client address, by time (ms)
//	relay:budget:<period>            string  gas reserved and spent in budget period <period> (unix ms / period length)
//	relay:sender:<a>                 string  lock of relayer account a while it picks a nonce and sends
func (k Keys) RelayRecord(id string) string { return k.prefix + "relay:req:" + id }
func (k Keys) RelayClaim(kind string, signer common.Address, nonce string) string {
	return k.prefix + "relay:claim:" + kind + ":" + Addr(signer) + ":" + nonce
}
func (k Keys) RelaySignerWindow(signer common.Address) string {
	return k.prefix + "relay:rate:signer:" + Addr(signer)
}
func (k Keys) RelayIPWindow(ip string) string { return k.prefix + "relay:rate:ip:" + ip }
func (k Keys) RelayBudget(period int64) string {
	return fmt.Sprintf("%srelay:budget:%d", k.prefix, period)
}
func (k Keys) RelaySender(a common.Address) string { return k.prefix + "relay:sender:" + Addr(a) }
