package lambdafn_test

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/modeldao/modeldao/functions/internal/lambdafn"
)

// LimitMemory sets a soft limit of 3/4 of the function's memory; GOMEMLIMIT wins, and
// outside Lambda (no memory size) nothing changes.
func TestLimitMemory(t *testing.T) {
	was := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() { debug.SetMemoryLimit(was) })
	env := map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512"}
	getenv := func(k string) string { return env[k] }
	if got := lambdafn.LimitMemory(getenv); got != 384<<20 {
		t.Errorf("LimitMemory returned %d, want %d", got, 384<<20)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got != 384<<20 {
		t.Errorf("the runtime's limit is %d, want %d", got, 384<<20)
	}
	for name, e := range map[string]map[string]string{
		"GOMEMLIMIT set":   {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512", "GOMEMLIMIT": "100MiB"},
		"not on Lambda":    {},
		"bad memory size":  {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "lots"},
		"zero memory size": {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "0"},
	} {
		env = e
		if got := lambdafn.LimitMemory(getenv); got != 0 {
			t.Errorf("%s: LimitMemory set %d", name, got)
		}
		if got := debug.SetMemoryLimit(math.MaxInt64); got != math.MaxInt64 {
			t.Errorf("%s: the runtime's limit changed to %d", name, got)
		}
	}
}
