package contracts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts/bindings"
)

// Plan is a deployment worked out before anything is sent: its transactions in nonce order
// and the addresses the contracts will get. A contract's address is the CREATE address of
// the deployer and the nonce of its transaction, so the whole DAO is known (and can be
// printed, or resumed) before the first transaction is sent.
type Plan struct {
	ChainID  uint64         `json:"chainId"`
	Deployer common.Address `json:"deployer"`
	Nonce    uint64         `json:"nonce"` // of the first transaction
	Config   Config         `json:"config"`
	Token    common.Address `json:"token"`
	Timelock common.Address `json:"timelock"`
	Governor common.Address `json:"governor"`
	Registry common.Address `json:"registry"`
	Steps    []Step         `json:"steps"`
}

// Step is one transaction of a plan.
type Step struct {
	Name     string          `json:"name"`
	Nonce    uint64          `json:"nonce"`
	Contract *common.Address `json:"contract,omitempty"` // the contract a deployment creates
	// barrier: sent only once every earlier step is mined. The governor's constructor reads
	// the token's clock, and the gas estimates of the calls need their contracts on chain.
	barrier bool
	send    func(o *bind.TransactOpts, b bind.ContractBackend) (*types.Transaction, error)
}

// DefaultBatch is how many deployment transactions may wait in the node's pool at once:
// geth keeps 16 executable transactions per account before it starts to evict them, and
// hosted nodes limit a sender's in-flight transactions too.
const DefaultBatch = 16

// NewPlan reads the chain id and the deployer's next nonce from the node and plans the
// deployment of cfg from there; with prog (a deployment being resumed) it plans from the
// nonce the progress file recorded and checks that the file is of the same plan.
func NewPlan(ctx context.Context, b Backend, from common.Address, cfg Config, prog *Progress) (*Plan, error) {
	id, err := b.ChainID(ctx)
	if err != nil {
		return nil, modeldao.WrapError(modeldao.EUNAVAILABLE, err, "read the chain id")
	}
	if prog != nil {
		p, err := PlanAt(id.Uint64(), from, prog.Nonce, cfg)
		if err != nil {
			return nil, err
		}
		return p, p.matches(prog)
	}
	// Nonces are assigned here: the pending nonce of a node's pool may lag behind a
	// transaction just sent, and several are sent before any is mined.
	nonce, err := b.PendingNonceAt(ctx, from)
	if err != nil {
		return nil, modeldao.WrapError(modeldao.EUNAVAILABLE, err, "read the deployer's nonce")
	}
	return PlanAt(id.Uint64(), from, nonce, cfg)
}

