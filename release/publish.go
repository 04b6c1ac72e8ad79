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

	"github.com/ethereum/go-ethereum/common"
	"github.com/ipfs/boxo/files"
	"github.com/ipfs/kubo/client/rpc"
	"github.com/ipfs/kubo/core/coreiface/options"

	"github.com/modeldao/modeldao"
)

// Progress is what Publish and Pull report while they work: the file at hand and the
// totals. It is sent every few MB of a file, and once when a file is done (FileDone ==
// FileSize, Finished true); Reused marks a file that needed no transfer.
type Progress struct {
	Path               string
	Index, Count       int   // the file's place, from 1
	FileDone, FileSize int64 // bytes of this file
	Done, Total        int64 // bytes of the release
	Reused, Finished   bool
}

// progressStep is how many bytes go by between two reports on one file.
const progressStep = 4 << 20

// Published is the result of Publish.
type Published struct {
	CID      string             // the release directory, pinned recursively
	Digest   common.Hash        // sha256 of the canonical manifest: the registry's weightsSha256
	Manifest *modeldao.Manifest //
	Reused   int                // files taken from an earlier run without reading them again
}

// PublishPinName is the kubo pin name of published releases.
const PublishPinName = "modeldao-publish"

// mfsRoot holds publish's work in kubo's MFS: files added so far (MFS is a GC root, so
// they survive until the release is pinned) and the directory being assembled.
const mfsRoot = "/modeldao-publish"

// progressEntry is one line of the progress file.
type progressEntry struct {
	Size    int64  `json:"size"`
	ModTime int64  `json:"mtimeNs"`
	SHA256  string `json:"sha256"`
	CID     string `json:"cid"`
}

// Publish adds the release directory dir to the kubo node behind api: every file (Walk)
// streamed as CIDv1 with raw leaves while its sha256 is computed in the same pass, never
// held in memory; then the manifest; then a UnixFS directory of them all, assembled in MFS
// and pinned recursively. It is restartable: the progress file in dir records each file
// added (size, mtime, sha256, CID), and a re-run takes a file whose size and mtime did not
// change from there, without reading it, as long as the node still has its blocks.
func Publish(ctx context.Context, api *rpc.HttpApi, dir string, progress func(Progress)) (*Published, error) {
	local, err := Walk(dir)
	if err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(dir)
	id := sha256.Sum256([]byte(abs))
	work := mfsRoot + "/" + hex.EncodeToString(id[:8])
	staged, out := work+"/files", work+"/out"
	m := &mfs{api: api}
	if err := m.mkdir(ctx, staged); err != nil {
		return nil, err
	}
	progFile := filepath.Join(dir, ProgressFile)
	prog := readProgress(progFile)

	var total, done int64
	for _, f := range local {
		total += f.Size
	}
	res := &Published{}
	var mfiles []modeldao.ManifestFile
	for i, f := range local {
		report := func(fileDone int64, reused, finished bool) {
			if progress != nil {
				progress(Progress{Path: f.Path, Index: i + 1, Count: len(local), FileDone: fileDone, FileSize: f.Size, Done: done + fileDone, Total: total, Reused: reused, Finished: finished})
			}
		}
		dst := staged + "/" + f.Path
		e, ok := prog[f.Path]
		reused := false
		if ok && e.Size == f.Size && e.ModTime == f.ModTime.UnixNano() {
			if h, err := m.stat(ctx, dst); err == nil && h == e.CID {
				reused = true
			} else if m.have(ctx, e.CID) {
				if err := m.place(ctx, e.CID, dst); err != nil {
					return nil, err
				}
				reused = true
			}
		}
		if !reused {
			if e, err = addFile(ctx, api, f, func(n int64) { report(n, false, false) }); err != nil {
				return nil, err
			}
			if err := m.place(ctx, e.CID, dst); err != nil {
				return nil, err
			}
			prog[f.Path] = e
			writeProgress(progFile, prog) // best effort: losing it costs a re-hash, nothing more
		} else {
			res.Reused++
		}
		report(f.Size, reused, true)
		done += f.Size
		mfiles = append(mfiles, modeldao.ManifestFile{Path: f.Path, Size: f.Size, SHA256: e.SHA256, CID: e.CID})
	}
	man, err := modeldao.NewManifest(mfiles)
	if err != nil {
		return nil, err
	}
	enc, err := man.Encode()
	if err != nil {
		return nil, err
	}
	p, err := api.Unixfs().Add(ctx, files.NewBytesFile(enc), options.Unixfs.CidVersion(1), options.Unixfs.Pin(false, ""))
	if err != nil {
		return nil, kuboErr(ctx, err, "add the manifest")
	}

	// Assemble the directory anew from the staged files: MFS copies are links, not bytes.
	if err := m.rm(ctx, out); err != nil {
		return nil, err
	}
	if err := m.mkdir(ctx, out); err != nil {
		return nil, err
	}
	for _, f := range man.Files {
		if err := m.place(ctx, f.CID, out+"/"+f.Path); err != nil {
			return nil, err
		}
	}
	if err := m.place(ctx, p.RootCid().String(), out+"/"+modeldao.ManifestName); err != nil {
		return nil, err
	}
	root, err := m.stat(ctx, out)
	if err != nil {
		return nil, err
	}
	if err := api.Request("pin/add", root).Option("recursive", true).Option("name", PublishPinName).Exec(ctx, nil); err != nil {
		return nil, kuboErr(ctx, err, "pin the release directory %s", root)
	}
	_ = m.rm(ctx, work) // the pin holds everything now
	res.CID, res.Manifest = root, man
	res.Digest = sha256.Sum256(enc)
	return res, nil
}

