package cli

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/contracts"
	"github.com/modeldao/modeldao/contracts/bindings"
	"github.com/modeldao/modeldao/internal/txutil"
)

// findLog returns the first log of rec that parse accepts.
func findLog[T any](rec *types.Receipt, parse func(types.Log) (*T, error)) (*T, bool) {
	for _, l := range rec.Logs {
		if ev, err := parse(*l); err == nil {
			return ev, true
		}
	}
	return nil, false
}

func callOpts(ctx context.Context) *bind.CallOpts { return &bind.CallOpts{Context: ctx} }

// chainErr wraps a failed contract call.
func chainErr(err error, format string, args ...any) error {
	if data, ok := txutil.RevertData(err); ok {
		if rv, ok := txutil.DecodeRevert(data); ok {
			return modeldao.WrapError(modeldao.EINVALID, err, "%s: %s", fmt.Sprintf(format, args...), explainRevert(rv, common.Address{}))
		}
	}
	return modeldao.WrapError(modeldao.EUNAVAILABLE, err, format, args...)
}

// readVersion reads a model version from the registry.
func readVersion(ctx context.Context, dao *contracts.DAO, id uint64) (bindings.ModelRegistryVersion, error) {
	st, err := dao.Registry.VersionStatus(callOpts(ctx), new(big.Int).SetUint64(id))
	if err != nil {
		return bindings.ModelRegistryVersion{}, chainErr(err, "read version %d", id)
	}
	if st == 0 {
		return bindings.ModelRegistryVersion{}, modeldao.Errorf(modeldao.EINVALID, "there is no model version %d in the registry (`modeldao models` lists them)", id)
	}
	v, err := dao.Registry.GetVersion(callOpts(ctx), new(big.Int).SetUint64(id))
	if err != nil {
		return v, chainErr(err, "read version %d", id)
	}
	return v, nil
}

// policy reads a policy, or finds the newest active one when id is 0.
func policy(ctx context.Context, dao *contracts.DAO, id uint64) (modeldao.Policy, error) {
	n, err := dao.Registry.PolicyCount(callOpts(ctx))
	if err != nil {
		return modeldao.Policy{}, chainErr(err, "read the policy count")
	}
	count := n.Uint64()
	if id > count {
		return modeldao.Policy{}, modeldao.Errorf(modeldao.EINVALID, "there is no policy %d (the registry has %d)", id, count)
	}
	ids := []uint64{id}
	if id == 0 {
		ids = nil
		for i := count; i >= 1; i-- {
			ids = append(ids, i)
		}
	}
	for _, i := range ids {
		p, err := dao.Registry.GetPolicy(callOpts(ctx), new(big.Int).SetUint64(i))
		if err != nil {
			return modeldao.Policy{}, chainErr(err, "read policy %d", i)
		}
		pol := contracts.PolicyOf(i, p)
		if p.Active {
			return pol, nil
		}
		if id != 0 {
			return pol, modeldao.Errorf(modeldao.EINVALID, "policy %d (%s %s) is retired: approvals need an active policy", i, p.Name, p.Version)
		}
	}
	return modeldao.Policy{}, modeldao.Errorf(modeldao.EINVALID, "the registry has no active policy: propose one with `modeldao propose policy`")
}
