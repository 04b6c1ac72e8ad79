package release

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modeldao/modeldao"
)

// SingleFileName is the name under which Pull writes a single-file release.
const SingleFileName = "weights.bin"

// Marker is the content of CompleteMarker: what was pulled, and that all of it was
// verified.
type Marker struct {
	VersionID   uint64    `json:"versionId,omitempty"`
	Model       string    `json:"model,omitempty"`
	Label       string    `json:"label,omitempty"`
	CID         string    `json:"cid"`
	SHA256      string    `json:"sha256"` // the chain-anchored digest
	Kind        string    `json:"kind"`   // "directory" or "file"
	Files       int       `json:"files"`
	Bytes       int64     `json:"bytes"`
	CompletedAt time.Time `json:"completedAt"`
}

// Pulled is the result of Pull.
type Pulled struct {
	Marker
	Dir     string
	Reused  int // files already in place and verified
	Resumed int // files whose partial download was continued
}

// PullOptions are the optional parts of Pull.
type PullOptions struct {
	VersionID    uint64 // recorded in the marker
	Model, Label string
	Progress     func(Progress)
}

// Pull downloads the release root from src into dir and verifies it against want, the
// digest on chain: the manifest first, then each file's size and sha256 while it streams.
// Files are written in the Hugging Face layout (the release's paths under dir), each one
// atomically: downloaded under dir/.modeldao-pull, synced, checked, then renamed into
// place. A download that breaks is resumed from where it stopped by the next Pull (HTTP
// Range on a gateway, offset on kubo). manifest.json and then the completion marker
// (CompleteMarker) are written last: a directory without the marker is not a complete
// release, whatever files it holds. Files already in place with the right digest are kept.
func Pull(ctx context.Context, src Source, root string, want common.Hash, dir string, opts PullOptions) (*Pulled, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, modeldao.WrapError(modeldao.EINVALID, err, "cannot create the directory %s", dir)
	}
	marker := filepath.Join(dir, CompleteMarker)
	if err := os.Remove(marker); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, modeldao.WrapError(modeldao.EINVALID, err, "cannot remove the old completion marker %s", marker)
	}
	work := filepath.Join(dir, PullWorkDir)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, modeldao.WrapError(modeldao.EINVALID, err, "cannot create %s", work)
	}
	kind, err := Inspect(ctx, src, root)
	if err != nil {
		return nil, err
	}
	res := &Pulled{Dir: dir, Marker: Marker{VersionID: opts.VersionID, Model: opts.Model, Label: opts.Label, CID: root, SHA256: want.Hex(), Kind: kind.String()}}
	var man *modeldao.Manifest
	var list []modeldao.ManifestFile
	var manBytes []byte
	if kind == KindDirectory {
		if man, err = ReadManifest(ctx, src, root, want); err != nil {
			return nil, err
		}
		list = man.Files
		manBytes, _ = man.Encode()
	} else {
		// One file: its size is not known up front, its digest is the chain's.
		list = []modeldao.ManifestFile{{Path: SingleFileName, Size: -1, SHA256: hex.EncodeToString(want[:]), CID: root}}
	}
	var total, done int64
	for _, f := range list {
		total += max(f.Size, 0)
	}
	for i, f := range list {
		report := func(n int64, reused, finished bool) {
			if opts.Progress != nil {
				opts.Progress(Progress{Path: f.Path, Index: i + 1, Count: len(list), FileDone: n, FileSize: f.Size, Done: done + n, Total: total, Reused: reused, Finished: finished})
			}
		}
		srcPath := root + "/" + f.Path
		if kind == KindFile {
			srcPath = root
		}
		reused, resumed, n, err := pullFile(ctx, src, srcPath, dir, work, f, func(n int64) { report(n, false, false) })
		if err != nil {
			return nil, err
		}
		if reused {
			res.Reused++
		}
		if resumed {
			res.Resumed++
		}
		report(n, reused, true)
		done += n
		res.Files++
		res.Bytes += n
	}
	if man != nil {
		if err := writeAtomic(filepath.Join(dir, modeldao.ManifestName), bytes.NewReader(manBytes)); err != nil {
			return nil, modeldao.WrapError(modeldao.EINVALID, err, "cannot write %s in %s", modeldao.ManifestName, dir)
		}
	}
	_ = os.RemoveAll(work)
	res.CompletedAt = time.Now().UTC()
	mb, _ := json.MarshalIndent(res.Marker, "", "  ")
	if err := writeAtomic(marker, bytes.NewReader(append(mb, '\n'))); err != nil {
		return nil, modeldao.WrapError(modeldao.EINVALID, err, "cannot write the completion marker %s", marker)
	}
	return res, nil
}

