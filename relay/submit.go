package relay

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"regexp"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/store"
)

// gasLimit is the gas limit sent for an estimate, and the amount reserved in the budget:
// a quarter more than the estimate, as a checkpoint write can cost more in the block the
// transaction lands in than in the one it was estimated against.
func gasLimit(est uint64) uint64 { return est + est/4 + 10_000 }

// submit estimates, admits (claim, signer window, budget), sends and records a call to
// `to` with data on behalf of signer.
func (r *Relayer) submit(ctx context.Context, kind modeldao.RelayKind, signer common.Address, nonce *big.Int, digest common.Hash, to common.Address, data []byte) (*modeldao.RelayRecord, error) {
	est, err := r.cfg.Chain.EstimateGas(ctx, ethereum.CallMsg{From: r.from, To: &to, Data: data})
	if err != nil {
		if rv, ok := revertOf(err); ok {
			return nil, refuse(http.StatusConflict, modeldao.RelayWouldRevert, "the node says the transaction would revert with %s: nothing was sent", rv.Text)
		}
		return nil, unavailable(err, "the node could not estimate the transaction's gas")
	}
	limit := gasLimit(est)
	now := r.cfg.Now()
	rec := modeldao.RelayRecord{ID: digest.Hex(), Kind: kind, Signer: signer, Status: modeldao.RelayPending,
		GasEstimate: limit, CreatedAt: now.UnixMilli(), UpdatedAt: now.UnixMilli()}
	res, err := r.cfg.Store.RelayAdmit(ctx, store.RelayAdmission{
		Record: rec, Nonce: nonce.String(), Now: now, SignerWindow: r.cfg.Window, SignerMax: r.cfg.SignerLimit,
		Budget: r.cfg.GasBudget, Period: r.cfg.BudgetPeriod, ClaimTTL: claimTTL, RecordTTL: recordTTL,
	})
	if err != nil {
		return nil, unavailable(err, "cannot admit the request")
	}
	switch res.Outcome {
	case store.RelayAdmitted:
	case store.RelayReplayed:
		return nil, refuse(http.StatusConflict, modeldao.RelayReplay, "nonce %s of %s was already relayed (request %s): a signature is relayed once; poll GET /relay/%s", nonce, signer.Hex(), res.HeldBy, res.HeldBy)
	case store.RelaySignerFull:
		return nil, &Error{Status: http.StatusTooManyRequests, Reason: modeldao.RelaySignerLimit, RetryAfter: res.RetryAfter,
			Message: fmt.Sprintf("%s sent too many requests: at most %d per %s; retry in %s", signer.Hex(), r.cfg.SignerLimit, r.cfg.Window, res.RetryAfter.Round(time.Second))}
	case store.RelayBudgetSpent:
		return nil, &Error{Status: http.StatusServiceUnavailable, Reason: modeldao.RelayBudget, RetryAfter: res.RetryAfter,
			Message: fmt.Sprintf("the relayer's gas budget for this period is spent (%d of %d gas reserved, %d needed): retry in %s, or send the transaction yourself", res.Reserved, r.cfg.GasBudget, limit, res.RetryAfter.Round(time.Second))}
	default:
		return nil, modeldao.Errorf(modeldao.EINTERNAL, "unexpected admission outcome %q", res.Outcome)
	}

	hash, err := r.send(ctx, to, data, limit)
	if err != nil {
		// Nothing was sent: give the nonce and the gas back, and say why.
		failed := rec
		failed.Status, failed.Reason, failed.UpdatedAt = modeldao.RelayFailed, "not sent: "+redactErr(err), r.cfg.Now().UnixMilli()
		bg := context.WithoutCancel(ctx)
		if _, uerr := r.cfg.Store.RelayUpdate(bg, failed, modeldao.RelayPending, r.cfg.BudgetPeriod, int64(limit), recordTTL); uerr != nil {
			r.log.Error("relay: recording a failed send", "id", rec.ID, "err", uerr)
		}
		if rerr := r.cfg.Store.RelayRelease(bg, kind, signer, nonce.String(), rec.ID); rerr != nil {
			r.log.Error("relay: releasing a nonce claim", "id", rec.ID, "err", rerr)
		}
		r.log.Warn("relay: send failed", "id", rec.ID, "kind", kind, "signer", signer, "err", redactErr(err))
		return nil, unavailable(err, "the relayer could not send the transaction (%s)", redactErr(err))
	}
	sub := rec
	sub.Status, sub.TxHash, sub.UpdatedAt = modeldao.RelaySubmitted, &hash, r.cfg.Now().UnixMilli()
	if _, err := r.cfg.Store.RelayUpdate(context.WithoutCancel(ctx), sub, modeldao.RelayPending, r.cfg.BudgetPeriod, 0, recordTTL); err != nil {
		// The transaction is out: answer with its hash even though the record lags.
		r.log.Error("relay: recording a sent transaction", "id", rec.ID, "tx", hash, "err", err)
	}
	r.log.Info("relay: sent", "id", rec.ID, "kind", kind, "signer", signer, "tx", hash, "gas_limit", limit)
	if r.cfg.Wait > 0 {
		wctx, cancel := context.WithTimeout(ctx, r.cfg.Wait)
		defer cancel()
		if rcpt, err := waitReceipt(wctx, r.cfg.Chain, hash); err == nil {
			return r.settle(ctx, &sub, rcpt)
		}
	}
	return &sub, nil
}

