package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
)

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
