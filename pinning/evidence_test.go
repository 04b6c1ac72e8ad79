package pinning_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/modeldao/modeldao"
)

// putEvidence writes versions with model cards and audits with reports in the documented
// layout, as the indexer does.
func (e *env) putEvidence(versions []modeldao.ModelVersion, audits []modeldao.Audit) {
	e.t.Helper()
	ctx := context.Background()
	_, err := e.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, v := range versions {
			e.putVersion(pipe, v)
			pipe.ZAdd(ctx, e.keys.Key("versions"), redis.Z{Score: float64(v.ID), Member: strconv.FormatUint(v.ID, 10)})
		}
		for _, a := range audits {
			raw, _ := json.Marshal(a)
			pipe.HSet(ctx, e.keys.Key("audit"), strconv.FormatUint(a.ID, 10), raw)
			pipe.ZAdd(ctx, e.keys.Key("audits"), redis.Z{Score: float64(a.ID), Member: strconv.FormatUint(a.ID, 10)})
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) evidence(kind modeldao.EvidenceKind, id uint64) *modeldao.EvidencePin {
	e.t.Helper()
	ps, err := e.st.EvidencePins(context.Background(), []modeldao.EvidenceRef{{Kind: kind, ID: id}})
	if err != nil {
		e.t.Fatal(err)
	}
	return ps[0]
}

func TestEvidencePinnedAndVerified(t *testing.T) {
	e := newEnv(t)
	card1, _ := e.add([]byte("# model card 1\n"))
	card2, _ := e.add([]byte("# model card 2\n"))
	report, reportSHA := e.add([]byte(`{"format":"modeldao-fairness-report/v1"}`))
	forged, _ := e.add([]byte(`{"format":"modeldao-fairness-report/v1","passed":true}`))
	v1 := newVersion(1, e.absentCID(1), [32]byte{1}, modeldao.VersionSubmitted)
	v1.ModelCardCID = modeldao.Text(card1)
	v2 := newVersion(2, e.absentCID(2), [32]byte{2}, modeldao.VersionRejected)
	v2.ModelCardCID = modeldao.Text(card2)
	v3 := newVersion(3, e.absentCID(3), [32]byte{3}, modeldao.VersionSubmitted)
	v3.ModelCardCID = modeldao.Text(e.absentCID(4)) // never added: cannot be fetched
	e.putEvidence([]modeldao.ModelVersion{v1, v2, v3}, []modeldao.Audit{
		{ID: 1, VersionID: 1, PolicyID: 1, ReportCID: modeldao.Text(report), ReportSHA256: reportSHA},
		{ID: 2, VersionID: 2, PolicyID: 1, ReportCID: modeldao.Text(forged), ReportSHA256: reportSHA}, // the digest of another report
	})
	cfg := e.config("a")
	cfg.MaxAttempts = 2
	cfg.InactivityTimeout = 500 * time.Millisecond
	rep := e.drain(cfg)
	if rep.Evidence.Pinned != 3 || rep.Evidence.Failed != 1 || rep.Evidence.Retrying != 1 {
		t.Fatalf("first sweep: %+v", rep.Evidence)
	}
	pins := e.pins()
	for _, c := range []struct {
		kind   modeldao.EvidenceKind
		id     uint64
		cid    string
		name   string
		status modeldao.PinStatus
		verify bool
	}{
		{modeldao.EvidenceModelCard, 1, card1, "modeldao:card:1", modeldao.PinPinned, false},
		{modeldao.EvidenceModelCard, 2, card2, "modeldao:card:2", modeldao.PinPinned, false}, // rejected versions keep their card
		{modeldao.EvidenceAuditReport, 1, report, "modeldao:report:1", modeldao.PinPinned, true},
		{modeldao.EvidenceAuditReport, 2, forged, "modeldao:report:2", modeldao.PinFailed, false},
	} {
		p := e.evidence(c.kind, c.id)
		if p == nil || p.Status != c.status || string(p.CID) != c.cid || p.Verified != c.verify {
			t.Errorf("%s %d: %+v", c.kind, c.id, p)
			continue
		}
		if pins[c.cid] != c.name {
			t.Errorf("%s %d: kubo pin %q, want %q (pins %v)", c.kind, c.id, pins[c.cid], c.name, pins)
		}
	}
	if p := e.evidence(modeldao.EvidenceAuditReport, 2); !strings.Contains(p.LastError, "digest mismatch") {
		t.Errorf("forged report: %+v", p)
	}
	if p := e.evidence(modeldao.EvidenceModelCard, 3); p.Status != modeldao.PinQueued || p.Attempts != 1 || p.LastError == "" || p.NextAttempt.IsZero() {
		t.Errorf("absent card after one attempt: %+v", p)
	}
	// The next sweep, once the retry is due, gives up on it; nothing else is done again.
	waitFor(t, 5*time.Second, "the retry of card 3 to be due", func() bool {
		p := e.evidence(modeldao.EvidenceModelCard, 3)
		return p != nil && !p.NextAttempt.After(time.Now())
	})
	adds := e.ops.count("pin/add " + card1)
	rep = e.drain(cfg)
	if rep.Evidence.Pinned != 0 || rep.Evidence.Failed != 1 || e.ops.count("pin/add "+card1) != adds {
		t.Fatalf("second sweep: %+v", rep.Evidence)
	}
	if p := e.evidence(modeldao.EvidenceModelCard, 3); p.Status != modeldao.PinFailed || !strings.Contains(p.LastError, "gave up after 2 attempts") {
		t.Errorf("absent card: %+v", p)
	}
}
