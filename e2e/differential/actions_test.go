package differential

import (
	"context"
	"math/big"
	"math/rand/v2"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/internal/scenario"
)

// driver adds to the scenario's random actions those that make the API's hard cases
// happen often: voting powers a few wei apart (uint256 orderings), dust transfers, and
// executions by the timelock directly, which anyone may call once the delay has passed.
// It acts through devchain.Node only, so the same history runs on every backend.
type driver struct {
	s   *scenario.Scenario
	rng *rand.Rand
	// counts of what the driver's own actions did, to prove the hard cases happened
	equalized, dust, timelockExecuted, emptied int
}

func newDriver(s *scenario.Scenario, seed uint64) *driver {
	return &driver{s: s, rng: rand.New(rand.NewPCG(seed, 0x5eed))}
}

// run performs n actions, each either one of the scenario's or one of the driver's.
func (d *driver) run(ctx context.Context, n int) error {
	for range n {
		var err error
		switch r := d.rng.IntN(100); {
		case r < 8:
			err = d.equalize(ctx)
		case r < 14:
			err = d.executeByTimelock(ctx)
		case r < 17:
			err = d.dustTransfer(ctx)
		case r < 20:
			err = d.emptyDelegator(ctx)
		default:
			err = d.s.Random(ctx, 1)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// closeCall ends a stretch of history with two voting powers 1–3 wei apart, so that the
// delegates ordering is compared on such a pair at the checkpoint that follows.
func (d *driver) closeCall(ctx context.Context) error {
	before := d.equalized
	for range 20 {
		if err := d.equalize(ctx); err != nil || d.equalized > before {
			return err
		}
	}
	return nil
}

// equalize mints to a delegator of one holder so that its voting power ends 1–3 wei above
// another holder's: two uint256 values that float64 cannot tell apart.
func (d *driver) equalize(ctx context.Context) error {
	c, dao := d.s.DAO.Chain, d.s.DAO
	a, b := d.rng.IntN(scenario.Holders), d.rng.IntN(scenario.Holders)
	if a == b {
		return nil
	}
	va, err := dao.Token.GetVotes(&bind.CallOpts{Context: ctx}, d.s.Address(a))
	if err != nil {
		return err
	}
	vb, err := dao.Token.GetVotes(&bind.CallOpts{Context: ctx}, d.s.Address(b))
	if err != nil {
		return err
	}
	switch va.Cmp(vb) {
	case 0:
		return nil
	case 1:
		a, va, vb = b, vb, va
	}
	// Someone whose votes count for a: a itself when self-delegated, else any delegator.
	to := -1
	for i := range scenario.Accounts {
		del, err := dao.Token.Delegates(&bind.CallOpts{Context: ctx}, d.s.Address(i))
		if err != nil {
			return err
		}
		if del == d.s.Address(a) {
			to = i
			break
		}
	}
	if to < 0 {
		return nil
	}
	amount := new(big.Int).Sub(vb, va)
	amount.Add(amount, big.NewInt(int64(1+d.rng.IntN(3))))
	if _, err := dao.Mined(ctx)(dao.Token.Mint(c.Opts(0), d.s.Address(to), amount)); err == nil {
		d.equalized++
	}
	return nil
}

// dustTransfer sends 1–3 wei between accounts.
func (d *driver) dustTransfer(ctx context.Context) error {
	c, dao := d.s.DAO.Chain, d.s.DAO
	from, to := d.rng.IntN(scenario.Holders), d.rng.IntN(scenario.Accounts)
	opts := c.Opts(from)
	opts.GasLimit = 300_000
	if _, err := dao.Mined(ctx)(dao.Token.Transfer(opts, d.s.Address(to), big.NewInt(int64(1+d.rng.IntN(3))))); err == nil {
		d.dust++
	}
	return nil
}

// emptyDelegator makes an account delegate to another that holds no tokens and then give
// its whole balance away: the delegate has a delegator and no voting power.
func (d *driver) emptyDelegator(ctx context.Context) error {
	c, dao := d.s.DAO.Chain, d.s.DAO
	from := scenario.Publisher1 + d.rng.IntN(scenario.Accounts-scenario.Publisher1)
	to := scenario.Publisher1 + d.rng.IntN(scenario.Accounts-scenario.Publisher1)
	opts := c.Opts(from)
	opts.GasLimit = 500_000
	if _, err := dao.Mined(ctx)(dao.Token.Delegate(opts, d.s.Address(to))); err != nil {
		return nil
	}
	bal, err := dao.Token.BalanceOf(&bind.CallOpts{Context: ctx}, d.s.Address(from))
	if err != nil {
		return err
	}
	if bal.Sign() > 0 {
		opts := c.Opts(from)
		opts.GasLimit = 500_000
		if _, err := dao.Mined(ctx)(dao.Token.Transfer(opts, d.s.Address(d.rng.IntN(scenario.Holders)), bal)); err != nil {
			return nil
		}
	}
	d.emptied++
	return nil
}

// recentProposals is how many of the latest proposals executeByTimelock looks at: asking
// the state of every proposal ever made costs a call each, which on a node behind real
// JSON-RPC made the last stretch of actions three times slower than the first.
const recentProposals = 16

// executeByTimelock executes a queued proposal's operation on the timelock itself, as
// anyone may (the executor role is open), bypassing the governor's execute.
func (d *driver) executeByTimelock(ctx context.Context) error {
	c, dao := d.s.DAO.Chain, d.s.DAO
	var queued, succeeded []contracts.Proposal
	for _, p := range d.s.Proposals[max(0, len(d.s.Proposals)-recentProposals):] {
		st, err := dao.Governor.State(&bind.CallOpts{Context: ctx}, p.ID())
		if err != nil {
			return err
		}
		switch modeldao.ProposalState(st) {
		case modeldao.ProposalQueued:
			queued = append(queued, p)
		case modeldao.ProposalSucceeded:
			succeeded = append(succeeded, p)
		}
	}
	if len(queued) == 0 {
		// Queue one through the governor, for a later execution by the timelock.
		if len(succeeded) > 0 {
			p := succeeded[d.rng.IntN(len(succeeded))]
			_, _ = dao.Mined(ctx)(dao.Queue(c.Opts(d.rng.IntN(scenario.Holders)), p))
		}
		return nil
	}
	p := queued[d.rng.IntN(len(queued))]
	if err := c.IncreaseTime(ctx, time.Duration(dao.Config.TimelockDelay+1)*time.Second); err != nil {
		return err
	}
	opts := c.Opts(scenario.Extra1 + d.rng.IntN(2))
	opts.GasLimit = 3_000_000
	if _, err := dao.Mined(ctx)(dao.Timelock.ExecuteBatch(opts, p.Targets, p.Values, p.Calldatas, [32]byte{}, timelockSalt(dao.Deployment.Governor, p))); err == nil {
		d.timelockExecuted++
	}
	return nil
}

// timelockSalt is the salt GovernorTimelockControl gives a proposal's operation:
// bytes20(governor) ^ keccak256(description).
func timelockSalt(governor common.Address, p contracts.Proposal) [32]byte {
	salt := p.DescriptionHash()
	for i := range common.AddressLength {
		salt[i] ^= governor[i]
	}
	return salt
}
