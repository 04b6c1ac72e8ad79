package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/internal/devstack"
	"github.com/modeldao/modeldao/release"
)

// sameRelease fails unless every file of the release directory want is byte-identical in
// got, and got holds the completion marker.
func sameRelease(t *testing.T, want, got string) {
	t.Helper()
	fs, err := release.Walk(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		a, _ := os.ReadFile(f.Abs)
		b, err := os.ReadFile(filepath.Join(got, filepath.FromSlash(f.Path)))
		if err != nil || !bytes.Equal(a, b) {
			t.Fatalf("%s differs after pull (%v)", f.Path, err)
		}
	}
	if m, err := release.IsComplete(got); err != nil || m == nil {
		t.Fatalf("no completion marker in %s: %v", got, err)
	}
}

// testReleases: the seeded multi-file release (approved, pinned) is pulled byte-identical
// from kubo and from the gateway; unapproved versions are refused; a release directory is
// published and pulled back.
func testReleases(t *testing.T, e env, info devstack.Info, api *client.Client) {
	ctx := context.Background()
	demo := t.TempDir()
	if _, err := release.WriteDemo(demo, devstack.DemoRelease); err != nil {
		t.Fatal(err)
	}

	t.Run("pull approved", func(t *testing.T) {
		var out struct {
			release.Marker
			Dir    string `json:"dir"`
			Status string `json:"status"`
		}
		dir := filepath.Join(t.TempDir(), "sentiment")
		r := ok(t, e, &out, "pull", "acme/sentiment-small", "--dir", dir, "--json")
		if out.Label != "1.0.0" || out.Status != "APPROVED" || out.Kind != "directory" || out.Files != 6 {
			t.Fatalf("pulled %+v", out)
		}
		if !strings.Contains(r.stderr, "[6/6]") {
			t.Errorf("no per-file progress on stderr:\n%s", r.stderr)
		}
		sameRelease(t, demo, dir)
		// The same through the HTTP gateway, by label.
		dir2 := t.TempDir()
		ok(t, e, nil, "pull", "acme/sentiment-small@1.0.0", "--dir", dir2, "--gateway", info.IPFSGatewayURL)
		sameRelease(t, demo, dir2)
		// What the pinner verified matches the manifest, and the API serves it.
		v, err := api.ModelVersion(ctx, out.VersionID, client.First(1))
		if err != nil || v.Pin == nil || v.Pin.Status != "PINNED" || int64(v.Pin.Size) != out.Bytes {
			t.Fatalf("version %d in the API: %+v %v", out.VersionID, v, err)
		}
		c, err := api.VersionContent(ctx, out.VersionID)
		if err != nil {
			t.Fatal(err)
		}
		man, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		m, err := modeldao.ParseManifest(man, v.WeightsSHA256)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != "VERIFIED" || c.Reason != "" || len(c.Files) != len(m.Files) || c.TotalSize != out.Bytes ||
			c.Format == nil || c.Format.TensorCount != 4 || c.Format.ParameterCount != 4*128*128 || strings.Join(c.Format.Dtypes, ",") != "F16" {
			t.Fatalf("content in the API: %+v", c)
		}
		for i, f := range c.Files {
			if f.ManifestFile != m.Files[i] || release.IsSafetensors(f.Path) != (f.Format != nil) {
				t.Fatalf("file %d in the API: %+v, manifest %+v", i, f, m.Files[i])
			}
		}
		// Every model card and audit report is kept pinned too, reports verified.
		waitFor(t, "the seeded model cards and audit reports to be pinned", func() (bool, error) {
			var q struct {
				ModelVersion struct{ ModelCardPin struct{ Status string } }
				Audit        struct {
					ReportPin struct {
						Status   string
						Verified bool
					}
				}
			}
			err := api.Exec(ctx, `{ modelVersion(id: 3) { modelCardPin { status } } audit(id: 1) { reportPin { status verified } } }`, nil, &q)
			return err == nil && q.ModelVersion.ModelCardPin.Status == "PINNED" && q.Audit.ReportPin.Status == "PINNED" && q.Audit.ReportPin.Verified, err
		})
		// Unapproved versions say why they have no content.
		if c, err := api.VersionContent(ctx, 2); err != nil || c.Status != "UNVERIFIED" || !strings.Contains(c.Reason, "SUBMITTED") || len(c.Files) != 0 {
			t.Fatalf("content of version 2: %+v %v", c, err)
		}
	})

	t.Run("pull refuses", func(t *testing.T) {
		fails(t, e, ExitFailure, "is REVOKED, not APPROVED", "pull", "openlab/vision-base@1.0.0", "--dir", t.TempDir())
		fails(t, e, ExitFailure, "is REJECTED, not APPROVED", "pull", "openlab/vision-base@0.9.0", "--dir", t.TempDir())
		fails(t, e, ExitFailure, "has no APPROVED version", "pull", "openlab/vision-base", "--dir", t.TempDir())
		fails(t, e, ExitFailure, "has no version \"9.9\"", "pull", "acme/sentiment-small@9.9", "--dir", t.TempDir())
		fails(t, e, ExitFailure, "no model named", "pull", "nobody/nothing", "--dir", t.TempDir())
		fails(t, e, ExitUsage, "want <model> or <model>@<version label>", "pull", "acme/x@")
		fails(t, e, ExitUsage, "give one", "pull", "acme/x", "--ipfs", info.IPFSAPIURL, "--gateway", info.IPFSGatewayURL)
		// A single-file version, not approved: pulled only when asked, as weights.bin.
		dir := t.TempDir()
		fails(t, e, ExitFailure, "is SUBMITTED, not APPROVED", "pull", "acme/sentiment-small@1.1.0", "--dir", dir)
		r := ok(t, e, nil, "pull", "acme/sentiment-small@1.1.0", "--dir", dir, "--allow-unapproved")
		if !strings.Contains(r.stderr, "--allow-unapproved") {
			t.Errorf("no warning about the status:\n%s", r.stderr)
		}
		if fi, err := os.Stat(filepath.Join(dir, release.SingleFileName)); err != nil || fi.Size() == 0 {
			t.Fatalf("single file: %v", err)
		}
	})

	// The demo's derived release: version 8, the quantization of version 1, with an
	// evaluation dataset, pulled byte-identical (it is SUBMITTED: with --allow-unapproved).
	t.Run("seeded derived release", func(t *testing.T) {
		v, err := api.ModelVersion(ctx, 8, client.First(1))
		if err != nil || v.ModelName != "acme/sentiment-small-int8" || v.Relation != "QUANTIZATION" || len(v.Bases) != 1 || v.Bases[0] != 1 ||
			len(v.Datasets) != 1 || v.Datasets[0].Role != "EVALUATION" || v.Datasets[0].Name != "yelp_review_full" || v.Datasets[0].CID != cidOf("modeldao demo dataset yelp_review_full") {
			t.Fatalf("version 8: %+v (%v)", v, err)
		}
		want := t.TempDir()
		if _, err := release.WriteDemo(want, devstack.DemoQuantized); err != nil {
			t.Fatal(err)
		}
		out := t.TempDir()
		ok(t, e, nil, "pull", "acme/sentiment-small-int8@1.0.0", "--dir", out, "--allow-unapproved")
		sameRelease(t, want, out)
		var ms struct{ Versions []versionOut }
		ok(t, e, &ms, "models", "--json", "--derived-from", "1")
		var got []uint64
		for _, v := range ms.Versions {
			got = append(got, v.ID)
		}
		if len(got) != 2 || got[0] != 8 || got[1] != 2 || ms.Versions[0].Relation != "QUANTIZATION" {
			t.Errorf("models --derived-from 1: %+v", ms.Versions)
		}
		ok(t, e, &ms, "models", "--json", "--dataset", "yelp_review_full")
		if len(ms.Versions) != 2 || ms.Versions[0].ID != 8 || ms.Versions[1].ID != 1 || ms.Versions[1].Datasets[1] != "yelp_review_full" {
			t.Errorf("models --dataset yelp_review_full: %+v", ms.Versions)
		}
		if r := ok(t, e, nil, "models", "--model", "acme/sentiment-small-int8"); !strings.Contains(r.stdout, "quantization of 1") {
			t.Errorf("models shows no lineage:\n%s", r.stdout)
		}
	})

	t.Run("publish directory", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := release.WriteDemo(dir, release.DemoRelease{Seed: 42, Shards: 3, Tensors: 2, Dim: 64}); err != nil {
			t.Fatal(err)
		}
		var pub publishResult
		// Lineage flags are checked before anything is uploaded.
		base := []string{"publish", dir, "--model", "test/release", "--version", "1.0.0", "--license", "MIT", "--card", filepath.Join(dir, "README.md"), "--dev-account", "6"}
		const sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
		fails(t, e, ExitUsage, "--base needs --relation", append(base, "--base", "1")...)
		fails(t, e, ExitUsage, "is not a version id", append(base, "--base", "one", "--relation", "fine-tune")...)
		fails(t, e, ExitUsage, "unknown relation \"fork\"", append(base, "--base", "1", "--relation", "fork")...)
		fails(t, e, ExitUsage, "a merge needs at least two distinct bases", append(base, "--base", "1", "--relation", "merge")...)
		fails(t, e, ExitUsage, "needs exactly one base", append(base, "--base", "1,2", "--relation", "adapter")...)
		fails(t, e, ExitUsage, "want role:name:cid:sha256", append(base, "--dataset", "training:fineweb")...)
		fails(t, e, ExitUsage, "unknown dataset role", append(base, "--dataset", "pretraining:fineweb:"+cidOf("x")+":"+sha)...)
		fails(t, e, ExitUsage, "is not 64 hex digits", append(base, "--dataset", "training:fineweb:"+cidOf("x")+":abc")...)
		fails(t, e, ExitUsage, "is not an IPFS CID", append(base, "--dataset", "training:fineweb:nope:"+sha)...)
		fails(t, e, ExitFailure, "base version 99 does not exist", append(base, "--base", "99", "--relation", "fine-tune")...)

		// A merge of two seeded versions (bases of any status), with a
		// training and an evaluation dataset (a name holding ':').
		args := append(base, "--base", "1", "--base", "2", "--relation", "merge",
			"--dataset", "training:HuggingFaceFW/fineweb-edu:"+cidOf("fineweb")+":"+sha, "--dataset", "evaluation:eval:set:"+cidOf("eval")+":0x"+sha,
			"--propose", "--policy", "1", "--json")
		r := ok(t, e, &pub, args...)
		if pub.Files != 7 || !strings.Contains(r.stderr, "[7/7]") || !strings.Contains(r.stderr, "manifest sha256") || pub.Proposal == nil {
			t.Fatalf("published %+v\n%s", pub, r.stderr)
		}
		if pub.Relation != "MERGE" || len(pub.Bases) != 2 || pub.Bases[0] != 1 || pub.Bases[1] != 2 || len(pub.Datasets) != 2 ||
			pub.Datasets[1].Name != "eval:set" || pub.Datasets[1].Role != modeldao.DatasetEvaluation || pub.Datasets[0].SHA256.Hex() != "0x"+sha {
			t.Errorf("published lineage: %s %v %+v", pub.Relation, pub.Bases, pub.Datasets)
		}
		if _, err := os.Stat(filepath.Join(dir, release.ProgressFile)); err != nil {
			t.Fatalf("no progress file: %v", err)
		}
		waitFor(t, "the API to show test/release", func() (bool, error) {
			v, err := api.ModelVersion(ctx, pub.VersionID, client.First(1))
			return err == nil && v.WeightsCID == pub.WeightsCID && v.WeightsSHA256.Hex() == pub.WeightsSHA256, nil
		})
		if v, err := api.ModelVersion(ctx, pub.VersionID, client.First(1)); err != nil || v.Relation != "MERGE" || len(v.Bases) != 2 || len(v.Datasets) != 2 ||
			v.Datasets[0].Name != "HuggingFaceFW/fineweb-edu" || v.Datasets[1].Role != "EVALUATION" {
			t.Errorf("the API shows the lineage of test/release as %s %v %+v (%v)", v.Relation, v.Bases, v.Datasets, err)
		}
		fails(t, e, ExitFailure, "is SUBMITTED, not APPROVED", "pull", "test/release@1.0.0", "--dir", t.TempDir())
		out := t.TempDir()
		ok(t, e, nil, "pull", "test/release@1.0.0", "--dir", out, "--allow-unapproved", "--gateway", info.IPFSGatewayURL)
		sameRelease(t, dir, out)

		// The DAO approves it; the pinner pins and verifies every file; pull takes it.
		pid := pub.Proposal.ProposalID
		ok(t, e, nil, "mine", "--blocks", "2")
		for _, i := range []string{"0", "1", "2"} {
			ok(t, e, nil, "vote", pid, "for", "--dev-account", i)
		}
		ok(t, e, nil, "mine", "--blocks", "31")
		ok(t, e, nil, "queue", pid, "--dev-account", "0")
		ok(t, e, nil, "mine", "--blocks", "0", "--time", "61s")
		ok(t, e, nil, "execute", pid, "--dev-account", "0")
		waitFor(t, "test/release to be pinned", func() (bool, error) {
			v, err := api.ModelVersion(ctx, pub.VersionID, client.First(1))
			return err == nil && v.Status == "APPROVED" && v.Pin != nil && v.Pin.Status == "PINNED", err
		})
		c, err := api.VersionContent(ctx, pub.VersionID)
		if err != nil || c.Status != "VERIFIED" || len(c.Files) != 7 || c.Format == nil || c.Format.TensorCount != 6 || c.TotalSize != pub.Size {
			t.Fatalf("content of test/release: %+v %v", c, err)
		}
		out2 := t.TempDir()
		ok(t, e, nil, "pull", "test/release", "--dir", out2)
		sameRelease(t, dir, out2)
	})
}

// cidOf is the CIDv1 (raw block, sha2-256) of s, as `ipfs add --cid-version 1` prints it.
func cidOf(s string) string {
	c, err := cid.NewPrefixV1(cid.Raw, 0x12).Sum([]byte(s))
	if err != nil {
		panic(err)
	}
	return c.String()
}
