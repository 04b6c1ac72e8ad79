package kubo

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rpc POSTs to the daemon's RPC API and returns the body.
func rpc(t *testing.T, s *Server, path, contentType string, body io.Reader) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.APIURL()+"/api/v0/"+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /api/v0/%s: %v", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/v0/%s: %s: %s", path, resp.Status, data)
	}
	return data
}

func add(t *testing.T, s *Server, content string) string {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "hello.txt")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(fw, content)
	mw.Close()
	var out struct{ Hash string }
	if err := json.Unmarshal(rpc(t, s, "add?cid-version=1&pin=true", mw.FormDataContentType(), &body), &out); err != nil {
		t.Fatal(err)
	}
	if out.Hash == "" {
		t.Fatal("add returned no CID")
	}
	return out.Hash
}

func TestDaemon(t *testing.T) {
	t.Parallel()
	s := StartT(t)

	if !strings.HasPrefix(s.APIAddr(), "/ip4/127.0.0.1/tcp/") || !strings.HasPrefix(s.APIURL(), "http://127.0.0.1:") {
		t.Errorf("APIAddr() = %q, APIURL() = %q", s.APIAddr(), s.APIURL())
	}
	var id struct {
		ID           string
		AgentVersion string
	}
	if err := json.Unmarshal(rpc(t, s, "id", "", nil), &id); err != nil {
		t.Fatal(err)
	}
	peer, err := s.PeerID()
	if err != nil {
		t.Fatal(err)
	}
	if id.ID == "" || id.ID != peer {
		t.Errorf("id = %q, PeerID() = %q", id.ID, peer)
	}
	if !strings.Contains(id.AgentVersion, "kubo/0.42") {
		t.Errorf("AgentVersion = %q, want kubo/0.42.x", id.AgentVersion)
	}

	cid := add(t, s, "hello modeldao\n")
	if got := string(rpc(t, s, "cat?arg="+cid, "", nil)); got != "hello modeldao\n" {
		t.Fatalf("cat = %q", got)
	}
	resp, err := http.Get(s.GatewayURL() + "/ipfs/" + cid)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(got) != "hello modeldao\n" {
		t.Fatalf("gateway GET = %s %q", resp.Status, got)
	}

	// Offline by default: fetching something absent fails at once.
	start := time.Now()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost,
		s.APIURL()+"/api/v0/cat?arg=bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && !bytes.Contains(body, []byte("not found")) {
			t.Errorf("cat of an absent block: %s %q", resp.Status, body)
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cat of an absent block took %v offline", d)
	}

	// Restart: same repository, same ports, content still there.
	api, gw := s.APIURL(), s.GatewayURL()
	if err := s.Restart(t.Context()); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if s.APIURL() != api || s.GatewayURL() != gw {
		t.Fatalf("Restart moved the daemon: %s %s -> %s %s", api, gw, s.APIURL(), s.GatewayURL())
	}
	if got := string(rpc(t, s, "cat?arg="+cid, "", nil)); got != "hello modeldao\n" {
		t.Fatalf("cat after Restart = %q", got)
	}

	// Stopped means the API is gone; Restart after a crash works too.
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Post(s.APIURL()+"/api/v0/id", "", nil); err == nil {
		t.Fatal("API answered after Stop")
	}
	if err := s.Restart(t.Context()); err != nil {
		t.Fatalf("Restart after Stop: %v", err)
	}
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(t.Context()); err != nil {
		t.Fatalf("Restart after Kill: %v", err)
	}
	rpc(t, s, "id", "", nil)
}

func TestOnlineAndConfig(t *testing.T) {
	t.Parallel()
	s := StartT(t, Options{
		Online: true,
		Config: map[string]any{"Datastore.StorageMax": "1GB"},
	})
	var cfg struct{ Value string }
	if err := json.Unmarshal(rpc(t, s, "config?arg=Datastore.StorageMax", "", nil), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Value != "1GB" {
		t.Errorf("Datastore.StorageMax = %q", cfg.Value)
	}
	if strings.Contains(s.Output(), "running in offline mode") {
		t.Errorf("Online daemon says it runs offline:\n%s", s.Output())
	}
	add(t, s, "online")
}

func TestMissingBinary(t *testing.T) {
	// Not parallel: changes the environment and working directory.
	t.Setenv("MODELDAO_IPFS_BIN", "")
	t.Setenv("PATH", t.TempDir())
	t.Chdir(t.TempDir()) // outside the repository, so no .bin/ipfs
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	want := `ipfs (kubo) not found: run "make tools" (builds .bin/ipfs)`
	if _, err := Start(ctx, Options{}); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to say %s", err, want)
	}
}
