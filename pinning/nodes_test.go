package pinning_test

import (
	"strings"
	"testing"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/pinning"
)

func TestNodeNameHidesCredentials(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:5001":  "http://127.0.0.1:5001",
		"http://127.0.0.1:5001/": "http://127.0.0.1:5001",
		"https://pinner:s3cret@kubo.internal:5001/?k=s3cret#s3cret": "https://kubo.internal:5001",
		"/ip4/10.0.0.1/tcp/5001":                                    "/ip4/10.0.0.1/tcp/5001",
	} {
		if got := pinning.NodeName(in); got != want {
			t.Errorf("NodeName(%q) = %q, want %q", in, got, want)
		}
	}
	nodes, err := pinning.ParseNodes(" http://a:5001 ,, https://u:s3cret@b:5001 ", nil)
	if err != nil || strings.Join(pinning.NodeNames(nodes), " ") != "http://a:5001 https://b:5001" {
		t.Fatalf("ParseNodes: %v, %v", pinning.NodeNames(nodes), err)
	}
	for _, bad := range []string{" , ", "ftp://u:s3cret@x"} {
		_, err := pinning.ParseNodes(bad, nil)
		if modeldao.ErrorCode(err) != modeldao.EINVALID || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseNodes(%q): %v, want EINVALID without the password", bad, err)
		}
	}
	twice, _ := pinning.ParseNodes("http://a:5001,http://u:p@a:5001/", nil)
	if _, err := pinning.NewReplicated(twice, nil, pinning.DefaultConfig()); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Fatalf("the same node twice: %v", err)
	}
}
