package e2e

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/modeldao/modeldao/internal/devstack"
)

// TestGraphiQLInChromium loads GraphiQL from the dev stack's server in headless Chromium
// (no internet: every file is embedded in the binary), runs the default query with the
// play button, and reads the result on the page.
func TestGraphiQLInChromium(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found: run `make test` (it installs it) or `apt-get install -y chromium`")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stack, err := devstack.Start(ctx, devstack.Options{RPCAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Close()
	if err := stack.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	info := stack.Info

	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(browser), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 4000))
	defer cancelAlloc()
	page, cancelPage := chromedp.NewContext(alloc)
	defer cancelPage()
	var result string
	err = chromedp.Run(page,
		chromedp.Navigate(info.GraphiQLURL),
		chromedp.WaitVisible(`.graphiql-execute-button`, chromedp.ByQuery),
		chromedp.Click(`.graphiql-execute-button`, chromedp.ByQuery),
		// Wait until the result panel shows the answer (CodeMirror renders it as text).
		chromedp.Poll(`(() => { const r = document.querySelector('.result-window'); return r && r.innerText.includes('modelVersions') ? r.innerText : false })()`, &result),
	)
	if err != nil {
		var shot []byte
		_ = chromedp.Run(page, chromedp.FullScreenshot(&shot, 60))
		name := t.TempDir() + "/graphiql.png"
		_ = os.WriteFile(name, shot, 0o644)
		t.Fatalf("GraphiQL in Chromium: %v (screenshot %s, result %q)", err, name, result)
	}
	for _, want := range []string{`"proposals"`, `"modelVersions"`, `"APPROVED"`} {
		if !strings.Contains(result, want) {
			t.Fatalf("result panel lacks %s:\n%s", want, result)
		}
	}
	if strings.Contains(result, `"errors"`) {
		t.Fatalf("the query failed on the page:\n%s", result)
	}
}
