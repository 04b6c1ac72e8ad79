package apigw_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/modeldao/modeldao/functions/internal/apigw"
)

// sample is an API Gateway HTTP API (payload 2.0) event as the service sends it.
const sample = `{
  "version": "2.0",
  "routeKey": "POST /graphql",
  "rawPath": "/graphql",
  "rawQueryString": "a=1&a=2&b=x%20y",
  "cookies": ["session=abc", "theme=dark"],
  "headers": {
    "accept": "application/json",
    "content-type": "application/json",
    "host": "api.example.org",
    "origin": "https://app.example.org",
    "x-forwarded-for": "203.0.113.7",
    "x-multi": "one,two"
  },
  "queryStringParameters": {"a": "1,2", "b": "x y"},
  "requestContext": {
    "accountId": "123456789012",
    "apiId": "api-id",
    "domainName": "api.example.org",
    "domainPrefix": "api",
    "http": {"method": "POST", "path": "/graphql", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "curl/8.0"},
    "requestId": "id",
    "routeKey": "POST /graphql",
    "stage": "$default",
    "time": "12/Mar/2020:19:03:58 +0000",
    "timeEpoch": 1583348638390
  },
  "body": "eyJxdWVyeSI6InsgeCB9In0=",
  "isBase64Encoded": true
}`

func event(t *testing.T) events.APIGatewayV2HTTPRequest {
	t.Helper()
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal([]byte(sample), &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestRequest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := apigw.Request(ctx, event(t))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(req.Body)
	checks := []struct {
		what string
		ok   bool
	}{
		{"method", req.Method == http.MethodPost},
		{"path", req.URL.Path == "/graphql" && req.RequestURI == "/graphql?a=1&a=2&b=x%20y"},
		{"repeated query keys", slices.Equal(req.URL.Query()["a"], []string{"1", "2"}) && req.URL.Query().Get("b") == "x y"},
		{"base64 body", string(body) == `{"query":"{ x }"}` && req.ContentLength == int64(len(body))},
		{"headers", req.Header.Get("Content-Type") == "application/json" && req.Header.Get("Origin") == "https://app.example.org" && req.Header.Get("X-Multi") == "one,two"},
		{"cookies", len(req.Cookies()) == 2 && req.Cookies()[0].Value == "abc" && req.Cookies()[1].Name == "theme"},
		{"host", req.Host == "api.example.org"},
		{"remote address", strings.HasPrefix(req.RemoteAddr, "203.0.113.7:")},
		{"user agent", req.UserAgent() == "curl/8.0"},
		{"protocol", req.ProtoMajor == 1 && req.ProtoMinor == 1},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: %+v (body %q)", c.what, req, body)
		}
	}
	if dl, ok := req.Context().Deadline(); !ok || time.Until(dl) < 50*time.Second {
		t.Errorf("the invocation's deadline did not reach the request")
	}
}

func TestRequestVariants(t *testing.T) {
	ctx := context.Background()
	ev := event(t)
	ev.IsBase64Encoded = false
	ev.Body = `{"query":"{ ü }"}`
	ev.RawQueryString = ""
	ev.RawPath = "/prod/graphql"
	ev.RequestContext.Stage = "prod"
	ev.Cookies = nil
	req, err := apigw.Request(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(req.Body)
	if string(body) != ev.Body || req.URL.Path != "/graphql" || req.URL.Query().Get("b") != "x y" || req.Header.Get("Cookie") != "" {
		t.Errorf("request %+v body %q", req, body)
	}
	// A stage name that is only a prefix of a path segment stays.
	ev.RawPath = "/production"
	if req, _ := apigw.Request(ctx, ev); req.URL.Path != "/production" {
		t.Errorf("path %q", req.URL.Path)
	}
	ev.IsBase64Encoded = true
	ev.Body = "!!!"
	if _, err := apigw.Request(ctx, ev); err == nil {
		t.Error("a body flagged base64 that is not was accepted")
	}
	// The handler answers it with 400, not an invocation error.
	resp, err := apigw.Handler(http.NotFoundHandler())(ctx, ev)
	if err != nil || resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, "base64") {
		t.Errorf("response %+v, %v", resp, err)
	}
}

func serve(t *testing.T, h http.HandlerFunc, method string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	ev := event(t)
	ev.RequestContext.HTTP.Method = method
	resp, err := apigw.Handler(h)(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestResponse(t *testing.T) {
	resp := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		w.Header().Add("Vary", "Origin")
		w.Header().Add("Vary", "Accept")
		http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
		http.SetCookie(w, &http.Cookie{Name: "b", Value: "2", HttpOnly: true})
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"data":{"x":"ü"}}`)
	}, http.MethodPost)
	if resp.StatusCode != http.StatusAccepted || resp.IsBase64Encoded || resp.Body != `{"data":{"x":"ü"}}` {
		t.Errorf("response %+v", resp)
	}
	if resp.Headers["Content-Type"] != "application/json" || resp.Headers["Access-Control-Allow-Origin"] != "https://app.example.org" || resp.Headers["Vary"] != "Origin, Accept" {
		t.Errorf("headers %v", resp.Headers)
	}
	if _, ok := resp.Headers["Set-Cookie"]; ok || !slices.Equal(resp.Cookies, []string{"a=1", "b=2; HttpOnly"}) {
		t.Errorf("cookies %q, headers %v", resp.Cookies, resp.Headers)
	}
}

func TestResponseBinary(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	resp := serve(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(png) }, http.MethodGet)
	if !resp.IsBase64Encoded || resp.Headers["Content-Type"] != "image/png" || resp.StatusCode != 200 {
		t.Fatalf("response %+v", resp)
	}
	if b, _ := base64.StdEncoding.DecodeString(resp.Body); string(b) != string(png) {
		t.Fatalf("body %q", b)
	}
	// Compressed text is binary too.
	resp = serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write([]byte("\x1f\x8b\x08"))
	}, http.MethodGet)
	if !resp.IsBase64Encoded {
		t.Fatalf("gzip body not base64: %+v", resp)
	}
	// Text sniffed from the body stays text; no body, no content type.
	resp = serve(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<!doctype html><p>hi")) }, http.MethodGet)
	if resp.IsBase64Encoded || !strings.HasPrefix(resp.Headers["Content-Type"], "text/html") {
		t.Fatalf("html %+v", resp)
	}
	resp = serve(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }, http.MethodOptions)
	if resp.StatusCode != http.StatusNoContent || resp.Body != "" || resp.Headers["Content-Type"] != "" {
		t.Fatalf("204 %+v", resp)
	}
	// HEAD keeps the headers and drops the body.
	resp = serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("body"))
	}, http.MethodHead)
	if resp.Body != "" || resp.Headers["Content-Type"] != "text/plain" {
		t.Fatalf("HEAD %+v", resp)
	}
}

func TestResponseTooLarge(t *testing.T) {
	big := strings.Repeat("x", apigw.MaxResponseBytes+1)
	resp := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, big)
	}, http.MethodGet)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(resp.Body, "ask for less") {
		t.Fatalf("status %d body %.100q", resp.StatusCode, resp.Body)
	}
}

// TestResponseJSON: the response marshals as API Gateway reads it.
func TestResponseJSON(t *testing.T) {
	resp := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{}`)
	}, http.MethodGet)
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if m["statusCode"] != float64(200) || m["body"] != "{}" {
		t.Fatalf("%s", b)
	}
}
