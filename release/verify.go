package release

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/safetensors"
)

// FileError is a file of a release that is missing, or whose bytes differ from the
// manifest. Its message names the file.
type FileError struct {
	Path   string
	Reason string
}

func (e *FileError) Error() string { return fmt.Sprintf("file %q: %s", e.Path, e.Reason) }

// fileErr wraps a *FileError in an EINVALID *modeldao.Error (ENOTFOUND when missing).
func fileErr(code, path, format string, args ...any) error {
	fe := &FileError{Path: path, Reason: fmt.Sprintf(format, args...)}
	return modeldao.WrapError(code, fe, "%s", fe.Error())
}

// ReadManifest reads root's manifest and checks it against want, the digest on chain.
func ReadManifest(ctx context.Context, src Source, root string, want common.Hash) (*modeldao.Manifest, error) {
	rc, err := src.Open(ctx, root+"/"+modeldao.ManifestName, 0)
	if err != nil {
		if modeldao.ErrorCode(err) == modeldao.ENOTFOUND {
			return nil, modeldao.WrapError(modeldao.EINVALID, err, "release directory %s has no %s at its root: it was not published by modeldao publish", root, modeldao.ManifestName)
		}
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, modeldao.MaxManifestBytes+1))
	if err != nil {
		return nil, modeldao.WrapError(modeldao.EUNAVAILABLE, err, "reading %s of %s from %s", modeldao.ManifestName, root, src)
	}
	return modeldao.ParseManifest(b, want)
}

// checker hashes and counts the bytes of one file as they go by, and reads the
// safetensors header of a .safetensors file on the way (without a second pass).
type checker struct {
	f      modeldao.ManifestFile
	h      hash.Hash
	n      int64
	format *modeldao.FileFormat
	ferr   string
}

func newChecker(f modeldao.ManifestFile) *checker { return &checker{f: f, h: sha256.New()} }

// consume reads r to its end; the header of a safetensors file is parsed from the start.
func (c *checker) consume(r io.Reader, fromStart bool, progress func(int64)) error {
	tr := &teeCount{r: r, c: c, progress: progress}
	if fromStart && IsSafetensors(c.f.Path) {
		br := bufio.NewReaderSize(tr, 1<<16)
		h, err := safetensors.ReadHeader(br, c.f.Size)
		switch {
		case err == nil:
			fm := h.Format()
			c.format = &fm
		case modeldao.ErrorCode(err) == modeldao.EINVALID:
			c.ferr = modeldao.ErrorMessage(err)
		default:
			return err
		}
		_, err = io.Copy(io.Discard, br)
		return err
	}
	_, err := io.Copy(io.Discard, tr)
	return err
}

// check compares what was read with the manifest.
func (c *checker) check() error {
	if c.n != c.f.Size {
		return fileErr(modeldao.EINVALID, c.f.Path, "%d bytes, the manifest says %d", c.n, c.f.Size)
	}
	if got := hex.EncodeToString(c.h.Sum(nil)); got != c.f.SHA256 {
		return fileErr(modeldao.EINVALID, c.f.Path, "sha256 %s, the manifest says %s: the file was tampered with or corrupted", got, c.f.SHA256)
	}
	return nil
}

type teeCount struct {
	r        io.Reader
	c        *checker
	progress func(int64)
}

func (t *teeCount) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		t.c.h.Write(p[:n])
		t.c.n += int64(n)
		if t.c.n > t.c.f.Size {
			return n, fileErr(modeldao.EINVALID, t.c.f.Path, "longer than the %d bytes the manifest says", t.c.f.Size)
		}
		if t.progress != nil {
			t.progress(int64(n))
		}
	}
	return n, err
}

// IsSafetensors reports whether a path names a safetensors file.
func IsSafetensors(p string) bool { return strings.HasSuffix(strings.ToLower(p), ".safetensors") }

// Verify reads the release root back from src and checks it against want, the digest on
// chain: for a single file, the sha256 of its bytes; for a directory, the manifest, then
// every file it lists (size and sha256, streamed). It returns what it learnt. A file that
// differs or is missing is an error whose message names it (a *FileError in the chain).
func Verify(ctx context.Context, src Source, root string, want common.Hash, progress func(path string, n int64)) (*modeldao.ReleaseSummary, error) {
	kind, err := Inspect(ctx, src, root)
	if err != nil {
		return nil, err
	}
	if kind == KindFile {
		rc, err := src.Open(ctx, root, 0)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		h := sha256.New()
		n, err := io.Copy(h, rc)
		if err != nil {
			return nil, readErr(ctx, src, root, err)
		}
		if got := common.BytesToHash(h.Sum(nil)); got != want {
			return nil, modeldao.Errorf(modeldao.EINVALID, "digest mismatch: got %s, want %s", got.Hex(), want.Hex())
		}
		return &modeldao.ReleaseSummary{Directory: false, TotalSize: n}, nil
	}
	m, err := ReadManifest(ctx, src, root, want)
	if err != nil {
		return nil, err
	}
	sum := &modeldao.ReleaseSummary{Directory: true}
	for _, f := range m.Files {
		rf, err := verifyFile(ctx, src, root, f, progress)
		if err != nil {
			return nil, err
		}
		sum.Files = append(sum.Files, rf)
	}
	sum.Summarize()
	return sum, nil
}

func verifyFile(ctx context.Context, src Source, root string, f modeldao.ManifestFile, progress func(string, int64)) (modeldao.ReleaseFile, error) {
	rc, err := src.Open(ctx, root+"/"+f.Path, 0)
	if err != nil {
		if modeldao.ErrorCode(err) == modeldao.ENOTFOUND {
			return modeldao.ReleaseFile{}, fileErr(modeldao.EINVALID, f.Path, "listed in the manifest but missing from the release directory %s", root)
		}
		return modeldao.ReleaseFile{}, err
	}
	defer rc.Close()
	c := newChecker(f)
	var pf func(int64)
	if progress != nil {
		pf = func(n int64) { progress(f.Path, n) }
	}
	if err := c.consume(rc, true, pf); err != nil {
		return modeldao.ReleaseFile{}, readErr(ctx, src, f.Path, err)
	}
	if err := c.check(); err != nil {
		return modeldao.ReleaseFile{}, err
	}
	return modeldao.ReleaseFile{ManifestFile: f, Format: c.format, FormatError: c.ferr}, nil
}

// readErr passes errors that already carry a code (a *FileError, the context's) and makes
// the rest EUNAVAILABLE: the stream broke.
func readErr(ctx context.Context, src Source, what string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var me *modeldao.Error
	if errors.As(err, &me) {
		return err
	}
	return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "reading %s from %s", what, src)
}
