// Package pull fetches approved model releases for those who run them (inference
// providers, researchers): it resolves "<model>[@<label>]" through the ModelDAO API to a
// version the DAO approved, then downloads and verifies its release with package release.
// It is apart from release so that the pinner, which uses release, does not carry the API
// client.
package pull

import (
	"context"
	"fmt"
	"strings"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/client"
	"github.com/modeldao/modeldao/release"
)

// ParseRef splits "<model>[@<label>]". Model names cannot hold '@' (modeldao's name rule).
func ParseRef(ref string) (model, label string, err error) {
	model, label, _ = strings.Cut(ref, "@")
	if model == "" || (strings.Contains(ref, "@") && label == "") {
		return "", "", modeldao.Errorf(modeldao.EINVALID, "%q: want <model> or <model>@<version label>, e.g. acme/sentiment@1.0.0", ref)
	}
	return model, label, nil
}

// Resolve finds, through the API, the version that ref ("<model>[@<label>]") names: with a
// label, that version; without, the newest APPROVED version of the model. A version that is
// not APPROVED (SUBMITTED, REJECTED, REVOKED) is refused, with the reason, unless
// allowUnapproved.
func Resolve(ctx context.Context, api *client.Client, ref string, allowUnapproved bool) (*client.ModelVersion, error) {
	model, label, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	var all []client.ModelVersion
	args := client.First(100)
	for {
		page, err := api.ModelVersions(ctx, client.VersionQuery{Model: model, Page: args})
		if err != nil {
			return nil, apiErr(err, "looking up model %s", model)
		}
		all = append(all, page.Items...)
		if !page.HasNextPage || len(all) >= 10000 {
			break
		}
		args = page.Next(100)
	}
	if len(all) == 0 {
		return nil, modeldao.Errorf(modeldao.ENOTFOUND, "no model named %q in the registry (names are exact: modeldao models lists them)", model)
	}
	var v *client.ModelVersion
	if label != "" {
		for i := range all {
			if all[i].Label == label {
				v = &all[i]
				break
			}
		}
		if v == nil {
			labels := make([]string, 0, len(all))
			for _, x := range all {
				labels = append(labels, x.Label+" ("+x.Status+")")
			}
			return nil, modeldao.Errorf(modeldao.ENOTFOUND, "model %s has no version %q; its versions: %s", model, label, strings.Join(labels, ", "))
		}
	} else {
		for i := range all { // newest first
			if all[i].Status == "APPROVED" {
				v = &all[i]
				break
			}
		}
		if v == nil {
			if !allowUnapproved {
				return nil, modeldao.Errorf(modeldao.EINVALID, "model %s has no APPROVED version (newest: %s is %s): name one with %s@<label> --allow-unapproved to pull it anyway", model, all[0].Label, all[0].Status, model)
			}
			v = &all[0]
		}
	}
	if v.Status != "APPROVED" && !allowUnapproved {
		return nil, modeldao.Errorf(modeldao.EINVALID, "%s %s (version %d) is %s, not APPROVED: %s; pass --allow-unapproved to pull it anyway", v.ModelName, v.Label, v.ID, v.Status, whyNot(v.Status))
	}
	return v, nil
}

func whyNot(status string) string {
	switch status {
	case "SUBMITTED":
		return "the DAO has not approved it (yet)"
	case "REJECTED":
		return "the DAO rejected it"
	case "REVOKED":
		return "the DAO revoked its approval; its weights are no longer vouched for"
	}
	return "the DAO does not vouch for it"
}

func apiErr(err error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if client.Code(err) == client.CodeTransport || client.Code(err) == client.CodeUnavailable {
		return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "%s: the API did not answer", msg)
	}
	return modeldao.WrapError(modeldao.EINVALID, err, "%s", msg)
}

// Model resolves ref through the API (Resolve) and pulls that version from src into dir
// (release.Pull), verified against the digest on chain that the API reports. It is what
// inference providers call to fetch an approved model:
//
//	api := client.New("https://api.example/graphql", nil)
//	res, v, err := pull.Model(ctx, api, release.Gateway{Base: "https://ipfs.io"}, "acme/llm@1.0.0", "./llm", release.PullOptions{}, false)
func Model(ctx context.Context, api *client.Client, src release.Source, ref, dir string, opts release.PullOptions, allowUnapproved bool) (*release.Pulled, *client.ModelVersion, error) {
	v, err := Resolve(ctx, api, ref, allowUnapproved)
	if err != nil {
		return nil, nil, err
	}
	opts.VersionID, opts.Model, opts.Label = v.ID, v.ModelName, v.Label
	res, err := release.Pull(ctx, src, v.WeightsCID, v.WeightsSHA256, dir, opts)
	return res, v, err
}
