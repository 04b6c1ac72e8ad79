package functions_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modeldao/modeldao/config"
	"github.com/modeldao/modeldao/pinning"
)

// TestServerless packages serverless.yml offline with the pinned Serverless Framework v3
// (infra/serverless/check.sh: npm ci when needed, then "serverless package" with placeholder
// parameters and placeholder zips) and checks the CloudFormation it generates: runtime,
// architecture, handlers, artifacts, events, concurrency, environment (which must satisfy
// package config for each function), IAM, logs, VPC and the cache.
func TestServerless(t *testing.T) {
	if _, err := exec.LookPath("npm"); err != nil {
		t.Fatal("npm is not installed: serverless.yml is checked with Node: run apt-get install -y nodejs npm")
	}
	// check.sh reads these in a child process: read them here too, so that go test's cache
	// notices when they change.
	for _, f := range []string{"../serverless.yml", "../infra/serverless/check.sh", "../infra/serverless/package-lock.json"} {
		if _, err := os.ReadFile(f); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	start := time.Now()
	cmd := exec.Command("bash", "../infra/serverless/check.sh", "--placeholder", dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("check.sh: %v\n%s", err, stderr.String())
	}
	t.Logf("serverless package took %s", time.Since(start).Round(time.Millisecond))
	raw, err := os.ReadFile(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Resources  map[string]resource
		Conditions map[string]any
		Outputs    map[string]any
	}
	if err := json.Unmarshal(raw, &tpl); err != nil {
		t.Fatal(err)
	}
	res := tpl.Resources
	ofType := func(typ string) map[string]resource {
		out := map[string]resource{}
		for k, r := range res {
			if r.Type == typ {
				out[k] = r
			}
		}
		return out
	}

	// The functions.
	needs := map[string]config.Need{"api": config.ForAPI, "indexer": config.ForIndexer, "pinner": config.ForPinner, "relayer": config.ForRelayer, "notifier": config.ForAPI}
	timeouts := map[string]float64{}
	for name, need := range needs {
		r, ok := res[strings.ToUpper(name[:1])+name[1:]+"LambdaFunction"]
		if !ok {
			t.Fatalf("no Lambda function %q in %v", name, keys(res))
		}
		p := r.Properties
		if p["Runtime"] != "provided.al2023" || p["Handler"] != "bootstrap" || fmt.Sprint(p["Architectures"]) != "[arm64]" {
			t.Errorf("%s: runtime %v, handler %v, architectures %v", name, p["Runtime"], p["Handler"], p["Architectures"])
		}
		if code := p["Code"].(map[string]any); !strings.HasSuffix(fmt.Sprint(code["S3Key"]), "/"+name+".zip") {
			t.Errorf("%s: code %v, want the artifact bin/%s.zip", name, code, name)
		}
		if vpc, ok := p["VpcConfig"].(map[string]any); !ok || vpc["SubnetIds"] == nil || vpc["SecurityGroupIds"] == nil {
			t.Errorf("%s: VpcConfig %v", name, p["VpcConfig"])
		}
		timeouts[name] = p["Timeout"].(float64)

		// The environment satisfies package config (and the pinner's settings) as deployed;
		// REDIS_URL is a CloudFormation expression (the created cache), replaced by a sample.
		env := map[string]string{}
		vars := p["Environment"].(map[string]any)["Variables"].(map[string]any)
		for k, v := range vars {
			if s, ok := v.(string); ok {
				env[k] = s
			} else if k == config.EnvRedisURL {
				env[k] = "rediss://:token@clustercfg.modeldao.abc123.euw1.cache.amazonaws.com:6379"
			} else if k == config.EnvRelayerKeySecret {
				// The created secret, or the relayerKeySecretArn parameter.
				if _, ok := v.(map[string]any)["Fn::If"]; !ok {
					t.Errorf("%s: %s is %v, want the created secret or the parameter", name, k, v)
				}
				env[k] = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:modeldao-relayer-AbCdEf"
			} else {
				t.Errorf("%s: %s is %v", name, k, v)
			}
		}
		if _, ok := vars[config.EnvRedisURL].(map[string]any)["Fn::If"]; !ok {
			t.Errorf("%s: REDIS_URL %v, want the created cache or the redisUrl parameter", name, vars[config.EnvRedisURL])
		}
		cfg, err := config.Load(func(k string) string { return env[k] }, need)
		if err != nil {
			t.Errorf("%s: the deployed environment does not configure the function: %v", name, err)
			continue
		}
		if !cfg.Redis.Cluster || !cfg.Redis.TLS || cfg.LogFormat != "json" {
			t.Errorf("%s: redis %+v, log format %s", name, cfg.Redis, cfg.LogFormat)
		}
		if name == "pinner" {
			pcfg, err := pinning.ConfigFromEnv(func(k string) string { return env[k] })
			if err != nil || float64(pcfg.DrainMargin/time.Second) >= timeouts[name] {
				t.Errorf("pinner: %+v, %v", pcfg, err)
			}
		}
		if name == "relayer" && (cfg.Relayer.KeySecret == "" || !cfg.Relayer.PrivateKey.IsZero() || cfg.Relayer.GasBudget == 0) {
			t.Errorf("relayer: %+v: want the key from Secrets Manager and a gas budget", cfg.Relayer)
		}
		if name == "indexer" && float64(cfg.IndexerMargin/time.Second) >= timeouts[name] {
			t.Errorf("indexer: INDEXER_MARGIN %s is not below the timeout %v s", cfg.IndexerMargin, timeouts[name])
		}
	}
	if timeouts["api"] > 29 || timeouts["relayer"] > 29 || timeouts["indexer"] > 60 {
		t.Errorf("timeouts %v: the API must answer within API Gateway's 30 s, the indexer within its minute", timeouts)
	}

	// One writer: reserved concurrency 1 for the scheduled functions, no retries of stale
	// events.
	for _, name := range []string{"Indexer", "Pinner", "Notifier"} {
		if c := res[name+"LambdaFunction"].Properties["ReservedConcurrentExecutions"]; c != float64(1) {
			t.Errorf("%s: ReservedConcurrentExecutions %v, want 1", name, c)
		}
		ec := res[name+"LambdaEvConf"].Properties
		if ec["MaximumRetryAttempts"] != float64(0) {
			t.Errorf("%s: event invoke config %v", name, ec)
		}
	}

	// Events: HTTP API routes to the API, schedules to the indexer and the pinner.
	var routes []string
	for _, r := range ofType("AWS::ApiGatewayV2::Route") {
		routes = append(routes, fmt.Sprint(r.Properties["RouteKey"]))
	}
	for _, want := range []string{"POST /graphql", "GET /graphql", "OPTIONS /graphql", "GET /",
		"POST /relay/vote", "POST /relay/delegate", "GET /relay/{id}", "GET /relay", "OPTIONS /relay/{proxy+}"} {
		if !slices.Contains(routes, want) {
			t.Errorf("no route %q in %v", want, routes)
		}
	}
	for _, r := range ofType("AWS::ApiGatewayV2::Api") {
		if r.Properties["ProtocolType"] != "HTTP" {
			t.Errorf("API %v", r.Properties)
		}
	}
	for _, r := range ofType("AWS::ApiGatewayV2::Integration") {
		uri := fmt.Sprint(r.Properties["IntegrationUri"])
		if r.Properties["PayloadFormatVersion"] != "2.0" || !strings.Contains(uri, "ApiLambdaFunction") && !strings.Contains(uri, "RelayerLambdaFunction") {
			t.Errorf("integration %v", r.Properties)
		}
	}
	scheduledFns := map[string]bool{}
	for _, r := range ofType("AWS::Events::Rule") {
		if r.Properties["ScheduleExpression"] != "rate(1 minute)" || r.Properties["State"] != "ENABLED" {
			t.Errorf("rule %v", r.Properties)
		}
		for _, target := range r.Properties["Targets"].([]any) {
			arn := fmt.Sprint(target.(map[string]any)["Arn"])
			for _, fn := range []string{"Indexer", "Pinner", "Notifier", "Api", "Relayer"} {
				if strings.Contains(arn, fn+"LambdaFunction") {
					scheduledFns[fn] = true
				}
			}
		}
	}
	if !scheduledFns["Indexer"] || !scheduledFns["Pinner"] || !scheduledFns["Notifier"] || scheduledFns["Api"] || scheduledFns["Relayer"] {
		t.Errorf("scheduled functions %v, want the indexer, the pinner and the notifier", scheduledFns)
	}

	// Least privilege: the role may write its logs and manage its network interfaces, nothing
	// else.
	role := res["IamRoleLambdaExecution"].Properties
	var actions []string
	for _, pol := range role["Policies"].([]any) {
		doc := pol.(map[string]any)["PolicyDocument"].(map[string]any)
		for _, st := range doc["Statement"].([]any) {
			st := st.(map[string]any)
			if st["Effect"] != "Allow" {
				continue
			}
			switch a := st["Action"].(type) {
			case string:
				actions = append(actions, a)
			case []any:
				for _, x := range a {
					actions = append(actions, fmt.Sprint(x))
				}
			}
		}
	}
	if len(actions) == 0 {
		t.Errorf("no actions found in the role's policies %v", role["Policies"])
	}
	for _, a := range actions {
		if !strings.HasPrefix(a, "logs:") || strings.Contains(a, "*") {
			t.Errorf("the functions' role allows %s", a)
		}
	}
	managed, _ := json.Marshal(role["ManagedPolicyArns"])
	if !strings.Contains(string(managed), "AWSLambdaVPCAccessExecutionRole") || strings.Count(string(managed), "policy/") != 1 {
		t.Errorf("managed policies %s", managed)
	}
	// The relayer's own role: the VPC policy, and reading its key's secret, nothing else.
	if r := res["RelayerLambdaFunction"].Properties; !strings.Contains(fmt.Sprint(r["Role"]), "RelayerRole") {
		t.Errorf("relayer: role %v, want RelayerRole", r["Role"])
	}
	for name, r := range res {
		if name != "RelayerLambdaFunction" && r.Type == "AWS::Lambda::Function" && strings.Contains(fmt.Sprint(r.Properties["Role"]), "RelayerRole") {
			t.Errorf("%s runs with the relayer's role", name)
		}
	}
	rrole := res["RelayerRole"].Properties
	rpol, _ := json.Marshal(rrole["Policies"])
	if !strings.Contains(string(rpol), `"Action":"secretsmanager:GetSecretValue"`) || strings.Count(string(rpol), `"Action"`) != 1 ||
		strings.Contains(string(rpol), `"Resource":"*"`) || !strings.Contains(string(rpol), "RelayerKey") {
		t.Errorf("relayer role policies %s", rpol)
	}
	if rmanaged, _ := json.Marshal(rrole["ManagedPolicyArns"]); !strings.Contains(string(rmanaged), "AWSLambdaVPCAccessExecutionRole") || strings.Count(string(rmanaged), "policy/") != 1 {
		t.Errorf("relayer managed policies %s", rmanaged)
	}
	if k := res["RelayerKey"]; k.Type != "AWS::SecretsManager::Secret" || k.Condition != "CreateRelayerKey" {
		t.Errorf("relayer key secret %+v", k)
	}
	if strings.Contains(string(raw), config.EnvRelayerPrivateKey) {
		t.Errorf("the template sets %s: the key must come from Secrets Manager at run time", config.EnvRelayerPrivateKey)
	}
	for k, r := range ofType("AWS::Logs::LogGroup") {
		if r.Properties["RetentionInDays"] == nil {
			t.Errorf("log group %s keeps logs forever", k)
		}
	}

	// The cache: Redis OSS in cluster mode, TLS required, AUTH, reachable from the functions.
	rg := res["RedisReplicationGroup"].Properties
	if rg["Engine"] != "redis" || rg["ClusterMode"] != "Enabled" || rg["TransitEncryptionEnabled"] != true ||
		rg["TransitEncryptionMode"] != "required" || rg["AtRestEncryptionEnabled"] != true || rg["AuthToken"] == nil {
		t.Errorf("replication group %v", rg)
	}
	if _, ok := tpl.Conditions["CreateRedis"]; !ok || res["RedisReplicationGroup"].Condition != "CreateRedis" {
		t.Errorf("the cache is not conditional on the redisUrl parameter")
	}
	if strings.Contains(string(raw), "${ssm:") || strings.Contains(string(raw), "${aws:") {
		t.Errorf("the template has unresolved variables")
	}
}

type resource struct {
	Type       string
	Condition  string
	Properties map[string]any
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
