// Package relay is the gasless relayer: it takes EIP-712 signatures that the DAO's
// contracts accept from anyone — ballots (Governor.castVoteBySig and
// castVoteWithReasonAndParamsBySig) and delegations (ERC20Votes.delegateBySig) — and
// submits them from its own funded account, as Tally's and Snapshot's relayers do.
//
// It spends gas only on what would succeed: before sending it checks the chain id and
// the verifying contract the client signed for, that the signature recovers to the claimed
// signer, the signer's current nonce, and for a ballot that the proposal is Active, that the
// voter had votes at its snapshot and has not voted; for a delegation its expiry; then the
// node's gas estimate. Abuse is bounded by sliding windows per client address and per
// signer, and by a gas budget per period (the estimate is reserved before sending and
// settled from the receipt). A signer's nonce is claimed in Redis before sending, so no two
// instances ever relay the same signature (or two signatures for one nonce). Every request
// has a record that the client polls: PENDING, SUBMITTED, then MINED or FAILED.
//
// The state lives in Redis through package store; Handler serves it over HTTP.
package relay

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/contracts/bindings"
	"github.com/modeldao/modeldao/eip712"
	"github.com/modeldao/modeldao/internal/txutil"
	"github.com/modeldao/modeldao/store"
)

// Defaults of Config.
const (
	DefaultSignerLimit  = 20
	DefaultIPLimit      = 60
	DefaultWindow       = time.Hour
	DefaultGasBudget    = 20_000_000
	DefaultBudgetPeriod = 24 * time.Hour
	DefaultMaxBody      = 16 << 10
	// ExpiryMargin: a delegation must stay valid this long after the head block, so that it
	// does not expire between the check and its block.
	ExpiryMargin = 30 * time.Second
	// claimTTL keeps a nonce claimed long after its transaction is mined (by then the
	// contract refuses the nonce itself); recordTTL is how long a client can poll.
	claimTTL  = 7 * 24 * time.Hour
	recordTTL = 7 * 24 * time.Hour
	lockTTL   = 30 * time.Second
)

// Backend is what the relayer needs of a node.
type Backend interface {
	bind.ContractBackend
	contracts.ReceiptReader
}

// Config configures a Relayer.
type Config struct {
	Chain      Backend
	Store      *store.Store
	Deployment contracts.Deployment // ChainID, Governor and Token are used
	Key        *ecdsa.PrivateKey    // the funded account that sends; never logged
	Log        *slog.Logger

	SignerLimit  int           // requests admitted per signer per Window [DefaultSignerLimit]
	IPLimit      int           // requests received per client address per Window [DefaultIPLimit]
	Window       time.Duration // [DefaultWindow]
	GasBudget    uint64        // gas per BudgetPeriod [DefaultGasBudget]
	BudgetPeriod time.Duration // [DefaultBudgetPeriod]
	// Wait is how long a request waits for its receipt before answering SUBMITTED (0: it
	// answers as soon as the transaction is sent; the client polls).
	Wait    time.Duration
	MaxBody int64            // largest request body [DefaultMaxBody]
	Now     func() time.Time // [time.Now]
}

// Relayer relays signed ballots and delegations.
type Relayer struct {
	cfg      Config
	from     common.Address
	governor *bindings.Governor
	token    *bindings.Token
	log      *slog.Logger

	mu      sync.Mutex
	domains *[2]modeldao.RelayDomain // governor, token: read from the contracts once
}

