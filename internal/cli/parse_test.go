package cli

import (
	"context"
	"errors"
	"flag"
	"io"
	"slices"
	"testing"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
)

func TestParseInterspersed(t *testing.T) {
	for _, c := range []struct {
		args, pos []string
		reason    string
	}{
		{[]string{"1", "for", "--reason", "ok"}, []string{"1", "for"}, "ok"},
		{[]string{"--reason=ok", "1", "for"}, []string{"1", "for"}, "ok"},
		{[]string{"1", "--reason", "ok", "for"}, []string{"1", "for"}, "ok"},
		{[]string{"1", "--", "--reason", "x"}, []string{"1", "--reason", "x"}, ""},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		reason := fs.String("reason", "", "")
		pos, err := parseInterspersed(fs, c.args)
		if err != nil || !slices.Equal(pos, c.pos) || *reason != c.reason {
			t.Errorf("%q: %q %q %v", c.args, pos, *reason, err)
		}
	}
}

func TestParseBound(t *testing.T) {
	b, err := parseBound("disparate_impact_ratio>=0.8")
	if err != nil || b.Kind != modeldao.DisparateImpactRatio || !b.IsMinimum || b.Limit != 800_000 {
		t.Errorf("%+v %v", b, err)
	}
	b, err = parseBound("DEMOGRAPHIC_PARITY_DIFFERENCE<=0.05")
	if err != nil || b.IsMinimum || b.Limit != 50_000 {
		t.Errorf("%+v %v", b, err)
	}
	for _, s := range []string{"x<=1", "demographic_parity_difference=0.1", "demographic_parity_difference<=abc"} {
		if _, err := parseBound(s); err == nil {
			t.Errorf("%s: no error", s)
		}
	}
}

func TestParseProposalID(t *testing.T) {
	if id, ok := parseProposalID("0x10"); !ok || id.Int64() != 16 {
		t.Error("hex id")
	}
	if id, ok := parseProposalID("115792089237316195423570985008687907853269984665640564039457584007913129639935"); !ok || id.BitLen() != 256 {
		t.Error("max uint256")
	}
	for _, s := range []string{"", "-1", "1e3", "abc", "115792089237316195423570985008687907853269984665640564039457584007913129639936"} {
		if _, ok := parseProposalID(s); ok {
			t.Errorf("%q parsed", s)
		}
	}
}

func TestExitCode(t *testing.T) {
	for _, c := range []struct {
		err  error
		code int
	}{
		{usagef("x"), ExitUsage},
		{modeldao.Errorf(modeldao.EINVALID, "x"), ExitFailure},
		{modeldao.Errorf(modeldao.EUNAVAILABLE, "x"), ExitUnavailable},
		{&client.Error{Code: client.CodeTransport}, ExitUnavailable},
		{&client.Error{Code: client.CodeBadUserInput}, ExitFailure},
		{&mismatchError{n: 1}, ExitMismatch},
		{context.DeadlineExceeded, ExitUnavailable},
		{errors.New("x"), ExitFailure},
	} {
		if got := exitCode(c.err); got != c.code {
			t.Errorf("%v: exit %d, want %d", c.err, got, c.code)
		}
	}
	if m := message(modeldao.WrapError(modeldao.EINVALID, errors.New("cause"), "what")); m != "what: cause" {
		t.Errorf("message %q", m)
	}
}

// The indexing commands set IndexerMemoryLimit through Env.SetMemoryLimit, unless the
// operator set GOMEMLIMIT (the runtime reads it itself) or the Env has no setter (tests).
func TestIndexerMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		gomemlimit string
		want       int64
	}{{"", IndexerMemoryLimit}, {"1GiB", 0}} {
		var got int64
		env := Env{Getenv: func(k string) string {
			if k == "GOMEMLIMIT" {
				return tc.gomemlimit
			}
			return ""
		}, SetMemoryLimit: func(n int64) int64 { got = n; return 0 }}
		(&runner{env: env}).limitMemory()
		if got != tc.want {
			t.Errorf("GOMEMLIMIT=%q: limit set %d, want %d", tc.gomemlimit, got, tc.want)
		}
	}
	(&runner{env: Env{Getenv: func(string) string { return "" }}}).limitMemory() // no setter: nothing to call
}
