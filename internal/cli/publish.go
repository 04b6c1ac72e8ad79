package cli

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ipfs/boxo/files"
	"github.com/ipfs/kubo/core/coreiface/options"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/pinning"
	"github.com/modeldao/modeldao/release"
)

func init() {
	register(&command{name: "publish", args: "<release directory | weights file> --model <name> --version <label> --license <spdx> --card <cid|file>",
		summary: "add a model release (a directory, or one weights file) to IPFS and submit the version on chain",
		detail: `A release directory (the Hugging Face layout: *.safetensors shards, config.json, tokenizer
files, README.md…) is streamed to IPFS file by file as CIDv1 (raw leaves; nothing is held in
memory) while each file's sha256 is computed; a manifest.json listing every file (path, size,
sha256, CID) is written into the release's UnixFS directory, and the sha256 of the manifest is
the digest submitted on chain with the directory's CID. Left out of a release: .git, .hg,
.svn, __pycache__, .cache, .ipynb_checkpoints, .huggingface directories; .DS_Store, Thumbs.db
and files ending in .lock, .pyc, .tmp, .part, .swp or ~. A publish that stopped can be run
again: the files recorded in .modeldao-publish.json (in the directory) with an unchanged size
and mtime are not read again.

A single weights file is streamed the same way and its own sha256 is the digest, as before.
The model card is a CID, or a file that is added to IPFS first. The first publisher of a
model name owns it: only they may publish further versions of it.

Lineage: --base names the version(s) this one derives from (ids, comma-separated) and
--relation how: fine-tune, adapter, quantization or distillation (one base), merge (two or more
distinct bases). Bases may have any status; a version derived from a REVOKED or REJECTED one
is flagged in the API (taintedAncestry). --dataset role:name:cid:sha256 (repeatable) names a
dataset the version was trained (role training) or evaluated (role evaluation) on, e.g.
--dataset training:HuggingFaceFW/fineweb-edu:bafkrei…:9f86d0…; the sha256 is of the dataset's
content, 64 hex digits.

With --propose it also creates the proposal to approve the version, under --policy (default:
the newest active policy), which must not require an audit: a new version has none yet. For
a policy that requires one, have an auditor post an audit (modeldao audit submit), then run
modeldao propose approve <version>.`,
		setup: setupPublish})
}

// stringsFlag collects a repeatable flag; commas separate values too.
type stringsFlag []string

func (s *stringsFlag) String() string { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}

// placeholderCID stands for a CID not known yet, to validate the rest of a submission.
const placeholderCID = "bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

type publishResult struct {
	VersionID     uint64             `json:"versionId"`
	Model         string             `json:"model"`
	Version       string             `json:"version"`
	License       string             `json:"license"`
	Tags          []string           `json:"tags"`
	Relation      string             `json:"relation"`
	Bases         []uint64           `json:"bases"`
	Datasets      []modeldao.Dataset `json:"datasets"`
	WeightsCID    string             `json:"weightsCid"`
	WeightsSHA256 string             `json:"weightsSha256"`
	Size          int64              `json:"size"`
	Files         int                `json:"files,omitempty"` // of a release directory; 0 for a single file
	ModelCardCID  string             `json:"modelCardCid"`
	Publisher     string             `json:"publisher"`
	Tx            string             `json:"tx"`
	Block         uint64             `json:"block"`
	Proposal      *proposalResult    `json:"proposal,omitempty"`
}

var versionKeyArgs = abi.Arguments{{Type: mustType("bytes32")}, {Type: mustType("string")}}

func mustType(t string) abi.Type {
	ty, err := abi.NewType(t, "", nil)
	if err != nil {
		panic(err)
	}
	return ty
}

