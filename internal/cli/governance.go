package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/contracts/bindings"
	"github.com/modeldao/modeldao/internal/txutil"
)

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

// ---- proposals ----

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

// findLog returns the first log of rec that parse accepts.
func findLog[T any](rec *types.Receipt, parse func(types.Log) (*T, error)) (*T, bool) {
	for _, l := range rec.Logs {
		if ev, err := parse(*l); err == nil {
			return ev, true
		}
	}
	return nil, false
}

func callOpts(ctx context.Context) *bind.CallOpts { return &bind.CallOpts{Context: ctx} }

// chainErr wraps a failed contract call.
func chainErr(err error, format string, args ...any) error {
	if data, ok := txutil.RevertData(err); ok {
		if rv, ok := txutil.DecodeRevert(data); ok {
			return modeldao.WrapError(modeldao.EINVALID, err, "%s: %s", fmt.Sprintf(format, args...), explainRevert(rv, common.Address{}))
		}
	}
	return modeldao.WrapError(modeldao.EUNAVAILABLE, err, format, args...)
}

// version reads a model version from the registry.
func readVersion(ctx context.Context, dao *contracts.DAO, id uint64) (bindings.ModelRegistryVersion, error) {
	st, err := dao.Registry.VersionStatus(callOpts(ctx), new(big.Int).SetUint64(id))
	if err != nil {
		return bindings.ModelRegistryVersion{}, chainErr(err, "read version %d", id)
	}
	if st == 0 {
		return bindings.ModelRegistryVersion{}, modeldao.Errorf(modeldao.EINVALID, "there is no model version %d in the registry (`modeldao models` lists them)", id)
	}
	v, err := dao.Registry.GetVersion(callOpts(ctx), new(big.Int).SetUint64(id))
	if err != nil {
		return v, chainErr(err, "read version %d", id)
	}
	return v, nil
}

// policy reads a policy, or finds the newest active one when id is 0.
func policy(ctx context.Context, dao *contracts.DAO, id uint64) (modeldao.Policy, error) {
	n, err := dao.Registry.PolicyCount(callOpts(ctx))
	if err != nil {
		return modeldao.Policy{}, chainErr(err, "read the policy count")
	}
	count := n.Uint64()
	if id > count {
		return modeldao.Policy{}, modeldao.Errorf(modeldao.EINVALID, "there is no policy %d (the registry has %d)", id, count)
	}
	ids := []uint64{id}
	if id == 0 {
		ids = nil
		for i := count; i >= 1; i-- {
			ids = append(ids, i)
		}
	}
	for _, i := range ids {
		p, err := dao.Registry.GetPolicy(callOpts(ctx), new(big.Int).SetUint64(i))
		if err != nil {
			return modeldao.Policy{}, chainErr(err, "read policy %d", i)
		}
		pol := contracts.PolicyOf(i, p)
		if p.Active {
			return pol, nil
		}
		if id != 0 {
			return pol, modeldao.Errorf(modeldao.EINVALID, "policy %d (%s %s) is retired: approvals need an active policy", i, p.Name, p.Version)
		}
	}
	return modeldao.Policy{}, modeldao.Errorf(modeldao.EINVALID, "the registry has no active policy: propose one with `modeldao propose policy`")
}

// maxAuditScan bounds the audits read back when looking for a version's audit.
const maxAuditScan = 2000

