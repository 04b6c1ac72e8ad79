package modeldao

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

const (
	testCID   = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
	testCIDv0 = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"
)

func TestVersionStatusCanTransition(t *testing.T) {
	allowed := map[[2]VersionStatus]bool{
		{VersionSubmitted, VersionApproved}: true,
		{VersionSubmitted, VersionRejected}: true,
		{VersionApproved, VersionRevoked}:   true,
	}
	n := 0
	for from := VersionNone; from <= VersionRevoked; from++ {
		for to := VersionNone; to <= VersionRevoked; to++ {
			n++
			if got, want := from.CanTransition(to), allowed[[2]VersionStatus{from, to}]; got != want {
				t.Errorf("%v.CanTransition(%v) = %v, want %v", from, to, got, want)
			}
		}
	}
	if n != 25 {
		t.Fatalf("checked %d pairs, want 25", n)
	}
}

func TestVersionStatusNames(t *testing.T) {
	for s := VersionSubmitted; s <= VersionRevoked; s++ {
		if got, err := ParseVersionStatus(strings.ToLower(s.String())); err != nil || got != s {
			t.Errorf("ParseVersionStatus(%q) = %v, %v", strings.ToLower(s.String()), got, err)
		}
	}
	for _, in := range []string{"NONE", "", "pending"} {
		if _, err := ParseVersionStatus(in); ErrorCode(err) != EINVALID {
			t.Errorf("ParseVersionStatus(%q) error = %v, want code %s", in, err, EINVALID)
		}
	}
	if got := VersionStatus(7).String(); got != "VersionStatus(7)" {
		t.Errorf("VersionStatus(7).String() = %q", got)
	}
}

func validSubmission() VersionSubmission {
	return VersionSubmission{
		ModelName:     "acme/sentiment-v2_base.en",
		Label:         "1.0.0",
		WeightsCID:    testCID,
		WeightsSHA256: common.HexToHash("0xabc"),
		ModelCardCID:  testCIDv0,
		License:       "Apache-2.0",
		Tags:          []string{"nlp", "sentiment"},
	}
}

func TestVersionSubmissionValidate(t *testing.T) {
	tags := func(n, length int) []string {
		ts := make([]string, n)
		for i := range ts {
			ts[i] = strings.Repeat("t", length)
		}
		return ts
	}
	tests := []struct {
		name    string
		mutate  func(*VersionSubmission)
		wantErr string
	}{
		{"valid", func(*VersionSubmission) {}, ""},
		{"name of 96 bytes", func(s *VersionSubmission) { s.ModelName = strings.Repeat("n", MaxModelNameLength) }, ""},
		{"16 tags of 32 bytes", func(s *VersionSubmission) { s.Tags = tags(MaxTags, MaxTagLength) }, ""},
		{"no tags", func(s *VersionSubmission) { s.Tags = nil }, ""},
		{"empty name", func(s *VersionSubmission) { s.ModelName = "" }, "model name is empty"},
		{"name too long", func(s *VersionSubmission) { s.ModelName = strings.Repeat("n", MaxModelNameLength+1) }, "97 bytes; at most 96"},
		{"name with a space", func(s *VersionSubmission) { s.ModelName = "acme sentiment" }, "may only hold"},
		{"name with a colon", func(s *VersionSubmission) { s.ModelName = "acme:sentiment" }, "may only hold"},
		{"name with a non-ASCII letter", func(s *VersionSubmission) { s.ModelName = "acmé" }, "may only hold"},
		{"name with a Cyrillic look-alike", func(s *VersionSubmission) { s.ModelName = "\u0430cme" }, "may only hold"},
		{"name with a NUL", func(s *VersionSubmission) { s.ModelName = "acme\x00" }, "may only hold"},
		{"name with a newline", func(s *VersionSubmission) { s.ModelName = "acme\n" }, "may only hold"},
		{"empty label", func(s *VersionSubmission) { s.Label = "" }, "version label is empty"},
		{"label too long", func(s *VersionSubmission) { s.Label = strings.Repeat("1", MaxLabelLength+1) }, "version label is 65 bytes"},
		{"empty weights CID", func(s *VersionSubmission) { s.WeightsCID = "" }, "weights CID is empty"},
		{"weights CID not a CID", func(s *VersionSubmission) { s.WeightsCID = "ipfs://" + testCID }, "weights CID"},
		{"weights CID too long", func(s *VersionSubmission) { s.WeightsCID = "b" + strings.Repeat("a", MaxCIDLength) }, "weights CID is 129 bytes"},
		{"zero weights digest", func(s *VersionSubmission) { s.WeightsSHA256 = common.Hash{} }, "weights sha256 is zero"},
		{"empty model card CID", func(s *VersionSubmission) { s.ModelCardCID = "" }, "model card CID is empty"},
		{"model card CID not a CID", func(s *VersionSubmission) { s.ModelCardCID = "card.md" }, "model card CID"},
		{"empty license", func(s *VersionSubmission) { s.License = "" }, "license is empty"},
		{"license too long", func(s *VersionSubmission) { s.License = strings.Repeat("L", MaxLicenseLength+1) }, "license is 65 bytes"},
		{"17 tags", func(s *VersionSubmission) { s.Tags = tags(MaxTags+1, 3) }, "17 tags; at most 16"},
		{"empty tag", func(s *VersionSubmission) { s.Tags = []string{"nlp", ""} }, "tag is empty"},
		{"tag too long", func(s *VersionSubmission) { s.Tags = tags(1, MaxTagLength+1) }, "tag is 33 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSubmission()
			tt.mutate(&s)
			wantInvalid(t, s.Validate(), tt.wantErr)
		})
	}
}

func TestValidateCID(t *testing.T) {
	tests := []struct {
		cid     string
		wantErr string
	}{
		{testCID, ""},
		{"bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", ""},
		{testCIDv0, ""},
		{"b" + strings.Repeat("a", 20), ""},
		{"b" + strings.Repeat("a", 19), "is not an IPFS CID"},
		{"b" + strings.Repeat("a", MaxCIDLength-1), ""},
		{"b" + strings.Repeat("a", MaxCIDLength), "is 129 bytes; at most 128"},
		{"", "is empty"},
		{strings.ToUpper(testCID), "is not an IPFS CID"},                                      // base32 upper case: not what ipfs add prints
		{"bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzd1", "is not an IPFS CID"}, // '1' is not base32
		{"QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbd0", "is not an IPFS CID"},              // '0' is not base58
		{"QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdGx", "is not an IPFS CID"},             // 47 characters
		{"/ipfs/" + testCID, "is not an IPFS CID"},
		{"https://ipfs.io/ipfs/" + testCID, "is not an IPFS CID"},
		{" " + testCID, "is not an IPFS CID"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.24q", tt.cid), func(t *testing.T) {
			err := ValidateCID("weights CID", tt.cid)
			wantInvalid(t, err, tt.wantErr)
			if err != nil && !strings.Contains(err.Error(), "weights CID") {
				t.Errorf("error %q does not name the field", err)
			}
		})
	}
}
