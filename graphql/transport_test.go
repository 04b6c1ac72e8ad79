package graphql_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modeldao/modeldao/graphql"
)

// jsonPOST answers byte for byte as gqlgen's POST transport does: data, errors, a body that
// is not JSON, a query that does not parse, every Accept header.
func TestJSONPOSTWritesWhatGqlgenWrites(t *testing.T) {
	theirs, ours := graphql.TransportPair(fx.store)
	for _, body := range []string{
		`{"query":"{ proposals(first: 5) { totalCount edges { cursor node { id title tally { forPercent quorumPercent } proposer { address } } } } }"}`,
		`{"query":"{ modelVersions(first: 3) { edges { node { id label audits { edges { node { metrics { kind value } } } } } } } }"}`,
		`{"query":"{ proposal(id: \"1\") { id } }"}`,
		`{"query":"{ proposals(first: -1) { totalCount } }"}`,
		`{"query":"{ nope }"}`,
		`{"query":"{ proposals(first: "}`,
		`{"query": 12}`,
		`not json`,
	} {
		for _, accept := range []string{"", "application/json", "*/*", "application/graphql-response+json", "text/html"} {
			send := func(h http.Handler) *httptest.ResponseRecorder {
				r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				if accept != "" {
					r.Header.Set("Accept", accept)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			}
			a, b := send(theirs), send(ours)
			if a.Code != b.Code || a.Header().Get("Content-Type") != b.Header().Get("Content-Type") || a.Body.String() != b.Body.String() {
				t.Errorf("body %s, Accept %q:\ngqlgen: %d %s %s\nours:   %d %s %s", body, accept,
					a.Code, a.Header().Get("Content-Type"), a.Body, b.Code, b.Header().Get("Content-Type"), b.Body)
			}
		}
	}
}

func TestNeedsEscape(t *testing.T) {
	for s, want := range map[string]bool{`{"a":"b"}`: false, `{"a":"<b>"}`: true, `{"a":"x&y"}`: true, "{\"a\":\"\u2028\"}": true, "{\"a\":\"\u2029\"}": true, `{"a":"é"}`: false} {
		if got := graphql.NeedsEscape([]byte(s)); got != want {
			t.Errorf("needsEscape(%q) = %v, want %v", s, got, want)
		}
	}
}
