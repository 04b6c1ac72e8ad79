package main

// Objects written into their parent's buffer (9. in main.go's comment): a non-null object
// read from the object (an edge's node) is written by into_ straight into the buffer of
// the object that holds it, rather than into a pooled buffer of its own copied into the
// parent's afterwards (the copies, the pool's Get and Put were 5–10 % of a computed page's
// CPU). When a non-null field of it is null, what it wrote is replaced by null and its
// parent is invalid, as w.value does with the Null of its direct writer; a nil object, or
// one with a deferred field, goes through gqlgen's marshaler as before.

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

func intoFunc(marshaler string) string { return "into" + strings.TrimPrefix(marshaler, "marshalN") }

func (s *plainSet) generateInto(body *bytes.Buffer) {
	names := make([]string, 0, len(s.usedInto))
	for m := range s.usedInto {
		names = append(names, m)
	}
	sort.Strings(names)
	for _, m := range names {
		ref := s.objects[m]
		t, ok := s.types[ref.typ]
		if !ok {
			// Not written directly: its marshaler's value, copied in.
			fmt.Fprintf(body, "\n// %s writes v into w as w.value(ec.%s(ctx, sel, v), graphql.Null).\nfunc (ec *executionContext) %[1]s(w *jsonBuf, ctx context.Context, sel ast.SelectionSet, v %s) {\n\tw.value(ec.%[2]s(ctx, sel, v), graphql.Null)\n}\n",
				intoFunc(m), m, ref.goType)
			continue
		}
		fmt.Fprintf(body, `
// %[1]s writes v into w as w.value(ec.%[2]s(ctx, sel, v), graphql.Null) does, without a
// buffer of its own (see into.go in graphql/internal/execrewrite).
func (ec *executionContext) %[1]s(w *jsonBuf, ctx context.Context, sel ast.SelectionSet, v %[3]s) {
	if v == nil {
		w.value(ec.%[2]s(ctx, sel, v), graphql.Null)
		return
	}
	fields := ec.collectFields(sel, %[4]s)
	if anyDeferred(fields) {
		w.value(ec._%[5]s(ctx, sel, v), graphql.Null)
		return
	}
	mark, invalid := w.enter()
	ec.write_%[5]s(w, ctx, fields, v)
	w.leave(mark, invalid)
}
`, intoFunc(m), m, t.objType, t.impl, t.typ)
	}
}
