package relay

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/graphql/apicode"
)

// HandlerOptions configure Handler.
type HandlerOptions struct {
	// AllowedOrigins may call the relayer from a browser (CORS); "*" allows any.
	AllowedOrigins []string
}

// Handler serves the relayer over HTTP:
//
//	POST /relay/vote       a modeldao.RelayVoteRequest       → 202 (200 once final) modeldao.RelayRecord
//	POST /relay/delegate   a modeldao.RelayDelegationRequest → 202 (200 once final) modeldao.RelayRecord
//	GET  /relay/{id}       the request's modeldao.RelayRecord (poll until MINED or FAILED)
//	GET  /relay            modeldao.RelayInfo: the EIP-712 domains; ?account=0x… adds its nonces
//
// Errors are JSON modeldao.RelayError with status 400 (malformed, wrong chain or contract,
// expired), 403 (bad signature, no voting power), 404, 409 (stale nonce, replay, already
// voted, not active, would revert), 413 (body over the limit), 429 (a limit; Retry-After) or
// 503 (budget spent, node or Redis down; Retry-After when known).
func (r *Relayer) Handler(opts HandlerOptions) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /relay/vote", func(w http.ResponseWriter, req *http.Request) {
		var v modeldao.RelayVoteRequest
		if !r.admitClient(w, req) || !r.decode(w, req, &v) {
			return
		}
		rec, err := r.vote(req.Context(), &v)
		r.answerRecord(w, rec, err)
	})
	mux.HandleFunc("POST /relay/delegate", func(w http.ResponseWriter, req *http.Request) {
		var d modeldao.RelayDelegationRequest
		if !r.admitClient(w, req) || !r.decode(w, req, &d) {
			return
		}
		rec, err := r.delegate(req.Context(), &d)
		r.answerRecord(w, rec, err)
	})
	mux.HandleFunc("GET /relay/{id}", func(w http.ResponseWriter, req *http.Request) {
		rec, err := r.Status(req.Context(), req.PathValue("id"))
		if err != nil {
			r.writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, rec)
	})
	mux.HandleFunc("GET /relay", func(w http.ResponseWriter, req *http.Request) {
		var account *common.Address
		if a := req.URL.Query().Get("account"); a != "" {
			if !common.IsHexAddress(a) {
				r.writeError(w, refuse(http.StatusBadRequest, modeldao.RelayMalformed, "account %q is not an address: want 0x followed by 40 hex digits", a))
				return
			}
			addr := common.HexToAddress(a)
			account = &addr
		}
		info, err := r.Info(req.Context(), account)
		if err != nil {
			r.writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, info)
	})
	mux.HandleFunc("/relay/", func(w http.ResponseWriter, req *http.Request) {
		r.writeError(w, refuse(http.StatusNotFound, modeldao.RelayNotFound, "no such relayer endpoint %s %s: POST /relay/vote, POST /relay/delegate, GET /relay/{id}, GET /relay", req.Method, req.URL.Path))
	})
	return cors(opts.AllowedOrigins, mux)
}

// admitClient counts the request in its client address's window before anything else, so
// that malformed and huge requests count too; it answers the refusal itself.
func (r *Relayer) admitClient(w http.ResponseWriter, req *http.Request) bool {
	if err := r.checkClient(req.Context(), clientOf(req)); err != nil {
		r.writeError(w, err)
		return false
	}
	return true
}

// decode reads a JSON body of at most MaxBody bytes into v, answering the error itself.
func (r *Relayer) decode(w http.ResponseWriter, req *http.Request, v any) bool {
	tooLarge := refuse(http.StatusRequestEntityTooLarge, modeldao.RelayTooLarge, "the request body is over %d bytes: a signed request is a few hundred", r.cfg.MaxBody)
	if req.ContentLength > r.cfg.MaxBody {
		r.writeError(w, tooLarge)
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			r.writeError(w, tooLarge)
		} else {
			r.writeError(w, refuse(http.StatusBadRequest, modeldao.RelayMalformed, "cannot read the request body: %v", err))
		}
		return false
	}
	if ct := req.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		r.writeError(w, refuse(http.StatusBadRequest, modeldao.RelayMalformed, "Content-Type is %q: send application/json", ct))
		return false
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		r.writeError(w, refuse(http.StatusBadRequest, modeldao.RelayMalformed, "the body is not a JSON request of the expected shape (%v): see the relayer's README section", err))
		return false
	}
	if dec.More() {
		r.writeError(w, refuse(http.StatusBadRequest, modeldao.RelayMalformed, "the body holds more than one JSON value: send one request"))
		return false
	}
	return true
}

// clientOf is where a request came from: API Gateway's source IP (apigw puts it in
// RemoteAddr) or the TCP peer. X-Forwarded-For is not trusted: anyone can write it.
func clientOf(req *http.Request) Client {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		host = req.RemoteAddr
	}
	if ip := net.ParseIP(host); ip != nil {
		return Client{IP: ip.String()}
	}
	return Client{IP: "unknown"}
}

func (r *Relayer) answerRecord(w http.ResponseWriter, rec *modeldao.RelayRecord, err error) {
	if err != nil {
		r.writeError(w, err)
		return
	}
	status := http.StatusAccepted
	if rec.Status.Final() {
		status = http.StatusOK
	}
	writeJSON(w, status, rec)
}

// writeError answers err as a modeldao.RelayError.
func (r *Relayer) writeError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		switch modeldao.ErrorCode(err) {
		case modeldao.EINVALID:
			e = refuse(http.StatusBadRequest, modeldao.RelayMalformed, "%s", modeldao.ErrorMessage(err))
		case modeldao.EUNAVAILABLE:
			e = refuse(http.StatusServiceUnavailable, modeldao.RelayUnavailable, "%s", modeldao.ErrorMessage(err))
		default:
			r.log.Error("relay: internal error", "err", err)
			e = refuse(http.StatusInternalServerError, "INTERNAL", "internal error: the relayer's log says more")
		}
	} else if e.Err != nil {
		r.log.Warn("relay: request failed", "reason", e.Reason, "err", redactErr(e.Err))
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	writeJSON(w, e.Status, modeldao.RelayError{Code: codeOf(e), Reason: e.Reason, Message: e.Message})
}

// codeOf is the API's code (apicode) of a refusal.
func codeOf(e *Error) string {
	switch e.Status {
	case http.StatusBadRequest:
		if e.Reason == modeldao.RelayMalformed {
			return apicode.BadRequest
		}
		return apicode.BadUserInput
	case http.StatusForbidden:
		return apicode.Forbidden
	case http.StatusNotFound:
		return apicode.NotFound
	case http.StatusConflict:
		return apicode.Conflict
	case http.StatusRequestEntityTooLarge:
		return apicode.RequestTooLarge
	case http.StatusTooManyRequests:
		return apicode.RateLimited
	case http.StatusServiceUnavailable:
		return apicode.Unavailable
	}
	return apicode.Internal
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"code":"INTERNAL","reason":"INTERNAL","message":"cannot encode the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// cors lets the allowed origins call the relayer from a browser.
func cors(origins []string, h http.Handler) http.Handler {
	allowed := map[string]bool{}
	for _, o := range origins {
		allowed[o] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if o := req.Header.Get("Origin"); o != "" && (allowed["*"] || allowed[strings.ToLower(o)]) {
			w.Header().Set("Access-Control-Allow-Origin", o)
			w.Header().Add("Vary", "Origin")
			if req.Method == http.MethodOptions {
				w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
				w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
				w.Header().Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		h.ServeHTTP(w, req)
	})
}
