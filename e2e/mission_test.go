// Package e2e walks ModelDAO's mission across real processes: the dev chain serving
// JSON-RPC, redis-server, kubo, and the api, indexer and pinner Lambda binaries under the
// AWS Lambda Runtime Interface Emulator, queried with the typed Go client.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ipfs/boxo/path"
	"github.com/ipfs/go-cid"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/infra/kubo"
	"github.com/modeldao/modeldao/infra/lambdarie"
	"github.com/modeldao/modeldao/infra/redisserver"
	"github.com/modeldao/modeldao/internal/scenario"
	"github.com/modeldao/modeldao/pinning"
	"github.com/modeldao/modeldao/pull"
	"github.com/modeldao/modeldao/release"
	"github.com/modeldao/modeldao/store"
)

// lambdaTransport turns HTTP requests of the GraphQL client into API Gateway v2 events
// for the api function under the emulator, and its answers back into HTTP responses.
type lambdaTransport struct{ fn *lambdarie.Server }

func (lt lambdaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	headers := map[string]string{"cache-control": "no-cache"} // see the pinner's writes at once
	for k, v := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: r.URL.Path, RawQueryString: r.URL.RawQuery,
		Headers: headers, Body: base64.StdEncoding.EncodeToString(body), IsBase64Encoded: true,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.Method, Path: r.URL.Path, Protocol: "HTTP/1.1", SourceIP: "127.0.0.1"},
		},
	}
	raw, _ := json.Marshal(ev)
	out, err := lt.fn.Invoke(r.Context(), raw)
	if err != nil {
		return nil, err
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return nil, fmt.Errorf("api function answered %q: %w", out, err)
	}
	b := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, _ = base64.StdEncoding.DecodeString(resp.Body)
	}
	h := http.Header{}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	return &http.Response{StatusCode: resp.StatusCode, Header: h, Body: io.NopCloser(bytes.NewReader(b)), Request: r}, nil
}

func invoke(t *testing.T, fn *lambdarie.Server, event string) map[string]any {
	t.Helper()
	out, err := fn.Invoke(context.Background(), []byte(event))
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, fn.Output())
	}
	var m map[string]any
	_ = json.Unmarshal(out, &m)
	return m
}

const scheduledEvent = `{"version":"0","id":"e2e","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-11-25T00:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/modeldao"],"detail":{}}`