// send signs and sends one transaction, holding the relayer account's lock while it picks
// the nonce, so that instances sharing the key never reuse one.
func (r *Relayer) send(ctx context.Context, to common.Address, data []byte, limit uint64) (common.Hash, error) {
	owner := uniqueMember()
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := r.cfg.Store.RelayLock(lctx, r.from, owner, lockTTL); err != nil {
		return common.Hash{}, err
	}
	defer func() {
		if err := r.cfg.Store.RelayUnlock(context.WithoutCancel(ctx), r.from, owner); err != nil {
			r.log.Error("relay: unlocking the relayer account", "err", err)
		}
	}()
	chainID := new(big.Int).SetUint64(r.cfg.Deployment.ChainID)
	n, err := r.cfg.Chain.PendingNonceAt(ctx, r.from)
	if err != nil {
		return common.Hash{}, err
	}
	tip, err := r.cfg.Chain.SuggestGasTipCap(ctx)
	if err != nil {
		return common.Hash{}, err
	}
	head, err := r.cfg.Chain.HeaderByNumber(ctx, nil)
	if err != nil {
		return common.Hash{}, err
	}
	feeCap := new(big.Int).Add(tip, new(big.Int).Mul(head.BaseFee, big.NewInt(2)))
	tx, err := types.SignNewTx(r.cfg.Key, types.LatestSignerForChainID(chainID), &types.DynamicFeeTx{
		ChainID: chainID, Nonce: n, GasTipCap: tip, GasFeeCap: feeCap, Gas: limit, To: &to, Data: data,
	})
	if err != nil {
		return common.Hash{}, err
	}
	if err := r.cfg.Chain.SendTransaction(ctx, tx); err != nil {
		return common.Hash{}, err
	}
	return tx.Hash(), nil
}

// hexKey matches anything that looks like a private key, so that no error text carries one.
var hexKey = regexp.MustCompile(`(?i)(0x)?[0-9a-f]{64}`)

// redactErr is err's text with 32-byte hex strings shortened (the key never reaches an error,
// but node errors quote transactions, and a log is not the place to find out).
func redactErr(err error) string {
	return hexKey.ReplaceAllStringFunc(err.Error(), func(s string) string { return s[:10] + "…" })
}

func waitReceipt(ctx context.Context, b Backend, hash common.Hash) (*types.Receipt, error) {
	wait := 50 * time.Millisecond
	for {
		rc, err := b.TransactionReceipt(ctx, hash)
		if err == nil && rc != nil {
			return rc, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		if wait < 500*time.Millisecond {
			wait *= 2
		}
	}
}

// settle records the receipt of a SUBMITTED request (once, whoever polls first) and gives
// the unused part of its reservation back to the budget.
func (r *Relayer) settle(ctx context.Context, rec *modeldao.RelayRecord, rc *types.Receipt) (*modeldao.RelayRecord, error) {
	done := *rec
	done.GasUsed, done.Block, done.UpdatedAt = rc.GasUsed, rc.BlockNumber.Uint64(), r.cfg.Now().UnixMilli()
	if rc.Status == types.ReceiptStatusSuccessful {
		done.Status = modeldao.RelayMined
	} else {
		done.Status, done.Reason = modeldao.RelayFailed, fmt.Sprintf("the transaction reverted in block %d (another transaction used the nonce or changed the state first)", done.Block)
	}
	ok, err := r.cfg.Store.RelayUpdate(context.WithoutCancel(ctx), done, modeldao.RelaySubmitted, r.cfg.BudgetPeriod, int64(rec.GasEstimate)-int64(rc.GasUsed), recordTTL)
	if err != nil {
		return nil, unavailable(err, "cannot record the receipt")
	}
	if !ok {
		return r.cfg.Store.RelayRecord(ctx, rec.ID)
	}
	r.log.Info("relay: settled", "id", rec.ID, "status", done.Status, "tx", rc.TxHash, "gas_used", rc.GasUsed)
	return &done, nil
}

var idPattern = regexp.MustCompile(`^0x[0-9a-fA-F]{64}$`)

// Status returns a request's record, settling it first if its transaction was mined.
func (r *Relayer) Status(ctx context.Context, id string) (*modeldao.RelayRecord, error) {
	if !idPattern.MatchString(id) {
		return nil, refuse(http.StatusBadRequest, modeldao.RelayMalformed, "%q is not a request id: want the 0x-prefixed 32-byte id the relayer answered", id)
	}
	id = common.HexToHash(id).Hex()
	rec, err := r.cfg.Store.RelayRecord(ctx, id)
	if err != nil {
		if modeldao.ErrorCode(err) == modeldao.ENOTFOUND {
			return nil, refuse(http.StatusNotFound, modeldao.RelayNotFound, "%s", modeldao.ErrorMessage(err))
		}
		return nil, unavailable(err, "cannot read the request")
	}
	if rec.Status != modeldao.RelaySubmitted || rec.TxHash == nil {
		return rec, nil
	}
	rc, err := r.cfg.Chain.TransactionReceipt(ctx, *rec.TxHash)
	if errors.Is(err, ethereum.NotFound) || (err == nil && rc == nil) {
		return rec, nil
	}
	if err != nil {
		// The record is still right; the node will answer the next poll.
		r.log.Warn("relay: reading a receipt", "id", id, "err", err)
		return rec, nil
	}
	return r.settle(ctx, rec, rc)
}
