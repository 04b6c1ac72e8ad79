package cli

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/devchain"
	"github.com/modeldao/modeldao/graphql"
	"github.com/modeldao/modeldao/indexer"
	"github.com/modeldao/modeldao/infra/redisserver"
	"github.com/modeldao/modeldao/internal/scenario"
	"github.com/modeldao/modeldao/store"
)

// mineWhilePending mines a block whenever the chain holds transactions, as `modeldao dev`
// does, so that the CLI's transactions are mined.
func mineWhilePending(t *testing.T, c *devchain.Chain) {
	t.Helper()
	rc, err := rpc.Dial(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			var st struct {
				Pending hexutil.Uint `json:"pending"`
			}
			if err := rc.CallContext(ctx, &st, "txpool_status"); err == nil && st.Pending > 0 {
				c.Commit()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		rc.Close()
	})
}

// TestProposeRevokeStale runs `modeldao propose revoke --stale` against a chain, its index
// and the API: nothing stale is refused; with every audit too old (--max-audit-age 0) both
// approvals are listed, proposed in one proposal with one revokeVersion call each and the
// reasons as a table; once the proposal is executed the versions are REVOKED and nothing
// is stale any more.
func TestProposeRevokeStale(t *testing.T) {
	ctx := context.Background()
	s, err := scenario.New(ctx, 23, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close) // after the miner stops (cleanups run last first)
	for i := 1; i <= 3; i++ {
		w := fmt.Sprint("stale-weights", i)
		v, err := s.SubmitVersion(ctx, scenario.Publisher1, "acme/stale", scenario.FakeCID(w), sha256.Sum256([]byte(w)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Audit(ctx, v, true); err != nil {
			t.Fatal(err)
		}
	}
	// v1 and v2 approved; v3 stays SUBMITTED (never stale).
	if _, err := s.DAO.Pass(ctx, "# Approve two", []int{0, 1, 2}, contracts.ApproveVersion(1, s.Policy, s.Audits[1]), contracts.ApproveVersion(2, s.Policy, s.Audits[2])); err != nil {
		t.Fatal(err)
	}
	srv := redisserver.StartT(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	d := s.DAO.Deployment
	st := store.New(rdb, store.NewKeys(d.ChainID, d.Governor), quietLog)
	ix, err := indexer.New(indexer.Config{Chain: s.Chain.Client, Store: st, Deployment: d, Log: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	catchUp := func() {
		t.Helper()
		if _, err := ix.CatchUp(ctx); err != nil {
			t.Fatal(err)
		}
	}
	catchUp()
	srvAPI := httptest.NewServer(graphql.NewHandler(st, graphql.Options{ChainID: d.ChainID, Logger: quietLog, ResponseCacheTTL: -1}))
	defer srvAPI.Close()
	api := client.New(srvAPI.URL+"/graphql", nil)
	dep := filepath.Join(t.TempDir(), "deployment.json")
	if err := d.WriteFile(dep); err != nil {
		t.Fatal(err)
	}
	e := env{"ETH_RPC_URL": s.Chain.URL(), "MODELDAO_API_URL": srvAPI.URL + "/graphql", "DEPLOYMENT_FILE": dep}
	mineWhilePending(t, s.Chain)

	// At the default age (about a year of blocks) nothing is stale.
	fails(t, e, ExitFailure, "no approval is stale: there is nothing to revoke", "propose", "revoke", "--stale", "--dev-account", "0")
	if r := ok(t, e, nil, "propose", "revoke", "--stale", "--dry-run"); !strings.Contains(r.stdout, "No approval is stale.") {
		t.Errorf("dry run with nothing stale: %s", r)
	}
	fails(t, e, ExitUsage, "give no version", "propose", "revoke", "1", "--stale", "--dev-account", "0")
	fails(t, e, ExitUsage, "--dry-run goes with --stale", "propose", "revoke", "1", "--reason", "x", "--dry-run")
	fails(t, e, ExitUsage, "--max-audit-age is -5", "propose", "revoke", "--stale", "--max-audit-age", "-5")

	// Every audit older than 0 blocks: both approvals are stale.
	var dry staleRevocation
	ok(t, e, &dry, "propose", "revoke", "--stale", "--dry-run", "--max-audit-age", "0", "--json")
	if len(dry.Stale) != 2 || dry.Stale[0].VersionID != 1 || dry.Stale[1].VersionID != 2 {
		t.Fatalf("dry run: %+v", dry)
	}
	for _, v := range dry.Stale {
		if len(v.Reasons) != 1 || v.Reasons[0].Kind != "AUDIT_TOO_OLD" || v.Reasons[0].AuditID != s.Audits[v.VersionID] || v.Reasons[0].MaxAuditAgeBlocks != 0 || v.Reasons[0].AuditAgeBlocks <= 0 {
			t.Errorf("dry run, version %d: %+v", v.VersionID, v)
		}
	}
	var res proposalResult
	if r := ok(t, e, &res, "propose", "revoke", "--stale", "--max-audit-age", "0", "--dev-account", "0", "--json"); !strings.Contains(r.stderr, "2 stale approval(s):") {
		t.Errorf("the stale approvals are not listed while proposing: %s", r)
	}
	if res.Title != "Revoke 2 stale approval(s)" {
		t.Errorf("title %q", res.Title)
	}
	for _, row := range []string{
		"| version | model | policy | audit | reason | detail |",
		fmt.Sprintf("| 1 | acme/stale v1 | 1 | %d | AUDIT_TOO_OLD | audit %d (block ", s.Audits[1], s.Audits[1]),
		fmt.Sprintf("| 2 | acme/stale v2 | 1 | %d | AUDIT_TOO_OLD | audit %d (block ", s.Audits[2], s.Audits[2]),
	} {
		if !strings.Contains(res.Description, row) {
			t.Errorf("no %q in the description:\n%s", row, res.Description)
		}
	}
	catchUp()
	p, err := api.Proposal(ctx, res.ProposalID, "", client.First(5))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Actions) != 2 {
		t.Fatalf("actions %+v", p.Actions)
	}
	for i, a := range p.Actions {
		if a.Method != "revokeVersion" || a.ModelVersionID != uint64(i+1) || !strings.HasPrefix(a.Args["reason"], "stale approval: audit ") {
			t.Errorf("action %d: %+v", i, a)
		}
	}

	// Through governance with the CLI: vote, queue, execute.
	s.Chain.Mine(int(s.DAO.Config.VotingDelay) + 1)
	for _, who := range []string{"0", "1", "2"} {
		ok(t, e, nil, "vote", res.ProposalID, "for", "--dev-account", who)
	}
	if err := s.DAO.EndVoting(); err != nil {
		t.Fatal(err)
	}
	ok(t, e, nil, "queue", res.ProposalID, "--dev-account", "0")
	if err := s.Chain.AdvanceTime(time.Duration(s.DAO.Config.TimelockDelay+1) * time.Second); err != nil {
		t.Fatal(err)
	}
	ok(t, e, nil, "execute", res.ProposalID, "--dev-account", "0")
	catchUp()
	for _, id := range []uint64{1, 2} {
		v, err := api.ModelVersion(ctx, id, client.First(1))
		if err != nil {
			t.Fatal(err)
		}
		if v.Status != "REVOKED" {
			t.Errorf("version %d after the proposal: %s", id, v.Status)
		}
	}
	fails(t, e, ExitFailure, "no approval is stale", "propose", "revoke", "--stale", "--max-audit-age", "0", "--dev-account", "0")
}