// approvalAudit checks the audit an approval names, or finds one when id is 0; it returns
// the audit too (nil when the approval names none).
func approvalAudit(ctx context.Context, dao *contracts.DAO, version uint64, pol modeldao.Policy, id uint64) (uint64, *modeldao.Audit, error) {
	if id != 0 {
		a, err := dao.Registry.GetAudit(callOpts(ctx), new(big.Int).SetUint64(id))
		if err != nil {
			return 0, nil, chainErr(err, "read audit %d", id)
		}
		au := contracts.AuditOf(id, a)
		switch {
		case au.VersionID != version:
			return 0, nil, modeldao.Errorf(modeldao.EINVALID, "audit %d is about version %d, not %d", id, au.VersionID, version)
		case au.PolicyID != pol.ID:
			return 0, nil, modeldao.Errorf(modeldao.EINVALID, "audit %d is under policy %d, not %d", id, au.PolicyID, pol.ID)
		}
		if err := pol.Check(au); err != nil {
			return 0, nil, modeldao.WrapError(modeldao.EINVALID, err, "the approval would fail: %s", modeldao.ErrorMessage(err))
		}
		return id, &au, nil
	}
	if !pol.AuditRequired {
		return 0, nil, nil
	}
	n, err := dao.Registry.AuditCount(callOpts(ctx))
	if err != nil {
		return 0, nil, chainErr(err, "read the audit count")
	}
	var reasons []string
	for i, scanned := n.Uint64(), 0; i >= 1 && scanned < maxAuditScan; i, scanned = i-1, scanned+1 {
		a, err := dao.Registry.GetAudit(callOpts(ctx), new(big.Int).SetUint64(i))
		if err != nil {
			return 0, nil, chainErr(err, "read audit %d", i)
		}
		if a.VersionId != version || a.PolicyId != pol.ID {
			continue
		}
		au := contracts.AuditOf(i, a)
		if err := pol.Check(au); err != nil {
			reasons = append(reasons, modeldao.ErrorMessage(err))
			continue
		}
		return i, &au, nil
	}
	msg := fmt.Sprintf("policy %d (%s %s) requires a passing audit of version %d that meets its bounds, and there is none", pol.ID, pol.Name, pol.Version, version)
	if len(reasons) > 0 {
		msg += " (" + strings.Join(reasons, "; ") + ")"
	}
	return 0, nil, modeldao.Errorf(modeldao.EINVALID, "%s: an auditor posts one with `modeldao audit submit`; or name another policy with --policy", msg)
}

func setupProposeApprove(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.txFlags(fs)
	r.jsonFlag(fs)
	policyID := fs.Uint64("policy", 0, "policy the approval is under (default: the newest active policy)")
	auditID := fs.Uint64("audit", 0, "audit the approval relies on (default: found on chain when the policy requires one)")
	desc := fs.String("description", "", "proposal description, Markdown, first line the title (default: generated, with the audit's evidence as a table)")
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 1, "the model version id"); err != nil {
			return err
		}
		vid, err := parseVersionID(args[0])
		if err != nil {
			return err
		}
		dao, err := r.contracts(ctx)
		if err != nil {
			return err
		}
		if _, err := r.signer(ctx); err != nil {
			return err
		}
		v, err := readVersion(ctx, dao, vid)
		if err != nil {
			return err
		}
		if st := modeldao.VersionStatus(v.Status); st != modeldao.VersionSubmitted {
			return modeldao.Errorf(modeldao.EINVALID, "version %d (%s %s) is %s: only SUBMITTED versions can be approved", vid, v.ModelName, v.VersionLabel, st)
		}
		pol, err := policy(ctx, dao, *policyID)
		if err != nil {
			return err
		}
		aid, audit, err := approvalAudit(ctx, dao, vid, pol, *auditID)
		if err != nil {
			return err
		}
		body := fmt.Sprintf("Approve model version %d (%s %s, weights %s) under policy %d (%s %s)", vid, v.ModelName, v.VersionLabel, v.WeightsCID, pol.ID, pol.Name, pol.Version)
		if aid != 0 {
			body += fmt.Sprintf(", relying on audit %d", aid)
		}
		body += "."
		if audit != nil {
			// The evidence goes into the description so that any Governor frontend shows it.
			var b strings.Builder
			writeEvidence(&b, pol, *audit)
			body += "\n\n" + strings.TrimRight(b.String(), "\n")
		}
		d := describe(*desc, fmt.Sprintf("Approve %s %s", v.ModelName, v.VersionLabel), body)
		res, err := r.propose(ctx, dao, d, contracts.ApproveVersion(vid, pol.ID, aid))
		if err != nil {
			return err
		}
		return r.print(res, res.text)
	}
}

