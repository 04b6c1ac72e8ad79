package lambdarie

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
)

var (
	echoOnce sync.Once
	echoPath string
	echoErr  error
)

// echoHandler builds testdata/echo once per test binary.
func echoHandler(t *testing.T) string {
	t.Helper()
	echoOnce.Do(func() {
		dir, err := tempDirForBinary()
		if err != nil {
			echoErr = err
			return
		}
		echoPath, echoErr = Build(context.Background(), BuildOptions{Package: "./testdata/echo", OutDir: dir})
	})
	if echoErr != nil {
		t.Fatal(echoErr)
	}
	return echoPath
}

func invoke(t *testing.T, s *Server, event string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := s.Invoke(ctx, []byte(event))
	return string(out), err
}

func TestInvoke(t *testing.T) {
	t.Parallel()
	s := StartT(t, Options{
		Handler: echoHandler(t),
		Env:     map[string]string{"MODELDAO_TEST_VAR": "from-the-test"},
	})

	if got, err := invoke(t, s, `{"hello":"world"}`); err != nil || got != `{"hello":"world"}` {
		t.Fatalf("echo = %q, %v", got, err)
	}
	if got, err := invoke(t, s, `{"env":"MODELDAO_TEST_VAR"}`); err != nil || got != `{"env":"from-the-test"}` {
		t.Fatalf("env = %q, %v", got, err)
	}

	// A handler error answers HTTP 200; Invoke turns it into a FunctionError.
	_, err := invoke(t, s, `{"fail":"no such model"}`)
	var fe *FunctionError
	if !errors.As(err, &fe) {
		t.Fatalf("fail: err = %v, want a *FunctionError", err)
	}
	if fe.Type != "EchoError" || fe.Message != "no such model" || fe.StatusCode != 200 {
		t.Errorf("fail: %+v", fe)
	}

	// A panic and a crash are FunctionErrors too, and the function comes
	// back for the next invocation.
	if _, err := invoke(t, s, `{"panic":"oops"}`); !errors.As(err, &fe) || fe.Message != "oops" || len(fe.StackTrace) == 0 {
		t.Errorf("panic: err = %v", err)
	}
	if _, err := invoke(t, s, `{"exit":3}`); !errors.As(err, &fe) || fe.Type != "Runtime.ExitError" {
		t.Errorf("exit: err = %v", err)
	}
	if got, err := invoke(t, s, `[1,2]`); err != nil || got != `[1,2]` {
		t.Fatalf("echo after crash = %q, %v", got, err)
	}

	// A result that merely contains an errorMessage field is a result.
	if got, err := invoke(t, s, `{"errorMessage":"x","status":"fine"}`); err != nil || !strings.Contains(got, "fine") {
		t.Errorf("result with errorMessage = %q, %v", got, err)
	}

	// Invocations at once are queued, not sent together (which crashes
	// the emulator).
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := s.Invoke(t.Context(), []byte(`{"sleepMs":50}`)); err != nil {
				t.Errorf("concurrent invoke: %v", err)
			}
		})
	}
	wg.Wait()

	if !strings.Contains(s.Output(), "START RequestId") {
		t.Errorf("Output() has no emulator log:\n%s", s.Output())
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	s := StartT(t, Options{Handler: echoHandler(t), Timeout: time.Second})
	// A function that ignores its deadline is stopped by the emulator.
	_, err := invoke(t, s, `{"hangMs":5000}`)
	var fe *FunctionError
	if !errors.As(err, &fe) || fe.Type != "Sandbox.Timedout" {
		t.Fatalf("err = %v, want a Sandbox.Timedout FunctionError", err)
	}
	if got, err := invoke(t, s, `{"after":"timeout"}`); err != nil || got != `{"after":"timeout"}` {
		t.Fatalf("echo after timeout = %q, %v", got, err)
	}
}

// The shape Invoke recognises is the one aws-lambda-go sends.
func TestParseFunctionError(t *testing.T) {
	body, err := json.Marshal(messages.InvokeResponse_Error{Message: "m", Type: "T"})
	if err != nil {
		t.Fatal(err)
	}
	if fe := parseFunctionError(200, body); fe == nil || fe.Type != "T" || fe.Message != "m" {
		t.Errorf("parse(%s) = %+v", body, fe)
	}
	for _, notErr := range []string{`{}`, `"errorMessage"`, `{"errorType":"T"}`, `{"errorType":"T","errorMessage":"m","extra":1}`, `Task timed out"`} {
		if fe := parseFunctionError(200, []byte(notErr)); fe != nil {
			t.Errorf("parse(%s) = %+v, want nil", notErr, fe)
		}
	}
}

func TestCloseStopsFunction(t *testing.T) {
	t.Parallel()
	s, err := Start(t.Context(), Options{Handler: echoHandler(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := invoke(t, s, `{}`); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.Running() {
		t.Fatal("Running() after Close")
	}
	if _, err := invoke(t, s, `{}`); err == nil {
		t.Fatal("Invoke after Close succeeded")
	}
}

func TestMissingBinary(t *testing.T) {
	// Not parallel: changes the environment and working directory.
	handler := echoHandler(t)
	t.Setenv("MODELDAO_RIE_BIN", "")
	t.Setenv("PATH", t.TempDir())
	t.Chdir(t.TempDir()) // outside the repository, so no .bin/aws-lambda-rie
	want := `aws-lambda-rie not found: run "make tools" (builds .bin/aws-lambda-rie)`
	if _, err := Start(t.Context(), Options{Handler: handler}); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to say %s", err, want)
	}
}
