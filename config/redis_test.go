package config_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/modeldao/modeldao/config"
	"github.com/modeldao/modeldao/infra/procutil"
	"github.com/modeldao/modeldao/infra/redisserver"
)

func TestRedisOptions(t *testing.T) {
	cfg := load(t, env{"REDIS_URL": "rediss://u:p@cache.example.org:6380/0?skip_verify=true", "REDIS_CLUSTER": "true"}, 0)
	o := config.RedisOptions(cfg)
	checks := []struct {
		what string
		ok   bool
	}{
		{"addrs", len(o.Addrs) == 1 && o.Addrs[0] == "cache.example.org:6380"},
		{"auth", o.Username == "u" && o.Password == "p"},
		{"cluster mode with one address", o.IsClusterMode},
		{"tls", o.TLSConfig != nil && o.TLSConfig.ServerName == "cache.example.org" && o.TLSConfig.MinVersion == tls.VersionTLS12 && o.TLSConfig.InsecureSkipVerify},
		{"small pool, nothing dialled at start", o.PoolSize == config.RedisPoolSize && o.PoolSize <= 8 && o.MinIdleConns == 0 && o.PipelinePoolSize < 0},
		{"short dial timeout, few dial retries", o.DialTimeout <= 2*time.Second && o.DialerRetries > 0 && o.DialerRetries <= 2},
		{"context deadlines honoured", o.ContextTimeoutEnabled},
		{"idle connections dropped before a frozen container's gap", o.ConnMaxIdleTime > 0 && o.ConnMaxIdleTime <= time.Minute},
		{"bounded command retries", o.MaxRetries > 0 && o.MaxRetries <= 3},
		{"no extra round trips on connect", o.DisableIdentity && o.MaintNotificationsConfig != nil && o.MaintNotificationsConfig.Mode == maintnotifications.ModeDisabled},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: %+v", c.what, o)
		}
	}
	if _, ok := config.Redis(cfg).(*redis.ClusterClient); !ok {
		t.Errorf("REDIS_CLUSTER=true did not make a cluster client")
	}
	plain := load(t, env{"REDIS_URL": "redis://h:1/3"}, 0)
	if o := config.RedisOptions(plain); o.TLSConfig != nil || o.IsClusterMode || o.DB != 3 {
		t.Errorf("plain options %+v", o)
	}
	if _, ok := config.Redis(plain).(*redis.Client); !ok {
		t.Errorf("a single server did not make a *redis.Client")
	}
}

func TestRedisClient(t *testing.T) {
	ctx := context.Background()
	srv := redisserver.StartT(t)
	cfg := load(t, env{"REDIS_URL": srv.URL()}, 0)
	rdb := config.Redis(cfg)
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := rdb.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("GET = %q, %v", v, err)
	}

	// A context deadline ends a blocking command, although ReadTimeout is longer.
	dctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := rdb.BLPop(dctx, 0, "nothing").Err()
	if el := time.Since(start); err == nil || el > time.Second {
		t.Fatalf("BLPOP with a 200ms deadline: %v after %s", err, el)
	}

	// A server that is down fails a command quickly: few dial retries, short timeouts.
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	err = rdb.Ping(ctx).Err()
	if el := time.Since(start); err == nil || el > 3*time.Second {
		t.Fatalf("PING of a stopped server: %v after %s", err, el)
	}
	t.Logf("PING of a stopped server failed after %s: %v", time.Since(start).Round(time.Millisecond), err)
	// And the same client recovers once it is back.
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after restart: %v", err)
	}
}

// TestRedisTLSAuth connects as ElastiCache wants: rediss:// (TLS) with a user and password.
func TestRedisTLSAuth(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	caPEM, certFile, keyFile := selfSigned(t, dir)
	tlsPort, err := procutil.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	srv := redisserver.StartT(t, redisserver.Options{Args: []string{
		"--tls-port", strconv.Itoa(tlsPort),
		"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", filepath.Join(dir, "ca.pem"),
		"--tls-auth-clients", "no",
		"--user", "modeldao", "on", ">p@ss/word", "~*", "&*", "+@all",
	}})
	_ = srv
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := func(url string) redis.UniversalClient {
		cfg := load(t, env{"REDIS_URL": url}, 0)
		o := config.RedisOptions(cfg)
		o.TLSConfig.RootCAs = pool
		rdb := redis.NewUniversalClient(o)
		t.Cleanup(func() { rdb.Close() })
		return rdb
	}
	good := fmt.Sprintf("rediss://modeldao:p%%40ss%%2Fword@localhost:%d", tlsPort)
	rdb := client(good)
	who, err := rdb.Do(ctx, "ACL", "WHOAMI").Text()
	if err != nil || who != "modeldao" {
		t.Fatalf("ACL WHOAMI over TLS = %q, %v", who, err)
	}
	err = client(fmt.Sprintf("rediss://modeldao:wrong@localhost:%d", tlsPort)).Ping(ctx).Err()
	if err == nil || !strings.Contains(strings.ToUpper(err.Error()), "WRONGPASS") {
		t.Fatalf("wrong password: %v", err)
	}
	// The certificate must name the host of REDIS_URL.
	err = client(fmt.Sprintf("rediss://modeldao:p%%40ss%%2Fword@127.0.0.2:%d", tlsPort)).Ping(ctx).Err()
	if err == nil {
		t.Fatal("a certificate for localhost was accepted for 127.0.0.2")
	}
}

func TestRedisCluster(t *testing.T) {
	ctx := context.Background()
	c := redisserver.StartClusterT(t)
	cfg := load(t, env{"REDIS_URL": "redis://" + c.Addrs()[0], "REDIS_CLUSTER": "true"}, 0)
	rdb := config.Redis(cfg)
	t.Cleanup(func() { rdb.Close() })
	// Keys of every slot are reachable from one seed.
	for i := range 20 {
		k := "key" + strconv.Itoa(i)
		if err := rdb.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
	}
	var n atomic.Int32 // ForEachMaster calls fn concurrently
	err := rdb.(*redis.ClusterClient).ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		k, err := m.DBSize(ctx).Result()
		if k > 0 {
			n.Add(1)
		}
		return err
	})
	if err != nil || n.Load() < 2 {
		t.Fatalf("keys spread over %d masters (%v), want several", n.Load(), err)
	}
}

// selfSigned writes a CA and a server certificate for localhost into dir.
func selfSigned(t *testing.T, dir string) (caPEM []byte, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("ca.pem", caPEM)
	certFile = write("server.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}))
	keyFile = write("server.key", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	return caPEM, certFile, keyFile
}