func setupPublish(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.txFlags(fs)
	r.ipfsFlag(fs)
	r.jsonFlag(fs)
	model := fs.String("model", "", "model name, e.g. acme/sentiment-small (required)")
	label := fs.String("version", "", "version label, e.g. 1.0.0 (required)")
	license := fs.String("license", "", "SPDX licence identifier, e.g. Apache-2.0 (required)")
	card := fs.String("card", "", "model card: a CID, or a file added to IPFS (required)")
	var tags stringsFlag
	fs.Var(&tags, "tag", "tag (repeatable, or comma-separated)")
	propose := fs.Bool("propose", false, "also create the proposal to approve the version")
	policyID := fs.Uint64("policy", 0, "with --propose: the policy of the approval (default: the newest active policy)")
	desc := fs.String("description", "", "with --propose: the proposal's description (default: generated)")
	var bases, datasets stringsFlag
	fs.Var(&bases, "base", "id of a version this one derives from (repeatable, or comma-separated); needs --relation")
	relation := fs.String("relation", "", "how the version derives from its bases: fine-tune, adapter, quantization, merge, distillation")
	fs.Func("dataset", "a dataset as role:name:cid:sha256, role training or evaluation (repeatable)", func(v string) error {
		datasets = append(datasets, v)
		return nil
	})
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 1, "the release directory or weights file"); err != nil {
			return err
		}
		path := args[0]
		for _, f := range []struct{ name, v string }{{"--model", *model}, {"--version", *label}, {"--license", *license}, {"--card", *card}} {
			if f.v == "" {
				return usagef("%s is required", f.name)
			}
		}
		if (*policyID != 0 || *desc != "") && !*propose {
			return usagef("--policy and --description go with --propose")
		}
		cardCID := *card
		if modeldao.ValidateCID("model card CID", cardCID) != nil {
			cardCID = placeholderCID
		}
		lineage, err := parseLineage(bases, *relation, datasets)
		if err != nil {
			return err
		}
		sub := modeldao.VersionSubmission{ModelName: *model, Label: *label, WeightsCID: placeholderCID, WeightsSHA256: common.Hash{1},
			ModelCardCID: cardCID, License: *license, Tags: tags, Lineage: lineage}
		if err := sub.Validate(); err != nil {
			return asUsage(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			return usagef("cannot open the release: %v", err)
		}
		isDir := fi.IsDir()
		if !isDir && !fi.Mode().IsRegular() {
			return usagef("%s is neither a directory nor a regular file", path)
		}
		if isDir {
			if _, err := release.Walk(path); err != nil {
				return asUsage(err)
			}
		}

		// Everything the chain can check, before uploading anything.
		dao, err := r.contracts(ctx)
		if err != nil {
			return err
		}
		opts, err := r.signer(ctx)
		if err != nil {
			return err
		}
		modelID := modeldao.ModelID(*model)
		owner, err := dao.Registry.ModelOwner(callOpts(ctx), modelID)
		if err != nil {
			return chainErr(err, "read the owner of model %s", *model)
		}
		if owner != (common.Address{}) && owner != opts.From {
			return modeldao.Errorf(modeldao.EINVALID, "model %s belongs to %s: only its owner may publish versions of it (you are %s)", *model, owner.Hex(), opts.From.Hex())
		}
		key, _ := versionKeyArgs.Pack(modelID, *label)
		if id, err := dao.Registry.VersionIdOf(callOpts(ctx), crypto.Keccak256Hash(key)); err == nil && id.Sign() > 0 {
			return modeldao.Errorf(modeldao.EINVALID, "%s %s is already published as version %s: choose another --version", *model, *label, id)
		}
		for _, b := range lineage.Bases {
			st, err := dao.Registry.VersionStatus(callOpts(ctx), new(big.Int).SetUint64(b))
			if err != nil {
				return chainErr(err, "read the status of base version %d", b)
			}
			switch s := modeldao.VersionStatus(st); {
			case s == modeldao.VersionNone:
				return modeldao.Errorf(modeldao.EINVALID, "base version %d does not exist: --base takes the ids of published versions (modeldao versions lists them)", b)
			case modeldao.Tainting(s):
				r.progress("publish: warning: base version %d is %s; the API will flag this version's ancestry as tainted", b, s)
			}
		}
		var pol modeldao.Policy
		if *propose {
			if pol, err = policy(ctx, dao, *policyID); err != nil {
				return err
			}
			if pol.AuditRequired {
				return modeldao.Errorf(modeldao.EINVALID, "policy %d (%s %s) requires an audit, which a new version cannot have yet: publish without --propose, have an auditor post an audit (modeldao audit submit), then run modeldao propose approve <version> --policy %d; or name a policy without audit with --policy",
					pol.ID, pol.Name, pol.Version, pol.ID)
			}
		}

		ipfs, err := r.ipfs(ctx)
		if err != nil {
			return err
		}
		if cardCID == placeholderCID {
			if cardCID, err = r.addFile(ctx, ipfs, *card, "model card"); err != nil {
				return err
			}
		}
		var cid string
		var sum common.Hash
		var size int64
		files := 0
		if isDir {
			r.progress("publish: adding the release directory %s to IPFS at %s", path, r.ipfsURL)
			pub, err := release.Publish(ctx, ipfs.HttpApi, path, r.releaseProgress("added"))
			if err != nil {
				return err
			}
			cid, sum, size, files = pub.CID, pub.Digest, pub.Manifest.TotalSize(), len(pub.Manifest.Files)
			r.progress("publish: release %s, %d files, %s; manifest sha256 %s", cid, files, bytesText(size), sum.Hex())
		} else {
			f, err := os.Open(path)
			if err != nil {
				return usagef("cannot open the weights file: %v", err)
			}
			defer f.Close()
			r.progress("publish: adding %s (%s) to IPFS at %s", path, bytesText(fi.Size()), r.ipfsURL)
			pp := newProgress(r.stderr, fi.Size())
			cid, sum, size, err = pinning.AddWeights(ctx, ipfs, f, pp.update)
			pp.done()
			if err != nil {
				return err
			}
		}
		sub.WeightsCID, sub.WeightsSHA256, sub.ModelCardCID = cid, sum, cardCID
		if err := sub.Validate(); err != nil {
			return err
		}
		rec, err := r.send(ctx, "publish", func(o *bind.TransactOpts) (*types.Transaction, error) {
			return dao.Registry.SubmitVersion(o, sub.ModelName, sub.Label, sub.WeightsCID, sub.WeightsSHA256, sub.ModelCardCID, sub.License, sub.Tags, contracts.LineageArg(sub.Lineage))
		})
		if err != nil {
			return err
		}
		ev, ok := findLog(rec, dao.Registry.ParseVersionSubmitted)
		if !ok {
			return modeldao.Errorf(modeldao.EINTERNAL, "transaction %s emitted no VersionSubmitted event", rec.TxHash.Hex())
		}
		res := publishResult{VersionID: ev.VersionId.Uint64(), Model: sub.ModelName, Version: sub.Label, License: sub.License, Tags: append([]string{}, sub.Tags...),
			Relation: sub.Lineage.Relation.String(), Bases: sub.Lineage.Normalized().Bases, Datasets: sub.Lineage.Normalized().Datasets,
			WeightsCID: cid, WeightsSHA256: sum.Hex(), Size: size, Files: files, ModelCardCID: cardCID, Publisher: opts.From.Hex(), Tx: rec.TxHash.Hex(), Block: rec.BlockNumber.Uint64()}
		if *propose {
			d := describe(*desc, fmt.Sprintf("Approve %s %s", sub.ModelName, sub.Label),
				fmt.Sprintf("Approve model version %d (%s %s, weights %s, sha256 %s) under policy %d (%s %s).", res.VersionID, sub.ModelName, sub.Label, cid, sum.Hex(), pol.ID, pol.Name, pol.Version))
			p, err := r.propose(ctx, dao, d, contracts.ApproveVersion(res.VersionID, pol.ID, 0))
			if err != nil {
				return modeldao.WrapError(modeldao.ErrorCode(err), err, "version %d is published, but the approval proposal failed (retry with modeldao propose approve %d --policy %d)", res.VersionID, res.VersionID, pol.ID)
			}
			res.Proposal = p
		}
		return r.print(res, func(w io.Writer) {
			fmt.Fprintf(w, "Published %s %s as model version %d\n", res.Model, res.Version, res.VersionID)
			if res.Files > 0 {
				fmt.Fprintf(w, "  release      %s (%d files, %s)\n", res.WeightsCID, res.Files, bytesText(res.Size))
				fmt.Fprintf(w, "  sha256       %s (of %s)\n", res.WeightsSHA256, modeldao.ManifestName)
			} else {
				fmt.Fprintf(w, "  weights      %s (%s)\n", res.WeightsCID, bytesText(res.Size))
				fmt.Fprintf(w, "  sha256       %s\n", res.WeightsSHA256)
			}
			fmt.Fprintf(w, "  model card   %s\n", res.ModelCardCID)
			if len(res.Bases) > 0 {
				fmt.Fprintf(w, "  derives from %s of version(s) %s\n", strings.ToLower(res.Relation), joinIDs(res.Bases))
			}
			for _, d := range res.Datasets {
				fmt.Fprintf(w, "  dataset      %s %s (%s)\n", strings.ToLower(d.Role.String()), d.Name, d.CID)
			}
			fmt.Fprintf(w, "  publisher    %s\n", res.Publisher)
			fmt.Fprintf(w, "  transaction  %s (block %d)\n", res.Tx, res.Block)
			if res.Proposal != nil {
				fmt.Fprintln(w)
				res.Proposal.text(w)
			} else {
				fmt.Fprintf(w, "Next: an auditor posts an audit (modeldao audit submit), then modeldao propose approve %d\n", res.VersionID)
			}
		})
	}
}

