// Command execrewrite rewrites gqlgen's generated executor (generated/exec_gen.go) in two
// ways that keep its results and make it several times cheaper per field:
//
//  1. Lists are marshalled in the calling goroutine (marshalSliceInline, generated/slice.go)
//     instead of one goroutine per item (graphql.MarshalSliceConcurrently). gqlgen runs each
//     element of a list of objects in its own goroutine; here no field of a list element
//     waits on I/O by itself (nested reads go through the batcher, graphql/batch.go, where the
//     first sibling reads for the whole group), so the goroutines buy nothing and cost stack
//     growth (11 % of a CPU profile of 50 model versions with audits) and scheduling.
//
//  2. Plain-data fields are written directly. gqlgen resolves every field through
//     graphql.ResolveField: a field context, a context, closures, a boxed result, a deferred
//     recover and the resolver middleware, for each field of each object; for a page of 50
//     model versions with their audits and metrics that is about 2,000 fields and most of
//     the CPU (see BENCHMARKS.md). A field whose value is read from the object (obj.Field or
//     obj.Method(), no resolver, no middleware, not a list) and is non-nullable is marshalled
//     without that machinery. A value type can be neither null nor an error; a nil pointer
//     (a record missing a value, a broken invariant) still makes the field null and the
//     object invalid with gqlgen's "must not be null" error, whose path then ends at the
//     object rather than at the field.
//
//  3. Each object's group of @defer fields is made only when one of its fields is deferred
//     (newDeferredGroup, generated/slice.go). gqlgen makes one for every object it writes,
//     computing the object's path and a map each time (6 % of a CPU profile of 50
//     proposals); without @defer in the query the group is never used.
//
//  4. Objects are written directly (direct.go): each object marshaler, when none of its
//     fields is deferred, calls a writer in generated/direct_gen.go that resolves the same
//     fields in the same order and appends their JSON into one pooled buffer, plain-data
//     scalars through appenders without a graphql.Marshaler each. gqlgen's FieldSet holds
//     one Marshaler (a closure and usually a string) per field until the whole answer is
//     resolved: allocation was a third of a computed page's CPU and the collector another
//     10–20 % (BENCHMARKS.md).
//
//  5. Field arguments are parsed once per operation (memoArgs, generated/direct.go), not
//     once per object the field is resolved on.
//
//  6. Each object's fields are collected through a memo of the operation's execution
//     context (executionContext.collectFields, generated/direct.go) instead of
//     graphql.CollectFields, whose cache key costs an FNV hash and allocations for every
//     object written (8 % of a CPU profile of 50 model versions with audits and metrics).
//
//  7. Lists of plain data are written with no element contexts (plain.go): a list of
//     objects whose selection is plain data all the way down is appended into its parent's
//     buffer without a field context, a context or a buffer per element.
//
//  8. Resolver fields are resolved without graphql.ResolveField's generic machinery
//     (resolve.go) while no extension intercepts fields.
//
//  9. A non-null object read from the object (an edge's node) or resolved (a vote's voter)
//     is written straight into its parent's buffer (into.go), not into a pooled buffer of
//     its own copied in.
//
// Usage (from graphql/generate.go): go run ./internal/execrewrite generated/exec_gen.go
package main

import (
	"bytes"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"regexp"
)

