package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/graphql/apicode"
)

// canned serves one fixed answer.
func canned(status int, body string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
}

func TestErrorsCarryTheServersCode(t *testing.T) {
	for _, c := range []struct {
		name, body string
		status     int
		code, msg  string
		others     int
	}{
		{"field error", `{"errors":[{"message":"no proposal with id 7","path":["proposal"],"extensions":{"code":"NOT_FOUND"}}],"data":null}`,
			200, client.CodeNotFound, "no proposal with id 7", 0},
		{"validation (HTTP 422)", `{"errors":[{"message":"Cannot query field \"x\"","extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}},{"message":"second","extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}`,
			422, client.CodeValidationFailed, `Cannot query field "x"`, 1},
		{"body too large (HTTP 413)", `{"errors":[{"message":"the request body is larger than 1048576 bytes","extensions":{"code":"REQUEST_TOO_LARGE"}}]}`,
			413, client.CodeRequestTooLarge, "larger than", 0},
		{"not GraphQL", `<html>bad gateway</html>`, 502, client.CodeTransport, "HTTP 502", 0},
		{"error without a code", `{"errors":[{"message":"odd"}]}`, 200, client.CodeInternal, "odd", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := canned(c.status, c.body)
			defer srv.Close()
			_, err := client.New(srv.URL, nil).DAO(context.Background())
			var e *client.Error
			if !errors.As(err, &e) || e.Code != c.code || client.Code(err) != c.code {
				t.Fatalf("error %v: want code %s", err, c.code)
			}
			if len(e.Others) != c.others || !strings.Contains(e.Message, c.msg) {
				t.Errorf("error %+v: want message %q and %d more", e, c.msg, c.others)
			}
			if c.status != 200 && e.HTTPStatus != c.status {
				t.Errorf("HTTP status %d, want %d", e.HTTPStatus, c.status)
			}
		})
	}
	if client.Code(nil) != "" {
		t.Error("Code(nil) is not empty")
	}
}

// Every code of the server's vocabulary reaches the client as the server wrote it, and as
// the domain's code through DomainCode: CONFLICT included.
func TestErrorsSpeakTheServersVocabulary(t *testing.T) {
	for code, domain := range map[string]string{
		client.CodeBadUserInput: modeldao.EINVALID, client.CodeNotFound: modeldao.ENOTFOUND,
		client.CodeConflict: modeldao.ECONFLICT, client.CodeUnavailable: modeldao.EUNAVAILABLE,
		client.CodeInternal: modeldao.EINTERNAL, client.CodeTimeout: modeldao.EUNAVAILABLE,
		client.CodeDepthExceeded: modeldao.EINVALID, client.CodeUnsupportedMediaType: modeldao.EINVALID,
	} {
		srv := canned(200, `{"errors":[{"message":"m","extensions":{"code":"`+code+`"}}],"data":null}`)
		_, err := client.New(srv.URL, nil).DAO(context.Background())
		srv.Close()
		if client.Code(err) != code || client.DomainCode(err) != domain {
			t.Errorf("%s: client code %s, domain code %s; want %s", code, client.Code(err), client.DomainCode(err), domain)
		}
	}
	if client.CodeConflict != apicode.FromDomain(modeldao.ECONFLICT) {
		t.Error("the client's CONFLICT is not the server's")
	}
	_, err := client.New("http://127.0.0.1:1/graphql", nil).DAO(context.Background())
	if client.Code(err) != client.CodeTransport || client.DomainCode(err) != modeldao.EUNAVAILABLE {
		t.Errorf("unreachable server: %s / %s", client.Code(err), client.DomainCode(err))
	}
	if client.DomainCode(nil) != "" || client.DomainCode(modeldao.Errorf(modeldao.ECONFLICT, "x")) != modeldao.ECONFLICT {
		t.Error("DomainCode of nil or of a domain error")
	}
}

func TestDecodesPlainStructs(t *testing.T) {
	srv := canned(200, `{"data":{"indexerStatus":{"chainHead":12,"indexedBlock":10,"indexedHash":"0x00000000000000000000000000000000000000000000000000000000000000ab","lag":2,"reorgs":1,"lastError":null,"updatedAt":"2025-01-31T12:00:00Z"}}}`)
	defer srv.Close()
	st, err := client.New(srv.URL, nil).IndexerStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.ChainHead != 12 || st.IndexedBlock != 10 || st.Lag != 2 || st.Reorgs != 1 || st.IndexedHash[31] != 0xab || st.LastError != "" ||
		st.UpdatedAt == nil || st.UpdatedAt.Year() != 2025 {
		t.Errorf("status %+v", st)
	}
}
