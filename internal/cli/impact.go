package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
)

// markdownCell escapes what would break a Markdown table cell.
var markdownCell = strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ")

// writeImpact writes a policy dry run as a Markdown table, ready for a proposal's
// description: one row per failing bound check of each approved version.
func writeImpact(w io.Writer, impact []client.PolicyImpact) {
	if len(impact) == 0 {
		fmt.Fprintln(w, "Every approved version meets the policy.")
		return
	}
	fmt.Fprintf(w, "%d approved version(s) would not meet the policy:\n\n", len(impact))
	fmt.Fprintln(w, "| version | model | audit | metric | feature | bound | value | margin |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, p := range impact {
		model, audit := markdownCell.Replace(p.ModelName+" "+p.Label), "none"
		if p.AuditID != 0 {
			audit = fmt.Sprint(p.AuditID)
		}
		if len(p.Failing) == 0 {
			fmt.Fprintf(w, "| %d | %s | %s | %s | | | | |\n", p.VersionID, model, audit, markdownCell.Replace(p.Reason))
		}
		for _, f := range p.Failing {
			op, value, margin := "≤", "missing", "—"
			if f.Bound.IsMinimum {
				op = "≥"
			}
			if !f.Missing {
				value, margin = f.Value.String(), f.Margin.String()
			}
			fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s %s | %s | %s |\n", p.VersionID, model, audit, f.Bound.Kind,
				markdownCell.Replace(f.SensitiveFeature.String()), op, f.Bound.Limit, value, margin)
		}
	}
}

// writeEvidence writes the evidence of an approval as Markdown: the audit, and its metrics
// against the policy's bounds, one row per bound and sensitive feature.
func writeEvidence(w io.Writer, pol modeldao.Policy, a modeldao.Audit) {
	ev := pol.Evaluate(a)
	verdict := "passed"
	if !a.Passed {
		verdict = "failed"
	}
	fmt.Fprintf(w, "## Evidence\n\nAudit %d by %s (report %s, sha256 %s): the auditor's verdict is %s.\n\n",
		a.ID, a.Auditor.Hex(), markdownCell.Replace(a.ReportCID.String()), a.ReportSHA256.Hex(), verdict)
	if len(ev.Rows) == 0 {
		fmt.Fprintf(w, "Policy %d (%s %s) bounds no metric.\n", pol.ID, markdownCell.Replace(pol.Name.String()), markdownCell.Replace(pol.Version.String()))
		return
	}
	fmt.Fprintf(w, "| metric | feature | policy %d bound | value | margin | result |\n", pol.ID)
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, r := range ev.Rows {
		op, value, margin, result := "≤", "missing", "—", "pass"
		if r.Bound.IsMinimum {
			op = "≥"
		}
		if !r.Missing {
			value, margin = r.Value.String(), r.Margin.String()
		}
		if !r.Passed {
			result = "FAIL"
		}
		fmt.Fprintf(w, "| %s | %s | %s %s | %s | %s | %s |\n", r.Bound.Kind, markdownCell.Replace(r.SensitiveFeature.String()), op, r.Bound.Limit, value, margin, result)
	}
}
