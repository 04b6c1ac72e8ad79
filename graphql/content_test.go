package graphql_test

import (
	"strings"
	"testing"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
)

func TestVersionContent(t *testing.T) {
	// v1 is PINNED without a release summary: a single weights file.
	c := must[*client.VersionContent](t)(fx.fresh.VersionContent(bg, 1))
	if c.Status != "SINGLE_FILE" || len(c.Files) != 0 || c.Format != nil || !strings.Contains(c.Reason, "single weights file") {
		t.Errorf("v1: %+v", c)
	}
	// v3 was revoked while its pin was still QUEUED; v4 is SUBMITTED.
	if c := must[*client.VersionContent](t)(fx.fresh.VersionContent(bg, 3)); c.Status != "UNVERIFIED" || !strings.Contains(c.Reason, "the pin is QUEUED") {
		t.Errorf("v3: %+v", c)
	}
	if c := must[*client.VersionContent](t)(fx.fresh.VersionContent(bg, 4)); c.Status != "UNVERIFIED" || !strings.Contains(c.Reason, "the version is SUBMITTED") {
		t.Errorf("v4: %+v", c)
	}
	// Once the pinner verified a release directory, its files and formats are served.
	sha := strings.Repeat("ab", 32)
	cid := "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
	rel := modeldao.ReleaseSummary{VersionID: 4, Directory: true, Files: []modeldao.ReleaseFile{
		{ManifestFile: modeldao.ManifestFile{Path: "config.json", Size: 10, SHA256: sha, CID: cid}},
		{ManifestFile: modeldao.ManifestFile{Path: "model-00001-of-00002.safetensors", Size: 1000, SHA256: sha, CID: cid},
			Format: &modeldao.FileFormat{Format: "safetensors", Dtypes: []string{"BF16"}, TensorCount: 2, ParameterCount: 400}},
		{ManifestFile: modeldao.ManifestFile{Path: "model-00002-of-00002.safetensors", Size: 9, SHA256: sha, CID: cid}, FormatError: "not a safetensors file"},
	}}
	rel.Summarize()
	if err := fx.store.SetRelease(bg, rel); err != nil {
		t.Fatal(err)
	}
	c = must[*client.VersionContent](t)(fx.fresh.VersionContent(bg, 4))
	if c.Status != "VERIFIED" || c.Reason != "" || c.TotalSize != 1019 || len(c.Files) != 3 || c.Format == nil ||
		c.Format.TensorCount != 2 || c.Format.ParameterCount != 400 || strings.Join(c.Format.Dtypes, ",") != "BF16" {
		t.Fatalf("v4 verified: %+v", c)
	}
	for i, f := range c.Files {
		if f.ManifestFile != rel.Files[i].ManifestFile || (f.Format == nil) != (rel.Files[i].Format == nil) || f.FormatError != rel.Files[i].FormatError {
			t.Errorf("file %d: %+v, want %+v", i, f, rel.Files[i])
		}
	}
}
