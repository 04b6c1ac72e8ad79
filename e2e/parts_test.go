package e2e

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao/safetensors"
)

// The parts of the mission that a user sees besides the registry: a release directory as a
// publisher has it, a webhook receiver as an integrator writes it, a live query as a
// frontend reads it. Each is written here from the formats' definitions, not with the
// product's helpers, so that the mission checks the product against them.

// testRelease is a small Hugging Face style release written by the test: safetensors
// shards of several dtypes, their index, config.json, tokenizer.json and a README.md card,
// plus what a release leaves out (.git, __pycache__).
type testRelease struct {
	dir     string
	files   map[string][]byte // path ('/'-separated) → bytes, of what the release contains
	tensors map[string]int    // shard path → tensor count
	params  map[string]int64  // shard path → parameter count
	dtypes  map[string][]string
}

func (r *testRelease) paths() []string {
	var ps []string
	for p := range r.files {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

func (r *testRelease) totals() (tensors int, params int64, dtypes []string) {
	for p, n := range r.tensors {
		tensors += n
		params += r.params[p]
		for _, d := range r.dtypes[p] {
			if !slices.Contains(dtypes, d) {
				dtypes = append(dtypes, d)
			}
		}
	}
	slices.Sort(dtypes)
	return
}

func writeTestRelease(t *testing.T, dir string) *testRelease {
	t.Helper()
	r := &testRelease{dir: dir, files: map[string][]byte{}, tensors: map[string]int{}, params: map[string]int64{}, dtypes: map[string][]string{}}
	put := func(p string, b []byte, contained bool) {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if contained {
			r.files[p] = b
		}
	}
	shards := [][]safetensors.Tensor{
		{{Name: "embed.weight", Dtype: "F16", Shape: []uint64{256, 64}}, {Name: "embed.norm", Dtype: "F32", Shape: []uint64{64}}},
		{{Name: "layers.0.attn.weight", Dtype: "BF16", Shape: []uint64{64, 192}}, {Name: "layers.0.mlp.weight", Dtype: "F16", Shape: []uint64{64, 256}},
			{Name: "layers.0.mlp.bias", Dtype: "F16", Shape: []uint64{256}}},
		{{Name: "head.weight", Dtype: "F32", Shape: []uint64{64, 3}}, {Name: "head.scale", Dtype: "I8", Shape: []uint64{3}}},
	}
	weightMap := map[string]string{}
	var dataBytes uint64
	for i, ts := range shards {
		name := fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(shards))
		hdr, err := safetensors.Encode(ts, map[string]string{"format": "pt"})
		if err != nil {
			t.Fatal(err)
		}
		data := make([]byte, safetensors.DataSize(ts))
		_, _ = rand.Read(data)
		put(name, append(hdr, data...), true)
		dataBytes += uint64(len(data))
		r.tensors[name] = len(ts)
		for _, x := range ts {
			n := int64(1)
			for _, d := range x.Shape {
				n *= int64(d)
			}
			r.params[name] += n
			if !slices.Contains(r.dtypes[name], x.Dtype) {
				r.dtypes[name] = append(r.dtypes[name], x.Dtype)
			}
			weightMap[x.Name] = name
		}
		slices.Sort(r.dtypes[name])
	}
	js := func(v any) []byte {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	put("model.safetensors.index.json", js(map[string]any{"metadata": map[string]any{"total_size": dataBytes}, "weight_map": weightMap}), true)
	put("config.json", js(map[string]any{"architectures": []string{"SentimentClassifier"}, "hidden_size": 64, "num_labels": 3, "torch_dtype": "float16"}), true)
	put("tokenizer.json", js(map[string]any{"version": "1.0", "model": map[string]any{"type": "WordPiece", "vocab": map[string]int{"[PAD]": 0, "[UNK]": 1, "good": 2, "bad": 3}}}), true)
	put("README.md", []byte("---\nlicense: apache-2.0\n---\n# acme/sentiment\nA small sentiment classifier: three shards, negative/neutral/positive.\n"), true)
	// What a working copy holds besides the release: never published.
	put(".git/HEAD", []byte("ref: refs/heads/main\n"), false)
	put("__pycache__/train.cpython-312.pyc", []byte{0x0d, 0x0a}, false)
	return r
}

// sameTree fails unless dir holds exactly the release's files, byte for byte, besides the
// names in extra.
func (r *testRelease) sameTree(t *testing.T, dir string, extra ...string) {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if slices.Contains(extra, rel) {
			seen[rel] = true
			return nil
		}
		want, ok := r.files[rel]
		if !ok {
			return fmt.Errorf("%s holds %s, which the release does not contain", dir, rel)
		}
		got, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if string(got) != string(want) {
			return fmt.Errorf("%s: %d bytes, sha256 %x; the release's file has %d bytes, sha256 %x", rel, len(got), sha256.Sum256(got), len(want), sha256.Sum256(want))
		}
		seen[rel] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(r.paths(), extra...) {
		if !seen[p] {
			t.Fatalf("%s lacks %s", dir, p)
		}
	}
}

// delivery is one request a webhook receiver got.
type delivery struct {
	header http.Header
	body   []byte
}

// receiver is an integrator's webhook endpoint: it records every POST and answers 204.
type receiver struct {
	*httptest.Server
	mu  sync.Mutex
	got []delivery
}

func startReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil || r.Method != http.MethodPost {
			http.Error(w, "POST a JSON body", http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		rc.got = append(rc.got, delivery{header: r.Header.Clone(), body: b})
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// checkSignature is what the README tells a receiver to do, written out: the signature
// header is "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + raw body), and the
// timestamp must be recent.
func checkSignature(d delivery, secret string, now time.Time) error {
	ts := d.header.Get("X-ModelDAO-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp header %q: %v", ts, err)
	}
	if age := now.Sub(time.Unix(sec, 0)); age < -time.Minute || age > 5*time.Minute {
		return fmt.Errorf("timestamp %s is %s from now", ts, age)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(d.body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if got := d.header.Get("X-ModelDAO-Signature"); !hmac.Equal([]byte(got), []byte(want)) {
		return fmt.Errorf("signature %q, HMAC-SHA256 with the secret gives %q", got, want)
	}
	return nil
}

// liveStream reads a live query's server-sent events as a frontend does: the data of each
// "next" event.
type liveStream struct {
	events chan string
	cancel context.CancelFunc
}

func openLiveQuery(t *testing.T, base, query string, vars map[string]any) *liveStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	v, _ := json.Marshal(vars)
	u := base + "/graphql/live?query=" + url.QueryEscape(query) + "&variables=" + url.QueryEscape(string(v))
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("live query: %s %s: %s", resp.Status, resp.Header.Get("Content-Type"), b)
	}
	ls := &liveStream{events: make(chan string, 64), cancel: cancel}
	go func() {
		defer resp.Body.Close()
		defer close(ls.events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && event == "next":
				ls.events <- strings.TrimPrefix(line, "data: ")
			case line == "":
				event = ""
			}
		}
	}()
	t.Cleanup(cancel)
	return ls
}

// next returns the data of the next event, decoded into out; false when none came within
// wait.
func (ls *liveStream) next(t *testing.T, wait time.Duration, out any) bool {
	t.Helper()
	select {
	case e, ok := <-ls.events:
		if !ok {
			t.Fatal("the live query's stream ended")
		}
		if err := json.Unmarshal([]byte(e), out); err != nil {
			t.Fatalf("live query event %s: %v", e, err)
		}
		return true
	case <-time.After(wait):
		return false
	}
}

// noCache asks the API to compute every answer afresh: the response cache may keep a pin
// record that the pinner just changed for a few seconds.
type noCache struct{}

func (noCache) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Cache-Control", "no-cache")
	return http.DefaultTransport.RoundTrip(r)
}

// note is a webhook event as a receiver expects it: its type and version.
type note struct {
	typ     string
	version uint64
}

// checkDeliveries checks everything a receiver got: each request signed with secret, about
// model, with its id as the idempotency key, and the events in order.
func checkDeliveries(t *testing.T, got []delivery, secret string, model common.Hash, want ...note) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("the receiver got %d requests, want %d (%v)", len(got), len(want), want)
	}
	seen := map[string]bool{}
	for i, d := range got {
		if err := checkSignature(d, secret, time.Now()); err != nil {
			t.Fatalf("delivery %d: %v\n%s", i, err, d.body)
		}
		var n struct {
			ID, Type string
			Models   []common.Hash
			Data     struct{ VersionID uint64 }
		}
		if err := json.Unmarshal(d.body, &n); err != nil {
			t.Fatalf("delivery %d: %v\n%s", i, err, d.body)
		}
		if n.Type != want[i].typ || n.Data.VersionID != want[i].version || !slices.Contains(n.Models, model) || n.ID == "" || seen[n.ID] ||
			d.header.Get("X-ModelDAO-Event-Id") != n.ID || d.header.Get("X-ModelDAO-Event") != n.Type {
			t.Fatalf("delivery %d: %s with headers %v; want %s of version %d", i, d.body, d.header, want[i].typ, want[i].version)
		}
		seen[n.ID] = true
	}
}