func setupProposeStatus(action string) func(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
		r.txFlags(fs)
		r.jsonFlag(fs)
		reason := fs.String("reason", "", "why (stored on chain with the status change; required)")
		desc := fs.String("description", "", "proposal description, Markdown, first line the title (default: generated)")
		var stale staleFlags
		if action == "revoke" {
			stale = addStaleFlags(fs)
		}
		return func(ctx context.Context, args []string) error {
			if stale.stale != nil && *stale.stale {
				return r.proposeRevokeStale(ctx, stale, args, *reason, *desc)
			}
			if stale.dryRun != nil && *stale.dryRun {
				return usagef("--dry-run goes with --stale")
			}
			if err := needArgs(args, 1, "the model version id"); err != nil {
				return err
			}
			vid, err := parseVersionID(args[0])
			if err != nil {
				return err
			}
			if strings.TrimSpace(*reason) == "" {
				return usagef("--reason is required: say why the DAO should %s the version", action)
			}
			if len(*reason) > modeldao.MaxReasonLength {
				return usagef("--reason is %d bytes; at most %d", len(*reason), modeldao.MaxReasonLength)
			}
			dao, err := r.contracts(ctx)
			if err != nil {
				return err
			}
			if _, err := r.signer(ctx); err != nil {
				return err
			}
			v, err := readVersion(ctx, dao, vid)
			if err != nil {
				return err
			}
			want, call, verb := modeldao.VersionSubmitted, contracts.RejectVersion(vid, *reason), "Reject"
			if action == "revoke" {
				want, call, verb = modeldao.VersionApproved, contracts.RevokeVersion(vid, *reason), "Revoke"
			}
			if st := modeldao.VersionStatus(v.Status); st != want {
				return modeldao.Errorf(modeldao.EINVALID, "version %d (%s %s) is %s: only %s versions can be %sed", vid, v.ModelName, v.VersionLabel, st, want, strings.TrimSuffix(action, "e"))
			}
			d := describe(*desc, fmt.Sprintf("%s %s %s", verb, v.ModelName, v.VersionLabel),
				fmt.Sprintf("%s model version %d (%s %s): %s", verb, vid, v.ModelName, v.VersionLabel, *reason))
			res, err := r.propose(ctx, dao, d, call)
			if err != nil {
				return err
			}
			return r.print(res, res.text)
		}
	}
}

// boundsFlag collects --bound kind<=x / kind>=x.
type boundsFlag []modeldao.MetricBound

func (b *boundsFlag) String() string {
	var parts []string
	for _, x := range *b {
		op := "<="
		if x.IsMinimum {
			op = ">="
		}
		parts = append(parts, strings.ToLower(x.Kind.String())+op+x.Limit.String())
	}
	return strings.Join(parts, ",")
}

func (b *boundsFlag) Set(s string) error {
	x, err := parseBound(s)
	if err != nil {
		return err
	}
	for _, y := range *b {
		if y.Kind == x.Kind {
			return fmt.Errorf("metric %s is bounded twice", x.Kind)
		}
	}
	*b = append(*b, x)
	return nil
}

func parseBound(s string) (modeldao.MetricBound, error) {
	for _, op := range []string{"<=", ">="} {
		kind, limit, ok := strings.Cut(s, op)
		if !ok {
			continue
		}
		k, err := modeldao.ParseMetricKind(kind)
		if err != nil {
			return modeldao.MetricBound{}, fmt.Errorf("%s", modeldao.ErrorMessage(err))
		}
		l, err := modeldao.ParseFixed6(limit)
		if err != nil {
			return modeldao.MetricBound{}, fmt.Errorf("bound %q: %s", s, modeldao.ErrorMessage(err))
		}
		return modeldao.MetricBound{Kind: k, IsMinimum: op == ">=", Limit: l}, nil
	}
	return modeldao.MetricBound{}, fmt.Errorf("bound %q: want kind<=limit or kind>=limit, e.g. demographic_parity_difference<=0.1", s)
}

