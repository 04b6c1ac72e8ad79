package client

import (
	"encoding/hex"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

// The query structs below are what go-graphql-client turns into queries: field names and
// arguments in `graphql` tags, scalars as strings (decimal BigInt, hex Bytes32, RFC 3339
// DateTime) that the conversions turn into Go types.

// ---- variable types: their GraphQL type names ----

type gqlID string

func (gqlID) GetGraphQLType() string { return "ID" }

type gqlAddress string

func (gqlAddress) GetGraphQLType() string { return "Address" }

type proposalOrderField string

func (proposalOrderField) GetGraphQLType() string { return "ProposalOrderField" }

type voteOrderField string

func (voteOrderField) GetGraphQLType() string { return "VoteOrderField" }

type delegateOrderField string

func (delegateOrderField) GetGraphQLType() string { return "DelegateOrderField" }

type orderDirection string

func (orderDirection) GetGraphQLType() string { return "OrderDirection" }

func direction(ascending bool) orderDirection {
	if ascending {
		return "ASC"
	}
	return "DESC"
}

type proposalWhere struct {
	State         string `json:"state,omitempty"`
	Proposer      string `json:"proposer,omitempty"`
	ModelVersion  string `json:"modelVersion,omitempty"`
	CreatedAfter  string `json:"createdAfter,omitempty"`
	CreatedBefore string `json:"createdBefore,omitempty"`
	TitleContains string `json:"titleContains,omitempty"`
}

func (proposalWhere) GetGraphQLType() string { return "ProposalWhere" }

type voteWhere struct {
	Voter    string `json:"voter,omitempty"`
	Proposal string `json:"proposal,omitempty"`
	Support  string `json:"support,omitempty"`
}

func (voteWhere) GetGraphQLType() string { return "VoteWhere" }

type metricBoundInput struct {
	Kind             string `json:"kind"`
	SensitiveFeature string `json:"sensitiveFeature,omitempty"`
	Max              string `json:"max,omitempty"`
	Min              string `json:"min,omitempty"`
}

type modelVersionWhere struct {
	Status                         string             `json:"status,omitempty"`
	Publisher                      string             `json:"publisher,omitempty"`
	Model                          string             `json:"model,omitempty"`
	Tag                            string             `json:"tag,omitempty"`
	License                        string             `json:"license,omitempty"`
	Policy                         string             `json:"policy,omitempty"`
	DemographicParityDifferenceMax string             `json:"demographicParityDifferenceMax,omitempty"`
	Metrics                        []metricBoundInput `json:"metrics,omitempty"`
	DerivedFrom                    string             `json:"derivedFrom,omitempty"`
	Dataset                        string             `json:"dataset,omitempty"`
}

func (modelVersionWhere) GetGraphQLType() string { return "ModelVersionWhere" }

type auditWhere struct {
	ModelVersion string `json:"modelVersion,omitempty"`
	Auditor      string `json:"auditor,omitempty"`
	Policy       string `json:"policy,omitempty"`
	Passed       *bool  `json:"passed,omitempty"`
}

func (auditWhere) GetGraphQLType() string { return "AuditWhere" }

type policyWhere struct {
	Active *bool `json:"active,omitempty"`
}

func (policyWhere) GetGraphQLType() string { return "PolicyWhere" }

// pageVars sets the paging variables.
func pageVars(vars map[string]any, p PageArgs) map[string]any {
	var first, last *int
	var after, before *string
	if p.First != 0 {
		first = &p.First
	}
	if p.Last != 0 {
		last = &p.Last
	}
	if p.After != "" {
		after = &p.After
	}
	if p.Before != "" {
		before = &p.Before
	}
	vars["first"], vars["last"], vars["after"], vars["before"] = first, last, after, before
	return vars
}

// ---- wire structs ----

type wProvenance struct {
	BlockNumber uint64 `graphql:"blockNumber"`
	BlockHash   string `graphql:"blockHash"`
	Timestamp   string `graphql:"timestamp"`
	TxHash      string `graphql:"txHash"`
	LogIndex    uint   `graphql:"logIndex"`
}

type wPageInfo struct {
	HasNextPage     bool    `graphql:"hasNextPage"`
	HasPreviousPage bool    `graphql:"hasPreviousPage"`
	StartCursor     *string `graphql:"startCursor"`
	EndCursor       *string `graphql:"endCursor"`
}

type wEdge[N any] struct {
	Cursor string `graphql:"cursor"`
	Node   N      `graphql:"node"`
}

type wConn[N any] struct {
	Edges      []wEdge[N] `graphql:"edges"`
	PageInfo   wPageInfo  `graphql:"pageInfo"`
	TotalCount int        `graphql:"totalCount"`
}

type wAddress struct {
	Address string `graphql:"address"`
}

type wRef struct {
	ID string `graphql:"id"`
}

type wContract struct {
	Address string `graphql:"address"`
}

type wDAO struct {
	ID                string    `graphql:"id"`
	ChainID           uint64    `graphql:"chainId"`
	Token             wContract `graphql:"token"`
	Governor          wContract `graphql:"governor"`
	Timelock          wContract `graphql:"timelock"`
	Registry          wContract `graphql:"registry"`
	StartBlock        uint64    `graphql:"startBlock"`
	VotingDelay       uint64    `graphql:"votingDelay"`
	VotingPeriod      uint64    `graphql:"votingPeriod"`
	ProposalThreshold string    `graphql:"proposalThreshold"`
	QuorumNumerator   uint64    `graphql:"quorumNumerator"`
	Quorum            string    `graphql:"quorum"`
	TimelockDelay     uint64    `graphql:"timelockDelay"`
	TotalSupply       string    `graphql:"totalSupply"`
	ProposalCount     int       `graphql:"proposalCount"`
	DelegateCount     int       `graphql:"delegateCount"`
	AccountCount      int       `graphql:"accountCount"`
	ModelCount        int       `graphql:"modelCount"`
	ModelVersionCount int       `graphql:"modelVersionCount"`
	AuditCount        int       `graphql:"auditCount"`
	PolicyCount       int       `graphql:"policyCount"`
	AuditorCount      int       `graphql:"auditorCount"`
}

type wTally struct {
	For            string   `graphql:"for"`
	Against        string   `graphql:"against"`
	Abstain        string   `graphql:"abstain"`
	Total          string   `graphql:"total"`
	ForPercent     float64  `graphql:"forPercent"`
	AgainstPercent float64  `graphql:"againstPercent"`
	AbstainPercent float64  `graphql:"abstainPercent"`
	Quorum         *string  `graphql:"quorum"`
	QuorumReached  bool     `graphql:"quorumReached"`
	QuorumPercent  *float64 `graphql:"quorumPercent"`
}

type wProposal struct {
	ID                  string      `graphql:"id"`
	Proposer            wAddress    `graphql:"proposer"`
	Title               string      `graphql:"title"`
	Description         string      `graphql:"description"`
	State               string      `graphql:"state"`
	Snapshot            uint64      `graphql:"snapshot"`
	Deadline            uint64      `graphql:"deadline"`
	Eta                 *string     `graphql:"eta"`
	Quorum              *string     `graphql:"quorum"`
	Tally               wTally      `graphql:"tally"`
	VoterCount          int         `graphql:"voterCount"`
	TimelockOperationID string      `graphql:"timelockOperationId"`
	ModelVersions       []wRef      `graphql:"modelVersions"`
	Created             wProvenance `graphql:"created"`
}

type wAction struct {
	Index    int       `graphql:"index"`
	Target   wContract `graphql:"target"`
	Value    string    `graphql:"value"`
	Calldata string    `graphql:"calldata"`
	Method   *string   `graphql:"method"`
	Args     []struct {
		Name  string `graphql:"name"`
		Value string `graphql:"value"`
	} `graphql:"args"`
	ModelVersion *wRef `graphql:"modelVersion"`
}

type wProposalEvent struct {
	Kind       string      `graphql:"kind"`
	Provenance wProvenance `graphql:"provenance"`
}

type wVote struct {
	ID         string      `graphql:"id"`
	Proposal   wRef        `graphql:"proposal"`
	Voter      wAddress    `graphql:"voter"`
	Support    string      `graphql:"support"`
	Weight     string      `graphql:"weight"`
	Reason     *string     `graphql:"reason"`
	Provenance wProvenance `graphql:"provenance"`
}

type wAccount struct {
	ID             string    `graphql:"id"`
	Address        string    `graphql:"address"`
	Balance        string    `graphql:"balance"`
	VotingPower    string    `graphql:"votingPower"`
	Delegate       *wAddress `graphql:"delegate"`
	DelegatorCount int       `graphql:"delegatorCount"`
	VoteCount      int       `graphql:"voteCount"`
}

type wDelegation struct {
	Delegator  wAddress    `graphql:"delegator"`
	From       *wAddress   `graphql:"from"`
	To         *wAddress   `graphql:"to"`
	Provenance wProvenance `graphql:"provenance"`
}

type wPinReplica struct {
	Node      string  `graphql:"node"`
	Status    string  `graphql:"status"`
	Error     string  `graphql:"error"`
	UpdatedAt *string `graphql:"updatedAt"`
}

type wPin struct {
	Status    string        `graphql:"status"`
	CID       string        `graphql:"cid"`
	Attempts  int           `graphql:"attempts"`
	LastError *string       `graphql:"lastError"`
	Size      *string       `graphql:"size"`
	PinnedAt  *string       `graphql:"pinnedAt"`
	Replicas  []wPinReplica `graphql:"replicas"`
}

type wEvidencePin struct {
	Status    string        `graphql:"status"`
	CID       string        `graphql:"cid"`
	Verified  bool          `graphql:"verified"`
	Attempts  int           `graphql:"attempts"`
	LastError string        `graphql:"lastError"`
	Size      *string       `graphql:"size"`
	PinnedAt  *string       `graphql:"pinnedAt"`
	Replicas  []wPinReplica `graphql:"replicas"`
}

type wVersion struct {
	ID            string      `graphql:"id"`
	ModelName     string      `graphql:"modelName"`
	Label         string      `graphql:"label"`
	Publisher     wAddress    `graphql:"publisher"`
	WeightsCID    string      `graphql:"weightsCid"`
	WeightsCIDRaw string      `graphql:"weightsCidRaw"`
	WeightsSHA256 string      `graphql:"weightsSha256"`
	ModelCardCID  string      `graphql:"modelCardCid"`
	License       string      `graphql:"license"`
	Tags          []string    `graphql:"tags"`
	Status        string      `graphql:"status"`
	Policy        *wRef       `graphql:"policy"`
	Pin           *wPin       `graphql:"pin"`
	Submitted     wProvenance `graphql:"submitted"`
	Relation      string      `graphql:"relation"`
	Bases         []wRef      `graphql:"bases"`
	Datasets      []wDataset  `graphql:"datasets"`
	Tainted       bool        `graphql:"taintedAncestry"`
}

type wDataset struct {
	Role   string `graphql:"role"`
	Name   string `graphql:"name"`
	CID    string `graphql:"cid"`
	SHA256 string `graphql:"sha256"`
}

type wStatusChange struct {
	Status     string      `graphql:"status"`
	Reason     *string     `graphql:"reason"`
	Policy     *wRef       `graphql:"policy"`
	Audit      *wRef       `graphql:"audit"`
	Proposal   *wRef       `graphql:"proposal"`
	Provenance wProvenance `graphql:"provenance"`
}

type wMetric struct {
	Kind             string `graphql:"kind"`
	SensitiveFeature string `graphql:"sensitiveFeature"`
	Value            string `graphql:"value"`
	Threshold        string `graphql:"threshold"`
	Passed           bool   `graphql:"passed"`
}

type wAudit struct {
	ID           string `graphql:"id"`
	ModelVersion wRef   `graphql:"modelVersion"`
	Policy       wRef   `graphql:"policy"`
	Auditor      struct {
		Address string `graphql:"address"`
		Name    string `graphql:"name"`
	} `graphql:"auditor"`
	ReportCID    string       `graphql:"reportCid"`
	ReportSHA256 string       `graphql:"reportSha256"`
	Metrics      []wMetric    `graphql:"metrics"`
	Passed       bool         `graphql:"passed"`
	ReportPin    wEvidencePin `graphql:"reportPin"`
	Provenance   wProvenance  `graphql:"provenance"`
}

// wMetricBound is also what impact.go decodes with encoding/json: the field names match
// the API's (case-insensitively), as encoding/json needs.
type wMetricBound struct {
	Kind      string `graphql:"kind"`
	IsMinimum bool   `graphql:"isMinimum"`
	Limit     string `graphql:"limit"`
}

type wPolicy struct {
	ID            string         `graphql:"id"`
	Name          string         `graphql:"name"`
	Version       string         `graphql:"version"`
	DocumentCID   string         `graphql:"documentCid"`
	DocumentPin   wEvidencePin   `graphql:"documentPin"`
	AuditRequired bool           `graphql:"auditRequired"`
	Bounds        []wMetricBound `graphql:"bounds"`
	Active        bool           `graphql:"active"`
	Adopted       wProvenance    `graphql:"adopted"`
	Retired       *wProvenance   `graphql:"retired"`
}

// ---- conversions ----

func bigOf(s string) *big.Int {
	x, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return new(big.Int)
	}
	return x
}

