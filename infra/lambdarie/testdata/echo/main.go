// Command echo is a test Lambda function for the lambdarie tests. Its event
// says what to do:
//
//	{"fail": "msg"}     return an *EchoError with that message
//	{"env": "NAME"}     return {"env": value of $NAME}
//	{"sleepMs": n}      sleep n milliseconds (or until the deadline), then echo
//	{"hangMs": n}       sleep n milliseconds ignoring the deadline, then echo
//	{"exit": code}      exit the process with that code
//	{"panic": "msg"}    panic
//	anything else       echo the event back
package main

import (
	"context"
	"encoding/json"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

// EchoError is the error the function returns when asked to; its type name
// is the "errorType" the runtime reports.
type EchoError struct{ Msg string }

func (e *EchoError) Error() string { return e.Msg }

type event struct {
	Fail    *string `json:"fail"`
	Env     *string `json:"env"`
	SleepMs int     `json:"sleepMs"`
	Exit    *int    `json:"exit"`
	Panic   *string `json:"panic"`
	HangMs  int     `json:"hangMs"` // like sleepMs, but ignoring the deadline (a stuck function)
}

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var ev event
	_ = json.Unmarshal(raw, &ev) // not an object: just echo it
	switch {
	case ev.Fail != nil:
		return nil, &EchoError{Msg: *ev.Fail}
	case ev.Env != nil:
		return map[string]string{"env": os.Getenv(*ev.Env)}, nil
	case ev.Exit != nil:
		os.Exit(*ev.Exit)
	case ev.Panic != nil:
		panic(*ev.Panic)
	case ev.HangMs > 0:
		time.Sleep(time.Duration(ev.HangMs) * time.Millisecond)
	case ev.SleepMs > 0:
		select {
		case <-time.After(time.Duration(ev.SleepMs) * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return raw, nil
}

func main() {
	lambda.Start(handle)
}