// New returns a relayer. It does not contact the node.
func New(cfg Config) (*Relayer, error) {
	if cfg.Chain == nil || cfg.Store == nil {
		return nil, errors.New("relay: Config needs Chain and Store")
	}
	if cfg.Key == nil {
		return nil, modeldao.Errorf(modeldao.EINVALID, "the relayer has no key: set RELAYER_PRIVATE_KEY (or RELAYER_KEY_SECRET) to the private key of a funded account")
	}
	if cfg.Deployment.ChainID == 0 || cfg.Deployment.Governor == (common.Address{}) || cfg.Deployment.Token == (common.Address{}) {
		return nil, modeldao.Errorf(modeldao.EINVALID, "the relayer needs the chain id, the governor and the token of the DAO")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.SignerLimit <= 0 {
		cfg.SignerLimit = DefaultSignerLimit
	}
	if cfg.IPLimit <= 0 {
		cfg.IPLimit = DefaultIPLimit
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.GasBudget == 0 {
		cfg.GasBudget = DefaultGasBudget
	}
	if cfg.BudgetPeriod <= 0 {
		cfg.BudgetPeriod = DefaultBudgetPeriod
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Relayer{cfg: cfg, from: crypto.PubkeyToAddress(cfg.Key.PublicKey), log: cfg.Log}
	var err error
	if r.governor, err = bindings.NewGovernor(cfg.Deployment.Governor, cfg.Chain); err != nil {
		return nil, err
	}
	if r.token, err = bindings.NewToken(cfg.Deployment.Token, cfg.Chain); err != nil {
		return nil, err
	}
	return r, nil
}

// Address is the relayer's account.
func (r *Relayer) Address() common.Address { return r.from }

// Error is a refused or failed request: the HTTP status, the reason (modeldao.Relay*) and a
// message that says what to do.
type Error struct {
	Status     int
	Reason     string
	Message    string
	RetryAfter time.Duration // for 429 and 503
	Err        error         // the cause, for logs
}

func (e *Error) Error() string { return e.Reason + ": " + e.Message }
func (e *Error) Unwrap() error { return e.Err }

func refuse(status int, reason, format string, args ...any) *Error {
	return &Error{Status: status, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// unavailable wraps a node or Redis failure.
func unavailable(err error, format string, args ...any) *Error {
	e := refuse(http.StatusServiceUnavailable, modeldao.RelayUnavailable, format, args...)
	e.Message += ": try again later"
	e.Err = err
	return e
}

// Domains returns the EIP-712 domains of the governor and the token, read from the
// contracts (eip712Domain, ERC-5267) the first time.
func (r *Relayer) Domains(ctx context.Context) (gov, tok modeldao.RelayDomain, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.domains != nil {
		return r.domains[0], r.domains[1], nil
	}
	opts := &bind.CallOpts{Context: ctx}
	g, err := r.governor.Eip712Domain(opts)
	if err != nil {
		return gov, tok, unavailable(err, "cannot read the governor's EIP-712 domain from the node")
	}
	t, err := r.token.Eip712Domain(opts)
	if err != nil {
		return gov, tok, unavailable(err, "cannot read the token's EIP-712 domain from the node")
	}
	d := r.cfg.Deployment
	if g.ChainId.Uint64() != d.ChainID || g.VerifyingContract != d.Governor || t.VerifyingContract != d.Token {
		return gov, tok, &Error{Status: http.StatusServiceUnavailable, Reason: modeldao.RelayNotConfigured,
			Message: fmt.Sprintf("the node's contracts do not match the deployment (chain %d, governor %s): check ETH_RPC_URL and the deployment", g.ChainId, g.VerifyingContract)}
	}
	r.domains = &[2]modeldao.RelayDomain{
		{Name: g.Name, Version: g.Version, ChainID: d.ChainID, VerifyingContract: d.Governor},
		{Name: t.Name, Version: t.Version, ChainID: d.ChainID, VerifyingContract: d.Token},
	}
	return r.domains[0], r.domains[1], nil
}

func eipDomain(d modeldao.RelayDomain) eip712.Domain {
	return eip712.Domain{Name: d.Name, Version: d.Version, ChainID: d.ChainID, VerifyingContract: d.VerifyingContract}
}

// Info answers what a client needs to sign: the domains, and account's nonces if not nil.
func (r *Relayer) Info(ctx context.Context, account *common.Address) (*modeldao.RelayInfo, error) {
	gov, tok, err := r.Domains(ctx)
	if err != nil {
		return nil, err
	}
	info := &modeldao.RelayInfo{ChainID: r.cfg.Deployment.ChainID, Relayer: r.from, Governor: gov, Token: tok, Account: account}
	if account != nil {
		opts := &bind.CallOpts{Context: ctx}
		gn, err := r.governor.Nonces(opts, *account)
		if err != nil {
			return nil, unavailable(err, "cannot read the governor nonce of %s", account.Hex())
		}
		tn, err := r.token.Nonces(opts, *account)
		if err != nil {
			return nil, unavailable(err, "cannot read the token nonce of %s", account.Hex())
		}
		info.GovernorNonce, info.TokenNonce = gn.String(), tn.String()
	}
	return info, nil
}

// Client is where a request comes from, for the per-address limit.
type Client struct {
	IP string
}

// checkClient counts the request in its address's window. Every request counts, the
// refused ones too: verifying costs node calls.
func (r *Relayer) checkClient(ctx context.Context, c Client) error {
	if c.IP == "" {
		return nil
	}
	ok, wait, err := r.cfg.Store.RelayHit(ctx, c.IP, r.cfg.Now(), r.cfg.Window, r.cfg.IPLimit, uniqueMember())
	if err != nil {
		return unavailable(err, "cannot count the request")
	}
	if !ok {
		return &Error{Status: http.StatusTooManyRequests, Reason: modeldao.RelayIPLimit, RetryAfter: wait,
			Message: fmt.Sprintf("too many requests from %s: at most %d per %s; retry in %s", c.IP, r.cfg.IPLimit, r.cfg.Window, wait.Round(time.Second))}
	}
	return nil
}

func uniqueMember() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// parseUint256 parses a decimal uint256 field.
func parseUint256(field, v string) (*big.Int, error) {
	x, ok := new(big.Int).SetString(strings.TrimSpace(v), 10)
	if !ok || x.Sign() < 0 || x.BitLen() > 256 {
		return nil, refuse(http.StatusBadRequest, modeldao.RelayMalformed, "%s %q is not a uint256: want a decimal string such as \"42\"", field, v)
	}
	return x, nil
}

func parseSignature(v string) ([]byte, error) {
	b, err := hexutil.Decode(strings.TrimSpace(v))
	if err != nil || len(b) != 65 {
		return nil, refuse(http.StatusBadRequest, modeldao.RelayMalformed, "signature must be 0x followed by 130 hex digits (65 bytes r‖s‖v), as eth_signTypedData_v4 returns")
	}
	return b, nil
}

// checkDomain refuses a request signed for another chain or contract.
func (r *Relayer) checkDomain(chainID uint64, contract common.Address, want common.Address, what string) error {
	if chainID != r.cfg.Deployment.ChainID {
		return refuse(http.StatusBadRequest, modeldao.RelayWrongChain, "signed for chain %d, but this relayer serves chain %d: sign again with chainId %d", chainID, r.cfg.Deployment.ChainID, r.cfg.Deployment.ChainID)
	}
	if contract != want {
		return refuse(http.StatusBadRequest, modeldao.RelayWrongContract, "signed for verifying contract %s, but this DAO's %s is %s: sign again for it", contract.Hex(), what, want.Hex())
	}
	return nil
}

// recoverSigner checks that sig over digest recovers to claimed.
func recoverSigner(digest common.Hash, sig []byte, claimed common.Address, what string) ([]byte, error) {
	signer, norm, err := eip712.Recover(digest, sig)
	if err != nil {
		return nil, refuse(http.StatusForbidden, modeldao.RelayBadSignature, "the signature is not valid (%v)", err)
	}
	if signer != claimed {
		return nil, refuse(http.StatusForbidden, modeldao.RelayBadSignature, "the signature does not recover to the %s %s (it was made by another key, or over other fields or another domain): sign the exact fields sent", what, claimed.Hex())
	}
	return norm, nil
}

// Vote relays a signed ballot from client c.
func (r *Relayer) Vote(ctx context.Context, c Client, req *modeldao.RelayVoteRequest) (*modeldao.RelayRecord, error) {
	if err := r.checkClient(ctx, c); err != nil {
		return nil, err
	}
	return r.vote(ctx, req)
}

// Delegate relays a signed delegation from client c.
func (r *Relayer) Delegate(ctx context.Context, c Client, req *modeldao.RelayDelegationRequest) (*modeldao.RelayRecord, error) {
	if err := r.checkClient(ctx, c); err != nil {
		return nil, err
	}
	return r.delegate(ctx, req)
}

func (r *Relayer) vote(ctx context.Context, req *modeldao.RelayVoteRequest) (*modeldao.RelayRecord, error) {
	pid, err := parseUint256("proposalId", req.ProposalID)
	if err != nil {
		return nil, err
	}
	nonce, err := parseUint256("nonce", req.Nonce)
	if err != nil {
		return nil, err
	}
	if req.Support > uint8(modeldao.SupportAbstain) {
		return nil, refuse(http.StatusBadRequest, modeldao.RelayMalformed, "support %d is not a vote: want 0 (against), 1 (for) or 2 (abstain)", req.Support)
	}
	sig, err := parseSignature(req.Signature)
	if err != nil {
		return nil, err
	}
	b := eip712.Ballot{ProposalID: pid, Support: req.Support, Voter: req.Voter, Nonce: nonce, Extended: req.Extended()}
	if req.Reason != nil {
		b.Reason = *req.Reason
	}
	if req.Params != nil {
		if b.Params, err = hexutil.Decode(*req.Params); err != nil && *req.Params != "" && *req.Params != "0x" {
			return nil, refuse(http.StatusBadRequest, modeldao.RelayMalformed, "params must be 0x-prefixed hex (or \"0x\" for none)")
		}
	}
	if err := r.checkDomain(req.ChainID, req.VerifyingContract, r.cfg.Deployment.Governor, "governor"); err != nil {
		return nil, err
	}
	gov, _, err := r.Domains(ctx)
	if err != nil {
		return nil, err
	}
	digest := eipDomain(gov).Digest(b.StructHash())
	if sig, err = recoverSigner(digest, sig, req.Voter, "voter"); err != nil {
		return nil, err
	}

	// On chain: the nonce, the proposal's state, the voter's power and ballot.
	opts := &bind.CallOpts{Context: ctx}
	cur, err := r.governor.Nonces(opts, req.Voter)
	if err != nil {
		return nil, unavailable(err, "cannot read the voter's nonce")
	}
	if cur.Cmp(nonce) != 0 {
		return nil, refuse(http.StatusConflict, modeldao.RelayBadNonce, "nonce %s is not the voter's current governor nonce (%s): it was used already, or is ahead; sign again with nonce %s", nonce, cur, cur)
	}
	state, err := r.governor.State(opts, pid)
	if err != nil {
		if rv, ok := revertOf(err); ok && rv.Name == "GovernorNonexistentProposal" {
			return nil, refuse(http.StatusBadRequest, modeldao.RelayNotActive, "proposal %s does not exist on this governor", pid)
		}
		return nil, unavailable(err, "cannot read the proposal's state")
	}
	if state != uint8(modeldao.ProposalActive) {
		return nil, refuse(http.StatusConflict, modeldao.RelayNotActive, "proposal %s is %s, not open for votes", pid, stateName(state))
	}
	voted, err := r.governor.HasVoted(opts, pid, req.Voter)
	if err != nil {
		return nil, unavailable(err, "cannot read whether the voter voted")
	}
	if voted {
		return nil, refuse(http.StatusConflict, modeldao.RelayAlreadyVoted, "%s has already voted on proposal %s", req.Voter.Hex(), pid)
	}
	snap, err := r.governor.ProposalSnapshot(opts, pid)
	if err != nil {
		return nil, unavailable(err, "cannot read the proposal's snapshot")
	}
	power, err := r.governor.GetVotes(opts, req.Voter, snap)
	if err != nil {
		return nil, unavailable(err, "cannot read the voter's votes")
	}
	if power.Sign() == 0 {
		return nil, refuse(http.StatusForbidden, modeldao.RelayNoVotingPower, "%s had no votes at the proposal's snapshot (block %s): only accounts with delegated voting power then can vote; delegate (to yourself) before a proposal's snapshot", req.Voter.Hex(), snap)
	}
	var data []byte
	if b.Extended {
		data, err = contracts.GovernorABI.Pack("castVoteWithReasonAndParamsBySig", pid, req.Support, req.Voter, b.Reason, nonNil(b.Params), sig)
	} else {
		data, err = contracts.GovernorABI.Pack("castVoteBySig", pid, req.Support, req.Voter, sig)
	}
	if err != nil {
		return nil, modeldao.WrapError(modeldao.EINTERNAL, err, "encode the vote")
	}
	return r.submit(ctx, modeldao.RelayKindVote, req.Voter, nonce, digest, r.cfg.Deployment.Governor, data)
}

func (r *Relayer) delegate(ctx context.Context, req *modeldao.RelayDelegationRequest) (*modeldao.RelayRecord, error) {
	nonce, err := parseUint256("nonce", req.Nonce)
	if err != nil {
		return nil, err
	}
	expiry, err := parseUint256("expiry", req.Expiry)
	if err != nil {
		return nil, err
	}
	sig, err := parseSignature(req.Signature)
	if err != nil {
		return nil, err
	}
	if err := r.checkDomain(req.ChainID, req.VerifyingContract, r.cfg.Deployment.Token, "token"); err != nil {
		return nil, err
	}
	_, tok, err := r.Domains(ctx)
	if err != nil {
		return nil, err
	}
	digest := eipDomain(tok).Digest(eip712.Delegation{Delegatee: req.Delegatee, Nonce: nonce, Expiry: expiry}.StructHash())
	if sig, err = recoverSigner(digest, sig, req.Delegator, "delegator"); err != nil {
		return nil, err
	}
	head, err := r.cfg.Chain.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, unavailable(err, "cannot read the head block")
	}
	if min := new(big.Int).SetUint64(head.Time + uint64(ExpiryMargin/time.Second)); expiry.Cmp(min) <= 0 {
		return nil, refuse(http.StatusBadRequest, modeldao.RelayExpired, "the delegation expires at %s, but the chain is at %d: sign again with an expiry at least %s ahead", expiry, head.Time, ExpiryMargin)
	}
	cur, err := r.token.Nonces(&bind.CallOpts{Context: ctx}, req.Delegator)
	if err != nil {
		return nil, unavailable(err, "cannot read the delegator's nonce")
	}
	if cur.Cmp(nonce) != 0 {
		return nil, refuse(http.StatusConflict, modeldao.RelayBadNonce, "nonce %s is not the delegator's current token nonce (%s): it was used already (by a delegation or a permit), or is ahead; sign again with nonce %s", nonce, cur, cur)
	}
	var rr, ss [32]byte
	copy(rr[:], sig[:32])
	copy(ss[:], sig[32:64])
	data, err := contracts.TokenABI.Pack("delegateBySig", req.Delegatee, nonce, expiry, sig[64], rr, ss)
	if err != nil {
		return nil, modeldao.WrapError(modeldao.EINTERNAL, err, "encode the delegation")
	}
	return r.submit(ctx, modeldao.RelayKindDelegation, req.Delegator, nonce, digest, r.cfg.Deployment.Token, data)
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func revertOf(err error) (txutil.Revert, bool) {
	data, ok := txutil.RevertData(err)
	if !ok {
		return txutil.Revert{}, false
	}
	return txutil.DecodeRevert(data)
}

func stateName(s uint8) string {
	return strings.ToLower(modeldao.ProposalState(s).String())
}
