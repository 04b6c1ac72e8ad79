package model

import (
	"math/big"
	"math/rand/v2"
	"testing"
)

// percent rounds 100 × a / b exactly as big.Rat does (once, to the nearest float64), for
// 256-bit amounts and for small ones.
func TestPercentIsRoundedOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	rnd := func(bits int) *big.Int {
		x := new(big.Int)
		for range bits / 32 {
			x.Lsh(x, 32).Or(x, big.NewInt(int64(rng.Uint32())))
		}
		return x
	}
	for i := range 20000 {
		bits := 32 * (1 + i%8)
		a, b := rnd(bits), rnd(bits+32*(i%3))
		if b.Sign() == 0 {
			continue
		}
		want, _ := new(big.Rat).SetFrac(new(big.Int).Mul(a, big.NewInt(100)), b).Float64()
		if got := percent(a, b); got != want {
			t.Fatalf("percent(%v, %v) = %v, want %v", a, b, got, want)
		}
	}
	// Amounts whose floats are exact (round token amounts, small counts) take the float64
	// path: the same rounding.
	unit := new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	for i := range 20000 {
		a := new(big.Int).Mul(big.NewInt(int64(rng.IntN(1_000_000))), unit)
		b := new(big.Int).Add(a, new(big.Int).Mul(big.NewInt(int64(rng.IntN(1_000_000)+1)), unit))
		if i%3 == 0 {
			a, b = big.NewInt(int64(rng.IntN(1000))), big.NewInt(int64(rng.IntN(1000)+1))
		}
		if i%5 == 0 { // an odd part too wide for 53 bits: the big.Float path
			b.Add(b, big.NewInt(1))
		}
		want, _ := new(big.Rat).SetFrac(new(big.Int).Mul(a, big.NewInt(100)), b).Float64()
		if got := percent(a, b); got != want {
			t.Fatalf("percent(%v, %v) = %v, want %v", a, b, got, want)
		}
	}
	if percent(big.NewInt(1), new(big.Int)) != 0 {
		t.Error("percent of a zero total is not 0")
	}
}

// A tally's shares and quorum from its 256-bit sums are those of the big.Int sums, for
// counts in range and out of it (wider than 200 bits: the big.Int path).
func TestTallyMatchesBigIntSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := func(bits int) *big.Int { // a random count below 2^bits
		x := new(big.Int)
		for range bits {
			x.Lsh(x, 1).Or(x, big.NewInt(int64(rng.Uint32()&1)))
		}
		return x
	}
	for i := range 3000 {
		widths := []int{0, 1, 8, 64, 80, 120, 199, 200, 201, 230}
		f, ag, ab := n(widths[rng.IntN(len(widths))]), n(widths[rng.IntN(len(widths))]), n(widths[rng.IntN(len(widths))])
		var q *big.Int
		if i%5 != 0 {
			q = n(widths[rng.IntN(len(widths))])
		}
		got := NewTally(f, ag, ab, q)
		total := new(big.Int).Add(new(big.Int).Add(f, ag), ab)
		fa := new(big.Int).Add(f, ab)
		if g, w := got.ForPercent(), percent(f, total); g != w {
			t.Fatalf("ForPercent(%v, %v, %v) = %v, want %v", f, ag, ab, g, w)
		}
		if g, w := got.AgainstPercent(), percent(ag, total); g != w {
			t.Fatalf("AgainstPercent(%v, %v, %v) = %v, want %v", f, ag, ab, g, w)
		}
		if g, w := got.AbstainPercent(), percent(ab, total); g != w {
			t.Fatalf("AbstainPercent(%v, %v, %v) = %v, want %v", f, ag, ab, g, w)
		}
		if g, w := got.QuorumReached(), q != nil && fa.Cmp(q) >= 0; g != w {
			t.Fatalf("QuorumReached(%v, %v, quorum %v) = %v, want %v", f, ab, q, g, w)
		}
		gq := got.QuorumPercent()
		if q == nil || q.Sign() == 0 {
			if gq != nil {
				t.Fatalf("QuorumPercent with quorum %v = %v, want nil", q, *gq)
			}
		} else if w := percent(fa, q); gq == nil || *gq != w {
			t.Fatalf("QuorumPercent(%v, quorum %v) = %v, want %v", fa, q, gq, w)
		}
	}
}
