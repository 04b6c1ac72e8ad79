package store

import (
	"fmt"
	"math/big"
	"reflect"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

// The projector table: for each event type of the root package, what its projection reads
// (prefetched for the whole batch in one pipelined round trip) and how it applies. Both
// Batch.prefetchBlocks and Batch.apply follow the table, so an event type is projected by
// one entry in the file of its contract's family (project_governance.go, project_token.go,
// project_timelock.go, project_registry.go). Undo is not per event: every write goes
// through Batch.write / Batch.zwrite, which record its inverse inside the undo window.

// projector is the projection of one event type.
type projector struct {
	// reads adds to r the records the event reads; a record it misses costs one
	// synchronous round trip while applying (ApplyResult.Reads counts them).
	reads func(r *reads, ev modeldao.Event)
	// apply changes the records and indexes of Keys for the event.
	apply func(b *Batch, ev modeldao.Event) error
}

// projectorEntry is one row of the table, as a family file declares it.
type projectorEntry struct {
	typ reflect.Type
	projector
}

// project declares the projection of event type E: read may be nil (an event that reads
// only the DAO record, which every batch prefetches).
func project[E modeldao.Event](read func(r *reads, e E), apply func(b *Batch, e E) error) projectorEntry {
	p := projector{apply: func(b *Batch, ev modeldao.Event) error { return apply(b, ev.(E)) }}
	if read != nil {
		p.reads = func(r *reads, ev modeldao.Event) { read(r, ev.(E)) }
	}
	return projectorEntry{typ: reflect.TypeFor[E](), projector: p}
}

// projectors is the table of one Store, built once by New from the family files; a map
// owned by the Store rather than a package variable, so the package holds no mutable state.
type projectors map[reflect.Type]projector

func newProjectors() projectors {
	t := projectors{}
	for _, family := range [][]projectorEntry{governanceProjectors(), tokenProjectors(), timelockProjectors(), registryProjectors()} {
		for _, e := range family {
			if _, dup := t[e.typ]; dup {
				panic("store: two projectors of " + e.typ.String()) // programming error in the table
			}
			t[e.typ] = e.projector
		}
	}
	return t
}

// Projects reports whether the store has a projector for events of ev's type. The indexer's
// tests check with it that every event it decodes is projected.
func Projects(ev modeldao.Event) bool {
	_, ok := newProjectors()[reflect.TypeOf(ev)]
	return ok
}

// reads collects the records a batch's events read, by name.
type reads struct {
	k    Keys
	refs []fieldRef
}

func (r *reads) field(key, field string) { r.refs = append(r.refs, fieldRef{key, field}) }

// account reads an account record; the zero address (mint, burn, no delegate) has none.
func (r *reads) account(a common.Address) {
	if a != (common.Address{}) {
		r.field(r.k.AccountRecords(), Addr(a))
	}
}
func (r *reads) proposal(id *big.Int)      { r.field(r.k.ProposalRecords(), id.String()) }
func (r *reads) version(id uint64)         { r.field(r.k.VersionRecords(), decimal(id)) }
func (r *reads) model(id common.Hash)      { r.field(r.k.ModelRecords(), HashID(id)) }
func (r *reads) auditor(a common.Address)  { r.field(r.k.AuditorRecords(), Addr(a)) }
func (r *reads) policy(id uint64)          { r.field(r.k.PolicyRecords(), decimal(id)) }
func (r *reads) timelockOp(op common.Hash) { r.field(r.k.TimelockOps(), HashID(op)) }

// prefetchBlocks loads, in one round trip, every record the events of the batch read.
func (b *Batch) prefetchBlocks(blocks []modeldao.Block) error {
	k := b.s.keys
	r := &reads{k: k}
	for _, blk := range blocks {
		for _, ev := range blk.Events {
			if p, ok := b.s.projectors[reflect.TypeOf(ev)]; ok && p.reads != nil {
				p.reads(r, ev)
			}
		}
	}
	return b.prefetch(r.refs, []string{k.DAO(), k.Supply(), k.QuorumNum(), k.PowerNow(), k.OutboxHigh()})
}

func (b *Batch) applyBlock(blk modeldao.Block) error {
	for _, ev := range blk.Events {
		if err := b.apply(ev); err != nil {
			return err
		}
	}
	return nil
}

func (b *Batch) apply(ev modeldao.Event) error {
	p, ok := b.s.projectors[reflect.TypeOf(ev)]
	if !ok {
		b.s.log.Warn("store: event type without projection", "type", fmt.Sprintf("%T", ev), "block", ev.Prov().BlockNumber)
		return nil
	}
	return p.apply(b, ev)
}