// PlanAt plans the deployment of cfg by from, starting at nonce.
func PlanAt(chainID uint64, from common.Address, nonce uint64, cfg Config) (*Plan, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Plan{ChainID: chainID, Deployer: from, Nonce: nonce, Config: cfg}
	at := func(i uint64) common.Address { return crypto.CreateAddress(from, nonce+i) }
	p.Token, p.Timelock, p.Governor, p.Registry = at(0), at(1), at(2), at(3)
	threshold := cfg.ProposalThreshold
	if threshold == nil {
		threshold = new(big.Int)
	}
	add := func(name string, contract bool, barrier bool, send func(*bind.TransactOpts, bind.ContractBackend) (*types.Transaction, error)) {
		s := Step{Name: name, Nonce: nonce + uint64(len(p.Steps)), barrier: barrier, send: send}
		if contract {
			a := crypto.CreateAddress(from, s.Nonce)
			s.Contract = &a
		}
		p.Steps = append(p.Steps, s)
	}
	add("deploy the token", true, false, func(o *bind.TransactOpts, b bind.ContractBackend) (*types.Transaction, error) {
		_, tx, _, err := bindings.DeployToken(o, b, cfg.TokenName, cfg.TokenSymbol, from)
		return tx, err
	})
	add("deploy the timelock", true, false, func(o *bind.TransactOpts, b bind.ContractBackend) (*types.Transaction, error) {
		// No proposers yet (the governor is granted the role below), the zero address as
		// executor (anyone may execute a ready operation), the deployer as admin until it
		// renounces.
		_, tx, _, err := bindings.DeployTimelock(o, b, new(big.Int).SetUint64(cfg.TimelockDelay), nil, []common.Address{{}}, from)
		return tx, err
	})
	add("deploy the governor", true, true, func(o *bind.TransactOpts, b bind.ContractBackend) (*types.Transaction, error) {
		_, tx, _, err := bindings.DeployGovernor(o, b, p.Token, p.Timelock,
			new(big.Int).SetUint64(cfg.VotingDelay), cfg.VotingPeriod, threshold, new(big.Int).SetUint64(cfg.QuorumPercent))
		return tx, err
	})
	add("deploy the registry", true, false, func(o *bind.TransactOpts, b bind.ContractBackend) (*types.Transaction, error) {
		_, tx, _, err := bindings.DeployRegistry(o, b, p.Timelock)
		return tx, err
	})
	timelock := func(b bind.ContractBackend) *bindings.TimelockTransactor {
		t, _ := bindings.NewTimelockTransactor(p.Timelock, b) // only fails on a bad ABI, which is generated
		return t
	}
	token := func(b bind.ContractBackend) *bindings.TokenTransactor {
		t, _ := bindings.NewTokenTransactor(p.Token, b)
		return t
	}
	// Role ids are constants of TimelockController; computing them locally saves calls.
	grant := func(name string, role [32]byte, to common.Address) {
		add(name, false, false, func(o *bind.TransactOpts, b bind.ContractBackend) (*types.Transaction, error) {
			return timelock(b).GrantRole(o, role, to)
		})
	}
	grant("grant the governor the proposer role", roleID("PROPOSER_ROLE"), p.Governor)
	grant("grant the governor the canceller role", roleID("CANCELLER_ROLE"), p.Governor)
	for _, a := range cfg.Cancellers {
		grant("grant "+a.Hex()+" the canceller role", roleID("CANCELLER_ROLE"), a)
	}
	for _, a := range cfg.Mint {
		add(fmt.Sprintf("mint %s to %s", a.Amount, a.To.Hex()), false, false, func(o *bind.TransactOpts, b bind.ContractBackend) (*types.Transaction, error) {
			return token(b).Mint(o, a.To, a.Amount)
		})
	}
	add("renounce the timelock admin role", false, false, func(o *bind.TransactOpts, b bind.ContractBackend) (*types.Transaction, error) {
		return timelock(b).RenounceRole(o, common.Hash{}, from)
	})
	switch cfg.TokenOwner {
	case TokenOwnerTimelock:
		add("hand the token's ownership to the timelock", false, false, func(o *bind.TransactOpts, b bind.ContractBackend) (*types.Transaction, error) {
			return token(b).TransferOwnership(o, p.Timelock)
		})
	case TokenOwnerNone:
		add("renounce the token's ownership", false, false, func(o *bind.TransactOpts, b bind.ContractBackend) (*types.Transaction, error) {
			return token(b).RenounceOwnership(o)
		})
	}
	return p, nil
}

// Validate checks a configuration before anything is sent.
func (c Config) Validate() error {
	switch {
	case c.TokenName == "":
		return modeldao.Errorf(modeldao.EINVALID, "the token needs a name")
	case c.TokenSymbol == "":
		return modeldao.Errorf(modeldao.EINVALID, "the token needs a symbol")
	case c.VotingPeriod == 0:
		return modeldao.Errorf(modeldao.EINVALID, "the voting period must be at least one block")
	case c.QuorumPercent > 100:
		return modeldao.Errorf(modeldao.EINVALID, "a quorum of %d%% of the supply can never be reached", c.QuorumPercent)
	case c.ProposalThreshold != nil && c.ProposalThreshold.Sign() < 0:
		return modeldao.Errorf(modeldao.EINVALID, "the proposal threshold must not be negative")
	}
	switch c.TokenOwner {
	case "", TokenOwnerDeployer, TokenOwnerTimelock, TokenOwnerNone:
	default:
		return modeldao.Errorf(modeldao.EINVALID, "token owner %q: want %s, %s or %s", c.TokenOwner, TokenOwnerTimelock, TokenOwnerNone, TokenOwnerDeployer)
	}
	for i, a := range c.Mint {
		if a.Amount == nil || a.Amount.Sign() <= 0 || a.Amount.BitLen() > 256 {
			return modeldao.Errorf(modeldao.EINVALID, "allocation %d (to %s) needs a positive amount below 2^256", i+1, a.To.Hex())
		}
		if a.To == (common.Address{}) {
			return modeldao.Errorf(modeldao.EINVALID, "allocation %d mints to the zero address", i+1)
		}
	}
	for _, a := range c.Cancellers {
		if a == (common.Address{}) {
			return modeldao.Errorf(modeldao.EINVALID, "the zero address cannot be a canceller")
		}
	}
	return nil
}

