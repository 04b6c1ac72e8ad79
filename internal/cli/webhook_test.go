package cli

import (
	"strings"
	"testing"

	"github.com/modeldao/modeldao/infra/redisserver"
)

// The webhook commands against a real Redis: the secret is printed once at creation and only
// a hint of it afterwards; bad input says what to give; remove removes.
func TestWebhookCommands(t *testing.T) {
	srv := redisserver.StartT(t)
	e := env{"REDIS_URL": srv.URL(), "CHAIN_ID": "1337",
		"TOKEN_ADDRESS": "0x00000000000000000000000000000000000000a1", "GOVERNOR_ADDRESS": "0x00000000000000000000000000000000000000a2",
		"TIMELOCK_ADDRESS": "0x00000000000000000000000000000000000000a3", "REGISTRY_ADDRESS": "0x00000000000000000000000000000000000000a4"}
	var added struct{ ID, URL, Secret string }
	model := "0x" + strings.Repeat("0d", 32)
	ok(t, e, &added, "webhook", "add", "https://hooks.example.org/modeldao", "--events", "version.approved,vote.cast", "--model", model, "--json")
	if added.ID == "" || !strings.HasPrefix(added.Secret, "whsec_") {
		t.Fatalf("webhook add printed %+v", added)
	}
	var rows []webhookRow
	r := ok(t, e, &rows, "webhook", "list", "--json")
	if len(rows) != 1 || rows[0].ID != added.ID || strings.Join(rows[0].Events, ",") != "version.approved,vote.cast" || rows[0].Model != model {
		t.Fatalf("webhook list: %+v", rows)
	}
	if strings.Contains(r.stdout, added.Secret) || strings.Contains(r.stdout, added.Secret[6:20]) || rows[0].Secret == "" {
		t.Fatalf("webhook list shows the secret:\n%s", r.stdout)
	}
	fails(t, e, ExitUsage, `unknown event "vote.casted"`, "webhook", "add", "https://x.example.org", "--events", "vote.casted")
	fails(t, e, ExitUsage, "not an absolute http(s) URL", "webhook", "add", "ftp://x.example.org")
	fails(t, e, ExitUsage, "not a model id", "webhook", "add", "https://x.example.org", "--model", "llama")
	r = ok(t, e, nil, "notify", "--once")
	if !strings.Contains(r.stdout, "0 events fanned out") {
		t.Fatalf("notify --once:\n%s", r)
	}
	ok(t, e, nil, "webhook", "remove", added.ID)
	fails(t, e, ExitFailure, "no webhook", "webhook", "remove", added.ID)
	if r := ok(t, e, nil, "webhook", "list"); !strings.Contains(r.stdout, "No webhooks") {
		t.Fatalf("after remove:\n%s", r.stdout)
	}
}
