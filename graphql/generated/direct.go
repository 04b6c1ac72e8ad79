package generated

// Written by hand (gqlgen leaves this file alone): the helpers of the direct object
// writers in direct_gen.go, which graphql/internal/execrewrite makes from gqlgen's object
// marshalers.
//
// gqlgen resolves an object into a FieldSet: one graphql.Marshaler per field (a closure
// holding a string for each scalar), marshalled into the answer only when the whole tree is
// resolved. A direct writer resolves the same fields in the same order and appends each
// value's JSON at once into one buffer per object; a scalar field read from the object goes
// through an appender (scalar.Append…) without any Marshaler; where an appender has no
// value to write (a nil pointer, a non-finite float) the field's gqlgen marshaler writes
// it, with its error. A child object's buffer is copied into its parent's and goes back to
// a pool. The answer's bytes and errors are the same.

import (
	"context"
	"io"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/modeldao/modeldao/graphql/scalar"
)

// jsonBuf is a resolved object's JSON. It is a graphql.Marshaler, so a parent that gqlgen
// still writes (the Query root, a deferred object) holds it like any other value.
type jsonBuf struct {
	b       []byte
	invalid int // fields that resolved to null though non-null: the object is null
}

var jsonBufs = sync.Pool{New: func() any { return &jsonBuf{b: make([]byte, 0, 256)} }}

// maxPooledBuf keeps a rare huge answer from pinning its memory in the pool.
const maxPooledBuf = 1 << 16

func getBuf() *jsonBuf {
	w := jsonBufs.Get().(*jsonBuf)
	w.b, w.invalid = w.b[:0], 0
	return w
}

func putBuf(w *jsonBuf) {
	if cap(w.b) <= maxPooledBuf {
		jsonBufs.Put(w)
	}
}

func (w *jsonBuf) MarshalGQL(out io.Writer) { _, _ = out.Write(w.b) }

func (w *jsonBuf) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func (w *jsonBuf) WriteString(s string) (int, error) {
	w.b = append(w.b, s...)
	return len(s), nil
}

// key writes the separator and the key of the next field of an object opened with '{'.
// An alias is a GraphQL Name (/[_A-Za-z][_0-9A-Za-z]*/, the only form the lexer reads), so
// it is quoted as it is, without looking for characters to escape.
func (w *jsonBuf) key(alias string) {
	if w.b[len(w.b)-1] != '{' {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, alias...)
	w.b = append(w.b, '"', ':')
}

// done closes the object and returns it, or graphql.Null when a non-null field of it
// resolved to null (gqlgen's Invalids: the null goes up to the nearest nullable parent).
func (w *jsonBuf) done() graphql.Marshaler {
	if w.invalid > 0 {
		putBuf(w)
		return graphql.Null
	}
	w.b = append(w.b, '}')
	return w
}

// value writes a field's resolved value. The value invalid (graphql.Null for a non-null
// field, graphql.RequiredNull for a nullable one gqlgen marks required, nil for others)
// makes the object null, as gqlgen's field set counts Invalids. Buffers of direct children
// go back to the pool once copied.
func (w *jsonBuf) value(m, invalid graphql.Marshaler) {
	if m == invalid {
		w.invalid++
	}
	w.write(m)
}

func (w *jsonBuf) write(m graphql.Marshaler) {
	switch v := m.(type) {
	case *jsonBuf:
		w.b = append(w.b, v.b...)
		putBuf(v)
	case graphql.Array:
		// Room for the elements written directly, at once: appending them one by one
		// regrows the buffer of a long list several times (growslice was 6 % of a page of
		// 50 model versions).
		n := len(v) + 1
		for _, e := range v {
			if c, ok := e.(*jsonBuf); ok {
				n += len(c.b)
			}
		}
		w.b = slices.Grow(w.b, n)
		w.b = append(w.b, '[')
		for i, e := range v {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.write(e)
		}
		w.b = append(w.b, ']')
	default:
		m.MarshalGQL(w)
	}
}

// growLike makes room in b for n more elements as long as the one written from start
// (the plain list writers, after a list's first element).
func growLike(b []byte, start, n int) []byte {
	if n <= 0 {
		return b
	}
	return slices.Grow(b, (len(b)-start)*n)
}

