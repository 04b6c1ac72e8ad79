package devstack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"github.com/ethereum/go-ethereum"
	"math/big"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ipfs/boxo/files"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/kubo/core/coreiface/options"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/devchain"
	"github.com/modeldao/modeldao/internal/fairness"
	"github.com/modeldao/modeldao/internal/txutil"
	"github.com/modeldao/modeldao/pinning"
	"github.com/modeldao/modeldao/release"
)

// Roles of the dev accounts in the demo data.
const (
	seedHolders   = 5 // accounts 0..4 get 1000 MDAO each and delegate to themselves
	acctAcme      = 5 // publisher of acme/* models
	acctOpenLab   = 6 // publisher of openlab/* models
	acctAuditor   = 7 // Fair Audits Ltd
	acctAuditor2  = 8 // Bias Bounty Co-op, registered by a proposal of the demo
	acctSupporter = 9 // holds minted tokens, delegates to account 1
	seedAccounts  = 10
)

// Roles returns what each dev account does in the demo data (empty: seeded false).
func roleOf(i int, seeded bool) string {
	if !seeded {
		if i < seedHolders {
			return "token holder"
		}
		return ""
	}
	switch i {
	case 0:
		return "token holder, deployer, token owner (may mint)"
	case 1, 2, 3:
		return "token holder, voter"
	case 4:
		return "token holder, delegates to account 2"
	case acctAcme:
		return "publisher of acme/* models"
	case acctOpenLab:
		return "publisher of openlab/* models"
	case acctAuditor:
		return "auditor (Fair Audits Ltd)"
	case acctAuditor2:
		return "auditor (Bias Bounty Co-op)"
	case acctSupporter:
		return "token holder, delegates to account 1"
	}
	return ""
}

// SeedSummary tells what the demo data holds.
type SeedSummary struct {
	Versions  []SeedVersion  `json:"versions"`
	Proposals []SeedProposal `json:"proposals"`
	Policies  int            `json:"policies"`
	Audits    int            `json:"audits"`
	Auditors  int            `json:"auditors"`
	Votes     int            `json:"votes"`
	Elapsed   string         `json:"elapsed"`
}

// SeedVersion is a model version of the demo data.
type SeedVersion struct {
	ID         uint64 `json:"id"`
	Model      string `json:"model"`
	Label      string `json:"label"`
	Status     string `json:"status"`
	WeightsCID string `json:"weightsCid"`
	Size       int64  `json:"size"`
}

// SeedProposal is a proposal of the demo data.
type SeedProposal struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	State string `json:"state"`
}

type seeder struct {
	ctx    context.Context
	s      *Stack
	c      *devchain.Chain
	d      *contracts.DAO // bound with a gas margin
	cfg    contracts.Config
	nonces map[int]uint64
	sum    *SeedSummary
	props  []contracts.Proposal
}

// seed fills the registry with demo data: publishers and their model versions (small
// generated weights files in IPFS), auditors and audits, two policies, delegations, and
// proposals in every state with votes and reasons. The timer miner is held meanwhile, so
// the history is the same on every run.
func seed(ctx context.Context, s *Stack) (*SeedSummary, error) {
	start := time.Now()
	cfg := s.DAO.Config
	if cfg.VotingDelay < 1 || cfg.VotingPeriod < 2 {
		return nil, fmt.Errorf("demo data needs a voting delay of at least 1 block and a voting period of at least 2 (use --empty otherwise)")
	}
	d, err := contracts.Bind(s.DAO.Deployment, txutil.WithGasMargin(s.Chain.Client))
	if err != nil {
		return nil, err
	}
	x := &seeder{ctx: ctx, s: s, c: s.Chain, d: d, cfg: cfg, nonces: map[int]uint64{}, sum: &SeedSummary{}}
	if err := x.run(); err != nil {
		return nil, err
	}
	if err := x.summarize(); err != nil {
		return nil, err
	}
	for i := range s.Info.Accounts {
		s.Info.Accounts[i].Role = roleOf(i, true)
	}
	x.sum.Elapsed = time.Since(start).Round(time.Millisecond).String()
	return x.sum, nil
}

