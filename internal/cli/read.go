package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
)

func init() {
	register(&command{name: "proposals", args: "", summary: "list proposals, newest first (from the API)", setup: setupProposals})
	register(&command{name: "models", args: "", summary: "list model versions, newest first (from the API)", setup: setupModels})
	register(&command{name: "status", args: "", summary: "show the DAO, how far the index is and the pins (from the API)", setup: setupStatus})
}

type proposalOut struct {
	ID            string   `json:"id"`
	Title         string   `json:"title"`
	State         string   `json:"state"`
	Proposer      string   `json:"proposer"`
	Snapshot      uint64   `json:"snapshot"`
	Deadline      uint64   `json:"deadline"`
	Eta           string   `json:"eta,omitempty"`
	For           string   `json:"for"`
	Against       string   `json:"against"`
	Abstain       string   `json:"abstain"`
	Quorum        string   `json:"quorum,omitempty"`
	QuorumReached bool     `json:"quorumReached"`
	Voters        int      `json:"voters"`
	ModelVersions []uint64 `json:"modelVersions"`
	CreatedBlock  uint64   `json:"createdBlock"`
}

// pageFlags adds --limit and --after to a listing command and returns a function giving
// their checked value.
func pageFlags(fs *flag.FlagSet) func() (client.PageArgs, error) {
	limit := fs.Int("limit", 20, "how many (at most 100)")
	after := fs.String("after", "", "the page after this cursor (printed at the end of a full page)")
	return func() (client.PageArgs, error) {
		if *limit < 1 || *limit > 100 {
			return client.PageArgs{}, usagef("--limit must be between 1 and 100")
		}
		return client.PageArgs{First: *limit, After: *after}, nil
	}
}

func setupProposals(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.apiFlag(fs)
	r.jsonFlag(fs)
	state := fs.String("state", "", "only proposals in this state: PENDING, ACTIVE, CANCELED, DEFEATED, SUCCEEDED, QUEUED, EXECUTED")
	versionID := fs.Uint64("version", 0, "only proposals about this model version")
	proposer := fs.String("proposer", "", "only proposals of this address")
	title := fs.String("title", "", "only proposals whose title contains this")
	paging := pageFlags(fs)
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 0, ""); err != nil {
			return err
		}
		pa, err := paging()
		if err != nil {
			return err
		}
		q := client.ProposalQuery{TitleContains: *title, ModelVersion: *versionID, Page: pa}
		if *state != "" {
			st, err := modeldao.ParseProposalState(*state)
			if err != nil {
				return asUsage(err)
			}
			q.State = st.String()
		}
		if *proposer != "" {
			a, err := parseAddress(*proposer, "--proposer")
			if err != nil {
				return err
			}
			q.Proposer = &a
		}
		page, err := r.api().Proposals(ctx, q)
		if err != nil {
			return err
		}
		out := make([]proposalOut, 0, len(page.Items))
		for _, p := range page.Items {
			o := proposalOut{ID: p.ID, Title: p.Title, State: p.State, Proposer: p.Proposer.Hex(), Snapshot: p.Snapshot, Deadline: p.Deadline,
				For: bigString(p.Tally.For), Against: bigString(p.Tally.Against), Abstain: bigString(p.Tally.Abstain),
				QuorumReached: p.Tally.QuorumReached, Voters: p.VoterCount, ModelVersions: p.ModelVersionIDs, CreatedBlock: p.Created.BlockNumber}
			if p.Quorum != nil {
				o.Quorum = p.Quorum.String()
			}
			if p.Eta != nil {
				o.Eta = p.Eta.UTC().Format(time.RFC3339)
			}
			out = append(out, o)
		}
		res := map[string]any{"proposals": out, "total": page.TotalCount, "hasNextPage": page.HasNextPage, "endCursor": page.EndCursor}
		return r.print(res, func(w io.Writer) {
			if len(out) == 0 {
				fmt.Fprintln(w, "No proposals.")
				return
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "STATE\tFOR\tAGAINST\tABSTAIN\tVOTING ENDS\tTITLE\tID")
			for _, p := range out {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\tblock %d\t%s\t%s\n", p.State, tokensText(p.For), tokensText(p.Against), tokensText(p.Abstain), p.Deadline, clip(p.Title, 50), p.ID)
			}
			tw.Flush()
			fmt.Fprintf(w, "%d of %d proposals", len(out), page.TotalCount)
			if page.HasNextPage {
				fmt.Fprintf(w, "; next page: --after %s", page.EndCursor)
			}
			fmt.Fprintln(w)
		})
	}
}

