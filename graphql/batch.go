package graphql

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"

	gql "github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/store"
)

// Batching: how nested fields cost a bounded number of Redis round trips whatever the page
// size (no N+1).
//
// Every object a resolver returns from one store read (a page of proposals, the votes of
// 100 proposals, the accounts of their voters) is registered as one *sibling group*. When
// gqlgen then resolves a nested field of one of those objects (proposal.proposer), the
// resolver asks the batcher for that field of the whole group: the first sibling to ask runs
// one store read for all of them (one HMGET, or one pipeline of page scripts), the others
// wait for it and take their part. The results are registered as a new group in turn, so
// the next level (vote.voter, then voter.delegate) is batched the same way.
//
// Unlike a time-window dataloader this needs no timer: a group is complete when it is
// registered, so there is nothing to wait for and the batch is deterministic. The cost of
// a query is one read per (group, field, arguments): independent of how many items a page
// holds. An object that belongs to no group (a single proposal(id)) is a group of one.
//
// Objects are identified by pointer: every store read returns fresh objects, so a pointer
// belongs to exactly one group and one place in the query.

type batcher struct {
	mu     sync.Mutex
	groups map[any]member // object pointer → its group and place in it
	// keys memoizes fieldKey by the field's place in the query: within one request a field
	// of the query has the same arguments for every object (variables are fixed), so its
	// arguments are encoded once, not once per sibling.
	keys map[*ast.Field]string
}

// batcherObjects is the number of objects a batcher has room for before its map grows.
const batcherObjects = 256

// member is an object's group and its position in the group's items (one map for both: a
// lookup and an insertion per object rather than two).
type member struct {
	g *group
	i int
}

type group struct {
	items any // []T
	mu    sync.Mutex
	// calls are the group's reads, a handful (the fields of its objects that read): a slice
	// searched by key costs less per sibling than a map hashing the field's name.
	calls []*batchCall
}

// callKey names one read of a group: the field, and the type of its results, since one
// resolver may load twice for the same field (ModelVersion.content reads the release, then
// the pin), and each read must get its own results.
type callKey struct {
	field string
	typ   reflect.Type
}

type batchCall struct {
	key  callKey
	done chan struct{}
	res  any // []R, aligned with the group's items
	err  error
}

type batcherKey struct{}

// withBatcher returns ctx with a batcher for one operation.
func withBatcher(ctx context.Context) context.Context {
	// One view of the index per operation: records the store holds in memory at the
	// checkpoint the operation saw first are read without a round trip.
	ctx = store.WithView(ctx)
	// Room for a few pages of objects: growing the map while a page of 100 votes and
	// their 100 voters is registered rehashed it several times (3 % of that page's CPU).
	return context.WithValue(ctx, batcherKey{}, &batcher{groups: make(map[any]member, batcherObjects), keys: map[*ast.Field]string{}})
}

func batcherFrom(ctx context.Context) *batcher {
	b, _ := ctx.Value(batcherKey{}).(*batcher)
	return b
}

// register makes items (pointers) one sibling group. Nil items are skipped.
func register[T comparable](ctx context.Context, items []T) {
	b := batcherFrom(ctx)
	if b == nil || len(items) == 0 {
		return
	}
	var zero T
	kept := make([]T, 0, len(items))
	g := &group{}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, it := range items {
		if it == zero {
			continue
		}
		if m, dup := b.groups[it]; dup && m.g == g {
			continue
		}
		b.groups[it] = member{g, len(kept)}
		kept = append(kept, it)
	}
	g.items = kept
}

// fieldKey identifies the field being resolved, with its arguments: siblings asking for the
// same field with the same arguments share one read.
func (b *batcher) fieldKey(ctx context.Context) string {
	fc := gql.GetFieldContext(ctx)
	if fc == nil {
		return ""
	}
	if len(fc.Args) == 0 {
		return fc.Field.Name
	}
	if f := fc.Field.Field; f != nil {
		b.mu.Lock()
		k, ok := b.keys[f]
		b.mu.Unlock()
		if ok {
			return k
		}
		k = argsKey(fc)
		b.mu.Lock()
		b.keys[f] = k
		b.mu.Unlock()
		return k
	}
	return argsKey(fc)
}

