// Package apigw serves an http.Handler to API Gateway HTTP APIs (payload format 2.0) from a
// Lambda function: Handler turns each APIGatewayV2HTTPRequest into an *http.Request (body
// decoded from base64 when flagged, headers, the raw query string with its repeated keys,
// cookies, source IP, the invocation's context and deadline) and the handler's answer into an
// APIGatewayV2HTTPResponse (status, headers, Set-Cookie as cookies, body as text or base64
// for binary content).
//
// It replaces awslabs/aws-lambda-go-api-proxy for the one payload format we use: a few
// dozen lines, no dependency, and no surprise in how binary bodies and cookies are mapped.
package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// MaxResponseBytes is the largest response body Lambda can return synchronously (6 MB for
// the whole payload); a larger one is answered with 502 and a message instead.
const MaxResponseBytes = 6*1024*1024 - 64*1024

// Handler returns a Lambda handler that serves h.
func Handler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		req, err := Request(ctx, ev)
		if err != nil {
			return textResponse(http.StatusBadRequest, err.Error()), nil
		}
		w := NewResponseWriter()
		h.ServeHTTP(w, req)
		return w.Response(req.Method), nil
	}
}

// Request converts an API Gateway v2 request into an *http.Request carrying ctx.
func Request(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		method = http.MethodGet
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	if path == "" {
		path = "/"
	}
	// A named stage (not $default) appears at the start of the path.
	if st := ev.RequestContext.Stage; st != "" && st != "$default" {
		if p, ok := strings.CutPrefix(path, "/"+st); ok && (p == "" || p[0] == '/') {
			path = p
			if path == "" {
				path = "/"
			}
		}
	}
	u := &url.URL{Path: path, RawQuery: ev.RawQueryString}
	if ev.RawQueryString == "" && len(ev.QueryStringParameters) > 0 {
		q := url.Values{}
		for k, v := range ev.QueryStringParameters {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
	}
	var body []byte
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, fmt.Errorf("the request body is flagged base64 but is not: %v", err)
		}
		body = b
	} else {
		body = []byte(ev.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("bad request: %v", err)
	}
	req.URL = u
	req.RequestURI = u.RequestURI()
	if p := ev.RequestContext.HTTP.Protocol; p != "" {
		if major, minor, ok := http.ParseHTTPVersion(p); ok {
			req.Proto, req.ProtoMajor, req.ProtoMinor = p, major, minor
		}
	}
	for k, v := range ev.Headers {
		// API Gateway joins repeated headers with commas, which is how HTTP combines them.
		req.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.ContentLength = int64(len(body))
	req.Header.Del("Content-Length")
	if len(body) > 0 {
		req.Header.Set("Content-Length", strconv.Itoa(len(body)))
	}
	req.Host = req.Header.Get("Host")
	if req.Host == "" {
		req.Host = ev.RequestContext.DomainName
	}
	req.URL.Host = req.Host
	if ip := ev.RequestContext.HTTP.SourceIP; ip != "" {
		req.RemoteAddr = ip + ":0"
	}
	if req.Header.Get("User-Agent") == "" && ev.RequestContext.HTTP.UserAgent != "" {
		req.Header.Set("User-Agent", ev.RequestContext.HTTP.UserAgent)
	}
	return req, nil
}

// ResponseWriter buffers a response for API Gateway.
type ResponseWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// NewResponseWriter returns an empty ResponseWriter.
func NewResponseWriter() *ResponseWriter { return &ResponseWriter{header: http.Header{}} }

// Header implements http.ResponseWriter.
func (w *ResponseWriter) Header() http.Header { return w.header }

// WriteHeader implements http.ResponseWriter.
func (w *ResponseWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

// Write implements http.ResponseWriter.
func (w *ResponseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

// Flush implements http.Flusher (a no-op: the response is sent whole).
func (w *ResponseWriter) Flush() {}

// Response returns what was written as an API Gateway v2 response (method is the request's:
// a HEAD response has no body).
func (w *ResponseWriter) Response(method string) events.APIGatewayV2HTTPResponse {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	body := w.body.Bytes()
	if method == http.MethodHead {
		body = nil
	}
	if len(body) > MaxResponseBytes {
		return textResponse(http.StatusBadGateway, fmt.Sprintf("the response is %d bytes, more than API Gateway and Lambda can return (%d): ask for less", len(body), MaxResponseBytes))
	}
	resp := events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: map[string]string{}}
	if w.header.Get("Content-Type") == "" && len(body) > 0 && w.header.Get("Content-Encoding") == "" {
		w.header.Set("Content-Type", http.DetectContentType(body))
	}
	for k, vs := range w.header {
		switch k {
		case "Set-Cookie":
			resp.Cookies = append(resp.Cookies, vs...)
		case "Content-Length", "Transfer-Encoding", "Connection":
			// API Gateway sets these itself.
		default:
			resp.Headers[k] = strings.Join(vs, ", ")
		}
	}
	if len(body) > 0 {
		if isText(w.header) && utf8.Valid(body) {
			resp.Body = string(body)
		} else {
			resp.Body = base64.StdEncoding.EncodeToString(body)
			resp.IsBase64Encoded = true
		}
	}
	return resp
}

// isText reports whether a response with these headers can travel as a JSON string: an
// uncompressed text, JSON, XML or JavaScript type.
func isText(h http.Header) bool {
	if enc := h.Get("Content-Encoding"); enc != "" && enc != "identity" {
		return false
	}
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"),
		mt == "application/json", mt == "application/xml", mt == "application/javascript",
		mt == "application/graphql", mt == "application/x-www-form-urlencoded", mt == "image/svg+xml":
		return true
	}
	return false
}

func textResponse(status int, msg string) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "text/plain; charset=utf-8"},
		Body:       msg + "\n",
	}
}

// JSONError is a response with status and v as its JSON body, for answers a function gives
// before its http.Handler exists.
func JSONError(status int, v any) events.APIGatewayV2HTTPResponse {
	b, err := json.Marshal(v)
	if err != nil {
		return textResponse(http.StatusInternalServerError, "cannot encode the error")
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(b)}
}