var (
	sliceFrom = []byte("graphql.MarshalSliceConcurrently(")
	sliceTo   = []byte("marshalSliceInline(")
	groupFrom = []byte("deferred := graphql.NewDeferredGroup(ctx)")
	groupTo   = []byte("deferred := newDeferredGroup(ctx, fields)")
	// Field arguments parsed once per operation (memoArgs, generated/direct.go); a field
	// context whose arguments are parsed already is made without a context of its own (the
	// parse's errors need one).
	argsFrom = regexp.MustCompile(`\tctx = graphql\.WithFieldContext\(ctx, fc\)\n\tif fc\.Args, err = ec\.(field_\w+_args)\(ctx, field\.ArgumentMap\(ec\.Variables\)\); err != nil \{\n\t\tec\.Error\(ctx, err\)\n\t\treturn fc, err\n\t\}\n\treturn fc, nil\n\}\n`)
	argsTo   = []byte("\tif args, ok := ec.args.get(field); ok {\n\t\tfc.Args = args\n\t\treturn fc, nil\n\t}\n\tctx = graphql.WithFieldContext(ctx, fc)\n\tif fc.Args, err = ec.memoArgs(ctx, field, ec.$1); err != nil {\n\t\tec.Error(ctx, err)\n\t\treturn fc, err\n\t}\n\treturn fc, nil\n}\n")
	// Fields collected through the operation's memo (collectFields, generated/direct.go),
	// which the execution context holds.
	collectFrom = []byte("fields := graphql.CollectFields(ec.OperationContext, sel, ")
	collectTo   = []byte("fields := ec.collectFields(sel, ")
	ecFrom      = []byte("type executionContext struct {\n\t*graphql.ExecutionContextState[ResolverRoot, DirectiveRoot, ComplexityRoot]\n}\n")
	ecTo        = []byte("type executionContext struct {\n\t*graphql.ExecutionContextState[ResolverRoot, DirectiveRoot, ComplexityRoot]\n\tcollected collectMemo // the operation's collected fields (see collectFields in direct.go)\n\targs      argsMemo    // the operation's parsed field arguments (see memoArgs in direct.go)\n}\n")
	// A field read from the object, marshalled by a non-null marshaler of a value type.
	plainField = regexp.MustCompile(`(?m)^func \(ec \*executionContext\) (_\w+)\(ctx context\.Context, field graphql\.CollectedField, obj (\S+)\) \(ret graphql\.Marshaler\) \{
	return graphql\.ResolveField\(
		ctx,
		ec\.OperationContext,
		field,
		func\(ctx context\.Context, field graphql\.CollectedField\) \(\*graphql\.FieldContext, error\) \{
			return ec\.fieldContext_\w+\(ctx, field\)
		\},
		func\(ctx context\.Context\) \(any, error\) \{
			return (obj\.\w+(?:\(\))?), nil
		\},
		nil,
		func\(ctx context\.Context, selections ast\.SelectionSet, v ([^\[\s][^)\s]*)\) graphql\.Marshaler \{
			return (ec\.marshalN\S+)\(ctx, selections, v\)
		\},
		true,
		true,
	\)
\}
`)
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: execrewrite FILE")
		os.Exit(2)
	}
	path := os.Args[1]
	src, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	slices := bytes.Count(src, sliceFrom)
	out := bytes.ReplaceAll(src, sliceFrom, sliceTo)
	groups := bytes.Count(out, groupFrom)
	out = bytes.ReplaceAll(out, groupFrom, groupTo)
	args := len(argsFrom.FindAll(out, -1))
	out = argsFrom.ReplaceAll(out, argsTo)
	fields := 0
	out = plainField.ReplaceAllFunc(out, func(m []byte) []byte {
		fields++
		g := plainField.FindSubmatch(m)
		return fmt.Appendf(nil, "func (ec *executionContext) %s(ctx context.Context, field graphql.CollectedField, obj %s) (ret graphql.Marshaler) {\n\t// plain data: written without graphql.ResolveField (see graphql/internal/execrewrite)\n\treturn %s(ctx, field.Selections, %s)\n}\n", g[1], g[2], g[5], g[3])
	})
	if slices == 0 && fields == 0 && !bytes.Contains(src, sliceTo) {
		// gqlgen changed its output: fail loudly rather than silently keep the slow paths.
		fmt.Fprintf(os.Stderr, "execrewrite: nothing to rewrite in %s: check the patterns against gqlgen's output\n", path)
		os.Exit(1)
	}
	out, gen, objects, skipped := direct(out)
	if objects == 0 {
		fmt.Fprintf(os.Stderr, "execrewrite: no object marshaler in %s matched: check the patterns against gqlgen's output\n", path)
		os.Exit(1)
	}
	collects := bytes.Count(out, collectFrom)
	out = bytes.ReplaceAll(out, collectFrom, collectTo)
	if !bytes.Contains(out, ecFrom) {
		fmt.Fprintf(os.Stderr, "execrewrite: no executionContext struct as expected in %s: check the pattern against gqlgen's output\n", path)
		os.Exit(1)
	}
	out = bytes.Replace(out, ecFrom, ecTo, 1)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if gen, err = format.Source(gen); err != nil {
		fmt.Fprintln(os.Stderr, "execrewrite: direct_gen.go does not parse:", err)
		os.Exit(1)
	}
	genPath := filepath.Join(filepath.Dir(path), "direct_gen.go")
	if err := os.WriteFile(genPath, gen, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("execrewrite: %d lists, %d plain fields, %d deferred groups, %d argument parsers, %d field collections rewritten; %d objects written directly (%s)\n",
		slices, fields, groups, args, collects, objects, genPath)
	if len(skipped) > 0 {
		fmt.Printf("execrewrite: left to gqlgen's field sets (a field case it does not know): %v\n", skipped)
	}
}
