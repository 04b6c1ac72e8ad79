package config_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/modeldao/modeldao/config"
)

func TestRelayerConfig(t *testing.T) {
	const key = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
	base := map[string]string{
		config.EnvRedisURL: "redis://127.0.0.1:6379/0", config.EnvEthRPCURL: "http://127.0.0.1:8545", config.EnvChainID: "1337",
		config.EnvToken: "0x00000000000000000000000000000000000000a1", config.EnvGovernor: "0x00000000000000000000000000000000000000a2",
		config.EnvTimelock: "0x00000000000000000000000000000000000000a3", config.EnvRegistry: "0x00000000000000000000000000000000000000a4",
	}
	load := func(extra map[string]string) (*config.Config, error) {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		return config.Load(func(k string) string { return env[k] }, config.ForRelayer)
	}
	// Missing key: named, with what to do.
	_, err := load(nil)
	var ce *config.Error
	if !asConfigError(err, &ce) || !slices.Contains(ce.Vars(), config.EnvRelayerPrivateKey) || !strings.Contains(err.Error(), config.EnvRelayerKeySecret) {
		t.Fatalf("no key: %v", err)
	}
	// A malformed key is refused without being quoted.
	bad := key[:63] + "g"
	_, err = load(map[string]string{config.EnvRelayerPrivateKey: bad})
	if err == nil || strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), key[:20]) {
		t.Fatalf("bad key: %v", err)
	}
	cfg, err := load(map[string]string{config.EnvRelayerPrivateKey: "0x" + key, config.EnvRelayerSignerLimit: "5",
		config.EnvRelayerGasBudget: "1000000", config.EnvRelayerLimitWindow: "10m", config.EnvRelayerWait: "2s"})
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Relayer
	if r.PrivateKey.Reveal() != key || r.SignerLimit != 5 || r.GasBudget != 1_000_000 || r.Window.Minutes() != 10 || r.Wait.Seconds() != 2 {
		t.Fatalf("relayer config %+v", r)
	}
	// The key does not print, log or marshal.
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "cfg", cfg, "relayer", r, "key", r.PrivateKey)
	j, _ := json.Marshal(cfg)
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", r), fmt.Sprintf("%#v", r), buf.String(), string(j)} {
		if strings.Contains(s, key) {
			t.Fatalf("the key shows in %q", s)
		}
	}
	// A secret name is enough.
	if cfg, err := load(map[string]string{config.EnvRelayerKeySecret: "modeldao/relayer-key"}); err != nil || cfg.Relayer.KeySecret != "modeldao/relayer-key" {
		t.Fatalf("key secret: %+v, %v", cfg, err)
	}
	// Bad limits are named.
	_, err = load(map[string]string{config.EnvRelayerPrivateKey: key, config.EnvRelayerIPLimit: "lots", config.EnvRelayerGasBudget: "0"})
	if !asConfigError(err, &ce) || !slices.Contains(ce.Vars(), config.EnvRelayerIPLimit) || !slices.Contains(ce.Vars(), config.EnvRelayerGasBudget) {
		t.Fatalf("bad limits: %v", err)
	}
}

func asConfigError(err error, out **config.Error) bool {
	e, ok := err.(*config.Error)
	*out = e
	return ok
}
