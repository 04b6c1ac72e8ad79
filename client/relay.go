package client

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/eip712"
)

// Relayer is a client of ModelDAO's gasless relayer (`modeldao relay`, or the relayer
// function behind the HTTP API): it signs ballots and delegations with a key and posts them,
// so that the signer votes or delegates without paying gas.
//
//	r := client.NewRelayer("http://127.0.0.1:8082", nil)
//	rec, err := r.Vote(ctx, key, proposalID, modeldao.SupportFor, nil)
//	rec, err = r.Wait(ctx, rec.ID)   // MINED or FAILED
type Relayer struct {
	base string
	http *http.Client
}

// NewRelayer returns a client of the relayer at base (scheme://host[:port][/stage], without
// /relay). httpClient may be nil.
func NewRelayer(base string, httpClient *http.Client) *Relayer {
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	return &Relayer{base: strings.TrimRight(base, "/"), http: httpClient}
}

// RelayError is an error answer of the relayer.
type RelayError struct {
	HTTPStatus int
	modeldao.RelayError
}

func (e *RelayError) Error() string {
	return fmt.Sprintf("relayer: HTTP %d %s (%s): %s", e.HTTPStatus, e.Code, e.Reason, e.Message)
}

func (c *Relayer) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("relayer at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("relayer at %s: %w", c.base, err)
	}
	if resp.StatusCode >= 300 {
		e := &RelayError{HTTPStatus: resp.StatusCode}
		if json.Unmarshal(b, &e.RelayError) != nil || e.Code == "" {
			e.Code, e.Message = "TRANSPORT", strings.TrimSpace(string(b))
		}
		return e
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("relayer at %s answered %q: %w", c.base, b, err)
	}
	return nil
}

// Info returns the domains to sign under and, if account is not nil, its nonces.
func (c *Relayer) Info(ctx context.Context, account *common.Address) (*modeldao.RelayInfo, error) {
	path := "/relay"
	if account != nil {
		path += "?account=" + url.QueryEscape(account.Hex())
	}
	var info modeldao.RelayInfo
	return &info, c.do(ctx, http.MethodGet, path, nil, &info)
}

// PostVote posts a signed ballot as it is.
func (c *Relayer) PostVote(ctx context.Context, req *modeldao.RelayVoteRequest) (*modeldao.RelayRecord, error) {
	var rec modeldao.RelayRecord
	return &rec, c.do(ctx, http.MethodPost, "/relay/vote", req, &rec)
}

// PostDelegation posts a signed delegation as it is.
func (c *Relayer) PostDelegation(ctx context.Context, req *modeldao.RelayDelegationRequest) (*modeldao.RelayRecord, error) {
	var rec modeldao.RelayRecord
	return &rec, c.do(ctx, http.MethodPost, "/relay/delegate", req, &rec)
}

// Status returns a relayed request's record.
func (c *Relayer) Status(ctx context.Context, id string) (*modeldao.RelayRecord, error) {
	var rec modeldao.RelayRecord
	return &rec, c.do(ctx, http.MethodGet, "/relay/"+url.PathEscape(id), nil, &rec)
}

// Wait polls a request until it is MINED or FAILED, or ctx ends.
func (c *Relayer) Wait(ctx context.Context, id string) (*modeldao.RelayRecord, error) {
	for {
		rec, err := c.Status(ctx, id)
		if err != nil || rec.Status.Final() {
			return rec, err
		}
		select {
		case <-ctx.Done():
			return rec, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Vote signs a ballot for proposalID with key (at the voter's current nonce, which it asks
// the relayer) and posts it. A non-nil reason makes it an ExtendedBallot.
func (c *Relayer) Vote(ctx context.Context, key *ecdsa.PrivateKey, proposalID *big.Int, support modeldao.VoteSupport, reason *string) (*modeldao.RelayRecord, error) {
	voter := crypto.PubkeyToAddress(key.PublicKey)
	info, err := c.Info(ctx, &voter)
	if err != nil {
		return nil, err
	}
	nonce, ok := new(big.Int).SetString(info.GovernorNonce, 10)
	if !ok {
		return nil, fmt.Errorf("relayer answered governor nonce %q", info.GovernorNonce)
	}
	req, err := SignVote(key, info.Governor, proposalID, support, nonce, reason)
	if err != nil {
		return nil, err
	}
	return c.PostVote(ctx, req)
}

// Delegate signs a delegation to delegatee valid until expiry with key and posts it.
func (c *Relayer) Delegate(ctx context.Context, key *ecdsa.PrivateKey, delegatee common.Address, expiry time.Time) (*modeldao.RelayRecord, error) {
	delegator := crypto.PubkeyToAddress(key.PublicKey)
	info, err := c.Info(ctx, &delegator)
	if err != nil {
		return nil, err
	}
	nonce, ok := new(big.Int).SetString(info.TokenNonce, 10)
	if !ok {
		return nil, fmt.Errorf("relayer answered token nonce %q", info.TokenNonce)
	}
	req, err := SignDelegation(key, info.Token, delegatee, nonce, big.NewInt(expiry.Unix()))
	if err != nil {
		return nil, err
	}
	return c.PostDelegation(ctx, req)
}

// SignVote signs a ballot under the governor's domain (as eth_signTypedData_v4 would).
func SignVote(key *ecdsa.PrivateKey, d modeldao.RelayDomain, proposalID *big.Int, support modeldao.VoteSupport, nonce *big.Int, reason *string) (*modeldao.RelayVoteRequest, error) {
	voter := crypto.PubkeyToAddress(key.PublicKey)
	b := eip712.Ballot{ProposalID: proposalID, Support: uint8(support), Voter: voter, Nonce: nonce}
	req := &modeldao.RelayVoteRequest{ChainID: d.ChainID, VerifyingContract: d.VerifyingContract,
		ProposalID: proposalID.String(), Support: uint8(support), Voter: voter, Nonce: nonce.String()}
	if reason != nil {
		b.Extended, b.Reason = true, *reason
		params := "0x"
		req.Reason, req.Params = reason, &params
	}
	sig, err := eip712.Sign(domainOf(d).Digest(b.StructHash()), key)
	if err != nil {
		return nil, err
	}
	req.Signature = hexutil.Encode(sig)
	return req, nil
}

// SignDelegation signs a delegation under the token's domain.
func SignDelegation(key *ecdsa.PrivateKey, d modeldao.RelayDomain, delegatee common.Address, nonce, expiry *big.Int) (*modeldao.RelayDelegationRequest, error) {
	sig, err := eip712.Sign(domainOf(d).Digest(eip712.Delegation{Delegatee: delegatee, Nonce: nonce, Expiry: expiry}.StructHash()), key)
	if err != nil {
		return nil, err
	}
	return &modeldao.RelayDelegationRequest{ChainID: d.ChainID, VerifyingContract: d.VerifyingContract,
		Delegator: crypto.PubkeyToAddress(key.PublicKey), Delegatee: delegatee, Nonce: nonce.String(), Expiry: expiry.String(),
		Signature: hexutil.Encode(sig)}, nil
}

func domainOf(d modeldao.RelayDomain) eip712.Domain {
	return eip712.Domain{Name: d.Name, Version: d.Version, ChainID: d.ChainID, VerifyingContract: d.VerifyingContract}
}
