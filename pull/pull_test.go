package pull_test

import (
	"testing"

	"github.com/modeldao/modeldao/pull"
)

func TestParseRef(t *testing.T) {
	for _, c := range []struct{ ref, model, label string }{
		{"acme/llm", "acme/llm", ""},
		{"acme/llm@1.0.0", "acme/llm", "1.0.0"},
		{"acme/llm@v2@rc", "acme/llm", "v2@rc"},
	} {
		m, l, err := pull.ParseRef(c.ref)
		if err != nil || m != c.model || l != c.label {
			t.Errorf("%q: %q %q %v", c.ref, m, l, err)
		}
	}
	for _, bad := range []string{"", "@1.0", "acme/llm@"} {
		if _, _, err := pull.ParseRef(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
