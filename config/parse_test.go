package config_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/config"
)

// The shared parsers refuse what their callers (Load, pinning and notify) refused, with an
// EINVALID error that names the variable and says what it wants.
func TestParseDurationAndWhole(t *testing.T) {
	if d, err := config.ParseDuration("X_WAIT", "90s"); err != nil || d != 90*time.Second {
		t.Fatalf("ParseDuration(90s) = %v, %v", d, err)
	}
	for _, v := range []string{"", "1", "0s", "-5s", "soon"} {
		_, err := config.ParseDuration("X_WAIT", v)
		if modeldao.ErrorCode(err) != modeldao.EINVALID || !strings.Contains(err.Error(), "X_WAIT=") || !strings.Contains(err.Error(), "positive duration") {
			t.Errorf("ParseDuration(%q) = %v", v, err)
		}
	}
	if n, err := config.ParseWhole("X_COUNT", "0", 0, math.MaxInt, "a count"); err != nil || n != 0 {
		t.Fatalf("ParseWhole(0) = %v, %v", n, err)
	}
	for _, v := range []string{"", "-1", "1.5", "ten", "101"} {
		_, err := config.ParseWhole("X_COUNT", v, 0, 100, "a count from 0 to 100")
		if modeldao.ErrorCode(err) != modeldao.EINVALID || !strings.Contains(err.Error(), `X_COUNT="`+v+`": want a count from 0 to 100`) {
			t.Errorf("ParseWhole(%q) = %v", v, err)
		}
	}
}
