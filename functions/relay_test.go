package functions_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/config"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/infra/redisserver"
	"github.com/modeldao/modeldao/internal/scenario"
)

// relayCall invokes the relayer function with an API Gateway request from ip and returns the
// HTTP status and body.
func (f *fn) relayCall(method, path string, body []byte, ip string) (int, []byte) {
	f.t.Helper()
	ev := httpRequest(method, path, "", body, map[string]string{"content-type": "application/json"})
	ev.RequestContext.HTTP.SourceIP = ip
	var resp events.APIGatewayV2HTTPResponse
	f.mustInvoke(ev, &resp)
	raw := []byte(resp.Body)
	if resp.IsBase64Encoded {
		var err error
		if raw, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			f.t.Fatal(err)
		}
	}
	return resp.StatusCode, raw
}

func (f *fn) relayPost(path string, req any, ip string) (int, []byte) {
	f.t.Helper()
	b, err := json.Marshal(req)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.relayCall(http.MethodPost, path, b, ip)
}

func decodeAs[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("answer %s: %v", b, err)
	}
	return v
}

// fundedKey returns a new key funded with 1 ETH from account `from`.
func fundedKey(t *testing.T, s *scenario.Scenario, from int) *ecdsa.PrivateKey {
	t.Helper()
	ctx := context.Background()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	opts := s.Node.Opts(from)
	eth := s.Node.Eth()
	nonce, err := eth.PendingNonceAt(ctx, opts.From)
	if err != nil {
		t.Fatal(err)
	}
	to := crypto.PubkeyToAddress(key.PublicKey)
	tip, _ := eth.SuggestGasTipCap(ctx)
	head, _ := eth.HeaderByNumber(ctx, nil)
	tx, err := opts.Signer(opts.From, types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(int64(s.DAO.Deployment.ChainID)), Nonce: nonce,
		GasTipCap: tip, GasFeeCap: new(big.Int).Add(tip, new(big.Int).Mul(head.BaseFee, big.NewInt(2))), Gas: 21000, To: &to, Value: big.NewInt(1e18)}))
	if err != nil {
		t.Fatal(err)
	}
	if err := eth.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Node.Receipt(ctx, tx); err != nil {
		t.Fatal(err)
	}
	return key
}

