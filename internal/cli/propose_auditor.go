package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
)

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