func setupProposePolicy(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.txFlags(fs)
	r.ipfsFlag(fs)
	r.jsonFlag(fs)
	name := fs.String("name", "", "policy name, e.g. fairness-baseline (required)")
	ver := fs.String("version", "", "policy version, e.g. 1.0 (required)")
	doc := fs.String("document", "", "the policy's text: a CID, or a file added to IPFS (required)")
	auditRequired := fs.Bool("audit-required", false, "approvals under the policy need a passing audit that meets the bounds")
	var bounds boundsFlag
	fs.Var(&bounds, "bound", "metric bound, kind<=x or kind>=x (repeatable)")
	desc := fs.String("description", "", "proposal description, Markdown, first line the title (default: generated)")
	dryRun := fs.Bool("dry-run", false, "send nothing: list the approved versions the policy would not approve, from the API (--api)")
	attach := fs.Bool("attach-impact", false, "add the dry run's table (from the API) to the generated description")
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 0, ""); err != nil {
			return err
		}
		if *dryRun {
			if err := modeldao.ValidateBounds(bounds); err != nil {
				return usagef("%s", modeldao.ErrorMessage(err))
			}
			impact, err := r.api().PolicyImpact(ctx, bounds, *auditRequired)
			if err != nil {
				return err
			}
			return r.print(impact, func(w io.Writer) { writeImpact(w, impact) })
		}
		switch {
		case *name == "":
			return usagef("--name is required")
		case *ver == "":
			return usagef("--version is required")
		case *doc == "":
			return usagef("--document is required: the CID of the policy's text, or a file to add to IPFS")
		case len(bounds) > modeldao.MaxBounds:
			return usagef("%d bounds; at most %d", len(bounds), modeldao.MaxBounds)
		case len(bounds) > 0 && !*auditRequired:
			r.progress("note: the bounds apply only to the audits of approvals, and without --audit-required an approval needs no audit")
		}
		dao, err := r.contracts(ctx)
		if err != nil {
			return err
		}
		if _, err := r.signer(ctx); err != nil {
			return err
		}
		cid, err := r.cidOrFile(ctx, *doc, "policy document")
		if err != nil {
			return err
		}
		p := modeldao.Policy{Name: modeldao.Text(*name), Version: modeldao.Text(*ver), DocumentCID: modeldao.Text(cid), AuditRequired: *auditRequired, Bounds: bounds}
		body := fmt.Sprintf("Adopt the alignment policy %s %s (document %s)", *name, *ver, cid)
		if *auditRequired {
			body += "; approvals under it need a passing audit"
		}
		if len(bounds) > 0 {
			body += "; bounds: " + bounds.String()
		}
		body += "."
		if *attach {
			impact, err := r.api().PolicyImpact(ctx, bounds, *auditRequired)
			if err != nil {
				return fmt.Errorf("the policy's impact for --attach-impact: %w", err)
			}
			var b strings.Builder
			writeImpact(&b, impact)
			body += "\n\n## Impact on approved versions\n\n" + strings.TrimRight(b.String(), "\n")
		}
		d := describe(*desc, fmt.Sprintf("Adopt the policy %s %s", *name, *ver), body)
		res, err := r.propose(ctx, dao, d, contracts.AdoptPolicy(p))
		if err != nil {
			return err
		}
		return r.print(res, res.text)
	}
}

func setupProposeAuditor(add bool) func(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
		r.txFlags(fs)
		r.jsonFlag(fs)
		var name *string
		if add {
			name = fs.String("name", "", "the auditor's name, e.g. \"Fair Audits Ltd\" (required)")
		}
		desc := fs.String("description", "", "proposal description, Markdown, first line the title (default: generated)")
		return func(ctx context.Context, args []string) error {
			if err := needArgs(args, 1, "the auditor's address"); err != nil {
				return err
			}
			a, err := parseAddress(args[0], "auditor")
			if err != nil {
				return err
			}
			if add && strings.TrimSpace(*name) == "" {
				return usagef("--name is required")
			}
			dao, err := r.contracts(ctx)
			if err != nil {
				return err
			}
			if _, err := r.signer(ctx); err != nil {
				return err
			}
			is, err := dao.Registry.IsAuditor(callOpts(ctx), a)
			if err != nil {
				return chainErr(err, "read the auditors")
			}
			var d string
			var call contracts.RegistryCall
			if add {
				if is {
					return modeldao.Errorf(modeldao.EINVALID, "%s is already a registered auditor", a.Hex())
				}
				d = describe(*desc, "Register "+*name+" as an auditor", fmt.Sprintf("Register %s (%s) as an auditor", *name, a.Hex()))
				call = contracts.AddAuditor(a, *name)
			} else {
				if !is {
					return modeldao.Errorf(modeldao.EINVALID, "%s is not a registered auditor", a.Hex())
				}
				d = describe(*desc, "Deregister the auditor "+a.Hex(), fmt.Sprintf("Deregister the auditor %s", a.Hex()))
				call = contracts.RemoveAuditor(a)
			}
			res, err := r.propose(ctx, dao, d, call)
			if err != nil {
				return err
			}
			return r.print(res, res.text)
		}
	}
}

// ---- votes and delegation ----

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

type voteResult struct {
	ProposalID string `json:"proposalId"`
	Voter      string `json:"voter"`
	Support    string `json:"support"`
	Weight     string `json:"weight"` // token base units
	Reason     string `json:"reason,omitempty"`
	Tx         string `json:"tx"`
	Block      uint64 `json:"block"`
}