// Fingerprint identifies a plan: a progress file resumes only the plan it was written for.
func (p *Plan) Fingerprint() common.Hash {
	b, _ := json.Marshal(struct {
		ChainID  uint64
		Deployer common.Address
		Nonce    uint64
		Config   Config
	}{p.ChainID, p.Deployer, p.Nonce, p.Config})
	return crypto.Keccak256Hash(b)
}

func (p *Plan) matches(prog *Progress) error {
	switch {
	case prog.ChainID != p.ChainID:
		return modeldao.Errorf(modeldao.ECONFLICT, "the progress file is of a deployment on chain %d, this node serves chain %d", prog.ChainID, p.ChainID)
	case prog.Deployer != p.Deployer:
		return modeldao.Errorf(modeldao.ECONFLICT, "the progress file is of a deployment by %s, this key is %s", prog.Deployer.Hex(), p.Deployer.Hex())
	case prog.Plan != p.Fingerprint():
		return modeldao.Errorf(modeldao.ECONFLICT, "the progress file is of a deployment with other settings: resume with the same flags and distribution, or move the file away to deploy afresh")
	case len(prog.Sent) > len(p.Steps):
		return modeldao.Errorf(modeldao.ECONFLICT, "the progress file records %d transactions, the plan has %d", len(prog.Sent), len(p.Steps))
	}
	for i, s := range prog.Sent {
		if s.Nonce != p.Steps[i].Nonce || s.Step != p.Steps[i].Name {
			return modeldao.Errorf(modeldao.ECONFLICT, "the progress file's transaction %d (%s, nonce %d) is not step %d of the plan", i, s.Step, s.Nonce, i)
		}
	}
	return nil
}

// Progress is what a deployment has sent so far, written to a file before each transaction
// is sent: a deployment that stops (Ctrl-C, a node that goes away, a crash) resumes from it
// instead of deploying a second DAO.
type Progress struct {
	ChainID  uint64         `json:"chainId"`
	Deployer common.Address `json:"deployer"`
	Nonce    uint64         `json:"nonce"`
	Plan     common.Hash    `json:"plan"` // Plan.Fingerprint
	Sent     []SentTx       `json:"sent"`
	Done     bool           `json:"done"`
}

// SentTx is a signed transaction of a step; the raw bytes let a resumed deployment send
// exactly the same transaction again when the node has forgotten it.
type SentTx struct {
	Step     string          `json:"step"`
	Nonce    uint64          `json:"nonce"`
	Hash     common.Hash     `json:"hash"`
	Contract *common.Address `json:"contract,omitempty"`
	Raw      hexutil.Bytes   `json:"raw"`
}

// LoadProgress reads a progress file; a file that does not exist is no progress (nil).
func LoadProgress(path string) (*Progress, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, modeldao.WrapError(modeldao.EINVALID, err, "read the progress file %s", path)
	}
	var p Progress
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, modeldao.WrapError(modeldao.EINVALID, err, "the progress file %s is not valid JSON", path)
	}
	return &p, nil
}

// save replaces the file through a rename, so that a crash leaves the old or the new file,
// and syncs it: the record of a transaction must be on disk before the transaction is sent.
func (p *Progress) save(path string) error {
	b, _ := json.MarshalIndent(p, "", "  ")
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return modeldao.WrapError(modeldao.EINVALID, err, "write the progress file")
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return modeldao.WrapError(modeldao.EINVALID, err, "write the progress file")
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return modeldao.WrapError(modeldao.EINVALID, err, "write the progress file")
	}
	if err := tmp.Close(); err != nil {
		return modeldao.WrapError(modeldao.EINVALID, err, "write the progress file")
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return modeldao.WrapError(modeldao.EINVALID, err, "write the progress file")
	}
	return nil
}

