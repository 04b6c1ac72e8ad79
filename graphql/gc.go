package graphql

import (
	"os"
	"runtime/debug"
)

// ServingGCPercent is the garbage collector's target that TuneGCForServing sets.
const ServingGCPercent = 400

// TuneGCForServing sets the garbage collector of a process that serves the API, unless the
// operator set GOGC or GOMEMLIMIT: collect when the heap has grown by 400 % instead of
// 100 %. The API's live heap is small (decoded records and cached answers, tens of MB) and a
// computed answer allocates a lot, so with the default the collector runs every few dozen
// requests; at 400 % the CPU per request of the frontend pages drops by about a quarter
// (BENCHMARKS.md). On Lambda, lambdafn.Start also sets a soft memory limit below the
// function's memory. Call it from main, once: it changes the whole process.
func TuneGCForServing() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(ServingGCPercent)
}