func clip(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

type versionOut struct {
	ID            uint64   `json:"id"`
	Model         string   `json:"model"`
	Version       string   `json:"version"`
	Status        string   `json:"status"`
	Publisher     string   `json:"publisher"`
	License       string   `json:"license"`
	Tags          []string `json:"tags"`
	WeightsCID    string   `json:"weightsCid"`
	WeightsSHA256 string   `json:"weightsSha256"`
	ModelCardCID  string   `json:"modelCardCid"`
	PolicyID      uint64   `json:"policyId,omitempty"`
	Pin           string   `json:"pin"`
	PinError      string   `json:"pinError,omitempty"`
	SubmittedAt   uint64   `json:"submittedBlock"`
	Relation      string   `json:"relation"`
	Bases         []uint64 `json:"bases"`
	Datasets      []string `json:"datasets"` // names
	// TaintedAncestry: an ancestor is REVOKED or REJECTED.
	TaintedAncestry bool `json:"taintedAncestry"`
}

// lineage is the LINEAGE column: "-" for an original, else the relation and the bases,
// with "(tainted)" when an ancestor is REVOKED or REJECTED.
func (v versionOut) lineage() string {
	if len(v.Bases) == 0 {
		return "-"
	}
	s := strings.ToLower(v.Relation) + " of " + strings.ReplaceAll(joinIDs(v.Bases), " ", "")
	if v.TaintedAncestry {
		s += " (tainted)"
	}
	return s
}

func setupModels(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.apiFlag(fs)
	r.jsonFlag(fs)
	status := fs.String("status", "", "only versions in this status: SUBMITTED, APPROVED, REJECTED, REVOKED")
	model := fs.String("model", "", "only versions of this model (exact name)")
	tag := fs.String("tag", "", "only versions with this tag")
	publisher := fs.String("publisher", "", "only versions of this publisher")
	derivedFrom := fs.Uint64("derived-from", 0, "only the direct derivatives of this version id")
	dataset := fs.String("dataset", "", "only versions trained or evaluated on a dataset of this name or CID")
	paging := pageFlags(fs)
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 0, ""); err != nil {
			return err
		}
		pa, err := paging()
		if err != nil {
			return err
		}
		q := client.VersionQuery{Model: *model, Tag: *tag, Page: pa, DerivedFrom: *derivedFrom, Dataset: *dataset}
		if *status != "" {
			st, err := modeldao.ParseVersionStatus(*status)
			if err != nil {
				return asUsage(err)
			}
			q.Status = st.String()
		}
		if *publisher != "" {
			a, err := parseAddress(*publisher, "--publisher")
			if err != nil {
				return err
			}
			q.Publisher = &a
		}
		page, err := r.api().ModelVersions(ctx, q)
		if err != nil {
			return err
		}
		out := make([]versionOut, 0, len(page.Items))
		for _, v := range page.Items {
			o := versionOut{ID: v.ID, Model: v.ModelName, Version: v.Label, Status: v.Status, Publisher: v.Publisher.Hex(), License: v.License, Tags: v.Tags,
				WeightsCID: v.WeightsCID, WeightsSHA256: v.WeightsSHA256.Hex(), ModelCardCID: v.ModelCardCID, PolicyID: v.PolicyID, Pin: "NONE", SubmittedAt: v.Submitted.BlockNumber,
				Relation: v.Relation, Bases: v.Bases, Datasets: []string{}, TaintedAncestry: v.TaintedAncestry}
			for _, d := range v.Datasets {
				o.Datasets = append(o.Datasets, d.Name)
			}
			if v.Pin != nil {
				o.Pin, o.PinError = v.Pin.Status, v.Pin.LastError
			}
			out = append(out, o)
		}
		res := map[string]any{"versions": out, "total": page.TotalCount, "hasNextPage": page.HasNextPage, "endCursor": page.EndCursor}
		return r.print(res, func(w io.Writer) {
			if len(out) == 0 {
				fmt.Fprintln(w, "No model versions.")
				return
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tMODEL\tVERSION\tSTATUS\tPIN\tLICENSE\tTAGS\tLINEAGE\tWEIGHTS")
			for _, v := range out {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Model, v.Version, v.Status, v.Pin, v.License, strings.Join(v.Tags, ","), v.lineage(), v.WeightsCID)
			}
			tw.Flush()
			fmt.Fprintf(w, "%d of %d versions", len(out), page.TotalCount)
			if page.HasNextPage {
				fmt.Fprintf(w, "; next page: --after %s", page.EndCursor)
			}
			fmt.Fprintln(w)
		})
	}
}