// ExecOptions tune Plan.Execute.
type ExecOptions struct {
	// Mine is called after sending on a chain that mines on demand (the simulated
	// backend's Commit); nil for a node that mines by itself.
	Mine func()
	// ProgressFile records every transaction before it is sent; when it exists, the
	// deployment it records is resumed. "" keeps no record.
	ProgressFile string
	// Confirmations: blocks on top of the last deployment transaction's (1: mined is enough).
	Confirmations uint64
	// Batch bounds the transactions waiting in the node's pool; 0 means DefaultBatch.
	Batch int
	// Wait bounds each wait for transactions to be mined; 0 waits until ctx ends.
	Wait time.Duration
	// Log reports progress for people; nil reports nothing.
	Log func(format string, args ...any)
}

// Result is a finished deployment.
type Result struct {
	Deployment Deployment
	Receipts   []*types.Receipt // one per step
	Resumed    int              // steps a progress file said were sent already
}

// Execute sends the plan's transactions from auth's account (in batches, waiting at the
// barriers), waits for them and their confirmations, and returns the deployment with the
// block of its first transaction. With a progress file it resumes what the file records.
func (p *Plan) Execute(ctx context.Context, b Backend, auth *bind.TransactOpts, opt ExecOptions) (*Result, error) {
	if auth.From != p.Deployer {
		return nil, modeldao.Errorf(modeldao.EINVALID, "the plan is for deployer %s, the key is %s", p.Deployer.Hex(), auth.From.Hex())
	}
	logf := opt.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	batch := opt.Batch
	if batch <= 0 {
		batch = DefaultBatch
	}
	prog := &Progress{ChainID: p.ChainID, Deployer: p.Deployer, Nonce: p.Nonce, Plan: p.Fingerprint()}
	if opt.ProgressFile != "" {
		loaded, err := LoadProgress(opt.ProgressFile)
		if err != nil {
			return nil, err
		}
		if loaded != nil {
			if err := p.matches(loaded); err != nil {
				return nil, err
			}
			prog = loaded
		}
	}
	save := func() error {
		if opt.ProgressFile == "" {
			return nil
		}
		return prog.save(opt.ProgressFile)
	}
	if err := save(); err != nil {
		return nil, err
	}
	sendVia := WithGasMargin(b)
	res := &Result{Receipts: make([]*types.Receipt, len(p.Steps)), Resumed: len(prog.Sent)}
	var inflight []int
	wait := func() error {
		if opt.Mine != nil {
			opt.Mine()
		}
		for _, i := range inflight {
			r, err := p.waitMined(ctx, b, opt, i, prog.Sent[i].Hash)
			if err != nil {
				return err
			}
			res.Receipts[i] = r
		}
		inflight = inflight[:0]
		return nil
	}
	for i, st := range p.Steps {
		if (st.barrier || len(inflight) >= batch || i == res.Resumed) && len(inflight) > 0 {
			// Before the first new transaction all resumed ones are mined, so that the
			// deployer's nonce shows whether another transaction took the next one.
			if err := wait(); err != nil {
				return nil, err
			}
		}
		if i < len(prog.Sent) {
			if err := p.resume(ctx, b, prog.Sent[i], logf); err != nil {
				return nil, err
			}
			inflight = append(inflight, i)
			continue
		}
		if i == res.Resumed {
			next, err := b.PendingNonceAt(ctx, p.Deployer)
			if err != nil {
				return nil, modeldao.WrapError(modeldao.EUNAVAILABLE, err, "read the deployer's nonce")
			}
			if next != st.Nonce {
				return nil, modeldao.Errorf(modeldao.ECONFLICT,
					"the deployer %s's next nonce is %d, but the deployment's next transaction (%s) has nonce %d: another transaction was sent from this account; deploy afresh (move the progress file away) from an account nothing else uses",
					p.Deployer.Hex(), next, st.Name, st.Nonce)
			}
		}
		o := *auth
		o.Context = ctx
		o.Nonce = new(big.Int).SetUint64(st.Nonce)
		o.NoSend = true
		tx, err := st.send(&o, sendVia)
		if err != nil {
			return nil, modeldao.WrapError(modeldao.EUNAVAILABLE, err, "prepare the transaction to %s", st.Name)
		}
		raw, err := tx.MarshalBinary()
		if err != nil {
			return nil, modeldao.WrapError(modeldao.EINTERNAL, err, "encode the transaction to %s", st.Name)
		}
		prog.Sent = append(prog.Sent, SentTx{Step: st.Name, Nonce: st.Nonce, Hash: tx.Hash(), Contract: st.Contract, Raw: raw})
		if err := save(); err != nil {
			return nil, err
		}
		if err := b.SendTransaction(ctx, tx); err != nil {
			var re rpc.Error
			if errors.As(err, &re) {
				// The node answered and refused it: it holds no such transaction, so the
				// record goes and a rerun signs it afresh.
				prog.Sent = prog.Sent[:len(prog.Sent)-1]
				if serr := save(); serr != nil {
					return nil, serr
				}
				return nil, modeldao.WrapError(modeldao.EINVALID, err, "the node refused the transaction to %s", st.Name)
			}
			return nil, modeldao.WrapError(modeldao.EUNAVAILABLE, err, "send the transaction to %s (%s); it is recorded: run again to resume", st.Name, tx.Hash().Hex())
		}
		logf("sent %s: %s (nonce %d)", st.Name, tx.Hash().Hex(), st.Nonce)
		inflight = append(inflight, i)
	}
	if err := wait(); err != nil {
		return nil, err
	}
	if err := p.confirm(ctx, b, opt, res, logf); err != nil {
		return nil, err
	}
	first := res.Receipts[0]
	res.Deployment = Deployment{ChainID: p.ChainID, Token: p.Token, Governor: p.Governor, Timelock: p.Timelock, Registry: p.Registry,
		Block: first.BlockNumber.Uint64(), BlockHash: first.BlockHash}
	prog.Done = true
	if err := save(); err != nil {
		return nil, err
	}
	return res, nil
}

