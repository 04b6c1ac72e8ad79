package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/modeldao/modeldao/internal/devstack"
)

// TestGraphiQLInChromium loads GraphiQL from the dev stack's server in headless Chromium
// (no internet: every file is embedded in the binary), runs the default query with the
// play button, and reads the result on the page; then runs a live query (@live) and sees
// the panel follow a new block until the stop button ends it.
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

	// A live query: marked @live, it streams over server-sent events, and the result panel
	// follows the index without another click; the stop button ends the stream.
	const live = "query Watch @live {\n  indexerStatus { indexedBlock }\n}\n"
	// indexedBlock is the number the result panel shows, or false until it shows one.
	const indexedBlock = `(() => { const r = document.querySelector('.result-window'); const m = r && r.innerText.match(/"indexedBlock": (\d+)/); return m ? Number(m[1]) : false })()`
	var first, next float64
	var label string
	shot := func(err error, what string) {
		var png []byte
		_ = chromedp.Run(page, chromedp.FullScreenshot(&png, 60))
		name := t.TempDir() + "/graphiql-live.png"
		_ = os.WriteFile(name, png, 0o644)
		t.Fatalf("GraphiQL live query, %s: %v (screenshot %s)", what, err, name)
	}
	err = chromedp.Run(page,
		chromedp.Evaluate(`document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(`+strconv.Quote(live)+`)`, nil),
		chromedp.Evaluate(`document.querySelector('.result-window .CodeMirror').CodeMirror.setValue('')`, nil),
		chromedp.Click(`.graphiql-execute-button`, chromedp.ByQuery),
		chromedp.Poll(indexedBlock, &first),
		chromedp.AttributeValue(`.graphiql-execute-button`, "aria-label", &label, nil, chromedp.ByQuery),
	)
	if err != nil {
		shot(err, "first result")
	}
	if !strings.HasPrefix(label, "Stop") {
		t.Fatalf("while the live query runs, the execute button says %q; want Stop…", label)
	}
	// A new block, indexed: the panel shows it without another click.
	mine := func() {
		release := stack.HoldMiner()
		stack.Chain.Mine(1)
		release()
		if err := stack.WaitIndexed(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mine()
	err = chromedp.Run(page, chromedp.Poll(indexedBlock+` > `+strconv.Itoa(int(first))+` && `+indexedBlock, &next, chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		shot(err, fmt.Sprintf("no update after block %d", int(first)))
	}
	// Stop: the stream closes, and further blocks no longer reach the panel. (The dev
	// chain also mines on a timer: compare with what the panel showed once stopped.)
	var stopped, after float64
	err = chromedp.Run(page,
		chromedp.Click(`.graphiql-execute-button`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('.graphiql-execute-button').getAttribute('aria-label').startsWith('Execute')`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Evaluate(indexedBlock, &stopped),
	)
	if err != nil {
		shot(err, "stop")
	}
	mine()
	time.Sleep(time.Second) // the live hub polls the checkpoint every 200ms: a stream still open would have sent it
	if err := chromedp.Run(page, chromedp.Evaluate(indexedBlock, &after)); err != nil || after != stopped {
		t.Fatalf("after stop and a new block, the panel shows indexedBlock %v (err %v); it showed %v when stopped", after, err, stopped)
	}
}
