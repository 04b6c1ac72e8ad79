package cli

import (
	"context"
	"flag"
	"fmt"
	"math/big"
	"strings"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
)

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
