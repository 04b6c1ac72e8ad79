package relay_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/devchain"
	"github.com/modeldao/modeldao/eip712"
	"github.com/modeldao/modeldao/infra/redisserver"
	"github.com/modeldao/modeldao/internal/scenario"
	"github.com/modeldao/modeldao/relay"
	"github.com/modeldao/modeldao/store"
)

// relayerAccount is the dev account the relayer sends from: funded, and holding no tokens.
const relayerAccount = scenario.Extra1

// env is a DAO on the simulated chain, a redis-server and a relayer serving HTTP on loopback.
type env struct {
	t      *testing.T
	s      *scenario.Scenario
	st     *store.Store
	r      *relay.Relayer
	c      *client.Relayer
	logs   *syncBuffer
	key    *ecdsa.PrivateKey
	gov    modeldao.RelayDomain
	tok    modeldao.RelayDomain
	active contracts.Proposal
	url    string
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	s, err := scenario.New(ctx, 13, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	srv := redisserver.StartT(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	d := s.DAO.Deployment
	e := &env{t: t, s: s, logs: &syncBuffer{}, key: s.Chain.Accounts[relayerAccount].Key}
	e.st = store.New(rdb, store.NewKeys(d.ChainID, d.Governor), nil)
	e.r = e.relayer(func(*relay.Config) {})
	hs := httptest.NewServer(e.r.Handler(relay.HandlerOptions{}))
	t.Cleanup(hs.Close)
	e.c, e.url = client.NewRelayer(hs.URL, nil), hs.URL
	info, err := e.c.Info(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.gov, e.tok = info.Governor, info.Token
	p, err := s.DAO.RegistryProposal("# Relay test\nA proposal to vote on without gas.", contracts.AddAuditor(s.Address(scenario.Extra2), "Gasless Audits"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DAO.Propose(ctx, 0, p); err != nil {
		t.Fatal(err)
	}
	e.active = p
	return e
}

// relayer returns a relayer on the env's chain and store, with the test's settings.
func (e *env) relayer(edit func(*relay.Config)) *relay.Relayer {
	e.t.Helper()
	cfg := relay.Config{
		Chain: e.s.Chain.Client, Store: e.st, Deployment: e.s.DAO.Deployment, Key: e.key,
		Log:         slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		SignerLimit: 100, IPLimit: 1000, Window: time.Hour, GasBudget: 10_000_000, BudgetPeriod: time.Hour,
	}
	edit(&cfg)
	r, err := relay.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) holderKey(i int) *ecdsa.PrivateKey { return e.s.Chain.Accounts[i].Key }

// relayerNonce is the relayer account's pending nonce: what a sent transaction moves.
func (e *env) relayerNonce() uint64 {
	e.t.Helper()
	n, err := e.s.Chain.Client.PendingNonceAt(context.Background(), e.r.Address())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) governorNonce(a common.Address) *big.Int {
	n, err := e.s.DAO.Governor.Nonces(&bind.CallOpts{}, a)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) tokenNonce(a common.Address) *big.Int {
	n, err := e.s.DAO.Token.Nonces(&bind.CallOpts{}, a)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) ballot(voter int, support modeldao.VoteSupport, reason *string) *modeldao.RelayVoteRequest {
	e.t.Helper()
	k := e.holderKey(voter)
	req, err := client.SignVote(k, e.gov, e.active.ID(), support, e.governorNonce(crypto.PubkeyToAddress(k.PublicKey)), reason)
	if err != nil {
		e.t.Fatal(err)
	}
	return req
}

// mineAndWait mines a block and polls the request until it is final.
func (e *env) mineAndWait(id string) *modeldao.RelayRecord {
	e.t.Helper()
	e.s.Chain.Commit()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec, err := e.c.Wait(ctx, id)
	if err != nil {
		e.t.Fatalf("waiting for %s: %v", id, err)
	}
	return rec
}

// refused checks that err is the relayer's refusal with the given HTTP status and reason.
func refused(t *testing.T, what string, err error, status int, reason string) {
	t.Helper()
	var re *client.RelayError
	if !errors.As(err, &re) {
		t.Fatalf("%s: got %v, want a refusal %d %s", what, err, status, reason)
	}
	if re.HTTPStatus != status || re.Reason != reason || re.Code == "" || len(re.Message) < 20 {
		t.Fatalf("%s: got HTTP %d %s/%s %q, want %d %s", what, re.HTTPStatus, re.Code, re.Reason, re.Message, status, reason)
	}
}

func TestRelayTypeHashesMatchTheGovernor(t *testing.T) {
	s, err := scenario.NewWith(context.Background(), scenario.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g := s.DAO.Governor
	b, err := g.BALLOTTYPEHASH(&bind.CallOpts{})
	if err != nil || common.Hash(b) != eip712.BallotTypeHash {
		t.Fatalf("BALLOT_TYPEHASH %x (%v), eip712 has %s", b, err, eip712.BallotTypeHash)
	}
	x, err := g.EXTENDEDBALLOTTYPEHASH(&bind.CallOpts{})
	if err != nil || common.Hash(x) != eip712.ExtendedBallotTypeHash {
		t.Fatalf("EXTENDED_BALLOT_TYPEHASH %x (%v), eip712 has %s", x, err, eip712.ExtendedBallotTypeHash)
	}
}

// TestRelayHappyPath relays a ballot, an extended ballot (with a reason) and a delegation
// over HTTP; each is mined and shows on chain, and the budget keeps exactly the gas used.
func TestRelayHappyPath(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	pid := e.active.ID()
	start := e.relayerNonce()

	rec, err := e.c.Vote(ctx, e.holderKey(1), pid, modeldao.SupportFor, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != modeldao.RelaySubmitted || rec.TxHash == nil || rec.Kind != modeldao.RelayKindVote {
		t.Fatalf("answer %+v", rec)
	}
	if got, err := e.c.Status(ctx, rec.ID); err != nil || got.Status != modeldao.RelaySubmitted {
		t.Fatalf("status before mining: %+v, %v", got, err)
	}
	voteRec := e.mineAndWait(rec.ID)
	if voteRec.Status != modeldao.RelayMined || voteRec.GasUsed == 0 || voteRec.Block == 0 {
		t.Fatalf("vote record %+v", voteRec)
	}
	reason := "gasless, with a reason"
	rec2, err := e.c.Vote(ctx, e.holderKey(2), pid, modeldao.SupportAgainst, &reason)
	if err != nil {
		t.Fatal(err)
	}
	rec2 = e.mineAndWait(rec2.ID)
	if rec2.Status != modeldao.RelayMined {
		t.Fatalf("extended vote %+v", rec2)
	}
	opts := &bind.CallOpts{}
	for _, v := range []int{1, 2} {
		if voted, err := e.s.DAO.Governor.HasVoted(opts, pid, e.s.Address(v)); err != nil || !voted {
			t.Fatalf("hasVoted(%d) = %v, %v", v, voted, err)
		}
	}
	votes, err := e.s.DAO.Governor.ProposalVotes(opts, pid)
	if err != nil || votes.ForVotes.Cmp(devchain.Tokens(1000)) != 0 || votes.AgainstVotes.Cmp(devchain.Tokens(1000)) != 0 {
		t.Fatalf("proposalVotes %+v, %v", votes, err)
	}

	// Holder 3 delegates to holder 4 without gas.
	before, _ := e.s.DAO.Token.GetVotes(opts, e.s.Address(4))
	drec, err := e.c.Delegate(ctx, e.holderKey(3), e.s.Address(4), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	drec = e.mineAndWait(drec.ID)
	if drec.Status != modeldao.RelayMined || drec.Kind != modeldao.RelayKindDelegation {
		t.Fatalf("delegation %+v", drec)
	}
	after, _ := e.s.DAO.Token.GetVotes(opts, e.s.Address(4))
	if d, _ := e.s.DAO.Token.Delegates(opts, e.s.Address(3)); d != e.s.Address(4) || new(big.Int).Sub(after, before).Cmp(devchain.Tokens(1000)) != 0 {
		t.Fatalf("after the delegation: delegates %s, votes %s → %s", d, before, after)
	}
	for _, r := range []*modeldao.RelayRecord{voteRec, rec2, drec} {
		t.Logf("%s: gas limit reserved %d, used %d", r.Kind, r.GasEstimate, r.GasUsed)
	}
	if n := e.relayerNonce(); n != start+3 {
		t.Fatalf("relayer sent %d transactions, want 3", n-start)
	}
	reserved, err := e.st.RelayBudgetReserved(ctx, time.Now(), time.Hour)
	if want := voteRec.GasUsed + rec2.GasUsed + drec.GasUsed; err != nil || reserved != want {
		t.Fatalf("budget holds %d gas after settlement, want the %d used", reserved, want)
	}
	if k := hex.EncodeToString(crypto.FromECDSA(e.key)); strings.Contains(e.logs.String(), k) {
		t.Fatal("the relayer's key is in its log")
	}
	if !strings.Contains(e.logs.String(), "relay: sent") {
		t.Fatalf("the log does not show the sends:\n%s", e.logs.String())
	}
}

// post sends a raw body to the relayer and returns the HTTP status and the decoded error.
func (e *env) post(path, contentType string, body io.Reader) (int, modeldao.RelayError) {
	e.t.Helper()
	resp, err := http.Post(e.url+path, contentType, body)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var re modeldao.RelayError
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &re)
	return resp.StatusCode, re
}

// TestRelayAbuse sends every kind of bad request; each is refused with its status, reason
// and message, and the relayer sends nothing (its account's nonce does not move).
func TestRelayAbuse(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	pid := e.active.ID()

	// One vote mined first: the replays below reuse it.
	mined := e.ballot(1, modeldao.SupportFor, nil)
	rec, err := e.c.PostVote(ctx, mined)
	if err != nil {
		t.Fatal(err)
	}
	if rec = e.mineAndWait(rec.ID); rec.Status != modeldao.RelayMined {
		t.Fatalf("setup vote %+v", rec)
	}

	noTx := func(what string, f func()) {
		t.Helper()
		before := e.relayerNonce()
		f()
		if after := e.relayerNonce(); after != before {
			t.Fatalf("%s: the relayer sent %d transactions", what, after-before)
		}
	}
	vote := func(what string, req *modeldao.RelayVoteRequest, status int, reason string) {
		t.Helper()
		noTx(what, func() {
			_, err := e.c.PostVote(ctx, req)
			refused(t, what, err, status, reason)
		})
	}
	delegation := func(what string, req *modeldao.RelayDelegationRequest, status int, reason string) {
		t.Helper()
		noTx(what, func() {
			_, err := e.c.PostDelegation(ctx, req)
			refused(t, what, err, status, reason)
		})
	}

	// Forged: signed by another key for holder 0, and a valid signature over other fields.
	forged := e.ballot(0, modeldao.SupportFor, nil)
	other, _ := client.SignVote(e.holderKey(scenario.Publisher1), e.gov, pid, modeldao.SupportFor, big.NewInt(0), nil)
	forged.Signature = other.Signature
	vote("forged signature", forged, http.StatusForbidden, modeldao.RelayBadSignature)
	tampered := e.ballot(0, modeldao.SupportFor, nil)
	tampered.Support = uint8(modeldao.SupportAgainst)
	vote("tampered support", tampered, http.StatusForbidden, modeldao.RelayBadSignature)
	garbage := e.ballot(0, modeldao.SupportFor, nil)
	garbage.Signature = "0x" + strings.Repeat("ab", 65)
	vote("garbage signature", garbage, http.StatusForbidden, modeldao.RelayBadSignature)

	// Replayed: the mined ballot again (its nonce is spent), and one in flight twice.
	vote("replay of a mined ballot", mined, http.StatusConflict, modeldao.RelayBadNonce)
	inflight := e.ballot(0, modeldao.SupportAbstain, nil)
	first, err := e.c.PostVote(ctx, inflight)
	if err != nil {
		t.Fatal(err)
	}
	vote("replay of a ballot in flight", inflight, http.StatusConflict, modeldao.RelayReplay)
	if got := e.mineAndWait(first.ID); got.Status != modeldao.RelayMined {
		t.Fatalf("the first of the replayed ballot: %+v", got)
	}

	// Wrong chain: signed for chain 1 and saying so; or saying 1337 over a chain-1 signature.
	d1 := e.gov
	d1.ChainID = 1
	wrongChain, _ := client.SignVote(e.holderKey(3), d1, pid, modeldao.SupportFor, e.governorNonce(e.s.Address(3)), nil)
	vote("wrong chain id", wrongChain, http.StatusBadRequest, modeldao.RelayWrongChain)
	wrongChain.ChainID = e.gov.ChainID
	vote("signature for another chain", wrongChain, http.StatusForbidden, modeldao.RelayBadSignature)

	// Wrong governor: signed for the registry's address as verifying contract.
	dg := e.gov
	dg.VerifyingContract = e.s.DAO.Deployment.Registry
	wrongGov, _ := client.SignVote(e.holderKey(3), dg, pid, modeldao.SupportFor, e.governorNonce(e.s.Address(3)), nil)
	vote("wrong governor", wrongGov, http.StatusBadRequest, modeldao.RelayWrongContract)

	// Stale and future nonces; an expired delegation; a delegation for the governor.
	stale, _ := client.SignVote(e.holderKey(1), e.gov, pid, modeldao.SupportFor, big.NewInt(0), nil)
	vote("stale nonce", stale, http.StatusConflict, modeldao.RelayBadNonce)
	ahead, _ := client.SignVote(e.holderKey(3), e.gov, pid, modeldao.SupportFor, big.NewInt(7), nil)
	vote("nonce ahead", ahead, http.StatusConflict, modeldao.RelayBadNonce)
	expired, _ := client.SignDelegation(e.holderKey(3), e.tok, e.s.Address(4), e.tokenNonce(e.s.Address(3)), big.NewInt(time.Now().Add(-time.Hour).Unix()))
	delegation("expired delegation", expired, http.StatusBadRequest, modeldao.RelayExpired)
	staleDel, _ := client.SignDelegation(e.holderKey(3), e.tok, e.s.Address(4), big.NewInt(5), big.NewInt(time.Now().Add(time.Hour).Unix()))
	delegation("delegation with a stale nonce", staleDel, http.StatusConflict, modeldao.RelayBadNonce)
	govDel, _ := client.SignDelegation(e.holderKey(3), e.gov, e.s.Address(4), e.tokenNonce(e.s.Address(3)), big.NewInt(time.Now().Add(time.Hour).Unix()))
	delegation("delegation for the governor", govDel, http.StatusBadRequest, modeldao.RelayWrongContract)

	// A voter without votes at the snapshot; one who voted; proposals not open.
	noPower, _ := client.SignVote(e.holderKey(scenario.Publisher1), e.gov, pid, modeldao.SupportFor, big.NewInt(0), nil)
	vote("voter without power", noPower, http.StatusForbidden, modeldao.RelayNoVotingPower)
	again := e.ballot(1, modeldao.SupportAgainst, nil)
	vote("already voted", again, http.StatusConflict, modeldao.RelayAlreadyVoted)
	missing, _ := client.SignVote(e.holderKey(3), e.gov, big.NewInt(12345), modeldao.SupportFor, e.governorNonce(e.s.Address(3)), nil)
	vote("no such proposal", missing, http.StatusBadRequest, modeldao.RelayNotActive)
	pending, err := e.s.DAO.RegistryProposal("# Not yet open", contracts.RemoveAuditor(e.s.Address(scenario.Auditor)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.DAO.Mined(ctx)(e.s.DAO.DAO.Propose(e.s.Chain.Opts(0), pending)); err != nil {
		t.Fatal(err)
	}
	early, _ := client.SignVote(e.holderKey(3), e.gov, pending.ID(), modeldao.SupportFor, e.governorNonce(e.s.Address(3)), nil)
	vote("proposal not open yet", early, http.StatusConflict, modeldao.RelayNotActive)

	// The budget: a relayer (another instance, same Redis) whose budget is below one vote.
	poor := e.relayer(func(c *relay.Config) { c.GasBudget = 40_000 })
	noTx("budget exhausted", func() {
		_, err := poor.Vote(ctx, relay.Client{IP: "192.0.2.1"}, e.ballot(3, modeldao.SupportFor, nil))
		var re *relay.Error
		if !errors.As(err, &re) || re.Status != http.StatusServiceUnavailable || re.Reason != modeldao.RelayBudget || re.RetryAfter <= 0 {
			t.Fatalf("budget exhausted: %v", err)
		}
	})
	// The signer's window: holder 1 was admitted once already; this instance allows one.
	strict := e.relayer(func(c *relay.Config) { c.SignerLimit = 1 })
	noTx("per-signer limit", func() {
		_, err := strict.Delegate(ctx, relay.Client{IP: "192.0.2.2"}, mustDelegation(t, e, 1, 4))
		var re *relay.Error
		if !errors.As(err, &re) || re.Status != http.StatusTooManyRequests || re.Reason != modeldao.RelaySignerLimit || re.RetryAfter <= 0 {
			t.Fatalf("per-signer limit: %v", err)
		}
	})
	// The client address's window counts every request, refused ones included.
	byIP := e.relayer(func(c *relay.Config) { c.IPLimit = 2 })
	noTx("per-IP limit", func() {
		ip := relay.Client{IP: "198.51.100.7"}
		for range 2 {
			if _, err := byIP.Vote(ctx, ip, stale); err == nil {
				t.Fatal("a stale ballot was accepted")
			}
		}
		_, err := byIP.Vote(ctx, ip, e.ballot(3, modeldao.SupportFor, nil))
		var re *relay.Error
		if !errors.As(err, &re) || re.Status != http.StatusTooManyRequests || re.Reason != modeldao.RelayIPLimit {
			t.Fatalf("per-IP limit: %v", err)
		}
	})

	// Malformed and huge bodies.
	for _, c := range []struct{ what, body string }{
		{"not JSON", `{"proposalId": `},
		{"unknown field", `{"proposalId":"1","support":1,"voter":"0x0000000000000000000000000000000000000001","nonce":"0","signature":"0x","gas":1}`},
		{"two values", `{} {}`},
		{"proposal id not a number", `{"chainId":1337,"proposalId":"abc","support":1,"voter":"0x0000000000000000000000000000000000000001","nonce":"0","signature":"0x00"}`},
		{"support out of range", `{"chainId":1337,"proposalId":"1","support":7,"voter":"0x0000000000000000000000000000000000000001","nonce":"0","signature":"0x00"}`},
		{"short signature", `{"chainId":1337,"proposalId":"1","support":1,"voter":"0x0000000000000000000000000000000000000001","nonce":"0","signature":"0x1234"}`},
	} {
		noTx(c.what, func() {
			status, re := e.post("/relay/vote", "application/json", strings.NewReader(c.body))
			if status != http.StatusBadRequest || re.Reason != modeldao.RelayMalformed || re.Code != "BAD_REQUEST" || re.Message == "" {
				t.Fatalf("%s: HTTP %d %+v", c.what, status, re)
			}
		})
	}
	noTx("huge body", func() {
		huge := `{"reason":"` + strings.Repeat("x", 17<<10) + `"}`
		status, re := e.post("/relay/vote", "application/json", strings.NewReader(huge))
		if status != http.StatusRequestEntityTooLarge || re.Reason != modeldao.RelayTooLarge || re.Code != "REQUEST_TOO_LARGE" {
			t.Fatalf("huge body: HTTP %d %+v", status, re)
		}
		// Without a Content-Length, the limit holds while reading.
		status, re = e.post("/relay/delegate", "application/json", io.MultiReader(strings.NewReader(`{"delegator":"`), strings.NewReader(strings.Repeat("0", 20<<10))))
		if status != http.StatusRequestEntityTooLarge || re.Reason != modeldao.RelayTooLarge {
			t.Fatalf("huge streamed body: HTTP %d %+v", status, re)
		}
	})
	if _, err := e.c.Status(ctx, "0x"+strings.Repeat("0", 64)); err == nil {
		t.Fatal("an unknown id has a status")
	} else {
		refused(t, "unknown id", err, http.StatusNotFound, modeldao.RelayNotFound)
	}
	if _, err := e.c.Status(ctx, "nope"); err == nil {
		t.Fatal("a malformed id has a status")
	} else {
		refused(t, "malformed id", err, http.StatusBadRequest, modeldao.RelayMalformed)
	}
	if k := hex.EncodeToString(crypto.FromECDSA(e.key)); strings.Contains(e.logs.String(), k) {
		t.Fatal("the relayer's key is in its log")
	}
}

// TestRelayOnceAcrossInstances sends one signature to two relayer instances at once: one
// relays it, the other refuses it as a replay.
func TestRelayOnceAcrossInstances(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	other := e.relayer(func(*relay.Config) {})
	req := e.ballot(2, modeldao.SupportFor, nil)
	before := e.relayerNonce()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, r := range []*relay.Relayer{e.r, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = r.Vote(ctx, relay.Client{IP: "192.0.2.9"}, req)
		}()
	}
	wg.Wait()
	ok, replays := 0, 0
	for _, err := range errs {
		var re *relay.Error
		switch {
		case err == nil:
			ok++
		case errors.As(err, &re) && re.Reason == modeldao.RelayReplay:
			replays++
		default:
			t.Fatalf("unexpected answer: %v", err)
		}
	}
	if ok != 1 || replays != 1 || e.relayerNonce() != before+1 {
		t.Fatalf("%d relayed, %d replays, %d sent; want 1, 1, 1", ok, replays, e.relayerNonce()-before)
	}
}

func mustDelegation(t *testing.T, e *env, from, to int) *modeldao.RelayDelegationRequest {
	t.Helper()
	req, err := client.SignDelegation(e.holderKey(from), e.tok, e.s.Address(to), e.tokenNonce(e.s.Address(from)), big.NewInt(time.Now().Add(time.Hour).Unix()))
	if err != nil {
		t.Fatal(err)
	}
	return req
}
