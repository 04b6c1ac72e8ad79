package modeldao

import (
	"encoding/hex"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Text is a string as the chain holds it: any bytes. Solidity strings need not be UTF-8,
// and a publisher, voter or auditor may send invalid UTF-8 (or NULs) in any string argument.
// The index keeps those bytes exactly, so that equal chains give equal projections and what
// the API serves can be compared byte for byte with contract calls.
//
// Its JSON form is lossless and deterministic: a plain JSON string when the bytes are valid
// UTF-8, else an object {"hex":"<lower-case hex of the bytes>"} (encoding/json would write
// U+FFFD for each invalid byte, and a record read back and written again would differ from
// the one written first).
//
// String gives the display form: valid UTF-8 with one U+FFFD for each byte that does not
// start a valid UTF-8 sequence, as Go's range loop decodes it (and as encoding/json and
// gqlgen write invalid strings).
type Text string

// Valid reports whether t is valid UTF-8 (then its display form is itself).
func (t Text) Valid() bool { return utf8.ValidString(string(t)) }

// String returns the display form: t with each byte that does not start a valid UTF-8
// sequence replaced by U+FFFD.
func (t Text) String() string {
	s := string(t)
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[:n])
		}
		s = s[n:]
	}
	return b.String()
}

// Bytes returns the raw bytes.
func (t Text) Bytes() []byte { return []byte(t) }

// Texts converts strings into Texts.
func Texts(ss []string) []Text {
	if ss == nil {
		return nil
	}
	out := make([]Text, len(ss))
	for i, s := range ss {
		out[i] = Text(s)
	}
	return out
}

type textBytes struct {
	Hex string `json:"hex"`
}

// MarshalJSON writes a JSON string for valid UTF-8 and {"hex":"…"} otherwise.
func (t Text) MarshalJSON() ([]byte, error) {
	if utf8.ValidString(string(t)) {
		return json.Marshal(string(t))
	}
	return json.Marshal(textBytes{Hex: hex.EncodeToString([]byte(t))})
}

// UnmarshalJSON reads either form that MarshalJSON writes.
func (t *Text) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var tb textBytes
		if err := json.Unmarshal(b, &tb); err != nil {
			return err
		}
		raw, err := hex.DecodeString(tb.Hex)
		if err != nil {
			return Errorf(EINVALID, "text bytes %q are not hex", tb.Hex)
		}
		*t = Text(raw)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*t = Text(s)
	return nil
}
