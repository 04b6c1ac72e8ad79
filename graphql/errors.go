package graphql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	gql "github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/graphql/apicode"
)

// Error codes in extensions.code (the vocabulary lives in apicode, shared with the client).
const (
	CodeBadUserInput   = apicode.BadUserInput
	CodeNotFound       = apicode.NotFound
	CodeConflict       = apicode.Conflict
	CodeUnavailable    = apicode.Unavailable
	CodeInternal       = apicode.Internal
	CodeTimeout        = apicode.Timeout
	CodeBadRequest     = apicode.BadRequest
	CodeTooLarge       = apicode.RequestTooLarge
	CodeDepthLimit     = apicode.DepthLimitExceeded
	CodeTooManyFields  = apicode.TooManyFields
	CodeQueryTooLarge  = apicode.QueryTooLarge
	CodeUnsupportedMsg = apicode.UnsupportedMediaType
)

// codeOf maps the domain's error codes to the API's, in one place (apicode.FromDomain).
func codeOf(domain string) string { return apicode.FromDomain(domain) }

func withCode(e *gqlerror.Error, code string) *gqlerror.Error {
	if e.Extensions == nil {
		e.Extensions = map[string]any{}
	}
	e.Extensions["code"] = code
	return e
}

// presenter is the error presenter: every error leaves the API through it, with a code in
// extensions and a message that says what to fix. Internal details stay in the log.
func presenter(log *slog.Logger, timeout string) gql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gerr := gql.DefaultErrorPresenter(ctx, err)
		var de *modeldao.Error
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			gerr.Message = fmt.Sprintf("the request took longer than the API allows (%s): ask for fewer items or fields", timeout)
			return withCode(gerr, CodeTimeout)
		case errors.Is(err, context.Canceled):
			gerr.Message = "the request was canceled"
			return withCode(gerr, CodeTimeout)
		case errors.As(err, &de):
			gerr.Message = de.Message
			code := codeOf(de.Code)
			if code == CodeInternal || code == CodeUnavailable {
				log.Warn("graphql: request failed", "path", gerr.Path.String(), "err", err)
			}
			return withCode(gerr, code)
		}
		if _, ok := gerr.Extensions["code"]; ok {
			return gerr // gqlgen's parse, validation and complexity errors, and ours from extensions
		}
		var ge *gqlerror.Error
		if errors.As(err, &ge) && ge.Err == nil {
			// gqlgen's own message (e.g. a null where the schema forbids one).
			return withCode(gerr, CodeInternal)
		}
		log.Error("graphql: internal error", "path", gerr.Path.String(), "err", err)
		gerr.Message = "internal error"
		return withCode(gerr, CodeInternal)
	}
}

// recoverer turns a panic in a resolver into an INTERNAL error and logs its stack.
func recoverer(log *slog.Logger) gql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.Error("graphql: panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return modeldao.Errorf(modeldao.EINTERNAL, "internal error")
	}
}

// requestError is an error of the request itself, before GraphQL runs.
func requestError(code, format string, args ...any) *gqlerror.Error {
	e := gqlerror.Errorf(format, args...)
	errcode.Set(e, code)
	return e
}
