// Package client is a typed Go client of the ModelDAO GraphQL API, built on
// github.com/hasura/go-graphql-client. Each method sends one query (derived from the query
// structs in queries.go) and returns plain Go structs (types.go); an error from the server
// is an *Error that carries the server's extensions.code.
//
//	c := client.New("http://127.0.0.1:8080/graphql", nil)
//	page, err := c.Proposals(ctx, client.ProposalQuery{State: "ACTIVE", Page: client.First(20)})
//	if client.Code(err) == client.CodeBadUserInput { … }
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	graphql "github.com/hasura/go-graphql-client"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/graphql/apicode"
)

// Client calls one ModelDAO API endpoint.
type Client struct {
	gql *graphql.Client
}

// New returns a client of the API at url (e.g. http://host:8080/graphql). httpClient may
// be nil (http.DefaultClient).
func New(url string, httpClient *http.Client) *Client {
	var doer graphql.Doer = http.DefaultClient
	if httpClient != nil {
		doer = httpClient
	}
	return &Client{gql: graphql.NewClient(url, doer)}
}

// Error codes the server sets in extensions.code: the server's own vocabulary (apicode).
const (
	CodeBadUserInput         = apicode.BadUserInput
	CodeNotFound             = apicode.NotFound
	CodeConflict             = apicode.Conflict
	CodeUnavailable          = apicode.Unavailable
	CodeInternal             = apicode.Internal
	CodeTimeout              = apicode.Timeout
	CodeBadRequest           = apicode.BadRequest
	CodeRequestTooLarge      = apicode.RequestTooLarge
	CodeUnsupportedMediaType = apicode.UnsupportedMediaType
	CodeParseFailed          = apicode.ParseFailed
	CodeValidationFailed     = apicode.ValidationFailed
	CodeComplexityExceeded   = apicode.ComplexityLimitExceeded
	CodeDepthExceeded        = apicode.DepthLimitExceeded
	CodeTooManyFields        = apicode.TooManyFields
	CodeQueryTooLarge        = apicode.QueryTooLarge
	// CodeTransport: the server could not be reached or did not answer GraphQL (the
	// client's own; the server never sends it).
	CodeTransport = "TRANSPORT"
)

// Error is an error the API answered (or a transport failure, with CodeTransport).
type Error struct {
	Code       string // the server's extensions.code
	Message    string
	Path       []any // where in the response, for field errors
	HTTPStatus int   // when the server answered with an HTTP error status
	// Others are the further errors of the same response, if any.
	Others []*Error
	err    error
}

func (e *Error) Error() string {
	s := e.Code + ": " + e.Message
	if len(e.Path) > 0 {
		s += fmt.Sprintf(" (at %v)", e.Path)
	}
	if len(e.Others) > 0 {
		s += fmt.Sprintf(" (and %d more)", len(e.Others))
	}
	return s
}

func (e *Error) Unwrap() error { return e.err }

// DomainCode is the domain's code of the error (modeldao.EINVALID, ENOTFOUND, ECONFLICT,
// EUNAVAILABLE or EINTERNAL; see apicode.ToDomain); a transport failure is EUNAVAILABLE.
func (e *Error) DomainCode() string {
	if e.Code == CodeTransport {
		return modeldao.EUNAVAILABLE
	}
	return apicode.ToDomain(e.Code)
}

// DomainCode returns the domain's code of an *Error in err's chain (Error.DomainCode), ""
// for nil and modeldao.ErrorCode(err) for any other error.
func DomainCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.DomainCode()
	}
	return modeldao.ErrorCode(err)
}

// Code returns the code of an *Error in err's chain, "" for nil and CodeTransport for any
// other error.
func Code(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeTransport
}

type wireError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

func fromWire(w wireError, status int) *Error {
	code, _ := w.Extensions["code"].(string)
	if code == "" {
		code = CodeInternal
	}
	return &Error{Code: code, Message: w.Message, Path: w.Path, HTTPStatus: status}
}

// convert turns the library's errors into *Error.
func convert(err error) error {
	if err == nil {
		return nil
	}
	var es graphql.Errors
	if !errors.As(err, &es) || len(es) == 0 {
		return &Error{Code: CodeTransport, Message: err.Error(), err: err}
	}
	var out *Error
	for _, e := range es {
		var one *Error
		var ne graphql.NetworkError
		switch {
		case errors.As(e.Unwrap(), &ne):
			var body struct {
				Errors []wireError `json:"errors"`
			}
			if json.Unmarshal([]byte(ne.Body()), &body) == nil && len(body.Errors) > 0 {
				one = fromWire(body.Errors[0], ne.StatusCode())
				for _, more := range body.Errors[1:] {
					one.Others = append(one.Others, fromWire(more, ne.StatusCode()))
				}
			} else {
				one = &Error{Code: CodeTransport, Message: "HTTP " + strconv.Itoa(ne.StatusCode()) + ": " + ne.Body(), HTTPStatus: ne.StatusCode()}
			}
		default:
			one = fromWire(wireError{Message: e.Message, Path: e.Path, Extensions: e.Extensions}, 0)
			if c, _ := e.Extensions["code"].(string); c == graphql.ErrRequestError || c == graphql.ErrJsonDecode ||
				c == graphql.ErrGraphQLDecode || c == graphql.ErrGraphQLEncode {
				one.Code = CodeTransport
			}
		}
		one.err = err
		if out == nil {
			out = one
		} else {
			out.Others = append(out.Others, one)
		}
	}
	return out
}

// query runs a query built from the struct q.
func (c *Client) query(ctx context.Context, q any, vars map[string]any) error {
	return convert(c.gql.Query(ctx, q, vars))
}

// Exec sends a query written by hand and decodes its data into out (with encoding/json).
// Use it for what the typed methods do not cover.
func (c *Client) Exec(ctx context.Context, query string, vars map[string]any, out any) error {
	data, err := c.gql.ExecRaw(ctx, query, vars)
	if err != nil {
		return convert(err)
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &Error{Code: CodeTransport, Message: "decoding the response: " + err.Error(), err: err}
	}
	return nil
}