func setupVote(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.txFlags(fs)
	r.jsonFlag(fs)
	reason := fs.String("reason", "", "why you vote so (stored on chain with the vote)")
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 2, "arguments: modeldao vote <proposal> for|against|abstain"); err != nil {
			return err
		}
		id, ok := parseProposalID(args[0])
		if !ok {
			return usagef("%q is not a proposal id (the decimal number `modeldao proposals` shows)", args[0])
		}
		support, err := modeldao.ParseVoteSupport(args[1])
		if err != nil {
			return asUsage(err)
		}
		if len(*reason) > modeldao.MaxReasonLength {
			return usagef("--reason is %d bytes; at most %d", len(*reason), modeldao.MaxReasonLength)
		}
		dao, err := r.contracts(ctx)
		if err != nil {
			return err
		}
		opts, err := r.signer(ctx)
		if err != nil {
			return err
		}
		st, err := proposalState(ctx, dao, id)
		if err != nil {
			return err
		}
		switch st {
		case modeldao.ProposalActive:
		case modeldao.ProposalPending:
			snap, _ := dao.Governor.ProposalSnapshot(callOpts(ctx), id)
			head, _ := r.eth.BlockNumber(ctx)
			return modeldao.Errorf(modeldao.EINVALID, "voting has not opened yet: it opens after block %v and the chain is at block %d (on the dev chain, modeldao mine moves it on)", snap, head)
		default:
			return modeldao.Errorf(modeldao.EINVALID, "the proposal is %s: voting is over", st)
		}
		if voted, err := dao.Governor.HasVoted(callOpts(ctx), id, opts.From); err == nil && voted {
			return modeldao.Errorf(modeldao.EINVALID, "%s has already voted on proposal %s", opts.From.Hex(), id)
		}
		rec, err := r.send(ctx, "vote", func(o *bind.TransactOpts) (*types.Transaction, error) {
			return dao.Governor.CastVoteWithReason(o, id, uint8(support), *reason)
		})
		if err != nil {
			return err
		}
		res := voteResult{ProposalID: id.String(), Voter: opts.From.Hex(), Support: support.String(), Reason: *reason, Tx: rec.TxHash.Hex(), Block: rec.BlockNumber.Uint64(), Weight: "0"}
		if ev, ok := findLog(rec, dao.Governor.ParseVoteCast); ok {
			res.Weight = ev.Weight.String()
		}
		if res.Weight == "0" {
			r.progress("note: the vote has no weight: %s had no voting power at the proposal's snapshot. Delegate (`modeldao delegate self`) to vote on later proposals.", opts.From.Hex())
		}
		return r.print(res, func(w io.Writer) {
			fmt.Fprintf(w, "Voted %s on proposal %s with %s votes\n", res.Support, res.ProposalID, tokensText(res.Weight))
			if res.Reason != "" {
				fmt.Fprintf(w, "  reason       %s\n", res.Reason)
			}
			fmt.Fprintf(w, "  voter        %s\n  transaction  %s (block %d)\n", res.Voter, res.Tx, res.Block)
		})
	}
}

// tokensText formats base units (18 decimals) as tokens.
func tokensText(s string) string {
	x, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return s
	}
	f := new(big.Rat).SetFrac(x, new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil))
	return strings.TrimRight(strings.TrimRight(f.FloatString(4), "0"), ".")
}

func tokensOf(x *big.Int) string {
	if x == nil {
		return "0"
	}
	return tokensText(x.String())
}