// parseLineage reads --base, --relation and --dataset; the lineage's own rules (base counts,
// bounds, CIDs) are checked with the rest of the submission.
func parseLineage(bases []string, relation string, datasets []string) (modeldao.Lineage, error) {
	var l modeldao.Lineage
	for _, b := range bases {
		id, err := strconv.ParseUint(b, 10, 64)
		if err != nil || id == 0 {
			return l, usagef("--base %q is not a version id: give the decimal id of a published version (e.g. --base 12)", b)
		}
		l.Bases = append(l.Bases, id)
	}
	switch {
	case relation != "":
		r, err := modeldao.ParseRelation(relation)
		if err != nil {
			return l, asUsage(err)
		}
		l.Relation = r
	case len(l.Bases) > 0:
		return l, usagef("--base needs --relation: fine-tune, adapter, quantization or distillation for one base, merge for several")
	}
	for _, d := range datasets {
		ds, err := parseDataset(d)
		if err != nil {
			return l, err
		}
		l.Datasets = append(l.Datasets, ds)
	}
	return l, nil
}

// parseDataset reads role:name:cid:sha256. The name may hold ':'; the role is the first
// field, the CID and the digest the last two.
func parseDataset(s string) (modeldao.Dataset, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 4 {
		return modeldao.Dataset{}, usagef("--dataset %q: want role:name:cid:sha256, e.g. training:HuggingFaceFW/fineweb-edu:bafkrei…:<64 hex digits>", s)
	}
	role, err := modeldao.ParseDatasetRole(parts[0])
	if err != nil {
		return modeldao.Dataset{}, asUsage(modeldao.Errorf(modeldao.EINVALID, "--dataset %q: %v", s, err))
	}
	n := len(parts)
	name, cid, hexSum := strings.Join(parts[1:n-2], ":"), parts[n-2], strings.TrimPrefix(parts[n-1], "0x")
	sum, err := hex.DecodeString(hexSum)
	if err != nil || len(sum) != 32 {
		return modeldao.Dataset{}, usagef("--dataset %q: sha256 %q is not 64 hex digits (sha256sum prints it)", s, parts[n-1])
	}
	return modeldao.Dataset{Role: role, Name: modeldao.Text(name), CID: modeldao.Text(cid), SHA256: common.BytesToHash(sum)}, nil
}

