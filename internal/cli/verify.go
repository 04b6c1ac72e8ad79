package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/big"
	"strconv"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/contracts"
)

func init() {
	register(&command{name: "verify", summary: "recompute the key facts from the chain and compare them with the API",
		detail: `Reads, at the block the API has indexed, the state and the tally of every proposal
(Governor state, proposalVotes), the status, weights CID, digest, relation, bases and
dataset count of every model version (registry), the voting power of every delegate the API lists (token getVotes), the total
supply and the numbers of proposals, versions, audits and policies; and compares them with
what the API answers. Exits with status 4 when anything differs (then rebuild the index with
modeldao reindex), 0 when all agrees.`,
		setup: setupVerify})
}

type difference struct {
	What  string `json:"what"`
	Chain string `json:"chain"`
	API   string `json:"api"`
}

type verifyResult struct {
	Block       uint64         `json:"block"`
	Checked     map[string]int `json:"checked"`
	Differences []difference   `json:"differences"`
	OK          bool           `json:"ok"`
}

// apiFacts is what the API says, read while its indexed block stayed the same.
type apiFacts struct {
	block     uint64
	dao       *client.DAO
	proposals map[string]client.Proposal
	versions  map[uint64]client.ModelVersion
	delegates []client.Account
}

const verifyPage = 100

func (r *runner) apiFacts(ctx context.Context) (*apiFacts, error) {
	api := r.freshAPI()
	for attempt := 0; attempt < 5; attempt++ {
		st, err := api.IndexerStatus(ctx)
		if err != nil {
			return nil, err
		}
		if st.IndexedBlock == 0 {
			return nil, modeldao.Errorf(modeldao.EUNAVAILABLE, "the API's index is empty: is the indexer running?")
		}
		f := &apiFacts{block: st.IndexedBlock, proposals: map[string]client.Proposal{}, versions: map[uint64]client.ModelVersion{}}
		if f.dao, err = api.DAO(ctx); err != nil {
			return nil, err
		}
		for pa := client.First(verifyPage); ; {
			page, err := api.Proposals(ctx, client.ProposalQuery{Page: pa, Ascending: true})
			if err != nil {
				return nil, err
			}
			for _, p := range page.Items {
				f.proposals[p.ID] = p
			}
			if !page.HasNextPage {
				break
			}
			pa = page.Next(verifyPage)
		}
		for pa := client.First(verifyPage); ; {
			page, err := api.ModelVersions(ctx, client.VersionQuery{Page: pa, Ascending: true})
			if err != nil {
				return nil, err
			}
			for _, v := range page.Items {
				f.versions[v.ID] = v
			}
			if !page.HasNextPage {
				break
			}
			pa = page.Next(verifyPage)
		}
		for pa := client.First(verifyPage); ; {
			page, err := api.Delegates(ctx, "VOTING_POWER", pa)
			if err != nil {
				return nil, err
			}
			f.delegates = append(f.delegates, page.Items...)
			if !page.HasNextPage {
				break
			}
			pa = page.Next(verifyPage)
		}
		st2, err := api.IndexerStatus(ctx)
		if err != nil {
			return nil, err
		}
		if st2.IndexedBlock == f.block {
			return f, nil
		}
		r.progress("verify: the index moved from block %d to %d while being read; reading it again", f.block, st2.IndexedBlock)
	}
	return nil, modeldao.Errorf(modeldao.EUNAVAILABLE, "the index kept moving while it was read: try again")
}

func setupVerify(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.chainFlags(fs)
	r.jsonFlag(fs)
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 0, ""); err != nil {
			return err
		}
		dao, err := r.contracts(ctx)
		if err != nil {
			return err
		}
		f, err := r.apiFacts(ctx)
		if err != nil {
			return err
		}
		res := &verifyResult{Block: f.block, Checked: map[string]int{}}
		diff := func(what string, chain, api any) {
			c, a := fmt.Sprint(chain), fmt.Sprint(api)
			if c != a {
				res.Differences = append(res.Differences, difference{What: what, Chain: c, API: a})
			}
		}
		if err := verifyFacts(ctx, dao, f, res, diff); err != nil {
			return err
		}
		res.OK = len(res.Differences) == 0
		if err := r.print(res, func(w io.Writer) {
			fmt.Fprintf(w, "Compared the API with the chain at block %d (the API's indexed block):\n", res.Block)
			fmt.Fprintf(w, "  %d proposals (state, tally), %d model versions (status, weights), %d delegates (voting power), %d totals\n",
				res.Checked["proposals"], res.Checked["versions"], res.Checked["delegates"], res.Checked["totals"])
			if res.OK {
				fmt.Fprintln(w, "All agree.")
				return
			}
			fmt.Fprintf(w, "%d differences:\n", len(res.Differences))
			for _, d := range res.Differences {
				fmt.Fprintf(w, "  %s: chain %s, API %s\n", d.What, d.Chain, d.API)
			}
		}); err != nil {
			return err
		}
		if !res.OK {
			return &mismatchError{n: len(res.Differences)}
		}
		return nil
	}
}

