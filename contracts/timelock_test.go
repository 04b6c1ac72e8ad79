package contracts_test

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
)

// timelockOp returns the id and salt of the timelock operation of a proposal:
// GovernorTimelockControl schedules a batch with no predecessor and the salt
// bytes20(governor) ^ descriptionHash.
func timelockOp(t *testing.T, governor common.Address, p contracts.Proposal) (id, salt [32]byte) {
	t.Helper()
	salt = p.DescriptionHash()
	for i := range governor {
		salt[i] ^= governor[i]
	}
	enc := abiEncode(t, []string{"address[]", "uint256[]", "bytes[]", "bytes32", "bytes32"}, p.Targets, p.Values, p.Calldatas, [32]byte{}, salt)
	return crypto.Keccak256Hash(enc), salt
}

func TestTimelock(t *testing.T) {
	e := newEnv(t)
	tl := e.dao.Timelock
	role := func(name string) [32]byte { return crypto.Keccak256Hash([]byte(name)) }
	admin, proposer, canceller, executor := [32]byte{}, role("PROPOSER_ROLE"), role("CANCELLER_ROLE"), role("EXECUTOR_ROLE")

	t.Run("roles", func(t *testing.T) {
		for _, c := range []struct {
			name    string
			role    [32]byte
			account common.Address
			want    bool
		}{
			{"governor proposes", proposer, e.governor(), true},
			{"governor cancels", canceller, e.governor(), true},
			{"anyone executes", executor, common.Address{}, true},
			{"timelock administers itself", admin, e.timelock(), true},
			{"deployer is no admin", admin, e.addr(deployer), false},
			{"deployer does not propose", proposer, e.addr(deployer), false},
			{"deployer does not cancel", canceller, e.addr(deployer), false},
			{"governor is no admin", admin, e.governor(), false},
		} {
			if got := value[bool](t)(tl.HasRole(e.callOpts(), c.role, c.account)); got != c.want {
				t.Errorf("%s: hasRole = %v, want %v", c.name, got, c.want)
			}
		}
		if got := value[*big.Int](t)(tl.GetMinDelay(e.callOpts())); got.Uint64() != e.dao.Config.TimelockDelay {
			t.Errorf("min delay = %s", got)
		}
		if got := value[common.Address](t)(e.dao.Registry.Governance(e.callOpts())); got != e.timelock() {
			t.Errorf("registry governance = %s, want the timelock %s", got, e.timelock())
		}
		if got := value[common.Address](t)(e.dao.Governor.Timelock(e.callOpts())); got != e.timelock() {
			t.Errorf("governor timelock = %s", got)
		}
	})

	p := e.proposal(t, contracts.AddAuditor(e.addr(auditor), "executed by anyone"))
	id, salt := timelockOp(t, e.governor(), p)
	delay := new(big.Int).SetUint64(e.dao.Config.TimelockDelay)
	schedule := pack(t, contracts.TimelockABI, "scheduleBatch", p.Targets, p.Values, p.Calldatas, [32]byte{}, salt, delay)
	single := pack(t, contracts.TimelockABI, "schedule", p.Targets[0], p.Values[0], p.Calldatas[0], [32]byte{}, salt, delay)

	t.Run("no one but the governor schedules", func(t *testing.T) {
		if err := e.call(e.governor(), e.timelock(), schedule); err != nil {
			t.Fatalf("scheduleBatch from the governor: %v", err)
		}
		for _, who := range []int{deployer, holderB, outsider} {
			expectRevert(t, e.call(e.addr(who), e.timelock(), schedule), "AccessControlUnauthorizedAccount", e.addr(who), proposer)
			expectRevert(t, e.call(e.addr(who), e.timelock(), single), "AccessControlUnauthorizedAccount", e.addr(who), proposer)
		}
		expectRevert(t, e.call(e.registry(), e.timelock(), schedule), "AccessControlUnauthorizedAccount", e.registry(), proposer)
	})
	t.Run("the deployer renounced the admin role", func(t *testing.T) {
		grant := pack(t, contracts.TimelockABI, "grantRole", proposer, e.addr(deployer))
		expectRevert(t, e.call(e.addr(deployer), e.timelock(), grant), "AccessControlUnauthorizedAccount", e.addr(deployer), admin)
		updateDelay := pack(t, contracts.TimelockABI, "updateDelay", big.NewInt(0))
		expectRevert(t, e.call(e.addr(deployer), e.timelock(), updateDelay), "TimelockUnauthorizedCaller", e.addr(deployer))
	})

	e.queueAll(t, p)
	if got := value[[32]byte](t)(tl.HashOperationBatch(e.callOpts(), p.Targets, p.Values, p.Calldatas, [32]byte{}, salt)); got != id {
		t.Fatalf("hashOperationBatch = %x, want %x", got, id)
	}
	if !value[bool](t)(tl.IsOperationPending(e.callOpts(), id)) {
		t.Fatal("the queued proposal has no pending timelock operation")
	}
	execute := pack(t, contracts.TimelockABI, "executeBatch", p.Targets, p.Values, p.Calldatas, [32]byte{}, salt)

	t.Run("no one but the governor cancels", func(t *testing.T) {
		cancel := pack(t, contracts.TimelockABI, "cancel", id)
		for _, who := range []int{deployer, outsider} {
			expectRevert(t, e.call(e.addr(who), e.timelock(), cancel), "AccessControlUnauthorizedAccount", e.addr(who), canceller)
		}
	})
	t.Run("nothing executes before the delay", func(t *testing.T) {
		expectRevert(t, e.call(e.addr(outsider), e.timelock(), execute), "TimelockUnexpectedOperationState", id)
	})
	t.Run("anyone executes a ready operation", func(t *testing.T) {
		e.waitTimelock(t)
		if !value[bool](t)(tl.IsOperationReady(e.callOpts(), id)) {
			t.Fatal("operation not ready after the delay")
		}
		e.mined(t)(tl.ExecuteBatch(e.opts(outsider), p.Targets, p.Values, p.Calldatas, [32]byte{}, salt))
		if !value[bool](t)(e.dao.Registry.IsAuditor(e.callOpts(), e.addr(auditor))) {
			t.Fatal("the operation executed by an outsider did not register the auditor")
		}
		// The governor sees its operation done: the proposal is executed.
		e.wantState(t, p, modeldao.ProposalExecuted)
		expectRevert(t, e.executeCall(t, p), "GovernorUnexpectedProposalState", p.ID(), uint8(modeldao.ProposalExecuted))
	})
}
