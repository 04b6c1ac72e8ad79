package pinning_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/release"
)

// publishDemo publishes a generated multi-shard safetensors release to the test's kubo.
func (e *env) publishDemo(seed uint64) (string, *release.Published, int64) {
	e.t.Helper()
	dir := e.t.TempDir()
	params, err := release.WriteDemo(dir, release.DemoRelease{Seed: seed, Shards: 3, Tensors: 2, Dim: 128})
	if err != nil {
		e.t.Fatal(err)
	}
	pub, err := release.Publish(context.Background(), e.plain.HttpApi, dir, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	// Publishing pins the directory (publisher's node); the pinner must pin it itself.
	if err := e.plain.Request("pin/rm", pub.CID).Exec(context.Background(), nil); err != nil {
		e.t.Fatal(err)
	}
	return dir, pub, params
}

func TestReleaseDirectoryPinned(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, pub, params := e.publishDemo(1)
	if s, err := e.st.GetRelease(ctx, 1); err != nil || s != nil {
		t.Fatalf("a release summary before the pin: %+v %v", s, err)
	}
	e.approve(1, pub.CID, pub.Digest)
	rep := e.drain(e.config("a"))
	if rep.Pinned != 1 {
		t.Fatalf("report %+v", rep)
	}
	p := e.pin(1)
	if p.Status != modeldao.PinPinned || int64(p.Size) != pub.Manifest.TotalSize() {
		t.Fatalf("pin %+v, want PINNED with the release's %d bytes", p, pub.Manifest.TotalSize())
	}
	if e.pins()[pub.CID] != "modeldao:1" {
		t.Fatalf("kubo pins %v", e.pins())
	}
	s, err := e.st.GetRelease(ctx, 1)
	if err != nil || s == nil {
		t.Fatalf("release summary: %+v %v", s, err)
	}
	if !s.Directory || s.VersionID != 1 || len(s.Files) != 7 || s.TensorCount != 6 || s.ParameterCount != params || strings.Join(s.Dtypes, ",") != "F16" || s.TotalSize != pub.Manifest.TotalSize() {
		t.Fatalf("summary %+v", s)
	}
	for i, f := range s.Files {
		if f.ManifestFile != pub.Manifest.Files[i] {
			t.Fatalf("file %d: %+v, manifest %+v", i, f.ManifestFile, pub.Manifest.Files[i])
		}
		if release.IsSafetensors(f.Path) != (f.Format != nil) {
			t.Fatalf("file %s: format %+v", f.Path, f.Format)
		}
	}
	// A single-file version keeps today's meaning and has no summary.
	data := content(9, 300000)
	c, sha := e.add(data)
	e.approve(2, c, sha)
	e.drain(e.config("a"))
	if p := e.pin(2); p.Status != modeldao.PinPinned || p.Size != uint64(len(data)) {
		t.Fatalf("single file: %+v", p)
	}
	if s, _ := e.st.GetRelease(ctx, 2); s != nil {
		t.Fatalf("single file has a summary: %+v", s)
	}
}

func TestReleaseFileMismatchFails(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dir, pub, _ := e.publishDemo(2)
	shard := "model-00002-of-00003.safetensors"
	orig, err := os.ReadFile(filepath.Join(dir, shard))
	if err != nil {
		t.Fatal(err)
	}
	evil := bytes.Clone(orig)
	evil[len(evil)/2] ^= 0xff
	evilCID, _ := e.add(evil)
	// The same manifest (so the digest on chain matches it) in a directory whose shard differs.
	mfs := func(cmd string, args ...string) {
		t.Helper()
		if err := e.plain.Request(cmd, args...).Exec(ctx, nil); err != nil {
			t.Fatalf("%s %v: %v", cmd, args, err)
		}
	}
	mfs("files/cp", "/ipfs/"+pub.CID, "/tampered")
	mfs("files/rm", "/tampered/"+shard)
	mfs("files/cp", "/ipfs/"+evilCID, "/tampered/"+shard)
	mfs("files/cp", "/ipfs/"+pub.CID, "/missing")
	mfs("files/rm", "/missing/config.json")
	var st struct{ Hash string }
	if err := e.plain.Request("files/stat", "/tampered").Exec(ctx, &st); err != nil {
		t.Fatal(err)
	}
	tampered := st.Hash
	if err := e.plain.Request("files/stat", "/missing").Exec(ctx, &st); err != nil {
		t.Fatal(err)
	}
	missing := st.Hash

	e.approve(1, tampered, pub.Digest)
	e.approve(2, missing, pub.Digest)
	e.approve(3, pub.CID, [32]byte{1}) // a manifest that is not the one on chain
	rep := e.drain(e.config("a"))
	if rep.Failed != 3 {
		t.Fatalf("report %+v, want 3 FAILED", rep)
	}
	for id, want := range map[uint64]string{
		1: `file "` + shard + `": sha256`,
		2: `file "config.json": listed in the manifest but missing`,
		3: "manifest.json does not match the digest on chain",
	} {
		p := e.pin(id)
		if p.Status != modeldao.PinFailed || !strings.Contains(p.LastError, want) {
			t.Errorf("version %d: pin %+v, want FAILED with %q", id, p, want)
		}
		if s, _ := e.st.GetRelease(ctx, id); s != nil {
			t.Errorf("version %d: a failed release has a summary", id)
		}
	}
	if e.isPinned(tampered) || e.isPinned(missing) {
		t.Fatal("a failed release stayed pinned")
	}
}
