package pinning_test

import (
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ipfs/boxo/path"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/kubo/core/coreiface/options"

	"github.com/modeldao/modeldao/pinning"
)

// benchSize is the size of the generated weights file of the benchmarks.
const benchSize = 100 << 20

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// benchEnv starts kubo and redis and adds a 100 MB generated weights file (unpinned: its
// blocks are local, nothing pins them).
func benchEnv(b *testing.B) (*env, string, common.Hash) {
	b.Helper()
	e := newEnv(b)
	e.log = quiet
	ctx := context.Background()
	c, sha, n, err := pinning.AddWeights(ctx, e.plain, genReader(100, benchSize), nil)
	if err != nil || n != benchSize {
		b.Fatalf("AddWeights: %d bytes, %v", n, err)
	}
	e.unpin(c)
	return e, c, sha
}

func (e *env) unpin(c string) {
	e.t.Helper()
	id, err := cid.Decode(c)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.plain.Pin().Rm(context.Background(), path.FromCid(id), options.Pin.RmRecursive(true)); err != nil {
		e.t.Fatal(err)
	}
}

// BenchmarkApprovalToPinned measures, for a 100 MB weights file on the local daemon, the
// time from the approval's commit (version APPROVED and job enqueued in one MULTI/EXEC) to the
// PINNED record: read the job, pin recursively (blocks local), read the file back through
// sha256, write the record and ack.
func BenchmarkApprovalToPinned(b *testing.B) {
	e, c, sha := benchEnv(b)
	cfg := e.config("bench")
	cfg.Logger = quiet
	cons := pinning.New(e.plain, e.st, cfg)
	ctx := context.Background()
	b.SetBytes(benchSize)
	b.ResetTimer()
	for i := range b.N {
		e.approve(uint64(i+1), c, sha)
		rep, err := cons.Drain(ctx)
		if err != nil || rep.Pinned != 1 {
			b.Fatalf("Drain: %+v, %v", rep, err)
		}
		b.StopTimer()
		e.unpin(c)
		b.StartTimer()
	}
}

// BenchmarkVerify measures the read-back verification alone: cat of the 100 MB file from the
// local daemon streamed through sha256.
func BenchmarkVerify(b *testing.B) {
	e, c, sha := benchEnv(b)
	ctx := context.Background()
	b.SetBytes(benchSize)
	b.ResetTimer()
	for range b.N {
		if n, err := pinning.Verify(ctx, e.plain, c, sha); err != nil || n != benchSize {
			b.Fatalf("Verify: %d, %v", n, err)
		}
	}
}

// BenchmarkSHA256 is the ceiling of BenchmarkVerify: crypto/sha256 over memory on this CPU.
func BenchmarkSHA256(b *testing.B) {
	buf := content(1, 4<<20)
	b.SetBytes(int64(len(buf)))
	for range b.N {
		sha256.Sum256(buf)
	}
}

// BenchmarkAddWeights measures publishing: streaming a 100 MB file to kubo as CIDv1 while
// hashing it.
func BenchmarkAddWeights(b *testing.B) {
	e := newEnv(b)
	e.log = quiet
	ctx := context.Background()
	b.SetBytes(benchSize)
	for i := range b.N {
		if _, _, n, err := pinning.AddWeights(ctx, e.plain, genReader(uint64(200+i), benchSize), nil); err != nil || n != benchSize {
			b.Fatalf("AddWeights: %d, %v", n, err)
		}
	}
}