// resume makes sure a transaction recorded by an earlier run is mined or pending, sending
// its raw bytes again when the node has forgotten it (same nonce, same hash: it cannot be
// mined twice).
func (p *Plan) resume(ctx context.Context, b Backend, s SentTx, logf func(string, ...any)) error {
	if r, err := b.TransactionReceipt(ctx, s.Hash); err == nil && r != nil {
		logf("resumed %s: %s was mined in block %d", s.Step, s.Hash.Hex(), r.BlockNumber)
		return nil
	}
	if tx, _, err := b.TransactionByHash(ctx, s.Hash); err == nil && tx != nil {
		logf("resumed %s: %s is waiting in the node's pool", s.Step, s.Hash.Hex())
		return nil
	}
	mined, err := b.NonceAt(ctx, p.Deployer, nil)
	if err != nil {
		return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "read the deployer's nonce")
	}
	if mined > s.Nonce {
		return modeldao.Errorf(modeldao.ECONFLICT,
			"nonce %d of %s, recorded for the transaction to %s (%s), was used by another transaction: the deployment cannot resume; deploy afresh (move the progress file away) from an account nothing else uses",
			s.Nonce, p.Deployer.Hex(), s.Step, s.Hash.Hex())
	}
	var tx types.Transaction
	if err := tx.UnmarshalBinary(s.Raw); err != nil || tx.Hash() != s.Hash {
		return modeldao.Errorf(modeldao.EINVALID, "the progress file's transaction to %s is damaged", s.Step)
	}
	if err := b.SendTransaction(ctx, &tx); err != nil {
		return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "send the recorded transaction to %s (%s) again", s.Step, s.Hash.Hex())
	}
	logf("resumed %s: sent %s again (the node did not have it)", s.Step, s.Hash.Hex())
	return nil
}

