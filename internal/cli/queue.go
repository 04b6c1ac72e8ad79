package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/contracts"
)

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