func joinIDs(ids []uint64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatUint(id, 10)
	}
	return strings.Join(s, ", ")
}

// cidOrFile returns s if it is a CID, else adds the file s to IPFS and returns its CID.
func (r *runner) cidOrFile(ctx context.Context, s, what string) (string, error) {
	if modeldao.ValidateCID(what, s) == nil {
		return s, nil
	}
	if _, err := os.Stat(s); err != nil {
		return "", usagef("%s %q is neither a CID (bafy…) nor a readable file", what, s)
	}
	ipfs, err := r.ipfs(ctx)
	if err != nil {
		return "", err
	}
	return r.addFile(ctx, ipfs, s, what)
}

// addFile adds a file to IPFS as a CIDv1, pinned.
func (r *runner) addFile(ctx context.Context, ipfs *pinning.Client, path, what string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", usagef("%s %q is neither a CID (bafy…) nor a readable file: %v", what, path, err)
	}
	defer f.Close()
	p, err := ipfs.Unixfs().Add(ctx, files.NewReaderFile(f), options.Unixfs.CidVersion(1), options.Unixfs.Pin(true, ""))
	if err != nil {
		return "", modeldao.WrapError(modeldao.EUNAVAILABLE, err, "add the %s %s to IPFS at %s", what, path, r.ipfsURL)
	}
	cid := p.RootCid().String()
	r.progress("%s: added %s to IPFS as %s", what, path, cid)
	return cid, nil
}