func verifyFacts(ctx context.Context, dao *contracts.DAO, f *apiFacts, res *verifyResult, diff func(string, any, any)) error {
	at := &bind.CallOpts{Context: ctx, BlockNumber: new(big.Int).SetUint64(f.block)}
	d := dao.Deployment
	diff("governor address", d.Governor.Hex(), f.dao.Governor.Hex())
	diff("registry address", d.Registry.Hex(), f.dao.Registry.Hex())
	diff("token address", d.Token.Hex(), f.dao.Token.Hex())

	// Totals.
	supply, err := dao.Token.TotalSupply(at)
	if err != nil {
		return chainErr(err, "read the total supply at block %d (does the node keep the state of recent blocks?)", f.block)
	}
	diff("total supply", supply, bigString(f.dao.TotalSupply))
	pc, err := dao.Governor.ProposalCount(at)
	if err != nil {
		return chainErr(err, "read the proposal count")
	}
	diff("proposal count", pc, len(f.proposals))
	vc, err := dao.Registry.VersionCount(at)
	if err != nil {
		return chainErr(err, "read the version count")
	}
	diff("model version count", vc, len(f.versions))
	ac, err := dao.Registry.AuditCount(at)
	if err != nil {
		return chainErr(err, "read the audit count")
	}
	diff("audit count", ac, f.dao.AuditCount)
	polc, err := dao.Registry.PolicyCount(at)
	if err != nil {
		return chainErr(err, "read the policy count")
	}
	diff("policy count", polc, f.dao.PolicyCount)
	res.Checked["totals"] = 5

	// Proposals: every one the Governor stores.
	for i := int64(0); i < pc.Int64(); i++ {
		det, err := dao.Governor.ProposalDetailsAt(at, big.NewInt(i))
		if err != nil {
			return chainErr(err, "read proposal %d", i)
		}
		id := det.ProposalId
		p, ok := f.proposals[id.String()]
		if !ok {
			diff("proposal "+id.String(), "exists", "missing")
			continue
		}
		st, err := dao.Governor.State(at, id)
		if err != nil {
			return chainErr(err, "read the state of proposal %s", id)
		}
		diff("proposal "+id.String()+" state", modeldao.ProposalState(st), p.State)
		votes, err := dao.Governor.ProposalVotes(at, id)
		if err != nil {
			return chainErr(err, "read the votes of proposal %s", id)
		}
		diff("proposal "+id.String()+" votes for", votes.ForVotes, bigString(p.Tally.For))
		diff("proposal "+id.String()+" votes against", votes.AgainstVotes, bigString(p.Tally.Against))
		diff("proposal "+id.String()+" votes abstaining", votes.AbstainVotes, bigString(p.Tally.Abstain))
		res.Checked["proposals"]++
	}

	// Model versions.
	for id := uint64(1); id <= vc.Uint64(); id++ {
		name := "model version " + strconv.FormatUint(id, 10)
		v, ok := f.versions[id]
		if !ok {
			diff(name, "exists", "missing")
			continue
		}
		cv, err := dao.Registry.GetVersion(at, new(big.Int).SetUint64(id))
		if err != nil {
			return chainErr(err, "read %s", name)
		}
		diff(name+" status", modeldao.VersionStatus(cv.Status), v.Status)
		// Bytes, not the shown text: a CID need not be UTF-8 on chain. Quoted, so that a
		// difference shows invalid bytes as \x escapes.
		diff(name+" weights CID", strconv.Quote(cv.WeightsCID), strconv.Quote(string(v.WeightsCIDRaw)))
		diff(name+" weights sha256", fmt.Sprintf("%x", cv.WeightsSha256), fmt.Sprintf("%x", v.WeightsSHA256))
		cl, err := dao.Registry.GetLineage(at, new(big.Int).SetUint64(id))
		if err != nil {
			return chainErr(err, "read the lineage of %s", name)
		}
		l, err := contracts.LineageOf(cl)
		if err != nil {
			return err
		}
		diff(name+" relation", l.Relation.String(), v.Relation)
		diff(name+" bases", fmt.Sprint(l.Bases), fmt.Sprint(v.Bases))
		diff(name+" dataset count", len(l.Datasets), len(v.Datasets))
		res.Checked["versions"]++
	}

	// Delegates.
	for _, a := range f.delegates {
		power, err := dao.Token.GetVotes(at, a.Address)
		if err != nil {
			return chainErr(err, "read the votes of %s", a.Address.Hex())
		}
		diff("voting power of "+a.Address.Hex(), power, bigString(a.VotingPower))
		res.Checked["delegates"]++
	}
	return nil
}
