package config_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/modeldao/modeldao/config"
)

// TestIPFSNodes: the pinner's list of kubo nodes, IPFS_API_URLS, with IPFS_API_URL as a list
// of one.
func TestIPFSNodes(t *testing.T) {
	api := env{"REDIS_URL": "redis://r:6379", "CHAIN_ID": "1", "GOVERNOR_ADDRESS": governor}
	cfg := load(t, api.with("IPFS_API_URL", "http://127.0.0.1:5001"), config.ForPinner)
	if !slices.Equal(cfg.IPFSAPIURLs, []string{"http://127.0.0.1:5001"}) {
		t.Fatalf("IPFS_API_URL alone: nodes %q", cfg.IPFSAPIURLs)
	}
	cfg = load(t, api.with("IPFS_API_URLS", " http://10.0.1.5:5001, /ip4/10.0.2.5/tcp/5001 ,"), config.ForPinner)
	if !slices.Equal(cfg.IPFSAPIURLs, []string{"http://10.0.1.5:5001", "/ip4/10.0.2.5/tcp/5001"}) || cfg.IPFSAPIURL != "http://10.0.1.5:5001" {
		t.Fatalf("IPFS_API_URLS: nodes %q, IPFSAPIURL %q", cfg.IPFSAPIURLs, cfg.IPFSAPIURL)
	}
	cfg = load(t, api.with("IPFS_API_URLS", "http://a:5001,http://b:5001", "IPFS_API_URL", "http://c:5001"), config.ForPinner)
	if len(cfg.IPFSAPIURLs) != 2 || cfg.IPFSAPIURL != "http://c:5001" {
		t.Fatalf("both set: nodes %q (the list wins for the pinner), IPFSAPIURL %q (publish keeps its own)", cfg.IPFSAPIURLs, cfg.IPFSAPIURL)
	}
	wantIn(t, loadErr(t, api.with("IPFS_API_URLS", "http://a:5001,ftp://b"), config.ForPinner, "IPFS_API_URLS"),
		`IPFS_API_URLS (node 2)="ftp://b": want http://host:5001`)
	msg := loadErr(t, api.with("IPFS_API_URLS", "http://u:secret@a:5001,http://u:secret@a:5001,ftp://u:secret@b"), config.ForPinner, "IPFS_API_URLS", "IPFS_API_URLS")
	wantIn(t, msg, "IPFS_API_URLS (node 2) lists the same node twice", "IPFS_API_URLS (node 3)")
	if strings.Contains(msg, "secret") {
		t.Fatalf("message shows a password: %s", msg)
	}
	wantIn(t, loadErr(t, api.with("IPFS_API_URLS", " , "), config.ForPinner, "IPFS_API_URLS", "IPFS_API_URL"), "IPFS_API_URLS lists no node")
}