// pullFile puts one file in place. f.Size < 0 means unknown (a single-file release).
func pullFile(ctx context.Context, src Source, srcPath, dir, work string, f modeldao.ManifestFile, progress func(int64)) (reused, resumed bool, n int64, err error) {
	final, err := target(dir, f.Path)
	if err != nil {
		return false, false, 0, err
	}
	if fi, err := os.Lstat(final); err == nil && fi.Mode().IsRegular() && (f.Size < 0 || fi.Size() == f.Size) {
		if sum, n, err := hashFile(final); err == nil && sum == f.SHA256 {
			return true, false, n, nil
		}
	}
	tmp := filepath.Join(work, f.SHA256+".part")
	fh, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return false, false, 0, modeldao.WrapError(modeldao.EINVALID, err, "cannot write in %s", work)
	}
	defer func() {
		if fh != nil {
			fh.Close()
		}
	}()
	h := sha256.New()
	have, err := io.Copy(h, fh) // what an earlier run already downloaded
	if err != nil {
		return false, false, 0, modeldao.WrapError(modeldao.EINVALID, err, "cannot read %s", tmp)
	}
	if f.Size >= 0 && have > f.Size {
		if err := fh.Truncate(0); err != nil {
			return false, false, 0, modeldao.WrapError(modeldao.EINVALID, err, "cannot truncate %s", tmp)
		}
		_, _ = fh.Seek(0, io.SeekStart)
		have, h = 0, sha256.New()
	}
	resumed = have > 0
	n = have
	if f.Size < 0 || have < f.Size {
		rc, err := src.Open(ctx, srcPath, have)
		if err != nil {
			if modeldao.ErrorCode(err) == modeldao.ENOTFOUND {
				return false, false, 0, fileErr(modeldao.EINVALID, f.Path, "listed in the manifest but missing from the release (%s)", err.Error())
			}
			return false, false, 0, err
		}
		var r io.Reader = rc
		if f.Size >= 0 {
			r = io.LimitReader(rc, f.Size-have+1) // one byte more tells a longer file
		}
		w := &progressWriter{w: io.MultiWriter(fh, h), n: have, progress: progress}
		_, cerr := io.CopyBuffer(w, r, make([]byte, 1<<20))
		rc.Close()
		n = w.n
		if cerr != nil {
			_ = fh.Sync() // keep what came, for the next run
			if ctx.Err() != nil {
				return false, false, n, ctx.Err()
			}
			return false, false, n, modeldao.WrapError(modeldao.EUNAVAILABLE, cerr, "downloading %q from %s broke after %d bytes: run pull again to resume", f.Path, src, n)
		}
	}
	got := hex.EncodeToString(h.Sum(nil))
	if (f.Size >= 0 && n != f.Size) || got != f.SHA256 {
		fh.Close()
		fh = nil
		_ = os.Remove(tmp) // a wrong file is not worth resuming
		if f.Size >= 0 && n != f.Size {
			return false, false, n, fileErr(modeldao.EINVALID, f.Path, "%s served %d bytes, the manifest says %d", src, n, f.Size)
		}
		what := "the manifest says"
		if f.Size < 0 {
			what = "the digest on chain is"
		}
		return false, false, n, fileErr(modeldao.EINVALID, f.Path, "sha256 %s, %s %s: the file was tampered with or corrupted", got, what, f.SHA256)
	}
	if err := fh.Sync(); err != nil {
		return false, false, n, modeldao.WrapError(modeldao.EINVALID, err, "cannot sync %s", tmp)
	}
	if err := fh.Close(); err != nil {
		return false, false, n, modeldao.WrapError(modeldao.EINVALID, err, "cannot write %s", tmp)
	}
	fh = nil
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return false, false, n, modeldao.WrapError(modeldao.EINVALID, err, "cannot create the directory of %s", final)
	}
	if err := os.Rename(tmp, final); err != nil {
		return false, false, n, modeldao.WrapError(modeldao.EINVALID, err, "cannot move %s into place", final)
	}
	syncDir(filepath.Dir(final))
	return false, resumed, n, nil
}

// target is where the release path p goes under dir. The manifest's rules keep p inside
// dir; a symbolic link already in dir could still lead out, so none is followed.
func target(dir, p string) (string, error) {
	cur := dir
	segs := strings.Split(p, "/")
	for i, s := range segs {
		cur = filepath.Join(cur, s)
		fi, err := os.Lstat(cur)
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			return "", modeldao.WrapError(modeldao.EINVALID, err, "cannot read %s", cur)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return "", modeldao.Errorf(modeldao.EINVALID, "%s is a symbolic link: pull does not write through links; remove it or pull into an empty directory", cur)
		}
		if i < len(segs)-1 && !fi.IsDir() {
			return "", modeldao.Errorf(modeldao.EINVALID, "%s is a file where the release has a directory: pull into an empty directory", cur)
		}
	}
	return filepath.Join(dir, filepath.FromSlash(p)), nil
}

func hashFile(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, f, make([]byte, 1<<20))
	return hex.EncodeToString(h.Sum(nil)), n, err
}

type progressWriter struct {
	w        io.Writer
	n, last  int64
	progress func(int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n += int64(n)
	if p.progress != nil && p.n-p.last >= progressStep {
		p.last = p.n
		p.progress(p.n)
	}
	return n, err
}

// IsComplete reads the completion marker of dir: nil and no error when the directory holds
// no complete pull.
func IsComplete(dir string) (*Marker, error) {
	b, err := os.ReadFile(filepath.Join(dir, CompleteMarker))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m Marker
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, modeldao.WrapError(modeldao.EINVALID, err, "%s is damaged", CompleteMarker)
	}
	return &m, nil
}
