package release_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ipfs/boxo/files"
	"github.com/ipfs/kubo/client/rpc"
	"github.com/ipfs/kubo/core/coreiface/options"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/infra/kubo"
	"github.com/modeldao/modeldao/release"
)

func TestWalkSkips(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"config.json", "sub/a.txt", ".git/HEAD", "__pycache__/x.pyc", ".cache/huggingface/x", "model.lock", "x.pyc", release.ProgressFile, release.CompleteMarker, release.PullWorkDir + "/x.part"} {
		must(os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755))
		must(os.WriteFile(filepath.Join(dir, p), []byte(p), 0o644))
	}
	must(os.Symlink(filepath.Join(dir, "config.json"), filepath.Join(dir, "linked.json")))
	fs, err := release.Walk(dir)
	must(err)
	var got []string
	for _, f := range fs {
		got = append(got, f.Path)
	}
	if strings.Join(got, ",") != "config.json,linked.json,sub/a.txt" {
		t.Fatalf("walked %v", got)
	}
	// A manifest.json that is not ours is refused, a link to a directory too.
	must(os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"mine":1}`), 0o644))
	if _, err := release.Walk(dir); err == nil || !strings.Contains(err.Error(), "rename your file") {
		t.Fatalf("foreign manifest.json: %v", err)
	}
	must(os.Remove(filepath.Join(dir, "manifest.json")))
	must(os.Symlink(filepath.Join(dir, "sub"), filepath.Join(dir, "dirlink")))
	if _, err := release.Walk(dir); err == nil || !strings.Contains(err.Error(), "link to a directory") {
		t.Fatalf("dir link: %v", err)
	}
	if _, err := release.Walk(filepath.Join(dir, "config.json")); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("file: %v", err)
	}
	empty := t.TempDir()
	must(os.MkdirAll(filepath.Join(empty, ".git"), 0o755))
	if _, err := release.Walk(empty); err == nil || !strings.Contains(err.Error(), "no files to publish") {
		t.Fatalf("empty: %v", err)
	}
}

type node struct {
	t   *testing.T
	k   *kubo.Server
	api *rpc.HttpApi
}

func startKubo(t *testing.T) *node {
	n := startKuboB(t)
	n.t = t
	return n
}

func startKuboB(t testing.TB) *node {
	k := kubo.StartT(t)
	api, err := rpc.NewURLApiWithClient(k.APIURL(), &http.Client{})
	if err != nil {
		t.Fatal(err)
	}
	return &node{k: k, api: api}
}

func (n *node) src() release.Kubo { return release.Kubo{API: n.api, Addr: n.k.APIURL()} }

func (n *node) add(data []byte) string {
	n.t.Helper()
	p, err := n.api.Unixfs().Add(context.Background(), files.NewBytesFile(data), options.Unixfs.CidVersion(1), options.Unixfs.Pin(false, ""))
	if err != nil {
		n.t.Fatal(err)
	}
	return p.RootCid().String()
}

// edit copies the directory root in MFS, lets fn change it, and returns the new root.
func (n *node) edit(root string, fn func(mfsDir string)) string {
	n.t.Helper()
	ctx := context.Background()
	d := "/test-edit"
	_ = n.api.Request("files/rm", d).Option("recursive", true).Option("force", true).Exec(ctx, nil)
	if err := n.api.Request("files/cp", "/ipfs/"+root, d).Exec(ctx, nil); err != nil {
		n.t.Fatal(err)
	}
	fn(d)
	var out struct{ Hash string }
	if err := n.api.Request("files/stat", d).Exec(ctx, &out); err != nil {
		n.t.Fatal(err)
	}
	return out.Hash
}

func (n *node) mfs(cmd string, args ...string) {
	n.t.Helper()
	if err := n.api.Request(cmd, args...).Exec(context.Background(), nil); err != nil {
		n.t.Fatalf("%s %v: %v", cmd, args, err)
	}
}

func demo(t *testing.T) (string, int64) {
	dir := t.TempDir()
	params, err := release.WriteDemo(dir, release.DemoRelease{Seed: 7, Shards: 2, Tensors: 3, Dim: 256})
	if err != nil {
		t.Fatal(err)
	}
	// Things a release leaves out.
	_ = os.MkdirAll(filepath.Join(dir, ".git"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, ".git", "HEAD"), []byte("ref: main"), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "pip.lock"), []byte("x"), 0o644)
	return dir, params
}

// sameTree fails unless every file of the release in src is byte-identical in dst.
func sameTree(t *testing.T, src, dst string) {
	t.Helper()
	fs, err := release.Walk(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		a, _ := os.ReadFile(f.Abs)
		b, err := os.ReadFile(filepath.Join(dst, filepath.FromSlash(f.Path)))
		if err != nil || !bytes.Equal(a, b) {
			t.Fatalf("%s differs after pull (%v)", f.Path, err)
		}
	}
}

func TestPublishVerifyPull(t *testing.T) {
	ctx := context.Background()
	n := startKubo(t)
	dir, params := demo(t)
	var events []release.Progress
	pub, err := release.Publish(ctx, n.api, dir, func(p release.Progress) { events = append(events, p) })
	if err != nil {
		t.Fatal(err)
	}
	if len(pub.Manifest.Files) != 6 || pub.Reused != 0 {
		t.Fatalf("manifest %+v reused %d", pub.Manifest.Files, pub.Reused)
	}
	enc, _ := pub.Manifest.Encode()
	if pub.Digest != common.Hash(sha256.Sum256(enc)) || !strings.HasPrefix(pub.CID, "bafy") {
		t.Fatalf("digest %s cid %s", pub.Digest.Hex(), pub.CID)
	}
	last := events[len(events)-1]
	if last.Index != 6 || last.Count != 6 || last.Done != last.Total || last.Total != pub.Manifest.TotalSize() || !last.Finished {
		t.Fatalf("last progress %+v", last)
	}
	if kind, err := release.Inspect(ctx, n.src(), pub.CID); err != nil || kind != release.KindDirectory {
		t.Fatalf("Inspect: %v %v", kind, err)
	}
	sum, err := release.Verify(ctx, n.src(), pub.CID, pub.Digest, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Directory || sum.TensorCount != 6 || sum.ParameterCount != params || strings.Join(sum.Dtypes, ",") != "F16" || len(sum.Files) != 6 {
		t.Fatalf("summary %+v", sum)
	}
	if f := sum.Files[slices.IndexFunc(sum.Files, func(f modeldao.ReleaseFile) bool { return f.Path == "model-00002-of-00002.safetensors" })]; f.Format == nil || f.Format.TensorCount != 3 {
		t.Fatalf("shard 2: %+v", f)
	}

	// Pull through kubo and through the gateway: byte-identical, with the marker last.
	for _, src := range []release.Source{n.src(), release.Gateway{Base: n.k.GatewayURL()}} {
		out := t.TempDir()
		res, err := release.Pull(ctx, src, pub.CID, pub.Digest, out, release.PullOptions{VersionID: 3})
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		sameTree(t, dir, out)
		if m, err := release.IsComplete(out); err != nil || m == nil || m.Files != 6 || m.VersionID != 3 || m.Kind != "directory" {
			t.Fatalf("marker %+v %v", m, err)
		}
		if got, _ := os.ReadFile(filepath.Join(out, modeldao.ManifestName)); !bytes.Equal(got, enc) {
			t.Fatal("the pulled manifest differs")
		}
		if _, err := os.Stat(filepath.Join(out, release.PullWorkDir)); !os.IsNotExist(err) {
			t.Fatalf("work dir left: %v", err)
		}
		// Pulling again keeps every verified file.
		if res, err = release.Pull(ctx, src, pub.CID, pub.Digest, out, release.PullOptions{}); err != nil || res.Reused != 6 {
			t.Fatalf("second pull: %+v %v", res, err)
		}
		// A pulled release can be published again: the same release.
		if again, err := release.Publish(ctx, n.api, out, nil); err != nil || again.CID != pub.CID {
			t.Fatalf("republish of a pull: %v %v", again, err)
		}
	}

	// Restart: nothing is read again; a changed file is.
	again, err := release.Publish(ctx, n.api, dir, nil)
	if err != nil || again.CID != pub.CID || again.Digest != pub.Digest || again.Reused != 6 {
		t.Fatalf("re-run: %+v %v", again, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"changed":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	changed, err := release.Publish(ctx, n.api, dir, nil)
	if err != nil || changed.Reused != 5 || changed.Digest == pub.Digest {
		t.Fatalf("changed: %+v %v", changed, err)
	}
	if _, err := release.Verify(ctx, n.src(), changed.CID, changed.Digest, nil); err != nil {
		t.Fatal(err)
	}
}

func TestTamperedReleases(t *testing.T) {
	ctx := context.Background()
	n := startKubo(t)
	dir, _ := demo(t)
	pub, err := release.Publish(ctx, n.api, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	shard := "model-00001-of-00002.safetensors"
	orig, _ := os.ReadFile(filepath.Join(dir, shard))
	evil := bytes.Clone(orig)
	evil[len(evil)-1] ^= 1
	evilCID := n.add(evil)
	tampered := n.edit(pub.CID, func(d string) {
		n.mfs("files/rm", d+"/"+shard)
		n.mfs("files/cp", "/ipfs/"+evilCID, d+"/"+shard)
	})
	missing := n.edit(pub.CID, func(d string) { n.mfs("files/rm", d+"/config.json") })
	gw := release.Gateway{Base: n.k.GatewayURL()}
	for _, c := range []struct {
		name, root string
		want       common.Hash
		msg        string
	}{
		{"tampered file", tampered, pub.Digest, `file "` + shard + `": sha256`},
		{"missing file", missing, pub.Digest, `file "config.json": listed in the manifest but missing`},
		{"wrong manifest", pub.CID, common.Hash{7}, "does not match the digest on chain"},
	} {
		_, err := release.Verify(ctx, n.src(), c.root, c.want, nil)
		if err == nil || !strings.Contains(err.Error(), c.msg) || modeldao.ErrorCode(err) != modeldao.EINVALID {
			t.Errorf("%s: Verify: %v, want EINVALID with %q", c.name, err, c.msg)
		}
		for _, src := range []release.Source{n.src(), gw} {
			out := t.TempDir()
			_, err := release.Pull(ctx, src, c.root, c.want, out, release.PullOptions{})
			if err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("%s: Pull from %s: %v, want %q", c.name, src, err, c.msg)
			}
			if m, _ := release.IsComplete(out); m != nil {
				t.Errorf("%s: a failed pull left a completion marker", c.name)
			}
			if _, err := os.Stat(filepath.Join(out, shard)); c.name == "tampered file" && !os.IsNotExist(err) {
				t.Errorf("the tampered shard was moved into place: %v", err)
			}
		}
	}
	var fe *release.FileError
	_, err = release.Verify(ctx, n.src(), tampered, pub.Digest, nil)
	if !errors.As(err, &fe) || fe.Path != shard {
		t.Fatalf("FileError: %v", err)
	}
}

// cutter is a transport that cuts the body of the first response for path after n bytes,
// and records the Range headers it saw.
type cutter struct {
	mu     sync.Mutex
	path   string
	n      int64
	cut    bool
	ranges []string
}

func (c *cutter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	c.mu.Lock()
	defer c.mu.Unlock()
	if strings.HasSuffix(req.URL.Path, c.path) {
		c.ranges = append(c.ranges, req.Header.Get("Range"))
		if err == nil && !c.cut {
			c.cut = true
			resp.Body = &cutBody{r: io.LimitReader(resp.Body, c.n), c: resp.Body}
		}
	}
	return resp, err
}

type cutBody struct {
	r io.Reader
	c io.Closer
}

func (b *cutBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}
func (b *cutBody) Close() error { return b.c.Close() }

func TestPullResumes(t *testing.T) {
	ctx := context.Background()
	n := startKubo(t)
	dir, _ := demo(t)
	pub, err := release.Publish(ctx, n.api, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	shard := "model-00002-of-00002.safetensors"
	cut := &cutter{path: shard, n: 100 << 10}
	gw := release.Gateway{Base: n.k.GatewayURL(), Client: &http.Client{Transport: cut}}
	out := t.TempDir()
	_, err = release.Pull(ctx, gw, pub.CID, pub.Digest, out, release.PullOptions{})
	if err == nil || modeldao.ErrorCode(err) != modeldao.EUNAVAILABLE || !strings.Contains(err.Error(), shard) {
		t.Fatalf("cut download: %v", err)
	}
	if m, _ := release.IsComplete(out); m != nil {
		t.Fatal("an interrupted pull left a completion marker")
	}
	if _, err := os.Stat(filepath.Join(out, shard)); !os.IsNotExist(err) {
		t.Fatalf("a partial shard is in place: %v", err)
	}
	res, err := release.Pull(ctx, gw, pub.CID, pub.Digest, out, release.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed != 1 || cut.ranges[len(cut.ranges)-1] != "bytes=102400-" {
		t.Fatalf("resumed %d, ranges %q", res.Resumed, cut.ranges)
	}
	sameTree(t, dir, out)

	// Through kubo: a partial download left by an earlier run continues at its offset.
	out2 := t.TempDir()
	f, _ := release.Walk(dir)
	full, _ := os.ReadFile(f[slices.IndexFunc(f, func(f release.LocalFile) bool { return f.Path == shard })].Abs)
	m, _ := pub.Manifest.File(shard)
	_ = os.MkdirAll(filepath.Join(out2, release.PullWorkDir), 0o755)
	if err := os.WriteFile(filepath.Join(out2, release.PullWorkDir, m.SHA256+".part"), full[:len(full)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	if res, err := release.Pull(ctx, n.src(), pub.CID, pub.Digest, out2, release.PullOptions{}); err != nil || res.Resumed != 1 {
		t.Fatalf("kubo resume: %+v %v", res, err)
	}
	sameTree(t, dir, out2)
}

func TestSingleFileRelease(t *testing.T) {
	ctx := context.Background()
	n := startKubo(t)
	data := bytes.Repeat([]byte("weights "), 100000)
	c := n.add(data)
	want := common.Hash(sha256.Sum256(data))
	if kind, err := release.Inspect(ctx, n.src(), c); err != nil || kind != release.KindFile {
		t.Fatalf("Inspect: %v %v", kind, err)
	}
	if s, err := release.Verify(ctx, n.src(), c, want, nil); err != nil || s.Directory || s.TotalSize != int64(len(data)) {
		t.Fatalf("Verify: %+v %v", s, err)
	}
	out := t.TempDir()
	if _, err := release.Pull(ctx, release.Gateway{Base: n.k.GatewayURL()}, c, want, out, release.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(out, release.SingleFileName)); !bytes.Equal(got, data) {
		t.Fatal("single file differs")
	}
	if _, err := release.Pull(ctx, n.src(), c, common.Hash{1}, t.TempDir(), release.PullOptions{}); err == nil || !strings.Contains(err.Error(), "the digest on chain is") {
		t.Fatalf("wrong digest: %v", err)
	}
}