// TestMission: a single-file version and a release directory approved in one proposal, the
// notifier function delivering the approvals (and later the revocation) to a real webhook
// receiver, the pinner function verifying every file of the release, a verified pull of it
// through the API, and the revocation of the other version unpinning only that one.
func TestMission(t *testing.T) {
	ctx := context.Background()
	s, err := scenario.New(ctx, 42, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rs := redisserver.StartT(t)
	ipfsd := kubo.StartT(t)
	d := s.DAO.Deployment
	env := map[string]string{
		"REDIS_URL": rs.URL(), "ETH_RPC_URL": s.Chain.URL(), "IPFS_API_URL": ipfsd.APIURL(),
		"CHAIN_ID": fmt.Sprint(d.ChainID), "TOKEN_ADDRESS": d.Token.Hex(), "GOVERNOR_ADDRESS": d.Governor.Hex(),
		"TIMELOCK_ADDRESS": d.Timelock.Hex(), "REGISTRY_ADDRESS": d.Registry.Hex(), "START_BLOCK": fmt.Sprint(d.Block),
		"POLL_INTERVAL": "100ms", "INDEXER_MARGIN": "2s", "MODELDAO_PIN_DRAIN_MARGIN": "2s", "MODELDAO_NOTIFY_REQUEST_TIMEOUT": "3s",
	}
	start := func(name string, timeout time.Duration) *lambdarie.Server {
		e := map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "modeldao-" + name}
		for k, v := range env {
			e[k] = v
		}
		return lambdarie.StartT(t, lambdarie.Options{Handler: lambdarie.BuildT(t, "github.com/modeldao/modeldao/functions/"+name), Env: e, Timeout: timeout})
	}
	api, indexerFn, pinner := start("api", 10*time.Second), start("indexer", 5*time.Second), start("pinner", 10*time.Second)
	notifier := start("notifier", 10*time.Second)
	gql := client.New("http://api.lambda/graphql", &http.Client{Transport: lambdaTransport{api}})

	// A publisher adds the weights to IPFS and submits the version on chain.
	ipfs, err := pinning.NewClient(ipfsd.APIURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	weights := make([]byte, 3<<20)
	_, _ = rand.Read(weights)
	weightsCID, digest, size, err := pinning.AddWeights(ctx, ipfs.HttpApi, bytes.NewReader(weights), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Only the pinner may keep the weights: drop the pin the publisher's add made.
	c, _ := cid.Decode(weightsCID)
	_ = ipfs.Pin().Rm(ctx, path.FromCid(c))
	version, err := s.SubmitVersion(ctx, scenario.Publisher1, "acme/sentiment", weightsCID, digest)
	if err != nil {
		t.Fatal(err)
	}
	// The next version is a release directory: safetensors shards, config, tokenizer, card.
	rel := writeTestRelease(t, filepath.Join(t.TempDir(), "acme-sentiment"))
	published, err := release.Publish(ctx, ipfs.HttpApi, rel.dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	relCID, _ := cid.Decode(published.CID)
	_ = ipfs.Pin().Rm(ctx, path.FromCid(relCID))
	dirVersion, err := s.SubmitVersion(ctx, scenario.Publisher1, "acme/sentiment", published.CID, published.Digest)
	if err != nil {
		t.Fatal(err)
	}

	// An integrator registers a webhook for the model's approvals and revocations; a real
	// receiver gets them from the notifier function.
	recv := startReceiver(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	defer rdb.Close()
	modelID := modeldao.ModelID("acme/sentiment")
	hook, err := store.New(rdb, store.NewKeys(d.ChainID, d.Governor), slog.New(slog.NewTextHandler(io.Discard, nil))).
		AddWebhook(ctx, modeldao.Webhook{URL: recv.URL, Events: []modeldao.NotificationType{modeldao.NoteVersionApproved, modeldao.NoteVersionRevoked}, Model: &modelID})
	if err != nil {
		t.Fatal(err)
	}

	// An auditor posts passing audits; the DAO approves both versions under the policy.
	audit, err := s.Audit(ctx, version, true)
	if err != nil {
		t.Fatal(err)
	}
	dirAudit, err := s.Audit(ctx, dirVersion, true)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.DAO.RegistryProposal("# Approve acme/sentiment\nThe audits passed the baseline policy.",
		contracts.ApproveVersion(version, s.Policy, audit), contracts.ApproveVersion(dirVersion, s.Policy, dirAudit))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DAO.Propose(ctx, 0, p); err != nil {
		t.Fatal(err)
	}
	for i, support := range []uint8{1, 1, 0, 2} {
		if _, err := s.DAO.Mined(ctx)(s.DAO.Governor.CastVoteWithReason(s.Chain.Opts(i), p.ID(), support, fmt.Sprintf("voter %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	s.DAO.EndVoting()
	if _, err := s.DAO.QueueAndExecute(ctx, p); err != nil {
		t.Fatal(err)
	}

	// The indexer function catches up within its invocation.
	rep := invoke(t, indexerFn, scheduledEvent)
	t.Logf("indexer: %v", rep)
	head, _ := s.Chain.Head(ctx)
	st, err := gql.IndexerStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.IndexedBlock != head.Number.Uint64() {
		t.Fatalf("indexed block %d, chain head %d", st.IndexedBlock, head.Number.Uint64())
	}

	// The API shows the version approved with its audit, the tallies and provenance.
	v, err := gql.ModelVersion(ctx, version, client.PageArgs{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != "APPROVED" || v.PolicyID != s.Policy || v.WeightsSHA256 != digest || v.WeightsCID != weightsCID {
		t.Fatalf("version as the API shows it: %+v", v.ModelVersion)
	}
	if len(v.Audits.Items) != 1 || !v.Audits.Items[0].Passed || v.Audits.Items[0].ID != audit || len(v.Audits.Items[0].Metrics) != 2 {
		t.Fatalf("audits: %+v", v.Audits.Items)
	}
	last := v.History[len(v.History)-1]
	if last.Status != "APPROVED" || last.ProposalID != p.ID().String() || last.AuditID != audit {
		t.Fatalf("approval in the history: %+v", last)
	}
	dv, err := gql.ModelVersion(ctx, dirVersion, client.PageArgs{})
	if err != nil {
		t.Fatal(err)
	}
	if dv.Status != "APPROVED" || dv.WeightsCID != published.CID || dv.WeightsSHA256 != published.Digest {
		t.Fatalf("the release directory's version as the API shows it: %+v", dv.ModelVersion)
	}

	// The notifier function delivers both approvals, in order, signed with the secret.
	invoke(t, notifier, scheduledEvent)
	checkDeliveries(t, recv.deliveries(), hook.Secret, modelID, note{"version.approved", version}, note{"version.approved", dirVersion})

	prop, err := gql.Proposal(ctx, p.ID().String(), "WEIGHT", client.PageArgs{})
	if err != nil {
		t.Fatal(err)
	}
	votes, _ := s.DAO.Governor.ProposalVotes(nil, p.ID())
	if prop.State != "EXECUTED" || prop.Tally.For.Cmp(votes.ForVotes) != 0 || prop.Tally.Against.Cmp(votes.AgainstVotes) != 0 || prop.Tally.Abstain.Cmp(votes.AbstainVotes) != 0 {
		t.Fatalf("proposal: state %s tally %+v; governor says %v/%v/%v", prop.State, prop.Tally, votes.ForVotes, votes.AgainstVotes, votes.AbstainVotes)
	}
	if prop.Created.BlockNumber == 0 || prop.Created.TxHash == ([32]byte{}) || len(prop.Votes.Items) != 4 {
		t.Fatalf("provenance %+v, %d votes", prop.Created, len(prop.Votes.Items))
	}

	// The pinner pins the weights, digest verified; kubo's pin list shows them.
	invoke(t, pinner, scheduledEvent)
	v, err = gql.ModelVersion(ctx, version, client.PageArgs{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Pin == nil || v.Pin.Status != "PINNED" || v.Pin.Size < uint64(size) {
		t.Fatalf("pin after the pinner ran: %+v", v.Pin)
	}
	if !pinned(t, ipfs, c) {
		t.Fatal("kubo does not list the weights as pinned")
	}
	// The release directory: pinned, every file verified, its tensors counted; an inference
	// provider pulls it through the API, byte-identical.
	if sc, err := gql.VersionContent(ctx, version); err != nil || sc.Status != "SINGLE_FILE" {
		t.Fatalf("content of the single-file version: %+v %v", sc, err)
	}
	checkContent(t, ctx, gql, dirVersion, rel)
	if !pinned(t, ipfs, relCID) {
		t.Fatal("kubo does not list the release directory as pinned")
	}
	pulled := filepath.Join(t.TempDir(), "pulled")
	got, pv, err := pull.Model(ctx, gql, release.Kubo{API: ipfs.HttpApi, Addr: ipfsd.APIURL()}, "acme/sentiment@"+dv.Label, pulled, release.PullOptions{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if pv.ID != dirVersion || got.Files != len(rel.files) {
		t.Fatalf("pulled version %d with %d files; want version %d with %d", pv.ID, got.Files, dirVersion, len(rel.files))
	}
	rel.sameTree(t, pulled, "manifest.json", ".modeldao-complete.json")

	// A revocation unpins them.
	if _, err := s.DAO.Pass(ctx, "# Revoke acme/sentiment\nBias found after approval.", []int{0, 1, 2}, contracts.RevokeVersion(version, "bias found")); err != nil {
		t.Fatal(err)
	}
	invoke(t, indexerFn, scheduledEvent)
	invoke(t, pinner, scheduledEvent)
	v, err = gql.ModelVersion(ctx, version, client.PageArgs{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != "REVOKED" || v.Pin == nil || v.Pin.Status != "UNPINNED" {
		t.Fatalf("after revocation: status %s pin %+v", v.Status, v.Pin)
	}
	if pinned(t, ipfs, c) {
		t.Fatal("kubo still pins the weights of a revoked version")
	}
	// The other version keeps its pin; the receiver hears of the revocation.
	if dv, err = gql.ModelVersion(ctx, dirVersion, client.PageArgs{}); err != nil || dv.Status != "APPROVED" || dv.Pin == nil || dv.Pin.Status != "PINNED" || !pinned(t, ipfs, relCID) {
		t.Fatalf("the release directory's version after the other's revocation: %+v, %v", dv, err)
	}
	invoke(t, notifier, scheduledEvent)
	checkDeliveries(t, recv.deliveries(), hook.Secret, modelID, note{"version.approved", version}, note{"version.approved", dirVersion}, note{"version.revoked", version})
}

func pinned(t *testing.T, ipfs *pinning.Client, c cid.Cid) bool {
	t.Helper()
	_, ok, err := ipfs.Pin().IsPinned(context.Background(), path.FromCid(c))
	if err != nil {
		t.Fatal(err)
	}
	return ok
}