// resolveInline runs a resolver field's resolution in the calling goroutine, recovering a
// panic into an error and a null as FieldSet.ResolveConcurrently does. gqlgen would run it
// when the object's field set is dispatched, after the object's other fields, and in a
// goroutine of its own when the object has several: nested reads go through the batcher
// (graphql/batch.go), where no resolver waits on a sibling field of its own object, so
// the order and the goroutines change nothing but the cost.
func resolveInline(ctx context.Context, oc *graphql.OperationContext, recoverFromPanic bool,
	resolve func(ctx context.Context) graphql.Marshaler,
) (res graphql.Marshaler) {
	if recoverFromPanic {
		defer func() {
			if r := recover(); r != nil {
				oc.Error(ctx, oc.Recover(ctx, r))
				res = graphql.Null
			}
		}()
	}
	return resolve(ctx)
}

// anyDeferred says whether one of fields is deferred (@defer): gqlgen's FieldSet path
// handles those.
func anyDeferred(fields []graphql.CollectedField) bool {
	for i := range fields {
		if fields[i].IsDeferred() {
			return true
		}
	}
	return false
}

// Appenders of gqlgen's built-in scalars, writing what graphql.Marshal… writes.

func appendString(b []byte, s string) ([]byte, bool) { return scalar.AppendJSONString(b, s), true }
func appendInt(b []byte, i int) ([]byte, bool)       { return strconv.AppendInt(b, int64(i), 10), true }
func appendInt64(b []byte, i int64) ([]byte, bool)   { return strconv.AppendInt(b, i, 10), true }
func appendInt32(b []byte, i int32) ([]byte, bool)   { return strconv.AppendInt(b, int64(i), 10), true }
func appendUint(b []byte, i uint) ([]byte, bool)     { return strconv.AppendUint(b, uint64(i), 10), true }
func appendUint64(b []byte, i uint64) ([]byte, bool) { return strconv.AppendUint(b, i, 10), true }
func appendUint32(b []byte, i uint32) ([]byte, bool) {
	return strconv.AppendUint(b, uint64(i), 10), true
}
func appendBoolean(b []byte, v bool) ([]byte, bool) { return strconv.AppendBool(b, v), true }

// appendFloat writes what graphql.MarshalFloatContext writes (fmt's %g is strconv's
// shortest 'g'); infinities and NaN go to gqlgen's marshaler, which fails them.
func appendFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, false
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64), true
}

// Arguments of a field are parsed once per operation: gqlgen parses them into a new map
// for every object the field is resolved on (ModelVersion.audits(first: 5) on a page of 50
// versions: 50 times, 6 % of the page's CPU), although within one operation they depend
// only on the field and the operation's variables. The field contexts (see
// graphql/internal/execrewrite) take the first successful parse per *ast.Field from the
// operation's execution context, without a context of their own (a context.WithValue per
// object was 1.5 % of that page); errors are not kept, so each object still reports its
// own. Resolvers only read their arguments.

type argsMemo struct {
	mu   sync.Mutex
	args map[*ast.Field]map[string]any
}

// get returns the arguments of field parsed earlier in the operation.
func (m *argsMemo) get(field graphql.CollectedField) (map[string]any, bool) {
	if field.Field == nil {
		return nil, false
	}
	m.mu.Lock()
	args, ok := m.args[field.Field]
	m.mu.Unlock()
	return args, ok
}

// memoArgs parses the arguments of field and keeps them for the operation.
func (ec *executionContext) memoArgs(ctx context.Context, field graphql.CollectedField,
	parse func(context.Context, map[string]any) (map[string]any, error),
) (map[string]any, error) {
	args, err := parse(ctx, field.ArgumentMap(ec.Variables))
	if err == nil && field.Field != nil {
		m := &ec.args
		m.mu.Lock()
		if m.args == nil {
			m.args = map[*ast.Field]map[string]any{}
		}
		m.args[field.Field] = args
		m.mu.Unlock()
	}
	return args, err
}

