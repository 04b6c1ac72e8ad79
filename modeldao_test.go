package modeldao

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

func TestErrorCodeAndMessage(t *testing.T) {
	notFound := Errorf(ENOTFOUND, "model version %d not found", 7)
	tests := []struct {
		name     string
		err      error
		code     string
		message  string
		text     string // Error(); "" to skip
		wrapsEOF bool
	}{
		{name: "nil", err: nil, code: "", message: ""},
		{name: "Errorf", err: Errorf(EINVALID, "bad %s", "input"), code: EINVALID, message: "bad input", text: "invalid: bad input"},
		{name: "WrapError", err: WrapError(EUNAVAILABLE, io.EOF, "read block %d", 5), code: EUNAVAILABLE,
			message: "read block 5", text: "unavailable: read block 5: EOF", wrapsEOF: true},
		{name: "wrapped by fmt", err: fmt.Errorf("resolver: %w", notFound), code: ENOTFOUND, message: "model version 7 not found",
			text: "resolver: not_found: model version 7 not found"},
		{name: "first *Error in the chain wins", err: WrapError(ECONFLICT, notFound, "lease lost"), code: ECONFLICT,
			message: "lease lost", text: "conflict: lease lost: not_found: model version 7 not found"},
		{name: "foreign error is internal and its text is hidden", err: errors.New("dial redis://user:secret@host"),
			code: EINTERNAL, message: "internal error"},
		{name: "foreign error wrapping EOF", err: fmt.Errorf("x: %w", io.EOF), code: EINTERNAL, message: "internal error", wrapsEOF: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorCode(tt.err); got != tt.code {
				t.Errorf("ErrorCode = %q, want %q", got, tt.code)
			}
			if got := ErrorMessage(tt.err); got != tt.message {
				t.Errorf("ErrorMessage = %q, want %q", got, tt.message)
			}
			if tt.text != "" && tt.err.Error() != tt.text {
				t.Errorf("Error() = %q, want %q", tt.err.Error(), tt.text)
			}
			if got := errors.Is(tt.err, io.EOF); got != tt.wrapsEOF {
				t.Errorf("errors.Is(err, io.EOF) = %v, want %v", got, tt.wrapsEOF)
			}
		})
	}
}

func TestPinStatus(t *testing.T) {
	for s := PinNone; s <= PinUnpinned; s++ {
		got, err := ParsePinStatus(s.String())
		if err != nil || got != s {
			t.Errorf("ParsePinStatus(%q) = %v, %v; want %v", s.String(), got, err, s)
		}
	}
	if got, err := ParsePinStatus("pinned"); err != nil || got != PinPinned {
		t.Errorf("ParsePinStatus(pinned) = %v, %v", got, err)
	}
	if _, err := ParsePinStatus("lost"); ErrorCode(err) != EINVALID {
		t.Errorf("ParsePinStatus(lost) error = %v, want code %s", err, EINVALID)
	}
	if got := PinStatus(9).String(); got != "PinStatus(9)" {
		t.Errorf("PinStatus(9).String() = %q", got)
	}
	if got := PinName(42); got != "modeldao:42" {
		t.Errorf("PinName(42) = %q", got)
	}
}

func TestProvenance(t *testing.T) {
	a := Provenance{BlockNumber: 10, LogIndex: 5}
	tests := []struct {
		p, q Provenance
		want bool
	}{
		{a, Provenance{BlockNumber: 11, LogIndex: 0}, true},
		{a, Provenance{BlockNumber: 9, LogIndex: 9}, false},
		{a, Provenance{BlockNumber: 10, LogIndex: 6}, true},
		{a, Provenance{BlockNumber: 10, LogIndex: 4}, false},
		{a, a, false},
	}
	for _, tt := range tests {
		if got := tt.p.Before(tt.q); got != tt.want {
			t.Errorf("%+v.Before(%+v) = %v, want %v", tt.p, tt.q, got, tt.want)
		}
	}
	addr := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	if got, want := AccountID(1337, addr), "eip155:1337:"+addr.Hex(); got != want {
		t.Errorf("AccountID = %q, want %q", got, want)
	}
}
