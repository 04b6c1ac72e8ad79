package graphql

import (
	"math"
	"os"
	"runtime/debug"
	"strconv"
)

// ServingGCPercent is the garbage collector's target that TuneGCForServing sets.
const ServingGCPercent = 400

// TuneGCForServing sets the garbage collector of a process that serves the API, unless the
// operator set GOGC or GOMEMLIMIT: collect when the heap has grown by 400 % instead of
// 100 %. The API's live heap is small (decoded records and cached answers, tens of MB) and a
// computed answer allocates a lot, so with the default the collector runs every few dozen
// requests; at 400 % the CPU per request of the frontend pages drops by about a quarter
// (BENCHMARKS.md). On Lambda (AWS_LAMBDA_FUNCTION_MEMORY_SIZE, MB) a soft memory limit of
// 3/4 of the function's memory makes the collector run earlier rather than the function run
// out. Call it from main, once: it changes the whole process.
func TuneGCForServing() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(ServingGCPercent)
	if mb, err := strconv.ParseInt(os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), 10, 64); err == nil && mb > 0 && mb < math.MaxInt64>>22 {
		debug.SetMemoryLimit(mb << 20 * 3 / 4)
	}
}
