package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"path"

	"github.com/modeldao/modeldao/pull"
	"github.com/modeldao/modeldao/release"
)

func init() {
	register(&command{name: "pull", args: "<model>[@<label>] [--dir D] [--allow-unapproved] [--ipfs URL | --gateway URL]",
		summary: "download an approved model release, verified against the digest on chain",
		detail: `Resolves the model through the API: <model>@<label> names a version, <model> alone the
newest APPROVED one. A version that is SUBMITTED, REJECTED or REVOKED is refused (the
message says why) unless --allow-unapproved.

Downloads every file of the release from a kubo RPC API (--ipfs, the default) or from an
HTTP gateway (--gateway, e.g. https://ipfs.io: nothing it serves is trusted), checks the
manifest against the sha256 on chain and each file's size and sha256 against the manifest,
and writes the Hugging Face layout into --dir. Each file is downloaded under
D/.modeldao-pull, synced, checked, then renamed into place; manifest.json and then the
completion marker .modeldao-complete.json come last, so a directory without the marker is
not a complete release. A pull that broke resumes where it stopped when run again; files
already in place and verified are kept. A single-file version is written as weights.bin.`,
		setup: setupPull})
}

func setupPull(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.apiFlag(fs)
	r.ipfsFlag(fs)
	r.jsonFlag(fs)
	dir := fs.String("dir", "", "directory to write the release into (default: ./<last part of the model name>-<label>)")
	gateway := fs.String("gateway", "", "HTTP gateway to download from instead of the kubo API, e.g. https://ipfs.io")
	allow := fs.Bool("allow-unapproved", false, "pull a version the DAO has not approved (SUBMITTED, REJECTED, REVOKED)")
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 1, "the model, as <model>[@<label>]"); err != nil {
			return err
		}
		ipfsSet := false
		fs.Visit(func(f *flag.Flag) { ipfsSet = ipfsSet || f.Name == "ipfs" })
		if ipfsSet && *gateway != "" {
			return usagef("--ipfs and --gateway are two sources: give one")
		}
		if _, _, err := pull.ParseRef(args[0]); err != nil {
			return asUsage(err)
		}
		v, err := pull.Resolve(ctx, r.api(), args[0], *allow)
		if err != nil {
			return err
		}
		var src release.Source
		if *gateway != "" {
			src = release.Gateway{Base: *gateway, Client: &http.Client{}}
		} else {
			ipfs, err := r.ipfs(ctx)
			if err != nil {
				return err
			}
			src = release.Kubo{API: ipfs.HttpApi, Addr: ipfs.Addr}
		}
		out := *dir
		if out == "" {
			out = path.Base(v.ModelName) + "-" + v.Label
		}
		if v.Status != "APPROVED" {
			r.progress("pull: %s %s is %s: pulling it because of --allow-unapproved", v.ModelName, v.Label, v.Status)
		}
		r.progress("pull: %s %s (version %d, %s) from %s into %s", v.ModelName, v.Label, v.ID, v.WeightsCID, src, out)
		res, err := release.Pull(ctx, src, v.WeightsCID, v.WeightsSHA256, out, release.PullOptions{
			VersionID: v.ID, Model: v.ModelName, Label: v.Label, Progress: r.releaseProgress("verified")})
		if err != nil {
			return err
		}
		type pullOut struct {
			release.Marker
			Dir     string `json:"dir"`
			Status  string `json:"status"`
			Reused  int    `json:"reused"`
			Resumed int    `json:"resumed"`
		}
		o := pullOut{Marker: res.Marker, Dir: out, Status: v.Status, Reused: res.Reused, Resumed: res.Resumed}
		return r.print(o, func(w io.Writer) {
			fmt.Fprintf(w, "Pulled %s %s (version %d, %s) into %s\n", v.ModelName, v.Label, v.ID, v.Status, out)
			fmt.Fprintf(w, "  %s %s, %d files, %s, every one verified against sha256 %s on chain\n", res.Kind, res.CID, res.Files, bytesText(res.Bytes), res.SHA256)
			if res.Reused > 0 || res.Resumed > 0 {
				fmt.Fprintf(w, "  %d files were already in place, %d downloads resumed\n", res.Reused, res.Resumed)
			}
		})
	}
}
