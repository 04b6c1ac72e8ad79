// Package apicode is the API's error vocabulary: the codes the server writes in each error's
// extensions.code, and how they map to and from the domain's error codes (modeldao.E*). The
// server (graphql) and the typed client (client) both use it, so that they cannot drift
// apart. It has no dependency besides the root package, so the client does not pull in
// the server.
package apicode

import "github.com/modeldao/modeldao"

// The codes in extensions.code.
const (
	// From a domain error (FromDomain).
	BadUserInput = "BAD_USER_INPUT" // modeldao.EINVALID: an argument the API refuses
	NotFound     = "NOT_FOUND"      // modeldao.ENOTFOUND
	Conflict     = "CONFLICT"       // modeldao.ECONFLICT
	Unavailable  = "UNAVAILABLE"    // modeldao.EUNAVAILABLE: Redis did not answer; retry
	Internal     = "INTERNAL"       // modeldao.EINTERNAL, and any error without a code

	// From the HTTP layer and the request limits.
	Timeout              = "TIMEOUT"
	BadRequest           = "BAD_REQUEST"
	RequestTooLarge      = "REQUEST_TOO_LARGE"
	UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	DepthLimitExceeded   = "DEPTH_LIMIT_EXCEEDED"
	TooManyFields        = "TOO_MANY_FIELDS"
	QueryTooLarge        = "QUERY_TOO_LARGE"

	// From the relayer (package relay): a request it refuses for who sent it or how often.
	Forbidden   = "FORBIDDEN"    // a signature that does not hold, a voter without votes
	RateLimited = "RATE_LIMITED" // too many requests; retry after the Retry-After header

	// Set by gqlgen itself.
	ParseFailed             = "GRAPHQL_PARSE_FAILED"
	ValidationFailed        = "GRAPHQL_VALIDATION_FAILED"
	ComplexityLimitExceeded = "COMPLEXITY_LIMIT_EXCEEDED"
)

// FromDomain is the API code of a domain error code.
func FromDomain(code string) string {
	switch code {
	case modeldao.EINVALID:
		return BadUserInput
	case modeldao.ENOTFOUND:
		return NotFound
	case modeldao.ECONFLICT:
		return Conflict
	case modeldao.EUNAVAILABLE:
		return Unavailable
	}
	return Internal
}

// ToDomain is the domain code of an API code: the request's own faults (limits, parse and
// validation failures) are EINVALID, a timeout is EUNAVAILABLE (retry, or ask for less).
func ToDomain(code string) string {
	switch code {
	case BadUserInput, BadRequest, RequestTooLarge, UnsupportedMediaType, DepthLimitExceeded,
		TooManyFields, QueryTooLarge, ParseFailed, ValidationFailed, ComplexityLimitExceeded, Forbidden:
		return modeldao.EINVALID
	case NotFound:
		return modeldao.ENOTFOUND
	case Conflict:
		return modeldao.ECONFLICT
	case Unavailable, Timeout, RateLimited:
		return modeldao.EUNAVAILABLE
	}
	return modeldao.EINTERNAL
}