func setupDelegate(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.txFlags(fs)
	r.jsonFlag(fs)
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 1, "the delegate's address (or self)"); err != nil {
			return err
		}
		var to common.Address
		if args[0] != "self" {
			var err error
			if to, err = parseAddress(args[0], "delegate"); err != nil {
				return err
			}
		}
		dao, err := r.contracts(ctx)
		if err != nil {
			return err
		}
		opts, err := r.signer(ctx)
		if err != nil {
			return err
		}
		if args[0] == "self" {
			to = opts.From
		}
		rec, err := r.send(ctx, "delegate", func(o *bind.TransactOpts) (*types.Transaction, error) { return dao.Token.Delegate(o, to) })
		if err != nil {
			return err
		}
		at := &bind.CallOpts{Context: ctx, BlockNumber: rec.BlockNumber}
		bal, _ := dao.Token.BalanceOf(at, opts.From)
		power, _ := dao.Token.GetVotes(at, to)
		res := map[string]any{"delegator": opts.From.Hex(), "delegate": to.Hex(), "balance": bigString(bal), "delegateVotes": bigString(power),
			"tx": rec.TxHash.Hex(), "block": rec.BlockNumber.Uint64()}
		return r.print(res, func(w io.Writer) {
			fmt.Fprintf(w, "%s now delegates its %s tokens to %s, who has %s votes\n", opts.From.Hex(), tokensOf(bal), to.Hex(), tokensOf(power))
			fmt.Fprintf(w, "  transaction  %s (block %d)\n", rec.TxHash.Hex(), rec.BlockNumber)
			fmt.Fprintln(w, "Voting power counts from the next proposals: those already open use the snapshot taken when they were created.")
		})
	}
}

func bigString(x *big.Int) string {
	if x == nil {
		return "0"
	}
	return x.String()
}

// ---- queue and execute ----

// resolveProposal finds a proposal by id, full description or a unique part of its title.
func (r *runner) resolveProposal(ctx context.Context, dao *contracts.DAO, arg string) (*big.Int, error) {
	if id, ok := parseProposalID(arg); ok {
		return id, nil
	}
	// The Governor keeps the description hash of every proposal (GovernorStorage).
	h := crypto.Keccak256Hash([]byte(arg))
	n, err := dao.Governor.ProposalCount(callOpts(ctx))
	if err != nil {
		return nil, chainErr(err, "read the proposal count")
	}
	for i := n.Int64() - 1; i >= 0 && n.Int64()-i <= 5000; i-- {
		d, err := dao.Governor.ProposalDetailsAt(callOpts(ctx), big.NewInt(i))
		if err != nil {
			return nil, chainErr(err, "read proposal %d", i)
		}
		if d.DescriptionHash == h {
			return d.ProposalId, nil
		}
	}
	// A part of the title, through the API.
	page, err := r.api().Proposals(ctx, client.ProposalQuery{TitleContains: arg, Page: client.First(10)})
	if err != nil {
		return nil, modeldao.WrapError(modeldao.EINVALID, err, "no proposal has the description %q, and the API could not be asked for titles", arg)
	}
	switch len(page.Items) {
	case 0:
		return nil, modeldao.Errorf(modeldao.EINVALID, "no proposal has the description or a title containing %q (`modeldao proposals` lists them)", arg)
	case 1:
		if id, ok := parseProposalID(page.Items[0].ID); ok {
			return id, nil
		}
		return nil, modeldao.Errorf(modeldao.EINTERNAL, "the API gave a malformed proposal id %q", page.Items[0].ID)
	}
	var b strings.Builder
	for _, p := range page.Items {
		fmt.Fprintf(&b, "\n  %s  %s  %s", p.ID, p.State, p.Title)
	}
	return nil, modeldao.Errorf(modeldao.EINVALID, "%d proposals have a title containing %q; name one by its id:%s", len(page.Items), arg, b.String())
}

