package cli

import (
	"context"
	"flag"
	"fmt"
	"math/big"
	"strconv"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
)

func init() {
	register(&command{name: "propose policy retire", args: "<policy id>", summary: "propose to retire an alignment policy",
		detail: `Creates a Governor proposal that calls retirePolicy on the registry: once executed, no
approval or audit may name the policy any more; versions approved under it stay approved.
Checks on chain that the policy exists and is active before sending anything.`,
		setup: setupProposeRetire})
}

func setupProposeRetire(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.txFlags(fs)
	r.jsonFlag(fs)
	desc := fs.String("description", "", "proposal description, Markdown, first line the title (default: generated)")
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 1, "the policy id"); err != nil {
			return err
		}
		id, err := strconv.ParseUint(args[0], 10, 64)
		if err != nil || id == 0 {
			return usagef("%q is not a policy id (a positive whole number, as `modeldao models` and the API list them)", args[0])
		}
		dao, err := r.contracts(ctx)
		if err != nil {
			return err
		}
		if _, err := r.signer(ctx); err != nil {
			return err
		}
		n, err := dao.Registry.PolicyCount(callOpts(ctx))
		if err != nil {
			return chainErr(err, "read the policy count")
		}
		if id > n.Uint64() {
			return modeldao.Errorf(modeldao.EINVALID, "there is no policy %d (the registry has %d)", id, n)
		}
		p, err := dao.Registry.GetPolicy(callOpts(ctx), new(big.Int).SetUint64(id))
		if err != nil {
			return chainErr(err, "read policy %d", id)
		}
		label := fmt.Sprintf("%s %s", modeldao.Text(p.Name), modeldao.Text(p.Version))
		if !p.Active {
			return modeldao.Errorf(modeldao.EINVALID, "policy %d (%s) is retired already", id, label)
		}
		d := describe(*desc, "Retire the policy "+label,
			fmt.Sprintf("Retire the alignment policy %d (%s): approvals and audits may no longer name it; versions approved under it stay approved.", id, label))
		res, err := r.propose(ctx, dao, d, contracts.RetirePolicy(id))
		if err != nil {
			return err
		}
		return r.print(res, res.text)
	}
}
