package graphql

import (
	"math"
	"runtime/debug"
	"testing"
)

// restoreGC puts the collector's settings back after the test.
func restoreGC(t *testing.T) {
	pct := debug.SetGCPercent(100)
	lim := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() { debug.SetGCPercent(pct); debug.SetMemoryLimit(lim) })
}

// TuneGCForServing sets GOGC 400; an operator's GOGC or GOMEMLIMIT wins.
func TestTuneGCForServing(t *testing.T) {
	restoreGC(t)
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	TuneGCForServing()
	if got := debug.SetGCPercent(100); got != ServingGCPercent {
		t.Errorf("GOGC %d, want %d", got, ServingGCPercent)
	}
	t.Setenv("GOGC", "50")
	TuneGCForServing()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, the percent changed to %d", got)
	}
}