func setupStatus(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.apiFlag(fs)
	r.jsonFlag(fs)
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 0, ""); err != nil {
			return err
		}
		api := r.api()
		dao, err := api.DAO(ctx)
		if err != nil {
			return err
		}
		ix, err := api.IndexerStatus(ctx)
		if err != nil {
			return err
		}
		pins, err := api.PinStatus(ctx)
		if err != nil {
			return err
		}
		res := map[string]any{
			"api": r.apiURL,
			"dao": map[string]any{
				"chainId": dao.ChainID, "token": dao.Token.Hex(), "governor": dao.Governor.Hex(), "timelock": dao.Timelock.Hex(), "registry": dao.Registry.Hex(),
				"startBlock": dao.StartBlock, "votingDelay": dao.VotingDelay, "votingPeriod": dao.VotingPeriod, "quorumNumerator": dao.QuorumNumerator,
				"quorum": bigString(dao.Quorum), "proposalThreshold": bigString(dao.ProposalThreshold), "timelockDelay": dao.TimelockDelay,
				"totalSupply": bigString(dao.TotalSupply), "proposals": dao.ProposalCount, "delegates": dao.DelegateCount, "accounts": dao.AccountCount,
				"models": dao.ModelCount, "versions": dao.ModelVersionCount, "audits": dao.AuditCount, "policies": dao.PolicyCount, "auditors": dao.AuditorCount,
			},
			"indexer": map[string]any{"chainHead": ix.ChainHead, "indexedBlock": ix.IndexedBlock, "indexedHash": hashOrEmpty(ix.IndexedHash), "lag": ix.Lag,
				"reorgs": ix.Reorgs, "lastError": ix.LastError, "updatedAt": timeOrEmpty(ix.UpdatedAt)},
			"pins": pins,
		}
		return r.print(res, func(w io.Writer) {
			fmt.Fprintf(w, "DAO on chain %d (API %s)\n", dao.ChainID, r.apiURL)
			fmt.Fprintf(w, "  governor %s  token %s\n  timelock %s  registry %s\n", dao.Governor.Hex(), dao.Token.Hex(), dao.Timelock.Hex(), dao.Registry.Hex())
			fmt.Fprintf(w, "  voting delay %d blocks, period %d blocks, quorum %d%% (%s tokens), timelock %s\n",
				dao.VotingDelay, dao.VotingPeriod, dao.QuorumNumerator, tokensOf(dao.Quorum), time.Duration(dao.TimelockDelay)*time.Second)
			fmt.Fprintf(w, "  %d proposals, %d delegates, %d accounts; %d models, %d versions, %d audits, %d policies, %d auditors; supply %s tokens\n",
				dao.ProposalCount, dao.DelegateCount, dao.AccountCount, dao.ModelCount, dao.ModelVersionCount, dao.AuditCount, dao.PolicyCount, dao.AuditorCount, tokensOf(dao.TotalSupply))
			fmt.Fprintf(w, "Index: block %d of %d (lag %d), %d reorgs", ix.IndexedBlock, ix.ChainHead, ix.Lag, ix.Reorgs)
			if ix.UpdatedAt != nil {
				fmt.Fprintf(w, ", updated %s ago", time.Since(*ix.UpdatedAt).Round(time.Second))
			}
			fmt.Fprintln(w)
			if ix.LastError != "" {
				fmt.Fprintf(w, "  last error: %s\n", ix.LastError)
			}
			fmt.Fprintf(w, "Pins: %d pinned, %d degraded, %d queued, %d pinning, %d failed, %d unpinned\n", pins.Pinned, pins.Degraded, pins.Queued, pins.Pinning, pins.Failed, pins.Unpinned)
		})
	}
}

func hashOrEmpty(h common.Hash) string {
	if h == (common.Hash{}) {
		return ""
	}
	return h.Hex()
}

func timeOrEmpty(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