func argsKey(fc *gql.FieldContext) string {
	args, _ := json.Marshal(fc.Args)
	return fc.Field.Name + string(args)
}

// load resolves the current field of obj by running fetch once for obj's whole sibling
// group. fetch gets the siblings and returns one result per sibling, in order.
func load[T comparable, R any](ctx context.Context, obj T, fetch func(ctx context.Context, objs []T) ([]R, error)) (R, error) {
	var zero R
	b := batcherFrom(ctx)
	var m member
	if b != nil {
		b.mu.Lock()
		m = b.groups[obj]
		b.mu.Unlock()
	}
	g := m.g
	items, ok := []T(nil), false
	if g != nil {
		items, ok = g.items.([]T)
	}
	if !ok {
		// Not registered (or registered as another type): a group of one.
		res, err := fetch(ctx, []T{obj})
		if err != nil || len(res) != 1 {
			return zero, batchErr(err, len(res), 1)
		}
		return res[0], nil
	}
	key := callKey{b.fieldKey(ctx), reflect.TypeFor[R]()}
	g.mu.Lock()
	var c *batchCall
	for _, gc := range g.calls {
		if gc.key == key {
			c = gc
			break
		}
	}
	started := c != nil
	if !started {
		c = &batchCall{key: key, done: make(chan struct{})}
		g.calls = append(g.calls, c)
	}
	g.mu.Unlock()
	if !started {
		func() {
			defer close(c.done)
			defer func() {
				if r := recover(); r != nil {
					c.err = modeldao.Errorf(modeldao.EINTERNAL, "batch of %s panicked: %v", key.field, r)
				}
			}()
			res, err := fetch(ctx, items)
			if err == nil && len(res) != len(items) {
				err = batchErr(nil, len(res), len(items))
			}
			c.res, c.err = res, err
		}()
	} else {
		// Most siblings ask once the read is done: a receive without the select on ctx.
		select {
		case <-c.done:
		default:
			select {
			case <-c.done:
			case <-ctx.Done():
				return zero, ctx.Err()
			}
		}
	}
	if c.err != nil {
		return zero, c.err
	}
	return c.res.([]R)[m.i], nil
}

func batchErr(err error, got, want int) error {
	if err != nil {
		return err
	}
	return modeldao.Errorf(modeldao.EINTERNAL, "batch returned %d results for %d objects", got, want)
}

// keyed runs a fetch by keys for a group: keyOf gives each object's key (ok false: the
// object has none, its result is the zero value); get reads the distinct keys in one go.
func keyed[T any, K comparable, R any](objs []T, keyOf func(T) (K, bool), get func(keys []K) ([]R, error)) ([]R, error) {
	pos := make(map[K]int, len(objs))
	keys := make([]K, 0, len(objs))
	// at[i] is the index of objs[i]'s key in keys, -1 for none: the results are placed
	// without looking the keys up again.
	at := make([]int, len(objs))
	for i, o := range objs {
		k, ok := keyOf(o)
		if !ok {
			at[i] = -1
			continue
		}
		p, seen := pos[k]
		if !seen {
			p = len(keys)
			pos[k] = p
			keys = append(keys, k)
		}
		at[i] = p
	}
	out := make([]R, len(objs))
	if len(keys) == 0 {
		return out, nil
	}
	vals, err := get(keys)
	if err != nil {
		return nil, err
	}
	if len(vals) != len(keys) {
		return nil, fmt.Errorf("read %d values for %d keys", len(vals), len(keys))
	}
	for i, p := range at {
		if p >= 0 {
			out[i] = vals[p]
		}
	}
	return out, nil
}
