package cli

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/internal/fairness"
)

func init() {
	register(&command{name: "audit submit", args: "<report.json>", summary: "post a bias audit (a Fairlearn-style JSON report) of a model version",
		detail: `The report holds fairness metrics by sensitive feature, as fairlearn.metrics computes them:

  {
    "format": "` + fairness.Format + `",
    "modelVersion": 3,
    "policy": 2,
    "generator": "fairlearn 0.12.0",
    "dataset": "adult census income, test split",
    "bySensitiveFeature": {
      "sex": {
        "demographic_parity_difference": {"value": 0.041, "threshold": 0.1,
                                          "byGroup": {"Female": 0.192, "Male": 0.233}},
        "disparate_impact_ratio": {"value": 0.82, "threshold": 0.8}
      }
    }
  }

Metric names: demographic_parity_difference, demographic_parity_ratio,
equalized_odds_difference, equal_opportunity_difference, disparate_impact_ratio (or METRIC_<n>).
A difference passes when it is at most its threshold, a ratio when it is at least its
threshold; the audit passes when every metric does, unless the report says "passed": false.
Values are stored with 6 decimals. The report file itself is added to IPFS (its CID and
sha256 go on chain) unless --report-cid gives the CID it already has. The sending account
must be a registered auditor.`,
		setup: setupAuditSubmit})
}

type auditResult struct {
	AuditID      uint64      `json:"auditId"`
	VersionID    uint64      `json:"versionId"`
	PolicyID     uint64      `json:"policyId"`
	Auditor      string      `json:"auditor"`
	Passed       bool        `json:"passed"`
	MeetsPolicy  bool        `json:"meetsPolicy"`
	PolicyNote   string      `json:"policyNote,omitempty"`
	ReportCID    string      `json:"reportCid"`
	ReportSHA256 string      `json:"reportSha256"`
	Metrics      []metricOut `json:"metrics"`
	Tx           string      `json:"tx"`
	Block        uint64      `json:"block"`
}

// metricOut is a metric as the CLI prints it.
type metricOut struct {
	Kind             string `json:"kind"`
	SensitiveFeature string `json:"sensitiveFeature"`
	Value            string `json:"value"`
	Threshold        string `json:"threshold"`
	Passed           bool   `json:"passed"`
}

func setupAuditSubmit(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.txFlags(fs)
	r.ipfsFlag(fs)
	r.jsonFlag(fs)
	versionID := fs.Uint64("version", 0, "the model version audited (default: the report's modelVersion)")
	policyID := fs.Uint64("policy", 0, "the policy audited against (default: the report's policy)")
	reportCID := fs.String("report-cid", "", "CID of the report already in IPFS (default: the report file is added to IPFS)")
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 1, "the report file"); err != nil {
			return err
		}
		data, err := os.ReadFile(args[0])
		if err != nil {
			return usagef("cannot read the report: %v", err)
		}
		rep, err := fairness.Parse(data)
		if err != nil {
			return asUsage(err)
		}
		cid := *reportCID
		if cid == "" {
			cid = placeholderCID
		} else if err := modeldao.ValidateCID("--report-cid", cid); err != nil {
			return asUsage(err)
		}
		sum := sha256.Sum256(data)
		audit, err := rep.Audit(*versionID, *policyID, cid, sum)
		if err != nil {
			return asUsage(err)
		}

		dao, err := r.contracts(ctx)
		if err != nil {
			return err
		}
		opts, err := r.signer(ctx)
		if err != nil {
			return err
		}
		is, err := dao.Registry.IsAuditor(callOpts(ctx), opts.From)
		if err != nil {
			return chainErr(err, "read the auditors")
		}
		if !is {
			return modeldao.Errorf(modeldao.EINVALID, "%s is not a registered auditor: the DAO registers auditors by proposal (modeldao propose auditor add %s --name …)", opts.From.Hex(), opts.From.Hex())
		}
		if _, err := readVersion(ctx, dao, audit.VersionID); err != nil {
			return err
		}
		pol, err := policy(ctx, dao, audit.PolicyID)
		if err != nil {
			return err
		}
		res := auditResult{VersionID: audit.VersionID, PolicyID: audit.PolicyID, Auditor: opts.From.Hex(), Passed: audit.Passed, ReportSHA256: audit.ReportSHA256.Hex()}
		for _, m := range audit.Metrics {
			res.Metrics = append(res.Metrics, metricOut{Kind: m.Kind.String(), SensitiveFeature: m.SensitiveFeature.String(), Value: m.Value.String(), Threshold: m.Threshold.String(), Passed: m.Passed})
		}
		if err := pol.Check(audit); err != nil {
			res.PolicyNote = modeldao.ErrorMessage(err)
		} else {
			res.MeetsPolicy = true
		}
		if *reportCID == "" {
			ipfs, err := r.ipfs(ctx)
			if err != nil {
				return err
			}
			if cid, err = r.addFile(ctx, ipfs, args[0], "report"); err != nil {
				return err
			}
			audit.ReportCID = modeldao.Text(cid)
		}
		res.ReportCID = string(audit.ReportCID)
		metrics := contracts.MetricsArg(audit.Metrics)
		rec, err := r.send(ctx, "audit", func(o *bind.TransactOpts) (*types.Transaction, error) {
			return dao.Registry.SubmitAudit(o, new(big.Int).SetUint64(audit.VersionID), new(big.Int).SetUint64(audit.PolicyID), string(audit.ReportCID), audit.ReportSHA256, metrics, audit.Passed)
		})
		if err != nil {
			return err
		}
		if ev, ok := findLog(rec, dao.Registry.ParseAuditSubmitted); ok {
			res.AuditID = ev.AuditId.Uint64()
		}
		res.Tx, res.Block = rec.TxHash.Hex(), rec.BlockNumber.Uint64()
		return r.print(res, func(w io.Writer) {
			verdict := "FAILED"
			if res.Passed {
				verdict = "PASSED"
			}
			fmt.Fprintf(w, "Audit %d of model version %d under policy %d posted: %s\n", res.AuditID, res.VersionID, res.PolicyID, verdict)
			for _, m := range res.Metrics {
				mark := "fail"
				if m.Passed {
					mark = "pass"
				}
				fmt.Fprintf(w, "  %-4s %-30s %-14s %s (threshold %s)\n", mark, m.Kind, m.SensitiveFeature, m.Value, m.Threshold)
			}
			fmt.Fprintf(w, "  report       %s (sha256 %s)\n", res.ReportCID, res.ReportSHA256)
			fmt.Fprintf(w, "  transaction  %s (block %d)\n", res.Tx, res.Block)
			if res.MeetsPolicy {
				fmt.Fprintf(w, "It meets policy %d: propose the approval with modeldao propose approve %d --policy %d --audit %d\n", res.PolicyID, res.VersionID, res.PolicyID, res.AuditID)
			} else {
				fmt.Fprintf(w, "It does not meet policy %d: %s\n", res.PolicyID, res.PolicyNote)
			}
		})
	}
}