// opts returns transaction options of account i with the next nonce: transactions are sent
// in batches before a block is mined, and a node's pending nonce may lag behind.
func (x *seeder) opts(i int) (*bind.TransactOpts, error) {
	n, ok := x.nonces[i]
	if !ok {
		var err error
		if n, err = x.c.Client.NonceAt(x.ctx, x.c.Accounts[i].Address, nil); err != nil {
			return nil, err
		}
	}
	x.nonces[i] = n + 1
	o := x.c.Opts(i)
	o.Context = x.ctx
	o.Nonce = new(big.Int).SetUint64(n)
	return o, nil
}

// batch collects transactions that one block mines.
type batch struct {
	x    *seeder
	txs  []*types.Transaction
	what []string
	err  error
}

func (x *seeder) batch() *batch { return &batch{x: x} }

// send sends a transaction from account i.
func (b *batch) send(what string, i int, f func(*bind.TransactOpts) (*types.Transaction, error)) {
	if b.err != nil {
		return
	}
	o, err := b.x.opts(i)
	if err != nil {
		b.err = fmt.Errorf("%s: %w", what, err)
		return
	}
	tx, err := f(o)
	if err != nil {
		b.err = fmt.Errorf("%s: %w", what, err)
		return
	}
	b.txs = append(b.txs, tx)
	b.what = append(b.what, what)
}

// commit mines one block and checks every receipt.
func (b *batch) commit() ([]*types.Receipt, error) {
	x := b.x
	defer clear(x.nonces)
	if b.err != nil {
		return nil, b.err
	}
	x.c.Commit()
	rs := make([]*types.Receipt, len(b.txs))
	for i, tx := range b.txs {
		r, err := x.c.Client.TransactionReceipt(x.ctx, tx.Hash())
		if err != nil {
			return nil, fmt.Errorf("%s: transaction %s was not mined: %w", b.what[i], tx.Hash(), err)
		}
		if r.Status != types.ReceiptStatusSuccessful {
			from, _ := types.Sender(types.LatestSignerForChainID(tx.ChainId()), tx)
			_, cerr := x.c.Client.CallContract(x.ctx, ethereum.CallMsg{From: from, To: tx.To(), Data: tx.Data(), Gas: tx.Gas()}, new(big.Int).Sub(r.BlockNumber, big.NewInt(1)))
			return nil, fmt.Errorf("%s: transaction %s reverted (gas %d used %d): %v", b.what[i], tx.Hash(), tx.Gas(), r.GasUsed, cerr)
		}
		rs[i] = r
	}
	return rs, nil
}

