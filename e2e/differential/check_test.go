package differential

import (
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// checker collects differences by kind of check, so that one bug seen on a hundred
// proposals is reported once with its count and a few examples, at the block compared.
type checker struct {
	t      *testing.T
	at     uint64
	checks map[string]int
	fails  map[string][]string
}

func newChecker(t *testing.T, at uint64) *checker {
	return &checker{t: t, at: at, checks: map[string]int{}, fails: map[string][]string{}}
}

// eq records the check kind and a difference when got and want differ.
func (c *checker) eq(kind, subject, got, want string) {
	c.checks[kind]++
	if got != want {
		c.fails[kind] = append(c.fails[kind], fmt.Sprintf("%s: API %q, chain %q", subject, got, want))
	}
}

// fail records a difference that is not a comparison of two values.
func (c *checker) fail(kind, subject, format string, args ...any) {
	c.checks[kind]++
	c.fails[kind] = append(c.fails[kind], subject+": "+fmt.Sprintf(format, args...))
}

// ok records a passed check of kind (for the count of checks made).
func (c *checker) ok(kind string) { c.checks[kind]++ }

// report fails the test once per kind of check that found differences.
func (c *checker) report() {
	c.t.Helper()
	kinds := make([]string, 0, len(c.fails))
	for k := range c.fails {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	total := 0
	for _, n := range c.checks {
		total += n
	}
	c.t.Logf("block %d: %d checks of %d kinds, %d kinds with differences", c.at, total, len(c.checks), len(kinds))
	for _, k := range kinds {
		f := c.fails[k]
		ex := f[:min(len(f), 4)]
		c.t.Errorf("block %d: %s: %d of %d checks differ, e.g.\n\t%s", c.at, k, len(f), c.checks[k], strings.Join(ex, "\n\t"))
	}
}

// Formats of the API's scalars, computed from chain values.

func fmtTime(unix uint64) string { return time.Unix(int64(unix), 0).UTC().Format(time.RFC3339) }

func fmtAddr(a common.Address) string { return a.Hex() }

func fmtOptAddr(a common.Address) string {
	if a == (common.Address{}) {
		return "<null>"
	}
	return a.Hex()
}

func fmtHash(h common.Hash) string { return h.Hex() }

func fmtBytes(b []byte) string { return hexutil.Encode(b) }

func fmtBig(x *big.Int) string {
	if x == nil {
		return "<null>"
	}
	return x.String()
}

// fmtFixed writes a 6-decimal fixed-point integer as the API's Fixed: no trailing zeros.
func fmtFixed(v int64) string {
	neg := v < 0
	u := v
	if neg {
		u = -v
	}
	s := fmt.Sprintf("%d.%06d", u/1_000_000, u%1_000_000)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if neg {
		s = "-" + s
	}
	return s
}

func lower(a common.Address) string { return strings.ToLower(a.Hex()) }