func bigPtr(s *string) *big.Int {
	if s == nil {
		return nil
	}
	return bigOf(*s)
}

func u64(s string) uint64 { n, _ := strconv.ParseUint(s, 10, 64); return n }

func timeOf(s string) time.Time { t, _ := time.Parse(time.RFC3339Nano, s); return t }

func timePtr(s *string) *time.Time {
	if s == nil {
		return nil
	}
	t := timeOf(*s)
	return &t
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func addrPtr(a *wAddress) *common.Address {
	if a == nil {
		return nil
	}
	x := common.HexToAddress(a.Address)
	return &x
}

func refID(r *wRef) uint64 {
	if r == nil {
		return 0
	}
	return u64(r.ID)
}

func (p wProvenance) conv() Provenance {
	return Provenance{BlockNumber: p.BlockNumber, BlockHash: common.HexToHash(p.BlockHash), Timestamp: timeOf(p.Timestamp),
		TxHash: common.HexToHash(p.TxHash), LogIndex: p.LogIndex}
}

func page[N any, T any](c wConn[N], conv func(N) T) Page[T] {
	p := Page[T]{HasNextPage: c.PageInfo.HasNextPage, HasPreviousPage: c.PageInfo.HasPreviousPage,
		StartCursor: str(c.PageInfo.StartCursor), EndCursor: str(c.PageInfo.EndCursor), TotalCount: c.TotalCount,
		Items: make([]T, len(c.Edges)), Cursors: make([]string, len(c.Edges))}
	for i, e := range c.Edges {
		p.Items[i], p.Cursors[i] = conv(e.Node), e.Cursor
	}
	return p
}

func (w wDAO) conv() *DAO {
	return &DAO{ID: w.ID, ChainID: w.ChainID, Token: common.HexToAddress(w.Token.Address), Governor: common.HexToAddress(w.Governor.Address),
		Timelock: common.HexToAddress(w.Timelock.Address), Registry: common.HexToAddress(w.Registry.Address), StartBlock: w.StartBlock,
		VotingDelay: w.VotingDelay, VotingPeriod: w.VotingPeriod, ProposalThreshold: bigOf(w.ProposalThreshold),
		QuorumNumerator: w.QuorumNumerator, Quorum: bigOf(w.Quorum), TimelockDelay: w.TimelockDelay, TotalSupply: bigOf(w.TotalSupply),
		ProposalCount: w.ProposalCount, DelegateCount: w.DelegateCount, AccountCount: w.AccountCount, ModelCount: w.ModelCount,
		ModelVersionCount: w.ModelVersionCount, AuditCount: w.AuditCount, PolicyCount: w.PolicyCount, AuditorCount: w.AuditorCount}
}

func (w wProposal) conv() Proposal {
	p := Proposal{ID: w.ID, Proposer: common.HexToAddress(w.Proposer.Address), Title: w.Title, Description: w.Description,
		State: w.State, Snapshot: w.Snapshot, Deadline: w.Deadline, Eta: timePtr(w.Eta), Quorum: bigPtr(w.Quorum),
		VoterCount: w.VoterCount, TimelockOperationID: common.HexToHash(w.TimelockOperationID), Created: w.Created.conv(),
		Tally: Tally{For: bigOf(w.Tally.For), Against: bigOf(w.Tally.Against), Abstain: bigOf(w.Tally.Abstain), Total: bigOf(w.Tally.Total),
			ForPercent: w.Tally.ForPercent, AgainstPercent: w.Tally.AgainstPercent, AbstainPercent: w.Tally.AbstainPercent,
			Quorum: bigPtr(w.Tally.Quorum), QuorumReached: w.Tally.QuorumReached, QuorumPercent: w.Tally.QuorumPercent}}
	for _, v := range w.ModelVersions {
		p.ModelVersionIDs = append(p.ModelVersionIDs, u64(v.ID))
	}
	return p
}

func (w wAction) conv() Action {
	data, _ := hex.DecodeString(strings.TrimPrefix(w.Calldata, "0x"))
	a := Action{Index: w.Index, Target: common.HexToAddress(w.Target.Address), Value: bigOf(w.Value), Calldata: data,
		Method: str(w.Method), Args: map[string]string{}, ModelVersionID: refID(w.ModelVersion)}
	for _, arg := range w.Args {
		a.Args[arg.Name] = arg.Value
	}
	return a
}

func (w wVote) conv() Vote {
	return Vote{ID: w.ID, ProposalID: w.Proposal.ID, Voter: common.HexToAddress(w.Voter.Address), Support: w.Support,
		Weight: bigOf(w.Weight), Reason: str(w.Reason), Provenance: w.Provenance.conv()}
}

func (w wAccount) conv() Account {
	return Account{ID: w.ID, Address: common.HexToAddress(w.Address), Balance: bigOf(w.Balance), VotingPower: bigOf(w.VotingPower),
		Delegate: addrPtr(w.Delegate), DelegatorCount: w.DelegatorCount, VoteCount: w.VoteCount}
}

func (w wDelegation) conv() Delegation {
	return Delegation{Delegator: common.HexToAddress(w.Delegator.Address), From: addrPtr(w.From), To: addrPtr(w.To), Provenance: w.Provenance.conv()}
}

func (w wVersion) conv() ModelVersion {
	raw, _ := hex.DecodeString(strings.TrimPrefix(w.WeightsCIDRaw, "0x"))
	v := ModelVersion{WeightsCIDRaw: raw, ID: u64(w.ID), ModelName: w.ModelName, Label: w.Label, Publisher: common.HexToAddress(w.Publisher.Address),
		WeightsCID: w.WeightsCID, WeightsSHA256: common.HexToHash(w.WeightsSHA256), ModelCardCID: w.ModelCardCID, License: w.License,
		Tags: w.Tags, Status: w.Status, PolicyID: refID(w.Policy), Submitted: w.Submitted.conv(), Relation: w.Relation, TaintedAncestry: w.Tainted,
		Bases: []uint64{}, Datasets: []Dataset{}}
	for _, b := range w.Bases {
		v.Bases = append(v.Bases, u64(b.ID))
	}
	for _, d := range w.Datasets {
		v.Datasets = append(v.Datasets, Dataset{Role: d.Role, Name: d.Name, CID: d.CID, SHA256: common.HexToHash(d.SHA256)})
	}
	if w.Pin != nil {
		p := w.Pin.conv()
		v.Pin = &p
	}
	return v
}

func (w wPinReplica) conv() PinReplica {
	return PinReplica{Node: w.Node, Status: w.Status, Error: w.Error, UpdatedAt: timePtr(w.UpdatedAt)}
}

// sizeOf reads a nullable BigInt byte count: 0 until known.
func sizeOf(s *string) uint64 {
	if s == nil {
		return 0
	}
	return u64(*s)
}

func (w wPin) conv() Pin {
	p := Pin{Status: w.Status, CID: w.CID, Attempts: w.Attempts, LastError: str(w.LastError), Size: sizeOf(w.Size), PinnedAt: timePtr(w.PinnedAt)}
	for _, r := range w.Replicas {
		p.Replicas = append(p.Replicas, r.conv())
	}
	return p
}

func (w wEvidencePin) conv() EvidencePin {
	p := EvidencePin{Status: w.Status, CID: w.CID, Verified: w.Verified, Attempts: w.Attempts, LastError: w.LastError,
		Size: sizeOf(w.Size), PinnedAt: timePtr(w.PinnedAt)}
	for _, r := range w.Replicas {
		p.Replicas = append(p.Replicas, r.conv())
	}
	return p
}

func (w wStatusChange) conv() StatusChange {
	c := StatusChange{Status: w.Status, Reason: str(w.Reason), PolicyID: refID(w.Policy), AuditID: refID(w.Audit), Provenance: w.Provenance.conv()}
	if w.Proposal != nil {
		c.ProposalID = w.Proposal.ID
	}
	return c
}

func (w wAudit) conv() Audit {
	a := Audit{ID: u64(w.ID), VersionID: u64(w.ModelVersion.ID), PolicyID: u64(w.Policy.ID), Auditor: common.HexToAddress(w.Auditor.Address),
		AuditorName: w.Auditor.Name, ReportCID: w.ReportCID, ReportSHA256: common.HexToHash(w.ReportSHA256), Passed: w.Passed,
		ReportPin: w.ReportPin.conv(), Provenance: w.Provenance.conv()}
	for _, m := range w.Metrics {
		v, _ := modeldao.ParseFixed6(m.Value)
		t, _ := modeldao.ParseFixed6(m.Threshold)
		a.Metrics = append(a.Metrics, Metric{Kind: m.Kind, SensitiveFeature: m.SensitiveFeature, Value: v, Threshold: t, Passed: m.Passed})
	}
	return a
}

// conv trusts the server's scalars: MetricKind is written by MetricKind.String and Fixed by
// Fixed6.String, which ParseMetricKind and ParseFixed6 read back.
func (w wMetricBound) conv() modeldao.MetricBound {
	k, _ := modeldao.ParseMetricKind(w.Kind)
	l, _ := modeldao.ParseFixed6(w.Limit)
	return modeldao.MetricBound{Kind: k, IsMinimum: w.IsMinimum, Limit: l}
}

func (w wPolicy) conv() Policy {
	p := Policy{ID: u64(w.ID), Name: w.Name, Version: w.Version, DocumentCID: w.DocumentCID, DocumentPin: w.DocumentPin.conv(),
		AuditRequired: w.AuditRequired, Bounds: []modeldao.MetricBound{}, Active: w.Active, Adopted: w.Adopted.conv()}
	for _, b := range w.Bounds {
		p.Bounds = append(p.Bounds, b.conv())
	}
	if w.Retired != nil {
		r := w.Retired.conv()
		p.Retired = &r
	}
	return p
}