func setupQueueExecute(action string) func(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	return func(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
		r.txFlags(fs)
		r.jsonFlag(fs)
		return func(ctx context.Context, args []string) error {
			if len(args) == 0 {
				return usagef("missing the proposal (its id, description or a part of its title)")
			}
			arg := strings.Join(args, " ")
			dao, err := r.contracts(ctx)
			if err != nil {
				return err
			}
			if _, err := r.signer(ctx); err != nil {
				return err
			}
			id, err := r.resolveProposal(ctx, dao, arg)
			if err != nil {
				return err
			}
			st, err := proposalState(ctx, dao, id)
			if err != nil {
				return err
			}
			var rec *types.Receipt
			res := map[string]any{"proposalId": id.String()}
			switch action {
			case "queue":
				switch st {
				case modeldao.ProposalSucceeded:
				case modeldao.ProposalActive, modeldao.ProposalPending:
					dl, _ := dao.Governor.ProposalDeadline(callOpts(ctx), id)
					head, _ := r.eth.BlockNumber(ctx)
					return modeldao.Errorf(modeldao.EINVALID, "the proposal is %s: voting ends after block %v (the chain is at block %d)", st, dl, head)
				default:
					return modeldao.Errorf(modeldao.EINVALID, "the proposal is %s: only SUCCEEDED proposals can be queued", st)
				}
				rec, err = r.send(ctx, "queue", func(o *bind.TransactOpts) (*types.Transaction, error) { return dao.Governor.Queue0(o, id) })
				if err != nil {
					return err
				}
				eta, _ := dao.Governor.ProposalEta(callOpts(ctx), id)
				if eta != nil {
					res["eta"] = time.Unix(eta.Int64(), 0).UTC().Format(time.RFC3339)
				}
			case "execute":
				if st != modeldao.ProposalQueued {
					return modeldao.Errorf(modeldao.EINVALID, "the proposal is %s: only QUEUED proposals can be executed", st)
				}
				eta, err := dao.Governor.ProposalEta(callOpts(ctx), id)
				if err != nil {
					return chainErr(err, "read the proposal's eta")
				}
				head, err := r.eth.HeaderByNumber(ctx, nil)
				if err != nil {
					return chainErr(err, "read the head block")
				}
				if head.Time < eta.Uint64() {
					at := time.Unix(eta.Int64(), 0).UTC()
					return modeldao.Errorf(modeldao.EINVALID, "the timelock delay has not passed: the proposal can be executed from %s (the chain's time is %s, %s before)",
						at.Format(time.RFC3339), time.Unix(int64(head.Time), 0).UTC().Format(time.RFC3339), time.Duration(eta.Uint64()-head.Time)*time.Second)
				}
				rec, err = r.send(ctx, "execute", func(o *bind.TransactOpts) (*types.Transaction, error) { return dao.Governor.Execute0(o, id) })
				if err != nil {
					return err
				}
			}
			res["tx"], res["block"] = rec.TxHash.Hex(), rec.BlockNumber.Uint64()
			return r.print(res, func(w io.Writer) {
				fmt.Fprintf(w, "Proposal %s %sd\n", id, action)
				if eta, ok := res["eta"]; ok {
					fmt.Fprintf(w, "  executable from %s: then run modeldao execute %s\n", eta, id)
				}
				fmt.Fprintf(w, "  transaction  %s (block %d)\n", rec.TxHash.Hex(), rec.BlockNumber)
			})
		}
	}
}

// ---- mine ----

func setupMine(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.rpcFlag(fs)
	r.jsonFlag(fs)
	blocks := fs.Uint64("blocks", 1, "blocks to mine")
	advance := fs.Duration("time", 0, "move the chain's time forward by this much (a block is mined with the new time), e.g. 61s")
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 0, ""); err != nil {
			return err
		}
		if *advance < 0 || *advance%time.Second != 0 {
			return usagef("--time must be a positive whole number of seconds, e.g. 61s")
		}
		if *blocks > 10_000 {
			return usagef("--blocks: at most 10000 at a time")
		}
		eth, _, err := r.chain(ctx)
		if err != nil {
			return err
		}
		c := eth.Client()
		devErr := func(err error) error {
			var re rpc.Error
			if errors.As(err, &re) && re.ErrorCode() == -32601 {
				return modeldao.Errorf(modeldao.EINVALID, "the node at %s has no anvil_mine/evm_increaseTime: `modeldao mine` works on the dev chain of `modeldao dev` (or Anvil, Hardhat)", r.rpcURL)
			}
			return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "the node at %s", r.rpcURL)
		}
		// Time first: anvil's evm_increaseTime only moves the time of the next block, so the
		// blocks mined after it carry the new time (the dev chain's mines one at once).
		if *advance > 0 {
			if err := c.CallContext(ctx, nil, "evm_increaseTime", uint64(*advance/time.Second)); err != nil {
				return devErr(err)
			}
		}
		if *blocks > 0 {
			if err := c.CallContext(ctx, nil, "anvil_mine", hexutil.Uint64(*blocks)); err != nil {
				return devErr(err)
			}
		}
		head, err := eth.HeaderByNumber(ctx, nil)
		if err != nil {
			return chainErr(err, "read the head block")
		}
		res := map[string]any{"block": head.Number.Uint64(), "time": time.Unix(int64(head.Time), 0).UTC().Format(time.RFC3339)}
		return r.print(res, func(w io.Writer) {
			fmt.Fprintf(w, "The chain is at block %d, time %s\n", head.Number, res["time"])
		})
	}
}
