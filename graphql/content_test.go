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

func TestEvidencePins(t *testing.T) {
	if err := fx.store.SetEvidencePin(bg, modeldao.EvidencePin{EvidenceRef: modeldao.EvidenceRef{Kind: modeldao.EvidenceAuditReport, ID: 1},
		CID: "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", Status: modeldao.PinPinned, Verified: true, Attempts: 1, Size: 42}); err != nil {
		t.Fatal(err)
	}
	var out struct {
		ModelVersion struct {
			ModelCardCid string
			ModelCardPin struct {
				Status, Cid string
				Verified    bool
				Size        *string
			}
			Audits struct {
				Edges []struct {
					Node struct {
						ID        string
						ReportPin struct {
							Status   string
							Verified bool
							Size     *string
						}
					}
				}
			}
		}
	}
	q := `{ modelVersion(id: 1) { modelCardCid modelCardPin { status cid verified size } audits(first: 5) { edges { node { id reportPin { status verified size } } } } } }`
	if err := fx.fresh.Exec(bg, q, nil, &out); err != nil {
		t.Fatal(err)
	}
	v := out.ModelVersion
	// The card was never taken up by a pinner: QUEUED with the chain's CID.
	if v.ModelCardPin.Status != "QUEUED" || v.ModelCardPin.Cid != v.ModelCardCid || v.ModelCardPin.Verified || (v.ModelCardPin.Size != nil && *v.ModelCardPin.Size != "0") {
		t.Errorf("card pin: %+v", v.ModelCardPin)
	}
	if len(v.Audits.Edges) != 1 || v.Audits.Edges[0].Node.ID != "1" {
		t.Fatalf("audits of v1: %+v", v.Audits)
	}
	if p := v.Audits.Edges[0].Node.ReportPin; p.Status != "PINNED" || !p.Verified || p.Size == nil || *p.Size != "42" {
		t.Errorf("report pin: %+v", p)
	}
}
