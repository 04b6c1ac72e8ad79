package cli

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/internal/txutil"
)

// The governance commands, one table: propose_*.go, vote.go, queue.go and mine.go hold
// their code. The table stays in one file because registration order is the order in
// which a mistyped command's suggestion is looked for.
func init() {
	register(&command{name: "propose approve", args: "<version>", summary: "propose to approve a model version under a policy",
		detail: `Creates a Governor proposal that calls approveVersion on the registry. The policy is
the newest active one unless --policy names another; when it requires an audit, the newest
passing audit of the version under that policy that meets its bounds is used unless --audit
names one. Checks all of that on chain before sending anything.`,
		setup: setupProposeApprove})
	register(&command{name: "propose reject", args: "<version> --reason <text>", summary: "propose to reject a submitted model version", setup: setupProposeStatus("reject")})
	register(&command{name: "propose revoke", args: "<version> --reason <text> | --stale [--dry-run]", summary: "propose to revoke an approved model version (its weights are unpinned)",
		detail: `--stale proposes to revoke every stale approval (the API's ModelVersion.staleReasons: its
policy was retired, or its audit is older than --max-audit-age blocks) in one proposal, one
revokeVersion call each, with the reasons as a Markdown table in the description; --reason
is then optional (default: the reasons in words). --dry-run lists them and sends nothing.`,
		setup: setupProposeStatus("revoke")})
	register(&command{name: "propose policy", args: "--name <n> --version <v> --document <cid|file> [--bound kind<=x]…", summary: "propose to adopt an alignment policy",
		detail: `Bounds limit the metrics of the audits an approval under the policy relies on:
  --bound demographic_parity_difference<=0.1   a difference: at most 0.1
  --bound disparate_impact_ratio>=0.8          a ratio: at least 0.8
Metric kinds: demographic_parity_difference, demographic_parity_ratio,
equalized_odds_difference, equal_opportunity_difference, disparate_impact_ratio, or METRIC_<n>.
The document is a CID, or a file that is added to IPFS first.
--dry-run sends nothing and lists the approved versions the policy would not approve (from
the API), with the failing metric, feature and margin; --attach-impact adds that table to
the proposal's description.`,
		setup: setupProposePolicy})
	register(&command{name: "propose auditor add", args: "<address> --name <name>", summary: "propose to register an auditor", setup: setupProposeAuditor(true)})
	register(&command{name: "propose auditor remove", args: "<address>", summary: "propose to deregister an auditor", setup: setupProposeAuditor(false)})
	register(&command{name: "vote", args: "<proposal> for|against|abstain", summary: "vote on a proposal, with an optional reason", setup: setupVote})
	register(&command{name: "delegate", args: "<address>|self", summary: "delegate your voting power (to yourself to vote with your own tokens)", setup: setupDelegate})
	register(&command{name: "queue", args: "<proposal id or description>", summary: "queue a succeeded proposal in the timelock",
		detail: "The proposal is named by its id, by its full description, or by a unique part of its title.", setup: setupQueueExecute("queue")})
	register(&command{name: "execute", args: "<proposal id or description>", summary: "execute a queued proposal once the timelock delay has passed",
		detail: "The proposal is named by its id, by its full description, or by a unique part of its title.", setup: setupQueueExecute("execute")})
	register(&command{name: "mine", args: "[--blocks n] [--time duration]", summary: "mine blocks and move time on the dev chain (to end voting, pass the timelock delay)",
		detail: "Works against `modeldao dev` (and Anvil or Hardhat): it calls anvil_mine and evm_increaseTime.", setup: setupMine})
}

// proposalResult is what the propose commands print.
type proposalResult struct {
	ProposalID  string `json:"proposalId"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Proposer    string `json:"proposer"`
	VoteStart   uint64 `json:"voteStart"` // the snapshot block; voting opens after it
	VoteEnd     uint64 `json:"voteEnd"`   // the last block of voting
	Tx          string `json:"tx"`
	Block       uint64 `json:"block"`
}

func (p *proposalResult) text(w io.Writer) {
	fmt.Fprintf(w, "Proposal %s created: %s\n", p.ProposalID, p.Title)
	fmt.Fprintf(w, "  proposer     %s\n", p.Proposer)
	fmt.Fprintf(w, "  voting       opens after block %d, closes after block %d\n", p.VoteStart, p.VoteEnd)
	fmt.Fprintf(w, "  transaction  %s (block %d)\n", p.Tx, p.Block)
	fmt.Fprintf(w, "Next: modeldao vote %s for|against|abstain --reason \"…\"\n", p.ProposalID)
}

// describe returns the description flag's value, or the default made of title and body,
// stamped with the time so that proposing the same calls again makes a new proposal.
func describe(flagValue, title, body string) string {
	if flagValue != "" {
		return flagValue
	}
	return fmt.Sprintf("# %s\n\n%s\n\nProposed with the modeldao CLI at %s.", title, body, time.Now().UTC().Format(time.RFC3339))
}

// propose sends a proposal of registry calls.
func (r *runner) propose(ctx context.Context, dao *contracts.DAO, description string, calls ...contracts.RegistryCall) (*proposalResult, error) {
	p, err := dao.RegistryProposal(description, calls...)
	if err != nil {
		return nil, err
	}
	if snap, err := dao.Governor.ProposalSnapshot(&bind.CallOpts{Context: ctx}, p.ID()); err == nil && snap.Sign() > 0 {
		return nil, modeldao.Errorf(modeldao.EINVALID, "the same proposal (the same calls and description) exists already: %s; change --description to propose it again", p.ID())
	}
	rec, err := r.send(ctx, "propose", func(o *bind.TransactOpts) (*types.Transaction, error) { return dao.Propose(o, p) })
	if err != nil {
		return nil, err
	}
	res := &proposalResult{ProposalID: p.ID().String(), Title: modeldao.ProposalTitle(description), Description: description,
		Proposer: r.opts.From.Hex(), Tx: rec.TxHash.Hex(), Block: rec.BlockNumber.Uint64()}
	if ev, ok := findLog(rec, dao.Governor.ParseProposalCreated); ok {
		res.VoteStart, res.VoteEnd = ev.VoteStart.Uint64(), ev.VoteEnd.Uint64()
	}
	return res, nil
}

// proposalState reads a proposal's state, with a clear error for an unknown id.
func proposalState(ctx context.Context, dao *contracts.DAO, id *big.Int) (modeldao.ProposalState, error) {
	st, err := dao.Governor.State(callOpts(ctx), id)
	if err != nil {
		if data, ok := txutil.RevertData(err); ok {
			if rv, ok := txutil.DecodeRevert(data); ok && rv.Name == "GovernorNonexistentProposal" {
				return 0, modeldao.Errorf(modeldao.EINVALID, "there is no proposal %s on this DAO (`modeldao proposals` lists them)", id)
			}
		}
		return 0, chainErr(err, "read the state of proposal %s", id)
	}
	return modeldao.ProposalState(st), nil
}
