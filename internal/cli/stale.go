package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/contracts"
)

// `modeldao propose revoke --stale`: the steward's clean-up of stale approvals, in one
// proposal. The stale versions come from the API (ModelVersion.staleReasons, the root
// package's rules); each is checked on chain before anything is sent.

// staleFlags are the flags `propose revoke` adds for --stale.
type staleFlags struct {
	stale  *bool
	dryRun *bool
	maxAge *int
}

func addStaleFlags(fs *flag.FlagSet) staleFlags {
	return staleFlags{
		stale:  fs.Bool("stale", false, "instead of one version: propose to revoke every stale approval (from the API, --api) in one proposal"),
		dryRun: fs.Bool("dry-run", false, "with --stale: send nothing, list the stale approvals and their reasons"),
		maxAge: fs.Int("max-audit-age", -1, "with --stale: the audit age in blocks past which an approval is stale (default: the API's STALE_AUDIT_AGE_BLOCKS)"),
	}
}

// staleRevocation is what `propose revoke --stale --dry-run` prints.
type staleRevocation struct {
	Stale []client.StaleVersion `json:"stale"`
}

// proposeRevokeStale runs `propose revoke --stale`; reason and desc are the flags of
// `propose revoke` (both optional here).
func (r *runner) proposeRevokeStale(ctx context.Context, f staleFlags, args []string, reason, desc string) error {
	if len(args) > 0 {
		return usagef("--stale proposes to revoke every stale approval: give no version (got %q)", strings.Join(args, " "))
	}
	var maxAge *int
	if *f.maxAge >= 0 {
		maxAge = f.maxAge
	} else if *f.maxAge != -1 {
		return usagef("--max-audit-age is %d: give a number of blocks, 0 or more", *f.maxAge)
	}
	stale, err := r.api().StaleVersions(ctx, maxAge)
	if err != nil {
		return fmt.Errorf("the stale approvals: %w", err)
	}
	if *f.dryRun {
		return r.print(staleRevocation{Stale: stale}, func(w io.Writer) { writeStale(w, stale) })
	}
	if len(stale) == 0 {
		return modeldao.Errorf(modeldao.EINVALID, "no approval is stale: there is nothing to revoke (`modeldao propose revoke --stale --dry-run` lists them; --max-audit-age sets the audit age)")
	}
	if len(reason) > modeldao.MaxReasonLength {
		return usagef("--reason is %d bytes; at most %d", len(reason), modeldao.MaxReasonLength)
	}
	dao, err := r.contracts(ctx)
	if err != nil {
		return err
	}
	if _, err := r.signer(ctx); err != nil {
		return err
	}
	calls := make([]contracts.RegistryCall, 0, len(stale))
	for _, v := range stale {
		// The API may lag the chain: a version revoked meanwhile would make the whole
		// proposal revert when executed.
		onChain, err := readVersion(ctx, dao, v.VersionID)
		if err != nil {
			return err
		}
		if st := modeldao.VersionStatus(onChain.Status); st != modeldao.VersionApproved {
			return modeldao.Errorf(modeldao.EINVALID, "version %d (%s %s) is %s on chain, not APPROVED: the API has not indexed it yet; try again in a moment", v.VersionID, v.ModelName, v.Label, st)
		}
		calls = append(calls, contracts.RevokeVersion(v.VersionID, staleReason(reason, v)))
	}
	// What is proposed, for the person at the terminal (stdout keeps the proposal's result).
	writeStale(r.stderr, stale)
	var b strings.Builder
	fmt.Fprintf(&b, "Revoke %d approved model version(s) whose approval went stale, one revokeVersion call each.\n\n", len(stale))
	writeStale(&b, stale)
	d := describe(desc, fmt.Sprintf("Revoke %d stale approval(s)", len(stale)), strings.TrimRight(b.String(), "\n"))
	res, err := r.propose(ctx, dao, d, calls...)
	if err != nil {
		return err
	}
	return r.print(res, res.text)
}

// staleReason is the on-chain reason of one revocation: the flag's, or the stale reasons in
// words, cut to what the registry accepts.
func staleReason(flagValue string, v client.StaleVersion) string {
	if strings.TrimSpace(flagValue) != "" {
		return flagValue
	}
	details := make([]string, len(v.Reasons))
	for i, r := range v.Reasons {
		details[i] = r.Detail
	}
	s := "stale approval: " + strings.Join(details, "; ")
	if len(s) > modeldao.MaxReasonLength {
		s = strings.ToValidUTF8(s[:modeldao.MaxReasonLength], "")
	}
	return s
}

// writeStale writes the stale approvals as a Markdown table, one row per reason.
func writeStale(w io.Writer, stale []client.StaleVersion) {
	if len(stale) == 0 {
		fmt.Fprintln(w, "No approval is stale.")
		return
	}
	fmt.Fprintf(w, "%d stale approval(s):\n\n", len(stale))
	fmt.Fprintln(w, "| version | model | policy | audit | reason | detail |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, v := range stale {
		model, audit := markdownCell.Replace(v.ModelName+" "+v.Label), "none"
		if v.AuditID != 0 {
			audit = fmt.Sprint(v.AuditID)
		}
		for _, r := range v.Reasons {
			fmt.Fprintf(w, "| %d | %s | %d | %s | %s | %s |\n", v.VersionID, model, v.PolicyID, audit, r.Kind, markdownCell.Replace(r.Detail))
		}
	}
}