// addFile streams the file into IPFS, hashing it on the way.
func addFile(ctx context.Context, api *rpc.HttpApi, f LocalFile, progress func(int64)) (progressEntry, error) {
	fh, err := os.Open(f.Abs)
	if err != nil {
		return progressEntry{}, modeldao.WrapError(modeldao.EINVALID, err, "cannot open %s", f.Abs)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return progressEntry{}, modeldao.WrapError(modeldao.EINVALID, err, "cannot read %s", f.Abs)
	}
	h := sha256.New()
	cr := &counting{r: io.TeeReader(fh, h), progress: progress}
	p, err := api.Unixfs().Add(ctx, files.NewReaderFile(cr), options.Unixfs.CidVersion(1), options.Unixfs.Pin(false, ""))
	if err != nil {
		if cr.err != nil {
			return progressEntry{}, modeldao.WrapError(modeldao.EINVALID, cr.err, "reading %s after %d bytes", f.Abs, cr.n)
		}
		return progressEntry{}, kuboErr(ctx, err, "add %s", f.Path)
	}
	if cr.n != fi.Size() {
		return progressEntry{}, modeldao.Errorf(modeldao.EINVALID, "%s changed while it was read (%d bytes read, %d on disk): run publish again once it is written", f.Abs, cr.n, fi.Size())
	}
	return progressEntry{Size: cr.n, ModTime: fi.ModTime().UnixNano(), SHA256: hex.EncodeToString(h.Sum(nil)), CID: p.RootCid().String()}, nil
}

type counting struct {
	r        io.Reader
	n, last  int64
	progress func(int64)
	err      error
}

func (c *counting) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	if c.progress != nil && c.n-c.last >= progressStep {
		c.last = c.n
		c.progress(c.n)
	}
	return n, err
}

func readProgress(p string) map[string]progressEntry {
	m := map[string]progressEntry{}
	if b, err := os.ReadFile(p); err == nil {
		_ = json.Unmarshal(b, &m) // a damaged file only costs a re-hash
	}
	return m
}

func writeProgress(p string, m map[string]progressEntry) {
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return
	}
	_ = writeAtomic(p, bytes.NewReader(b))
}

// mfs drives kubo's mutable file system.
type mfs struct{ api *rpc.HttpApi }

func (m *mfs) mkdir(ctx context.Context, p string) error {
	err := m.api.Request("files/mkdir", p).Option("parents", true).Option("cid-version", 1).Exec(ctx, nil)
	return kuboErr(ctx, err, "create %s in MFS", p)
}

func (m *mfs) rm(ctx context.Context, p string) error {
	err := m.api.Request("files/rm", p).Option("recursive", true).Option("force", true).Exec(ctx, nil)
	if err != nil && strings.Contains(err.Error(), "does not exist") {
		return nil
	}
	return kuboErr(ctx, err, "remove %s from MFS", p)
}

// stat returns the CID at p.
func (m *mfs) stat(ctx context.Context, p string) (string, error) {
	var out struct{ Hash string }
	if err := m.api.Request("files/stat", p).Exec(ctx, &out); err != nil {
		return "", kuboErr(ctx, err, "stat %s in MFS", p)
	}
	return out.Hash, nil
}

// have reports whether the node holds the root block of c locally (without fetching it).
func (m *mfs) have(ctx context.Context, c string) bool {
	return m.api.Request("block/stat", c).Option("offline", true).Exec(ctx, nil) == nil
}

// place links the content c at p, replacing what was there, creating parent directories.
func (m *mfs) place(ctx context.Context, c, p string) error {
	if d := mfsDir(p); d != "" {
		if err := m.mkdir(ctx, d); err != nil {
			return err
		}
	}
	if err := m.rm(ctx, p); err != nil {
		return err
	}
	err := m.api.Request("files/cp", "/ipfs/"+c, p).Exec(ctx, nil)
	return kuboErr(ctx, err, "link %s at %s in MFS", c, p)
}

func kuboErr(ctx context.Context, err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ce *rpc.Error
	if errors.As(err, &ce) {
		return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "IPFS refused to "+format, args...)
	}
	return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "IPFS API did not answer (is the daemon running?) while trying to "+format, args...)
}

// writeAtomic writes r to p through a temporary file in the same directory, synced, then
// renamed over p: a reader sees the old file or the whole new one, never a part.
func writeAtomic(p string, r io.Reader) error {
	tmp, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return err
	}
	syncDir(filepath.Dir(p))
	return nil
}

func syncDir(d string) {
	if f, err := os.Open(d); err == nil {
		_ = f.Sync()
		f.Close()
	}
}
