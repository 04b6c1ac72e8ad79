package client

import (
	"context"
	"strconv"

	"github.com/modeldao/modeldao"
)

// VersionContent is what the pinner verified of a version's release (see the API's
// ModelVersion.content): its files and tensor formats, or, when Status is not VERIFIED,
// the Reason there are none.
type VersionContent struct {
	Status string // VERIFIED, SINGLE_FILE, UNVERIFIED, FAILED
	Reason string
	Files  []modeldao.ReleaseFile
	// Totals over the safetensors files; nil when there are none.
	Format    *modeldao.FileFormat
	TotalSize int64
}

type wTensorFormat struct {
	Dtypes         []string `graphql:"dtypes"`
	TensorCount    int64    `graphql:"tensorCount"`
	ParameterCount string   `graphql:"parameterCount"`
}

func (w *wTensorFormat) conv() *modeldao.FileFormat {
	if w == nil {
		return nil
	}
	n, _ := strconv.ParseInt(w.ParameterCount, 10, 64)
	return &modeldao.FileFormat{Format: "safetensors", Dtypes: w.Dtypes, TensorCount: w.TensorCount, ParameterCount: n}
}

// VersionContent returns the verified content of version id.
func (c *Client) VersionContent(ctx context.Context, id uint64) (*VersionContent, error) {
	var q struct {
		V *struct {
			Content struct {
				Status string `graphql:"status"`
				Reason string `graphql:"reason"`
				Files  []struct {
					Path        string         `graphql:"path"`
					Size        string         `graphql:"size"`
					SHA256      string         `graphql:"sha256"`
					CID         string         `graphql:"cid"`
					Format      *wTensorFormat `graphql:"format"`
					FormatError string         `graphql:"formatError"`
				} `graphql:"files"`
				Format    *wTensorFormat `graphql:"format"`
				TotalSize *string        `graphql:"totalSize"`
			} `graphql:"content"`
		} `graphql:"modelVersion(id: $id)"`
	}
	if err := c.query(ctx, &q, map[string]any{"id": gqlID(strconv.FormatUint(id, 10))}); err != nil {
		return nil, err
	}
	if q.V == nil {
		return nil, &Error{Code: CodeNotFound, Message: "no model version with id " + strconv.FormatUint(id, 10)}
	}
	w := q.V.Content
	out := &VersionContent{Status: w.Status, Reason: w.Reason, Format: w.Format.conv()}
	if w.TotalSize != nil {
		out.TotalSize, _ = strconv.ParseInt(*w.TotalSize, 10, 64)
	}
	for _, f := range w.Files {
		size, _ := strconv.ParseInt(f.Size, 10, 64)
		out.Files = append(out.Files, modeldao.ReleaseFile{
			ManifestFile: modeldao.ManifestFile{Path: f.Path, Size: size, SHA256: f.SHA256, CID: f.CID},
			Format:       f.Format.conv(), FormatError: f.FormatError})
	}
	return out, nil
}