// waitMined waits for step i's receipt and checks it.
func (p *Plan) waitMined(ctx context.Context, b Backend, opt ExecOptions, i int, hash common.Hash) (*types.Receipt, error) {
	st := p.Steps[i]
	var r *types.Receipt
	if opt.Mine != nil {
		// A chain mined on demand may seal only part of the pool in one block: mine until
		// the transaction is in, a bounded number of times.
		for attempt := 0; ; attempt++ {
			if r, _ = b.TransactionReceipt(ctx, hash); r != nil {
				break
			}
			if attempt == 10 {
				return nil, modeldao.Errorf(modeldao.EUNAVAILABLE, "the transaction to %s (%s) was not mined after 10 blocks", st.Name, hash.Hex())
			}
			opt.Mine()
		}
	} else {
		wctx := ctx
		if opt.Wait > 0 {
			var cancel context.CancelFunc
			wctx, cancel = context.WithTimeout(ctx, opt.Wait)
			defer cancel()
		}
		var err error
		if r, err = WaitReceipt(wctx, b, hash); err != nil {
			return nil, modeldao.WrapError(modeldao.EUNAVAILABLE, err,
				"the transaction to %s (%s) was not mined in time (is the chain producing blocks, is the gas price high enough?): run again to resume", st.Name, hash.Hex())
		}
	}
	if r.Status != types.ReceiptStatusSuccessful {
		return nil, modeldao.Errorf(modeldao.EINTERNAL, "the transaction to %s (%s) reverted in block %d", st.Name, hash.Hex(), r.BlockNumber)
	}
	if st.Contract != nil && r.ContractAddress != *st.Contract {
		return nil, modeldao.Errorf(modeldao.EINTERNAL, "the transaction to %s created %s, not the planned %s", st.Name, r.ContractAddress.Hex(), st.Contract.Hex())
	}
	return r, nil
}

// ReceiptReader is what WaitReceipt needs of a node.
type ReceiptReader interface {
	TransactionReceipt(ctx context.Context, txHash common.Hash) (*types.Receipt, error)
}

// WaitReceipt polls for a transaction's receipt, every 50 ms at first and then every
// 500 ms, until it is there or ctx ends. A node error is polled through: nodes answer
// "not found" in several ways.
func WaitReceipt(ctx context.Context, b ReceiptReader, hash common.Hash) (*types.Receipt, error) {
	wait := 50 * time.Millisecond
	for {
		// Not found yet, or a transient node error: keep polling until ctx ends.
		if r, err := b.TransactionReceipt(ctx, hash); err == nil && r != nil {
			return r, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		wait = min(wait*2, 500*time.Millisecond)
	}
}

// confirm waits until the last transaction has opt.Confirmations blocks (its own
// included), then reads every receipt again: a reorganisation in the meantime may have
// moved or dropped them, and the deployment file must name a block of the chain.
func (p *Plan) confirm(ctx context.Context, b Backend, opt ExecOptions, res *Result, logf func(string, ...any)) error {
	var last uint64
	for _, r := range res.Receipts {
		last = max(last, r.BlockNumber.Uint64())
	}
	if opt.Confirmations > 1 {
		want := last + opt.Confirmations - 1
		logf("waiting for block %d (%d confirmations)", want, opt.Confirmations)
		wctx := ctx
		if opt.Wait > 0 {
			var cancel context.CancelFunc
			wctx, cancel = context.WithTimeout(ctx, opt.Wait+time.Duration(opt.Confirmations)*time.Minute)
			defer cancel()
		}
		for {
			head, err := b.BlockNumber(wctx)
			if err == nil && head >= want {
				break
			}
			if opt.Mine != nil {
				opt.Mine()
				continue
			}
			select {
			case <-wctx.Done():
				return modeldao.WrapError(modeldao.EUNAVAILABLE, wctx.Err(), "waiting for %d confirmations (block %d, head %d): run again to resume", opt.Confirmations, want, head)
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
	for i, r := range res.Receipts {
		again, err := b.TransactionReceipt(ctx, r.TxHash)
		if err != nil || again == nil {
			return modeldao.Errorf(modeldao.EUNAVAILABLE, "the transaction to %s (%s) is no longer on the chain (a reorganisation): run again to resume", p.Steps[i].Name, r.TxHash.Hex())
		}
		if again.Status != types.ReceiptStatusSuccessful {
			return modeldao.Errorf(modeldao.EINTERNAL, "the transaction to %s (%s) reverted in block %d after a reorganisation", p.Steps[i].Name, r.TxHash.Hex(), again.BlockNumber)
		}
		res.Receipts[i] = again
	}
	first := res.Receipts[0]
	h, err := b.HeaderByNumber(ctx, first.BlockNumber)
	if err != nil {
		return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "read block %d", first.BlockNumber)
	}
	if h.Hash() != first.BlockHash {
		return modeldao.Errorf(modeldao.EUNAVAILABLE, "block %d changed while the deployment was checked (a reorganisation): run again", first.BlockNumber)
	}
	return nil
}
