package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/config"
	"github.com/modeldao/modeldao/notify"
)

func init() {
	groups["webhook"] = "register, list and remove webhook endpoints"
	register(&command{name: "webhook add", args: "<url>", summary: "register a webhook endpoint; prints its signing secret once",
		detail: `The notifier (modeldao notify, the notifier function) POSTs each event as JSON to the URL,
signed: X-ModelDAO-Signature is "sha256=" + hex HMAC-SHA256(secret, X-ModelDAO-Timestamp + "." + body),
and X-ModelDAO-Event-Id is the idempotency key. The endpoint receives what happens from now on.
Events: ` + typeList() + `.
The secret is printed here and never again: store it with the receiver.`,
		setup: setupWebhookAdd})
	register(&command{name: "webhook list", summary: "list webhook endpoints with their backlog (secrets show only a hint)", setup: setupWebhookList})
	register(&command{name: "webhook remove", args: "<id>", summary: "remove a webhook endpoint with its queue and dead letters", setup: setupWebhookRemove})
	register(&command{name: "notify", summary: "deliver events to the webhook endpoints",
		detail: "Configuration from the environment (REDIS_URL, DEPLOYMENT_FILE or CHAIN_ID and GOVERNOR_ADDRESS, MODELDAO_NOTIFY_*); flags override it.",
		setup:  setupNotify})
}

func typeList() string {
	s := make([]string, len(modeldao.NotificationTypes))
	for i, t := range modeldao.NotificationTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

func setupWebhookAdd(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.redisFlag(fs)
	r.deploymentFlag(fs, false)
	r.jsonFlag(fs)
	events := fs.String("events", "", "comma-separated events to receive (default: all)")
	model := fs.String("model", "", "receive only events about this model id (0x…, 32 bytes)")
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 1, "the endpoint URL"); err != nil {
			return err
		}
		w := modeldao.Webhook{URL: args[0]}
		var err error
		if w.Events, err = modeldao.ParseNotificationTypes(*events); err != nil {
			return asUsage(err)
		}
		if *model != "" {
			if b := common.FromHex(*model); len(b) != 32 || !strings.HasPrefix(*model, "0x") {
				return usagef("--model %q is not a model id: give the 0x-prefixed 32-byte id, the keccak256 of the model's name, as the API shows it: { modelVersion(id: N) { model { id } } }", *model)
			}
			m := common.HexToHash(*model)
			w.Model = &m
		}
		rdb, st, _, err := r.indexStore(ctx)
		if err != nil {
			return err
		}
		defer rdb.Close()
		if w, err = st.AddWebhook(ctx, w); err != nil {
			return asUsage(err)
		}
		return r.print(w, func(out io.Writer) {
			fmt.Fprintf(out, "Webhook %s → %s\nSecret (shown only now; verify X-ModelDAO-Signature with it): %s\n", w.ID, w.URL, w.Secret)
		})
	}
}

type webhookRow struct {
	ID     string   `json:"id"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
	Model  string   `json:"model,omitempty"`
	Secret string   `json:"secretHint"`
	Queued int64    `json:"queued"`
	Dead   int64    `json:"dead"`
	Added  string   `json:"added"`
}

func setupWebhookList(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.redisFlag(fs)
	r.deploymentFlag(fs, false)
	r.jsonFlag(fs)
	return func(ctx context.Context, args []string) error {
		rdb, st, _, err := r.indexStore(ctx)
		if err != nil {
			return err
		}
		defer rdb.Close()
		hooks, err := st.Webhooks(ctx)
		if err != nil {
			return err
		}
		ids := make([]string, len(hooks))
		for i, w := range hooks {
			ids[i] = w.ID
		}
		qs, err := st.NotifyQueues(ctx, ids)
		if err != nil {
			return err
		}
		rows := make([]webhookRow, len(hooks))
		for i, w := range hooks {
			row := webhookRow{ID: w.ID, URL: w.URL, Events: []string{"all"}, Secret: w.SecretHint(), Queued: qs[i].Queued, Dead: qs[i].Dead,
				Added: time.UnixMilli(w.Created).UTC().Format(time.RFC3339)}
			if len(w.Events) > 0 {
				row.Events = row.Events[:0]
				for _, e := range w.Events {
					row.Events = append(row.Events, string(e))
				}
			}
			if w.Model != nil {
				row.Model = w.Model.Hex()
			}
			rows[i] = row
		}
		return r.print(rows, func(out io.Writer) {
			if len(rows) == 0 {
				fmt.Fprintln(out, "No webhooks: add one with `modeldao webhook add URL`.")
				return
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tURL\tEVENTS\tMODEL\tSECRET\tQUEUED\tDEAD\tADDED")
			for _, w := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", w.ID, w.URL, strings.Join(w.Events, ","), w.Model, w.Secret, w.Queued, w.Dead, w.Added)
			}
			tw.Flush()
		})
	}
}

func setupWebhookRemove(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.redisFlag(fs)
	r.deploymentFlag(fs, false)
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 1, "the webhook id (`modeldao webhook list` shows it)"); err != nil {
			return err
		}
		rdb, st, _, err := r.indexStore(ctx)
		if err != nil {
			return err
		}
		defer rdb.Close()
		if err := st.RemoveWebhook(ctx, args[0]); err != nil {
			return err
		}
		r.progress("removed webhook %s", args[0])
		return nil
	}
}

func setupNotify(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.redisFlag(fs)
	r.deploymentFlag(fs, false)
	r.jsonFlag(fs)
	once := fs.Bool("once", false, "deliver what can be delivered now, then exit (default: until interrupted)")
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 0, ""); err != nil {
			return err
		}
		_, log, rdb, st, err := r.service(config.ForAPI)
		if err != nil {
			return err
		}
		defer rdb.Close()
		ncfg, err := notify.ConfigFromEnv(r.env.Getenv)
		if err != nil {
			return asUsage(err)
		}
		n := notify.New(st, ncfg, nil, log)
		if *once {
			rep, err := n.RunOnce(ctx)
			if err != nil {
				return err
			}
			return r.print(rep, func(w io.Writer) {
				fmt.Fprintf(w, "%d events fanned out: %d delivered, %d to retry, %d dead letters\n", rep.FannedOut, rep.Delivered, rep.Retried, rep.Dead)
			})
		}
		r.progress("delivering webhooks; Ctrl-C stops")
		return n.Run(ctx)
	}
}
