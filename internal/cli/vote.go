package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao"
)

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
