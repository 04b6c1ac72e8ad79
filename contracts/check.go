package contracts

import (
	"context"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts/bindings"
)

// estimateKey signs the plan on the in-memory chain of Estimate: the real key may sign
// only for its own chain id.
var estimateKey, _ = crypto.ToECDSA(crypto.Keccak256([]byte("modeldao deploy gas estimate")))

// Estimate returns the gas each step of the plan uses, found by running the plan on an
// in-memory EVM (go-ethereum's simulated backend) from a stand-in account at the
// deployer's nonce. A node cannot estimate the later steps: the contracts they call do not
// exist yet. The stand-in's address differs from the deployer's by a few calldata bytes,
// so the figures are estimates within a few hundred gas.
func (p *Plan) Estimate(ctx context.Context) ([]uint64, error) {
	from := crypto.PubkeyToAddress(estimateKey.PublicKey)
	funds := new(big.Int).Lsh(big.NewInt(1), 200)
	sim := simulated.NewBackend(types.GenesisAlloc{from: {Balance: funds, Nonce: p.Nonce}}, simulated.WithBlockGasLimit(60_000_000))
	defer sim.Close()
	c := sim.Client()
	id, err := c.ChainID(ctx)
	if err != nil {
		return nil, modeldao.WrapError(modeldao.EINTERNAL, err, "estimate: chain id")
	}
	stand, err := PlanAt(id.Uint64(), from, p.Nonce, p.Config)
	if err != nil {
		return nil, err
	}
	auth, err := bind.NewKeyedTransactorWithChainID(estimateKey, id)
	if err != nil {
		return nil, modeldao.WrapError(modeldao.EINTERNAL, err, "estimate: transactor")
	}
	res, err := stand.Execute(ctx, c, auth, ExecOptions{Mine: func() { sim.Commit() }})
	if err != nil {
		return nil, modeldao.WrapError(modeldao.EINVALID, err, "the deployment fails on a simulated chain")
	}
	gas := make([]uint64, len(res.Receipts))
	for i, r := range res.Receipts {
		gas[i] = r.GasUsed
	}
	return gas, nil
}

// Check reads back on chain what a deployment of cfg by deployer promises: the governor
// answers to the token and the timelock with cfg's settings; it is the timelock's proposer
// and canceller; anyone may execute; nobody but the timelock itself administers it; the
// registry's governance is the timelock; the token has its name, symbol, owner and initial
// balances. It returns every difference in one error.
func Check(ctx context.Context, b bind.ContractBackend, d Deployment, deployer common.Address, cfg Config) error {
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	o := &bind.CallOpts{Context: ctx}
	for name, a := range map[string]common.Address{"token": d.Token, "governor": d.Governor, "timelock": d.Timelock, "registry": d.Registry} {
		code, err := b.CodeAt(ctx, a, nil)
		if err != nil {
			return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "read the code of the %s", name)
		}
		if len(code) == 0 {
			fail("no contract at the %s's address %s", name, a.Hex())
		}
	}
	if len(bad) > 0 {
		return modeldao.Errorf(modeldao.EINTERNAL, "the deployment is not what was planned: %s", strings.Join(bad, "; "))
	}
	gov, _ := bindings.NewGovernorCaller(d.Governor, b)
	tl, _ := bindings.NewTimelockCaller(d.Timelock, b)
	reg, _ := bindings.NewRegistryCaller(d.Registry, b)
	tok, _ := bindings.NewTokenCaller(d.Token, b)
	var readErr error
	read := func(what string, err error) bool {
		if err != nil && readErr == nil {
			readErr = modeldao.WrapError(modeldao.EUNAVAILABLE, err, "read %s", what)
		}
		return err == nil
	}
	addrIs := func(what string, got common.Address, err error, want common.Address) {
		if read(what, err) && got != want {
			fail("%s is %s, want %s", what, got.Hex(), want.Hex())
		}
	}
	intIs := func(what string, got *big.Int, err error, want *big.Int) {
		if read(what, err) && got.Cmp(want) != 0 {
			fail("%s is %s, want %s", what, got, want)
		}
	}
	role := func(what string, r [32]byte, a common.Address, want bool) {
		has, err := tl.HasRole(o, r, a)
		if read(what, err) && has != want {
			fail("%s: hasRole is %v, want %v", what, has, want)
		}
	}
	u := func(x uint64) *big.Int { return new(big.Int).SetUint64(x) }

	a, err := gov.Token(o)
	addrIs("the governor's token", a, err, d.Token)
	a, err = gov.Timelock(o)
	addrIs("the governor's timelock", a, err, d.Timelock)
	x, err := gov.VotingDelay(o)
	intIs("the voting delay", x, err, u(cfg.VotingDelay))
	x, err = gov.VotingPeriod(o)
	intIs("the voting period", x, err, u(uint64(cfg.VotingPeriod)))
	threshold := cfg.ProposalThreshold
	if threshold == nil {
		threshold = new(big.Int)
	}
	x, err = gov.ProposalThreshold(o)
	intIs("the proposal threshold", x, err, threshold)
	x, err = gov.QuorumNumerator0(o)
	intIs("the quorum (percent)", x, err, u(cfg.QuorumPercent))
	x, err = tl.GetMinDelay(o)
	intIs("the timelock delay", x, err, u(cfg.TimelockDelay))

	proposer, canceller, executor := roleID("PROPOSER_ROLE"), roleID("CANCELLER_ROLE"), roleID("EXECUTOR_ROLE")
	role("the governor as the timelock's proposer", proposer, d.Governor, true)
	role("the governor as the timelock's canceller", canceller, d.Governor, true)
	for _, c := range cfg.Cancellers {
		role(c.Hex()+" as the timelock's canceller", canceller, c, true)
	}
	role("anyone as the timelock's executor (the zero address)", executor, common.Address{}, true)
	role("the deployer as the timelock's admin (renounced)", [32]byte{}, deployer, false)
	role("the deployer as the timelock's proposer", proposer, deployer, false)
	role("the timelock as its own admin", [32]byte{}, d.Timelock, true)

	a, err = reg.Governance(o)
	addrIs("the registry's governance", a, err, d.Timelock)

	if s, err := tok.Name(o); read("the token's name", err) && s != cfg.TokenName {
		fail("the token's name is %q, want %q", s, cfg.TokenName)
	}
	if s, err := tok.Symbol(o); read("the token's symbol", err) && s != cfg.TokenSymbol {
		fail("the token's symbol is %q, want %q", s, cfg.TokenSymbol)
	}
	owner := deployer
	switch cfg.TokenOwner {
	case TokenOwnerTimelock:
		owner = d.Timelock
	case TokenOwnerNone:
		owner = common.Address{}
	}
	a, err = tok.Owner(o)
	addrIs("the token's owner", a, err, owner)
	sums := map[common.Address]*big.Int{}
	total := new(big.Int)
	for _, m := range cfg.Mint {
		if sums[m.To] == nil {
			sums[m.To] = new(big.Int)
		}
		sums[m.To].Add(sums[m.To], m.Amount)
		total.Add(total, m.Amount)
	}
	for to, want := range sums {
		x, err := tok.BalanceOf(o, to)
		intIs("the balance of "+to.Hex(), x, err, want)
	}
	x, err = tok.TotalSupply(o)
	intIs("the total supply", x, err, total)
	if readErr != nil {
		return readErr
	}
	if len(bad) > 0 {
		return modeldao.Errorf(modeldao.EINTERNAL, "the deployment is not what was planned: %s", strings.Join(bad, "; "))
	}
	return nil
}