// progress shows how much of an upload is done: one line rewritten in place on a
// terminal, else a line every 10 %.
type progress struct {
	w       io.Writer
	total   int64
	tty     bool
	lastPct int
	start   time.Time
	shown   bool
}

func newProgress(w io.Writer, total int64) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progress{w: w, total: total, tty: tty, lastPct: -10, start: time.Now()}
}

func (p *progress) update(n int64) {
	pct := 100
	if p.total > 0 {
		pct = int(n * 100 / p.total)
	}
	rate := float64(n) / max(time.Since(p.start).Seconds(), 1e-3)
	line := fmt.Sprintf("  %s / %s (%d%%), %s/s", bytesText(n), bytesText(p.total), pct, bytesText(int64(rate)))
	switch {
	case p.tty:
		fmt.Fprintf(p.w, "\r%-60s", line)
		p.shown = true
	case pct >= p.lastPct+10 || (n == p.total && pct != p.lastPct):
		fmt.Fprintln(p.w, line)
		p.lastPct = pct
	}
}

func (p *progress) done() {
	if p.tty && p.shown {
		fmt.Fprintln(p.w)
	}
}

func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// releaseProgress shows the progress of a release's files: a line per file when it is
// done (verb: "added", "pulled"), and the bytes of a large file as it goes.
func (r *runner) releaseProgress(verb string) func(release.Progress) {
	var cur *progress
	return func(p release.Progress) {
		if !p.Finished {
			if cur == nil {
				cur = newProgress(r.stderr, p.FileSize)
			}
			cur.update(p.FileDone)
			return
		}
		if cur != nil {
			cur.done()
			cur = nil
		}
		how := verb
		if p.Reused {
			how = "already there"
		}
		pct := 100
		if p.Total > 0 {
			pct = int(p.Done * 100 / p.Total)
		}
		r.progress("  [%d/%d] %s (%s) %s; %s of %s in total (%d%%)", p.Index, p.Count, p.Path, bytesText(max(p.FileSize, p.FileDone)), how, bytesText(p.Done), bytesText(p.Total), pct)
	}
}
