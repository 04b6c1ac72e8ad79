package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
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
	VersionID     uint64          `json:"versionId"`
	Model         string          `json:"model"`
	Version       string          `json:"version"`
	License       string          `json:"license"`
	Tags          []string        `json:"tags"`
	WeightsCID    string          `json:"weightsCid"`
	WeightsSHA256 string          `json:"weightsSha256"`
	Size          int64           `json:"size"`
	Files         int             `json:"files,omitempty"` // of a release directory; 0 for a single file
	ModelCardCID  string          `json:"modelCardCid"`
	Publisher     string          `json:"publisher"`
	Tx            string          `json:"tx"`
	Block         uint64          `json:"block"`
	Proposal      *proposalResult `json:"proposal,omitempty"`
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
		sub := modeldao.VersionSubmission{ModelName: *model, Label: *label, WeightsCID: placeholderCID, WeightsSHA256: common.Hash{1},
			ModelCardCID: cardCID, License: *license, Tags: tags}
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
			return dao.Registry.SubmitVersion(o, sub.ModelName, sub.Label, sub.WeightsCID, sub.WeightsSHA256, sub.ModelCardCID, sub.License, sub.Tags)
		})
		if err != nil {
			return err
		}
		ev, ok := findLog(rec, dao.Registry.ParseVersionSubmitted)
		if !ok {
			return modeldao.Errorf(modeldao.EINTERNAL, "transaction %s emitted no VersionSubmitted event", rec.TxHash.Hex())
		}
		res := publishResult{VersionID: ev.VersionId.Uint64(), Model: sub.ModelName, Version: sub.Label, License: sub.License, Tags: append([]string{}, sub.Tags...),
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