// Fields are collected once per operation and selection set. graphql.CollectFields keeps a
// cache per operation too, but builds its key for every object it is asked for (an FNV
// hash of the type names, with allocations: 8 % of a CPU profile of 50 model versions with
// their audits and metrics). The memo here is keyed by what that key is made of, the
// selection set (its backing array and length) and the implementors (a package variable of
// the generated code, so its backing array names it), and is read without a lock or an
// allocation: an operation has a handful of selection sets. Past maxCollected entries (a
// query with very many distinct selections) the rest go to graphql.CollectFields.

const maxCollected = 64

type collectMemo struct {
	mu      sync.Mutex
	entries atomic.Pointer[[]collected] // copied on write; readers never lock
}

type collected struct {
	sel    *ast.Selection
	n      int
	impl   *string
	fields []graphql.CollectedField
}

// collectFields is graphql.CollectFields(ec.OperationContext, sel, implementors) through
// the operation's memo; the result is shared, as gqlgen's cached one is, and read only.
func (ec *executionContext) collectFields(sel ast.SelectionSet, implementors []string) []graphql.CollectedField {
	m := &ec.collected
	sp, ip := unsafe.SliceData(sel), unsafe.SliceData(implementors)
	if es := m.entries.Load(); es != nil {
		for i := range *es {
			if e := &(*es)[i]; e.sel == sp && e.n == len(sel) && e.impl == ip {
				return e.fields
			}
		}
	}
	var fields []graphql.CollectedField
	if len(ec.Variables) == 0 {
		fields = sharedCollect(ec.OperationContext, sel, implementors)
	} else {
		fields = graphql.CollectFields(ec.OperationContext, sel, implementors)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var old []collected
	if es := m.entries.Load(); es != nil {
		old = *es
	}
	if len(old) < maxCollected {
		es := make([]collected, len(old), len(old)+1)
		copy(es, old)
		es = append(es, collected{sel: sp, n: len(sel), impl: ip, fields: fields})
		m.entries.Store(&es)
	}
	return fields
}

// enter starts an object written into w (the into_ functions of direct_gen.go): where it
// starts, and w's own count of invalid fields, which the object's count replaces meanwhile.
func (w *jsonBuf) enter() (mark, invalid int) {
	mark, invalid = len(w.b), w.invalid
	w.invalid = 0
	return mark, invalid
}

// leave ends an object written into w from mark: closed; or null when a non-null field of
// it was null, which makes w's object invalid in turn (the object is non-null), as value
// does with a child's graphql.Null.
func (w *jsonBuf) leave(mark, invalid int) {
	if w.invalid > 0 {
		w.b = append(w.b[:mark], "null"...)
		w.invalid = invalid + 1
		return
	}
	w.b = append(w.b, '}')
	w.invalid = invalid
}

// Without variables, the fields collected from a selection set depend on nothing but the
// selection set (its directives, and the fragments of its query document, which it belongs
// to): the collections are shared by the operations of one query (the query cache gives
// them the same document), so that each operation does not collect them again (1.5 % of a
// computed page's CPU). An entry holds its selection set's fields, and through them the
// document, so that no other selection set takes its address while it is kept. Past
// maxShared entries the memo starts afresh.

const maxShared = 4096

type sharedKey struct {
	sel  *ast.Selection
	n    int
	impl *string
}

var shared struct {
	mu sync.RWMutex
	m  map[sharedKey][]graphql.CollectedField
}

// sharedCollect is graphql.CollectFields(oc, sel, implementors) for an operation without
// variables, through the memo shared by such operations.
func sharedCollect(oc *graphql.OperationContext, sel ast.SelectionSet, implementors []string) []graphql.CollectedField {
	k := sharedKey{unsafe.SliceData(sel), len(sel), unsafe.SliceData(implementors)}
	shared.mu.RLock()
	fields, ok := shared.m[k]
	shared.mu.RUnlock()
	if ok {
		return fields
	}
	fields = graphql.CollectFields(oc, sel, implementors)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.m == nil || len(shared.m) >= maxShared {
		shared.m = map[sharedKey][]graphql.CollectedField{}
	}
	shared.m[k] = fields
	return fields
}
