// Command seqslice rewrites gqlgen's generated executor so that lists are marshalled in the
// calling goroutine instead of one goroutine per item (graphql.MarshalSliceConcurrently).
//
// Why: gqlgen runs every element of a list of objects in a goroutine of its own, whatever
// the element's fields. Here no field of a list element waits on I/O by itself: nested
// reads go through the batcher (graphql/batch.go), where the first sibling reads for the
// whole group and the others take their part, so the goroutines buy nothing. They cost a
// lot: in a CPU profile of a page of 50 model versions with their audits, goroutine stack
// growth (runtime.newstack/copystack) alone was 11 % of the time, and the per-item
// scheduling and allocations much of the rest (see BENCHMARKS.md). The rewrite keeps
// gqlgen's semantics (field context with the index, panic recovery per element).
//
// Usage (from graphql/generate.go): go run ./internal/seqslice generated/exec_gen.go
package main

import (
	"bytes"
	"fmt"
	"os"
)

const (
	from = "graphql.MarshalSliceConcurrently("
	to   = "marshalSliceInline("
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: seqslice FILE")
		os.Exit(2)
	}
	path := os.Args[1]
	src, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	n := bytes.Count(src, []byte(from))
	if n == 0 && !bytes.Contains(src, []byte(to)) {
		// gqlgen changed its output: fail loudly rather than silently keep the goroutines.
		fmt.Fprintf(os.Stderr, "seqslice: %s calls neither %s nor %s\n", path, from, to)
		os.Exit(1)
	}
	out := bytes.ReplaceAll(src, []byte(from), []byte(to))
	if err := os.WriteFile(path, out, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
