// Package modeldao holds the domain of ModelDAO: model versions and their statuses,
// governance proposals and votes, delegates, bias audits, alignment policies and pin
// statuses, with their validation rules. It does no I/O; every other package of the
// module builds on it (the Standard Package Layout).
//
// Every fact that comes from the chain carries its Provenance, so that any answer of the
// API can be traced back to a block, a transaction and a log.
package modeldao

import (
	"errors"
	"fmt"
)

// Error codes. Every error that crosses a package boundary carries one of them, so that the
// API can map it to a GraphQL extension code, the CLI to an exit status and a Lambda to a
// retry decision.
const (
	EINVALID     = "invalid"     // the caller sent something wrong; retrying will not help
	ENOTFOUND    = "not_found"   // the thing asked for does not exist (yet)
	ECONFLICT    = "conflict"    // the state changed under the caller (a lease, a reorg)
	EUNAVAILABLE = "unavailable" // a dependency (RPC node, Redis, IPFS) did not answer; retry later
	EINTERNAL    = "internal"    // a bug or broken invariant; the message says what to report
)

// Error is an error with a code and a message meant for the user: it says what was wrong
// and, where it can, what to do.
type Error struct {
	Code    string
	Message string
	Err     error // the underlying cause, if any, for logs and errors.Is
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WrapError returns an *Error with the given code and message that wraps err.
func WrapError(code string, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other
// non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of the first *Error in err's chain, or a
// generic message for other errors (their text may hold internals).
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