// TestRelayLambda runs the relayer function under the Lambda emulator beside the indexer
// and the API: a gasless ballot is relayed, mined and then shows in the API; the abuse set
// is refused with its status and reason and sends nothing; the key is never in the logs.
func TestRelayLambda(t *testing.T) {
	ctx := context.Background()
	s := chain(t)
	rs := redisserver.StartT(t)
	key := fundedKey(t, s, scenario.Extra2)
	relayerAddr := crypto.PubkeyToAddress(key.PublicKey)
	keyHex := hex.EncodeToString(crypto.FromECDSA(key))

	// An open proposal, and the holders who can still vote on it.
	p, err := s.DAO.RegistryProposal("# Gasless vote under Lambda\nRelayed ballots.", contracts.AddAuditor(s.Address(scenario.Publisher2), "Relay Audits"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DAO.Propose(ctx, 0, p); err != nil {
		t.Fatal(err)
	}
	opts := &bind.CallOpts{}
	snap, err := s.DAO.Governor.ProposalSnapshot(opts, p.ID())
	if err != nil {
		t.Fatal(err)
	}
	var voters, powerless []int
	for i := range scenario.Accounts {
		v, err := s.DAO.Governor.GetVotes(opts, s.Address(i), snap)
		if err != nil {
			t.Fatal(err)
		}
		if v.Sign() > 0 {
			voters = append(voters, i)
		} else {
			powerless = append(powerless, i)
		}
	}
	if len(voters) < 2 || len(powerless) == 0 {
		t.Fatalf("voters %v, powerless %v: the history leaves too few of either", voters, powerless)
	}

	redisEnv := map[string]string{config.EnvRedisURL: rs.URL()}
	idx := startFn(t, "indexer", merge(redisEnv, daoEnv(t, s, false), map[string]string{config.EnvIndexerMargin: indexerMargin.String()}), indexerTimeout)
	api := startFn(t, "api", merge(redisEnv, daoEnv(t, s, true)), 10*time.Second)
	rel := startFn(t, "relayer", merge(redisEnv, daoEnv(t, s, false), map[string]string{config.EnvRelayerPrivateKey: "0x" + keyHex}), 20*time.Second)
	// A second instance with tight limits on the same Redis: its budget is below one vote, a
	// signer may send one request per window, an address three.
	strict := startFn(t, "relayer", merge(redisEnv, daoEnv(t, s, false), map[string]string{
		config.EnvRelayerPrivateKey: keyHex, config.EnvRelayerGasBudget: "40000", config.EnvRelayerSignerLimit: "1", config.EnvRelayerIPLimit: "3",
	}), 20*time.Second)

	status, body := rel.relayCall(http.MethodGet, "/relay", nil, "203.0.113.9")
	info := decodeAs[modeldao.RelayInfo](t, body)
	if status != http.StatusOK || info.Relayer != relayerAddr || info.Governor.VerifyingContract != s.DAO.Deployment.Governor || info.Governor.Name == "" {
		t.Fatalf("GET /relay: HTTP %d %s", status, body)
	}
	keyOf := func(i int) *ecdsa.PrivateKey { return s.Chain.Accounts[i].Key }
	govNonce := func(i int) *big.Int {
		n, err := s.DAO.Governor.Nonces(opts, s.Address(i))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	sign := func(i int, d modeldao.RelayDomain, support modeldao.VoteSupport, nonce *big.Int, reason *string) *modeldao.RelayVoteRequest {
		req, err := client.SignVote(keyOf(i), d, p.ID(), support, nonce, reason)
		if err != nil {
			t.Fatal(err)
		}
		return req
	}

	// The happy path: a ballot with a reason, relayed, mined, polled, indexed, served.
	voter := voters[0]
	reason := "voted without gas"
	ballot := sign(voter, info.Governor, modeldao.SupportFor, govNonce(voter), &reason)
	status, body = rel.relayPost("/relay/vote", ballot, "203.0.113.9")
	rec := decodeAs[modeldao.RelayRecord](t, body)
	if status != http.StatusAccepted || rec.Status != modeldao.RelaySubmitted || rec.TxHash == nil {
		t.Fatalf("POST /relay/vote: HTTP %d %s", status, body)
	}
	// The same signature again while in flight: refused, to any instance.
	for _, f := range []*fn{rel, strict} {
		status, body = f.relayPost("/relay/vote", ballot, "203.0.113.10")
		if e := decodeAs[modeldao.RelayError](t, body); status != http.StatusConflict || e.Reason != modeldao.RelayReplay {
			t.Fatalf("replay in flight: HTTP %d %s", status, body)
		}
	}
	s.Chain.Commit()
	status, body = rel.relayCall(http.MethodGet, "/relay/"+rec.ID, nil, "203.0.113.9")
	if rec = decodeAs[modeldao.RelayRecord](t, body); status != http.StatusOK || rec.Status != modeldao.RelayMined || rec.GasUsed == 0 {
		t.Fatalf("GET /relay/%s: HTTP %d %s", rec.ID, status, body)
	}
	indexOnce(t, idx, s, nil)
	var votes struct {
		Votes struct {
			Edges []struct {
				Node struct {
					Voter struct {
						Address string `json:"address"`
					} `json:"voter"`
					Support string `json:"support"`
					Reason  string `json:"reason"`
				} `json:"node"`
			} `json:"edges"`
		} `json:"votes"`
	}
	api.data(`query($p: ID!) { votes(where: {proposal: $p}) { edges { node { voter { address } support reason } } } }`, map[string]any{"p": p.ID().String()}, &votes)
	if e := votes.Votes.Edges; len(e) != 1 || !strings.EqualFold(e[0].Node.Voter.Address, s.Address(voter).Hex()) || e[0].Node.Support != "FOR" || e[0].Node.Reason != reason {
		t.Fatalf("votes of the proposal in the API: %+v", votes)
	}

	// A gasless delegation, from the chain's clock: an account without votes delegates to
	// the voter.
	dhead, err := s.Chain.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	delegator := powerless[0]
	dn, err := s.DAO.Token.Nonces(opts, s.Address(delegator))
	if err != nil {
		t.Fatal(err)
	}
	del, err := client.SignDelegation(keyOf(delegator), info.Token, s.Address(voter), dn, new(big.Int).SetUint64(dhead.Time+3600))
	if err != nil {
		t.Fatal(err)
	}
	status, body = rel.relayPost("/relay/delegate", del, "203.0.113.9")
	if rec = decodeAs[modeldao.RelayRecord](t, body); status != http.StatusAccepted || rec.Kind != modeldao.RelayKindDelegation {
		t.Fatalf("POST /relay/delegate: HTTP %d %s", status, body)
	}
	s.Chain.Commit()
	status, body = rel.relayCall(http.MethodGet, "/relay/"+rec.ID, nil, "203.0.113.9")
	if rec = decodeAs[modeldao.RelayRecord](t, body); status != http.StatusOK || rec.Status != modeldao.RelayMined {
		t.Fatalf("GET /relay/%s: HTTP %d %s", rec.ID, status, body)
	}
	if d, err := s.DAO.Token.Delegates(opts, s.Address(delegator)); err != nil || d != s.Address(voter) {
		t.Fatalf("delegates(%d) = %s, %v after the relayed delegation", delegator, d, err)
	}

	// The abuse set: each refused with its status and reason, and no transaction sent.
	sentBefore, err := s.Node.Eth().PendingNonceAt(ctx, relayerAddr)
	if err != nil {
		t.Fatal(err)
	}
	other := voters[1]
	d1 := info.Governor
	d1.ChainID = 1
	dg := info.Governor
	dg.VerifyingContract = s.DAO.Deployment.Registry
	forged := sign(other, info.Governor, modeldao.SupportFor, govNonce(other), nil)
	forged.Signature = sign(powerless[0], info.Governor, modeldao.SupportFor, govNonce(other), nil).Signature
	// Expiries count from the chain's clock, which the history moved ahead of ours.
	head, err := s.Chain.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	expired, _ := client.SignDelegation(keyOf(voter), info.Token, s.Address(other), big.NewInt(0), new(big.Int).SetUint64(head.Time-3600))
	tokNonce, _ := s.DAO.Token.Nonces(opts, s.Address(voter))
	validDelegation, _ := client.SignDelegation(keyOf(voter), info.Token, s.Address(voter), tokNonce, new(big.Int).SetUint64(head.Time+3600))
	for _, c := range []struct {
		what   string
		f      *fn
		path   string
		req    any
		status int
		reason string
		ip     string
	}{
		{"forged signature", rel, "/relay/vote", forged, http.StatusForbidden, modeldao.RelayBadSignature, ""},
		{"replay of the mined ballot", rel, "/relay/vote", ballot, http.StatusConflict, modeldao.RelayBadNonce, ""},
		{"wrong chain id", rel, "/relay/vote", sign(other, d1, modeldao.SupportFor, govNonce(other), nil), http.StatusBadRequest, modeldao.RelayWrongChain, ""},
		{"wrong governor", rel, "/relay/vote", sign(other, dg, modeldao.SupportFor, govNonce(other), nil), http.StatusBadRequest, modeldao.RelayWrongContract, ""},
		{"stale nonce", rel, "/relay/vote", sign(voter, info.Governor, modeldao.SupportAgainst, new(big.Int).Sub(govNonce(voter), big.NewInt(1)), nil), http.StatusConflict, modeldao.RelayBadNonce, ""},
		{"expired delegation", rel, "/relay/delegate", expired, http.StatusBadRequest, modeldao.RelayExpired, ""},
		{"voter without power", rel, "/relay/vote", sign(powerless[0], info.Governor, modeldao.SupportFor, govNonce(powerless[0]), nil), http.StatusForbidden, modeldao.RelayNoVotingPower, ""},
		{"already voted", rel, "/relay/vote", sign(voter, info.Governor, modeldao.SupportAgainst, govNonce(voter), nil), http.StatusConflict, modeldao.RelayAlreadyVoted, ""},
		{"budget exhausted", strict, "/relay/vote", sign(other, info.Governor, modeldao.SupportFor, govNonce(other), nil), http.StatusServiceUnavailable, modeldao.RelayBudget, "192.0.2.31"},
		{"per-signer limit", strict, "/relay/delegate", validDelegation, http.StatusTooManyRequests, modeldao.RelaySignerLimit, "192.0.2.32"},
		{"malformed JSON", rel, "/relay/vote", json.RawMessage(`{"proposalId":`), http.StatusBadRequest, modeldao.RelayMalformed, ""},
		{"huge body", rel, "/relay/vote", map[string]string{"reason": strings.Repeat("x", 17<<10)}, http.StatusRequestEntityTooLarge, modeldao.RelayTooLarge, ""},
	} {
		var b []byte
		if raw, ok := c.req.(json.RawMessage); ok {
			b = raw
		} else if b, err = json.Marshal(c.req); err != nil {
			t.Fatal(err)
		}
		ip := c.ip
		if ip == "" {
			ip = "203.0.113.9"
		}
		status, body := c.f.relayCall(http.MethodPost, c.path, b, ip)
		e := decodeAs[modeldao.RelayError](t, body)
		if status != c.status || e.Reason != c.reason || e.Code == "" || len(e.Message) < 20 {
			t.Fatalf("%s: HTTP %d %s, want %d %s", c.what, status, body, c.status, c.reason)
		}
		t.Logf("%s: HTTP %d %s: %s", c.what, status, e.Code, e.Message)
	}
	// Per client address: three requests from one address, then 429.
	for i := range 4 {
		status, body := strict.relayCall(http.MethodPost, "/relay/vote", []byte(`{}`), "198.51.100.20")
		e := decodeAs[modeldao.RelayError](t, body)
		if (i < 3) != (status != http.StatusTooManyRequests) || (i == 3 && e.Reason != modeldao.RelayIPLimit) {
			t.Fatalf("request %d from one address: HTTP %d %s", i, status, body)
		}
	}
	if sentAfter, err := s.Node.Eth().PendingNonceAt(ctx, relayerAddr); err != nil || sentAfter != sentBefore {
		t.Fatalf("the abuse set made the relayer send %d transactions (%v)", sentAfter-sentBefore, err)
	}
	for _, f := range []*fn{rel, strict} {
		if out := f.srv.Output(); strings.Contains(strings.ToLower(out), keyHex) {
			t.Fatal("the relayer's key is in the function's log")
		} else if !strings.Contains(out, "relayer ready") {
			t.Fatalf("the function's log does not show it started:\n%s", out)
		}
	}
}

// TestRelayLambdaWithoutKey: a relayer function without a key fails every invocation with
// a configuration error that names the variables.
func TestRelayLambdaWithoutKey(t *testing.T) {
	s := chain(t)
	rs := redisserver.StartT(t)
	rel := startFn(t, "relayer", merge(map[string]string{config.EnvRedisURL: rs.URL()}, daoEnv(t, s, true)), 10*time.Second)
	ferr := rel.invoke(httpRequest(http.MethodGet, "/relay", "", nil, nil), nil)
	if ferr == nil || ferr.Type != "EINVALID" || !strings.Contains(ferr.Message, config.EnvRelayerPrivateKey) || !strings.Contains(ferr.Message, config.EnvRelayerKeySecret) {
		t.Fatalf("relayer without a key: %v", ferr)
	}
}