func (x *seeder) do(what string, i int, f func(*bind.TransactOpts) (*types.Transaction, error)) (*types.Receipt, error) {
	b := x.batch()
	b.send(what, i, f)
	rs, err := b.commit()
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// add adds content to IPFS as a CIDv1 and pins it.
func (x *seeder) add(data []byte) (string, error) {
	p, err := x.s.IPFS.Unixfs().Add(x.ctx, files.NewBytesFile(data), options.Unixfs.CidVersion(1), options.Unixfs.Pin(true, ""))
	if err != nil {
		return "", modeldao.WrapError(modeldao.EUNAVAILABLE, err, "add demo content to IPFS")
	}
	return p.RootCid().String(), nil
}

// publishRelease writes the demo release into a temporary directory and publishes it as a
// publisher would (modeldao publish DIR).
func (x *seeder) publishRelease(d release.DemoRelease) (string, common.Hash, int64, error) {
	dir, err := os.MkdirTemp("", "modeldao-demo-release-")
	if err != nil {
		return "", common.Hash{}, 0, err
	}
	defer os.RemoveAll(dir)
	if _, err := release.WriteDemo(dir, d); err != nil {
		return "", common.Hash{}, 0, fmt.Errorf("writing the demo release: %w", err)
	}
	pub, err := release.Publish(x.ctx, x.s.IPFS.HttpApi, dir, nil)
	if err != nil {
		return "", common.Hash{}, 0, err
	}
	return pub.CID, pub.Digest, pub.Manifest.TotalSize(), nil
}

type demoVersion struct {
	publisher   int
	model       string
	label       string
	license     string
	tags        []string
	description string
	// release, if not nil, makes the version a release directory (safetensors shards,
	// config, tokenizer, card) instead of one weights file.
	release *release.DemoRelease
	// lineage names the bases (demo version ids) and datasets of the version.
	lineage modeldao.Lineage
}

// DemoRelease is the multi-file release of the demo data (acme/sentiment-small 1.0.0, the
// approved version): tests regenerate it with release.WriteDemo to compare what they pull.
var DemoRelease = release.DemoRelease{Seed: 1, Shards: 2, Tensors: 2, Dim: 128}

var demoVersions = []demoVersion{
	{acctAcme, "acme/sentiment-small", "1.0.0", "MIT", []string{"nlp", "sentiment"}, "A small sentiment classifier for product reviews (two safetensors shards).", &DemoRelease,
		modeldao.Lineage{Datasets: []modeldao.Dataset{demoDataset(modeldao.DatasetTraining, "amazon_polarity"), demoDataset(modeldao.DatasetEvaluation, "yelp_review_full")}}},
	{acctAcme, "acme/sentiment-small", "1.1.0", "MIT", []string{"nlp", "sentiment"}, "Retrained on more reviews; larger vocabulary.", nil,
		modeldao.Lineage{Relation: modeldao.RelationFineTune, Bases: []uint64{1}, Datasets: []modeldao.Dataset{demoDataset(modeldao.DatasetTraining, "amazon_polarity"), demoDataset(modeldao.DatasetTraining, "imdb")}}},
	{acctOpenLab, "openlab/vision-base", "0.9.0", "Apache-2.0", []string{"vision", "classification"}, "Image classifier, release candidate.", nil,
		modeldao.Lineage{Datasets: []modeldao.Dataset{demoDataset(modeldao.DatasetTraining, "imagenet-1k")}}},
	{acctOpenLab, "openlab/vision-base", "1.0.0", "Apache-2.0", []string{"vision", "classification"}, "Image classifier, first stable release.", nil,
		modeldao.Lineage{Relation: modeldao.RelationFineTune, Bases: []uint64{3}, Datasets: []modeldao.Dataset{demoDataset(modeldao.DatasetTraining, "imagenet-1k")}}},
	{acctOpenLab, "openlab/speech-tiny", "0.1.0", "Apache-2.0", []string{"audio", "speech"}, "Tiny on-device speech recogniser.", nil, modeldao.Lineage{}},
	{acctAcme, "acme/summarizer", "2.0.0", "MIT", []string{"nlp", "summarization"}, "Abstractive summariser for news articles.", nil,
		modeldao.Lineage{Datasets: []modeldao.Dataset{demoDataset(modeldao.DatasetTraining, "cnn_dailymail")}}},
	{acctAcme, "acme/summarizer", "2.1.0", "MIT", []string{"nlp", "summarization"}, "Faster decoding, same training data as 2.0.0.", nil,
		modeldao.Lineage{Relation: modeldao.RelationDistillation, Bases: []uint64{6}, Datasets: []modeldao.Dataset{demoDataset(modeldao.DatasetTraining, "cnn_dailymail")}}},
	// A multi-file release derived from a base: the 8-bit quantization of the approved
	// sentiment classifier (version 1); revoking version 1 flags it as tainted.
	{acctAcme, "acme/sentiment-small-int8", "1.0.0", "MIT", []string{"nlp", "sentiment", "quantized"}, "acme/sentiment-small 1.0.0 quantized to 8 bits (two safetensors shards).", &DemoQuantized,
		modeldao.Lineage{Relation: modeldao.RelationQuantization, Bases: []uint64{1}, Datasets: []modeldao.Dataset{demoDataset(modeldao.DatasetEvaluation, "yelp_review_full")}}},
}

// DemoQuantized is the release of the demo's derived version (acme/sentiment-small-int8).
var DemoQuantized = release.DemoRelease{Seed: 2, Shards: 2, Tensors: 2, Dim: 64}

// demoDataset is a dataset of the demo data: a Hugging Face dataset id standing for the
// content "modeldao demo dataset <name>", with that content's sha256 and its CIDv1 as one
// raw block (what `ipfs add --cid-version 1` prints for it). The demo does not add the data
// to IPFS: datasets are referenced, not pinned.
func demoDataset(role modeldao.DatasetRole, name string) modeldao.Dataset {
	content := []byte("modeldao demo dataset " + name)
	c, err := cid.NewPrefixV1(cid.Raw, 0x12 /* sha2-256 */).Sum(content)
	if err != nil {
		panic(err) // a fixed prefix and a few bytes always hash
	}
	return modeldao.Dataset{Role: role, Name: modeldao.Text(name), CID: modeldao.Text(c.String()), SHA256: sha256.Sum256(content)}
}

// weights returns deterministic pseudo-random bytes standing in for a weights file.
func weights(name string, size int) []byte {
	seed := sha256.Sum256([]byte("modeldao demo weights " + name))
	b := make([]byte, size)
	_, _ = rand.NewChaCha8(seed).Read(b)
	return b
}

func modelCard(v demoVersion, publisher common.Address) []byte {
	return fmt.Appendf(nil, `# %s %s

%s

- Publisher: %s
- Licence: %s
- Tags: %s

## Intended use
Demonstration of ModelDAO only. The weights file is random bytes generated by
`+"`modeldao dev`"+`; it is not a model.

## Evaluation
See the bias audits posted on chain for this version.
`, v.model, v.label, v.description, publisher.Hex(), v.license, strings.Join(v.tags, ", "))
}

const researchPolicyDoc = `# Research preview policy, version 0.1

A model version approved under this policy may be shared for research. It needs no audit,
and must not be deployed to end users.
`

const baselinePolicyDoc = `# Fairness baseline policy, version 1.0

A model version approved under this policy may be deployed to end users. It needs a passing
bias audit by a registered auditor in which, for every sensitive feature measured:

- the demographic parity difference is at most 0.1, and
- the disparate impact ratio is at least 0.8.
`

// report makes a fairness report of version under policy: one entry per feature with the
// demographic parity difference and the disparate impact ratio.
func report(version, policy uint64, dataset string, features map[string][2]float64) *fairness.Report {
	r := &fairness.Report{Format: fairness.Format, ModelVersion: version, Policy: policy, Generator: "fairlearn 0.12.0",
		Dataset: dataset, BySensitiveFeature: map[string]map[string]fairness.Metric{}}
	for f, v := range features {
		r.BySensitiveFeature[f] = map[string]fairness.Metric{
			"demographic_parity_difference": {Value: fairness.Num(v[0]), Threshold: fairness.Num(0.1)},
			"disparate_impact_ratio":        {Value: fairness.Num(v[1]), Threshold: fairness.Num(0.8)},
		}
	}
	return r
}

func (x *seeder) audit(b *batch, auditor int, r *fairness.Report) error {
	data := r.Marshal()
	cid, err := x.add(data)
	if err != nil {
		return err
	}
	a, err := r.Audit(0, 0, cid, sha256.Sum256(data))
	if err != nil {
		return err
	}
	metrics := contracts.MetricsArg(a.Metrics)
	b.send(fmt.Sprintf("audit of version %d", a.VersionID), auditor, func(o *bind.TransactOpts) (*types.Transaction, error) {
		return x.d.Registry.SubmitAudit(o, u256(a.VersionID), u256(a.PolicyID), string(a.ReportCID), a.ReportSHA256, metrics, a.Passed)
	})
	return nil
}

func u256(x uint64) *big.Int { return new(big.Int).SetUint64(x) }

// propose sends a proposal of registry calls from account i.
func (x *seeder) propose(b *batch, i int, description string, calls ...contracts.RegistryCall) contracts.Proposal {
	p, err := x.d.RegistryProposal(description, calls...)
	if err != nil {
		b.err = err
		return p
	}
	b.send("proposal "+modeldao.ProposalTitle(description), i, func(o *bind.TransactOpts) (*types.Transaction, error) { return x.d.Propose(o, p) })
	x.props = append(x.props, p)
	return p
}

type vote struct {
	voter   int
	support modeldao.VoteSupport
	reason  string
}

func (x *seeder) vote(b *batch, p contracts.Proposal, votes ...vote) {
	for _, v := range votes {
		b.send(fmt.Sprintf("vote of account %d", v.voter), v.voter, func(o *bind.TransactOpts) (*types.Transaction, error) {
			return x.d.Governor.CastVoteWithReason(o, p.ID(), uint8(v.support), v.reason)
		})
		x.sum.Votes++
	}
}

// round takes proposals through governance: proposals (already sent in b) are mined, voting
// opens, votes are cast; unless queue is nil, voting ends, the proposals in queue are queued,
// time passes the timelock delay and those in execute are executed.
func (x *seeder) round(proposals *batch, votes func(b *batch), queue, execute []contracts.Proposal) error {
	if _, err := proposals.commit(); err != nil {
		return err
	}
	// Votes are estimated against the latest block, so voting must be open there already.
	x.c.Mine(int(x.cfg.VotingDelay) + 1)
	b := x.batch()
	votes(b)
	if _, err := b.commit(); err != nil {
		return err
	}
	if queue == nil {
		return nil // voting stays open
	}
	x.c.Mine(int(x.cfg.VotingPeriod))
	if len(queue) == 0 {
		return nil
	}
	b = x.batch()
	for _, p := range queue {
		b.send("queue "+modeldao.ProposalTitle(p.Description), 0, func(o *bind.TransactOpts) (*types.Transaction, error) { return x.d.Queue(o, p) })
	}
	if _, err := b.commit(); err != nil {
		return err
	}
	if len(execute) == 0 {
		return nil
	}
	if err := x.c.AdvanceTime(time.Duration(x.cfg.TimelockDelay+1) * time.Second); err != nil {
		return err
	}
	b = x.batch()
	for _, p := range execute {
		b.send("execute "+modeldao.ProposalTitle(p.Description), 0, func(o *bind.TransactOpts) (*types.Transaction, error) { return x.d.Execute(o, p) })
	}
	_, err := b.commit()
	return err
}

func (x *seeder) run() error {
	c, d := x.c, x.d
	addr := func(i int) common.Address { return c.Accounts[i].Address }
	for_, against, abstain := modeldao.SupportFor, modeldao.SupportAgainst, modeldao.SupportAbstain

	// Tokens: a mint, a transfer and two delegations besides the holders' self-delegations.
	b := x.batch()
	b.send("mint", 0, func(o *bind.TransactOpts) (*types.Transaction, error) {
		return d.Token.Mint(o, addr(acctSupporter), devchain.Tokens(250))
	})
	b.send("transfer", 0, func(o *bind.TransactOpts) (*types.Transaction, error) {
		return d.Token.Transfer(o, addr(acctAcme), devchain.Tokens(100))
	})
	b.send("delegation of account 4", 4, func(o *bind.TransactOpts) (*types.Transaction, error) { return d.Token.Delegate(o, addr(2)) })
	if _, err := b.commit(); err != nil {
		return err
	}
	if _, err := x.do("delegation of account 9", acctSupporter, func(o *bind.TransactOpts) (*types.Transaction, error) {
		return d.Token.Delegate(o, addr(1))
	}); err != nil {
		return err
	}

	// Round A: the first auditor and two policies.
	researchDoc, err := x.add([]byte(researchPolicyDoc))
	if err != nil {
		return err
	}
	baselineDoc, err := x.add([]byte(baselinePolicyDoc))
	if err != nil {
		return err
	}
	const research, baseline = 1, 2
	b = x.batch()
	pA := x.propose(b, 0, "# Set up auditing\n\nRegister Fair Audits Ltd as the first auditor and adopt two alignment policies: "+
		"a research preview policy without audit, and the fairness baseline for deployment.",
		contracts.AddAuditor(addr(acctAuditor), "Fair Audits Ltd"),
		contracts.AdoptPolicy(modeldao.Policy{Name: "research-preview", Version: "0.1", DocumentCID: modeldao.Text(researchDoc)}),
		contracts.AdoptPolicy(modeldao.Policy{Name: "fairness-baseline", Version: "1.0", DocumentCID: modeldao.Text(baselineDoc), AuditRequired: true,
			Bounds: []modeldao.MetricBound{
				{Kind: modeldao.DemographicParityDifference, Limit: 100_000},
				{Kind: modeldao.DisparateImpactRatio, IsMinimum: true, Limit: 800_000},
			}}))
	if err := x.round(b, func(b *batch) {
		x.vote(b, pA, vote{0, for_, "Bootstrapping the registry."}, vote{1, for_, ""}, vote{2, for_, "Two policies: one for research previews, one for deployment."})
	}, []contracts.Proposal{pA}, []contracts.Proposal{pA}); err != nil {
		return fmt.Errorf("set up auditing: %w", err)
	}

	// Model versions, each with a weights file (or a release directory) and a model card in
	// IPFS.
	for i, v := range demoVersions {
		var wcid string
		var sum common.Hash
		var size int64
		if v.release != nil {
			if wcid, sum, size, err = x.publishRelease(*v.release); err != nil {
				return err
			}
		} else {
			w := weights(v.model+"@"+v.label, (128<<10)*(1+i%4))
			if wcid, sum, size, err = pinning.AddWeights(x.ctx, x.s.IPFS, bytes.NewReader(w), nil); err != nil {
				return err
			}
		}
		card, err := x.add(modelCard(v, addr(v.publisher)))
		if err != nil {
			return err
		}
		if _, err := x.do("version "+v.model+" "+v.label, v.publisher, func(o *bind.TransactOpts) (*types.Transaction, error) {
			return d.Registry.SubmitVersion(o, v.model, v.label, wcid, sum, card, v.license, v.tags, contracts.LineageArg(v.lineage))
		}); err != nil {
			return err
		}
		x.sum.Versions = append(x.sum.Versions, SeedVersion{ID: uint64(i + 1), Model: v.model, Label: v.label, WeightsCID: wcid, Size: size})
	}

	// Audits by Fair Audits Ltd under the baseline: 1 (v1), 2 (v2, failing), 3 (v4), 4 (v6), 5 (v7).
	const census = "adult census income, test split (16281 rows)"
	b = x.batch()
	for _, r := range []*fairness.Report{
		report(1, baseline, "product reviews with reviewer demographics (12000 rows)", map[string][2]float64{"sex": {0.041, 0.86}, "age_group": {0.058, 0.83}}),
		report(2, baseline, "product reviews with reviewer demographics (12000 rows)", map[string][2]float64{"sex": {0.231, 0.71}, "age_group": {0.064, 0.84}}),
		report(4, baseline, "faces in the wild, balanced subset (8000 images)", map[string][2]float64{"sex": {0.032, 0.91}, "skin_tone": {0.087, 0.81}}),
		report(6, baseline, census, map[string][2]float64{"sex": {0.022, 0.95}, "race": {0.047, 0.88}}),
		report(7, baseline, census, map[string][2]float64{"sex": {0.025, 0.94}, "race": {0.049, 0.87}}),
	} {
		if err := x.audit(b, acctAuditor, r); err != nil {
			return err
		}
	}
	if _, err := b.commit(); err != nil {
		return err
	}

	// Round B: approvals (executed, defeated, succeeded, queued), a rejection and a second
	// auditor.
	b = x.batch()
	p1 := x.propose(b, 0, "# Approve acme/sentiment-small 1.0.0\n\nAudit 1 by Fair Audits Ltd passes the fairness baseline on sex and age group.",
		contracts.ApproveVersion(1, baseline, 1))
	p2 := x.propose(b, 0, "# Reject openlab/vision-base 0.9.0\n\nSuperseded by 1.0.0 before review; the publisher asked to withdraw it.",
		contracts.RejectVersion(3, "superseded by 1.0.0 before review"))
	p3 := x.propose(b, 1, "# Approve openlab/vision-base 1.0.0\n\nAudit 3 by Fair Audits Ltd passes the fairness baseline.",
		contracts.ApproveVersion(4, baseline, 3))
	p4 := x.propose(b, 1, "# Approve acme/sentiment-small 1.1.0\n\nThe publisher argues that the gap on sex is an artefact of the test set.",
		contracts.ApproveVersion(2, baseline, 2))
	p5 := x.propose(b, 2, "# Approve acme/summarizer 2.0.0\n\nAudit 4 by Fair Audits Ltd passes the fairness baseline.",
		contracts.ApproveVersion(6, baseline, 4))
	p6 := x.propose(b, 2, "# Approve acme/summarizer 2.1.0\n\nAudit 5 by Fair Audits Ltd passes the fairness baseline.",
		contracts.ApproveVersion(7, baseline, 5))
	p7 := x.propose(b, 3, "# Register Bias Bounty Co-op as an auditor\n\nA second auditor makes audits comparable.",
		contracts.AddAuditor(addr(acctAuditor2), "Bias Bounty Co-op"))
	if err := x.round(b, func(b *batch) {
		x.vote(b, p1, vote{0, for_, "Audit 1 is convincing: every metric is well inside the bounds."}, vote{1, for_, ""},
			vote{2, for_, "Good model card and a passing audit."}, vote{3, abstain, "Not my field."})
		x.vote(b, p2, vote{0, for_, "Agreed: 1.0.0 replaces it."}, vote{2, for_, ""})
		x.vote(b, p3, vote{1, for_, ""}, vote{2, for_, "Passing audit."}, vote{3, for_, ""})
		x.vote(b, p4, vote{0, for_, "Slightly over the bound; acceptable for a beta."},
			vote{1, against, "A demographic parity difference of 0.23 on sex is far above the 0.1 bound."}, vote{2, against, "Fix the bias first."})
		x.vote(b, p5, vote{0, for_, ""}, vote{2, for_, "Ship it."})
		x.vote(b, p6, vote{1, for_, ""}, vote{2, for_, ""})
		x.vote(b, p7, vote{0, for_, "Two auditors are better than one."}, vote{1, for_, ""}, vote{2, abstain, ""})
	}, []contracts.Proposal{p1, p2, p3, p6, p7}, []contracts.Proposal{p1, p2, p3, p7}); err != nil {
		return fmt.Errorf("approvals: %w", err)
	}

	// Audits by Bias Bounty Co-op: 6 (v4, failing on skin tone), 7 (v5).
	b = x.batch()
	if err := x.audit(b, acctAuditor2, report(4, baseline, "skin tone benchmark (5000 images)", map[string][2]float64{"skin_tone": {0.19, 0.74}})); err != nil {
		return err
	}
	if err := x.audit(b, acctAuditor2, report(5, baseline, "accented speech corpus (3000 clips)", map[string][2]float64{"accent": {0.061, 0.85}, "sex": {0.018, 0.96}})); err != nil {
		return err
	}
	if _, err := b.commit(); err != nil {
		return err
	}

	// Round C: a revocation.
	b = x.batch()
	p8 := x.propose(b, 2, "# Revoke openlab/vision-base 1.0.0\n\nAudit 6 by Bias Bounty Co-op found a demographic parity difference of 0.19 on skin tone.",
		contracts.RevokeVersion(4, "bias found after approval: audit 6"))
	if err := x.round(b, func(b *batch) {
		x.vote(b, p8, vote{0, for_, ""}, vote{1, for_, "Confirmed by audit 6."}, vote{2, for_, ""},
			vote{3, against, "Fix forward with 1.0.1 instead of revoking."})
	}, []contracts.Proposal{p8}, []contracts.Proposal{p8}); err != nil {
		return fmt.Errorf("revocation: %w", err)
	}

	// A proposal its proposer cancels while pending.
	b = x.batch()
	p9 := x.propose(b, 3, "# Approve openlab/speech-tiny 0.1.0 as a research preview", contracts.ApproveVersion(5, research, 0))
	if _, err := b.commit(); err != nil {
		return err
	}
	if _, err := x.do("cancel", 3, func(o *bind.TransactOpts) (*types.Transaction, error) { return d.Cancel(o, p9) }); err != nil {
		return err
	}

	// An active proposal with votes, then a pending one.
	b = x.batch()
	p10 := x.propose(b, 0, "# Approve openlab/speech-tiny 0.1.0\n\nAudit 7 by Bias Bounty Co-op passes the fairness baseline on accent and sex.",
		contracts.ApproveVersion(5, baseline, 7))
	if err := x.round(b, func(b *batch) {
		x.vote(b, p10, vote{0, for_, "Small and well audited."}, vote{1, against, "Wait for a second audit."}, vote{3, abstain, ""})
	}, nil, nil); err != nil {
		return err
	}
	_ = p10
	b = x.batch()
	x.propose(b, 1, "# Retire the research preview policy\n\nEvery approval should rest on an audit from now on.", contracts.RetirePolicy(research))
	_, err = b.commit()
	return err
}

// summarize reads the states of what was seeded back from the chain.
func (x *seeder) summarize() error {
	d := x.d
	for i := range x.sum.Versions {
		st, err := d.Registry.VersionStatus(nil, u256(x.sum.Versions[i].ID))
		if err != nil {
			return err
		}
		x.sum.Versions[i].Status = modeldao.VersionStatus(st).String()
	}
	for _, p := range x.props {
		st, err := d.Governor.State(nil, p.ID())
		if err != nil {
			return err
		}
		x.sum.Proposals = append(x.sum.Proposals, SeedProposal{ID: p.ID().String(), Title: modeldao.ProposalTitle(p.Description), State: modeldao.ProposalState(st).String()})
	}
	n, err := d.Registry.PolicyCount(nil)
	if err != nil {
		return err
	}
	x.sum.Policies = int(n.Int64())
	if n, err = d.Registry.AuditCount(nil); err != nil {
		return err
	}
	x.sum.Audits = int(n.Int64())
	x.sum.Auditors = 2
	return nil
}

// tokens formats base units (18 decimals) as whole tokens with up to 4 decimals.
func tokens(x *big.Int) string {
	f := new(big.Rat).SetFrac(x, new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil))
	s := strings.TrimRight(strings.TrimRight(f.FloatString(4), "0"), ".")
	return s
}
